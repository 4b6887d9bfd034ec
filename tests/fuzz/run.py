"""Fuzz sipfault's parsers for longer than the CI run does, or replay a saved input.

    PYTHONPATH=. python -m tests.fuzz.run --seconds 60               # every target, 60 s each
    PYTHONPATH=. python -m tests.fuzz.run parser uas --seconds 600 --coverage --seed 7
    PYTHONPATH=. python -m tests.fuzz.run --replay fuzz-failures/parser-seed7-1234.bin parser

Failing inputs are written to ``--save`` (default ``fuzz-failures/``); the exit status is 1
when there were any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.fuzz.engine import fuzz
from tests.fuzz.targets import ContractBroken, targets


def main(argv: list[str] | None = None) -> int:
    known = targets()
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", choices=[*known, []], default=[],
                        help=f"targets to fuzz (default: all of {', '.join(known)})")
    parser.add_argument("--seconds", type=float, default=30.0, help="per target")
    parser.add_argument("--iterations", type=int, default=10**9, help="per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-input", type=float, default=2.0,
                        help="seconds one input may take")
    parser.add_argument("--coverage", action="store_true", help="coverage-guided")
    parser.add_argument("--save", type=Path, default=Path("fuzz-failures"))
    parser.add_argument("--replay", type=Path, help="feed this one input and report")
    args = parser.parse_args(argv)
    names = args.targets or list(known)
    if args.replay is not None:
        data = args.replay.read_bytes()
        status = 0
        for name in names:
            try:
                known[name].check(data)
                print(f"{name}: ok")
            except ContractBroken as broken:
                print(f"{name}: {broken}")
                status = 1
        return status
    failed = 0
    for name in names:
        report = fuzz(known[name], iterations=args.iterations, seconds=args.seconds,
                      seed=args.seed, per_input=args.per_input, coverage=args.coverage)
        print(report.line(), flush=True)
        for failure in report.failures[:20]:
            print(f"  {failure.reason}  -> {failure.save(args.save)}")
        failed += len(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
