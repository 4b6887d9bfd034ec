"""Garbage-collector pauses of a `sipfault run`: how often each generation ran and how long.

Runs `sipfault` with the arguments given, timing every collection through `gc.callbacks`;
when sipfault exits (Ctrl-C, SIGTERM or `--duration`) it prints per generation the number of
collections, the median, p99 and longest pause, and the objects the collector tracked at the
end. Drive it with a load (SIPp's UAC, bench/callrate.py's targets) to see what stalls the loop.

    python bench/gc_probe.py run bench/answer-immediate.yaml --quiet --duration 40s
"""

from __future__ import annotations

import atexit
import gc
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # run as a script from the checkout

from bench.process_stats import percentile  # noqa: E402

_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
_started: list[float] = [0.0]


def _on_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _pauses[info["generation"]].append(time.perf_counter() - _started[0])


def _report() -> None:
    lines = ["gc pauses (ms): generation, collections, median, p99, longest"]
    for generation, pauses in _pauses.items():
        if pauses:
            ms = sorted(pause * 1000 for pause in pauses)
            lines.append(f"  gen {generation}: {len(ms)} collections, median "
                         f"{statistics.median(ms):.2f}, p99 {percentile(ms, 0.99):.2f}, "
                         f"longest {max(ms):.2f}")
        else:
            lines.append(f"  gen {generation}: 0 collections")
    lines.append(f"  tracked objects at the end: {len(gc.get_objects())}, "
                 f"frozen: {gc.get_freeze_count()}")
    print("\n".join(lines), file=sys.stderr, flush=True)


def main() -> int:
    from sipfault.cli import main as sipfault_main

    gc.callbacks.append(_on_collection)
    atexit.register(_report)
    return sipfault_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
