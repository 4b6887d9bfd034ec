"""Start-up benchmark: how long from constructing a server to being ready to answer.

Measures `sipfault.Server` (async, in the caller's loop) and `sipfault.Controller` (a thread
with its own loop), each on 127.0.0.1 port 0 with UDP and TCP, and prints the median, the 95th
percentile and the maximum over a fixed number of runs.

    python bench/startup.py              # 200 runs of each
    python bench/startup.py --runs 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sipfault import Controller, Server


def summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"{name:40} median {statistics.median(ordered) * 1000:6.2f} ms   "
            f"p95 {p95 * 1000:6.2f} ms   max {ordered[-1] * 1000:6.2f} ms   ({len(ordered)} runs)")


async def server_startups(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        server = Server()
        await server.start()
        times.append(time.perf_counter() - started)
        await server.stop()
    return times


def controller_startups(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        controller = Controller()
        controller.start()
        times.append(time.perf_counter() - started)
        controller.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    print(summary("Server() + start() (udp+tcp, port 0)", asyncio.run(server_startups(runs))))
    print(summary("Controller() + start() (thread + loop)", controller_startups(runs)))


if __name__ == "__main__":
    main()
