"""Coverage-guided fuzzing with atheris (libFuzzer for Python), optional: ``pip install atheris``.

    PYTHONPATH=. python -m tests.fuzz.atheris_harness parser -max_total_time=300
    PYTHONPATH=. python -m tests.fuzz.atheris_harness uas -runs=200000 fuzz-work/

The first argument names a target of tests/fuzz/targets.py (parser, framer, sdp, digest,
scenario, uas); the rest go to libFuzzer. The target's seeds are written to a temporary corpus
directory, given to libFuzzer first, so it starts from the RFC 4475 vectors and the captures;
a directory given on the command line receives what libFuzzer adds. A broken contract is an
uncaught ContractBroken: libFuzzer stops and writes the input to ``crash-*``. Replay one with
``python -m tests.fuzz.run --replay crash-... TARGET``.

sipfault's modules are instrumented for coverage (atheris.instrument_imports); the CI run uses
the pure-Python fuzzer (tests/fuzz/engine.py) instead, which needs nothing installed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> None:
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris")
    with atheris.instrument_imports(include=["sipfault"]):
        from tests.fuzz.targets import targets
    if len(argv) < 2 or argv[1] not in (known := targets()):
        sys.exit(f"usage: {argv[0]} TARGET [libFuzzer options]; targets: {', '.join(known)}")
    target = known[argv[1]]
    seeds = Path(tempfile.mkdtemp(prefix=f"atheris-{target.name}-"))
    for index, seed in enumerate(target.seeds):
        (seeds / f"seed-{index}").write_bytes(seed)
    options = argv[2:]
    # libFuzzer reads every directory given and adds new inputs to the first one.
    directories = [arg for arg in options if not arg.startswith("-")]
    flags = [arg for arg in options if arg.startswith("-")]
    libfuzzer_args = [argv[0], *flags, *directories, str(seeds)]
    atheris.Setup(libfuzzer_args, target.check)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
