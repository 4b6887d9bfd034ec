"""Soak: many calls at a steady rate against sipfault; its RSS over time, and what it still holds.

SIPp's built-in UAC (`sipp -sn uac`: INVITE, 200, ACK, BYE, 200) places `--calls` calls
(default 100,000) at `--rate` calls per second (default 500) against
`sipfault run bench/answer-immediate.yaml --quiet`. Every `--every` seconds (default 5) the
script reads sipfault's RSS from /proc and prints it. Once the load is over it waits `--wait`
seconds (default 35: Timers J and L run 64*T1 = 32 s after the last answers, RFC 3261
§17.2.2, RFC 6026 §7.1), still sampling, then stops sipfault and reads the `live:` line of its
summary (transactions, dialogs, timers and our own client transactions still held).

It prints whether RSS grew after warm-up (the mean of the load's last quarter of samples over
the mean of its second quarter; the first quarter is warm-up, while 64*T1 of transactions
build up) and whether the live counts were back to zero.

    python bench/soak.py                        # 100,000 calls at 500/s: about 4 minutes
    python bench/soak.py --calls 2000 --every 1 --wait 35

The load is bounded: SIPp gets `-m CALLS -timeout (CALLS/RATE + GRACE)s` and is killed 15 s
after that. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # run as a script: reuse the test harness's runners

from bench.callrate import (  # noqa: E402
    SCENARIO,
    calls_in_progress,
    check_command,
    first_event,
    machine,
    raise_file_limit,
)
from bench.process_stats import cpu_seconds, memory_kib  # noqa: E402
from tests.peers.sipfault_cli import run_sipfault  # noqa: E402
from tests.peers.sipp import SippResult, run_sipp  # noqa: E402

#: RSS may differ this much between the second and the last quarter without counting as growth.
GROWTH_TOLERANCE = 0.10
#: Until the load has lasted 64*T1 (T1 0.5 s by default), transactions still build up: RSS
#: grows then however well memory is kept.
WARM_UP = 32.0


@dataclass(frozen=True)
class Sample:
    """One reading of sipfault's RSS."""

    seconds: float
    """Since the load started."""
    phase: str
    """"load" while SIPp places calls, "after" during the wait."""
    rss_kib: int
    """VmRSS."""


def growth(samples: list[Sample]) -> tuple[float, float] | None:
    """Mean RSS of the load's last quarter of samples over that of its second quarter, and
    the time the second quarter starts; None with fewer than four samples of the load."""
    load = [sample for sample in samples if sample.phase == "load"]
    quarter = len(load) // 4
    if quarter == 0:
        return None
    second = statistics.fmean(sample.rss_kib for sample in load[quarter : 2 * quarter])
    last = statistics.fmean(sample.rss_kib for sample in load[len(load) - quarter :])
    return last / second, load[quarter].seconds


def live_counts(output: str) -> dict[str, int] | None:
    """The summary's `live: transactions=0 dialogs=0 timers=0 client_transactions=0`."""
    for line in reversed(output.splitlines()):
        if line.startswith("live:"):
            pairs = (item.split("=", 1) for item in line.split()[1:] if "=" in item)
            return {name: int(value) for name, value in pairs}
    return None


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the samples and verdicts; exit 1 when something did not hold."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=100_000,
                        help="calls to place (default: %(default)s)")
    parser.add_argument("--rate", type=int, default=500,
                        help="calls per second (default: %(default)s)")
    parser.add_argument("--every", type=float, default=5.0,
                        help="seconds between RSS samples (default: %(default)s)")
    parser.add_argument("--wait", type=float, default=35.0,
                        help="seconds to wait after the load, for Timers J and L "
                        "(64*T1 = 32 s) to end every transaction (default: %(default)s)")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--grace", type=float, default=30.0,
                        help="seconds allowed beyond CALLS/RATE for the load "
                        "(default: %(default)s)")
    args = parser.parse_args(argv)
    if args.calls <= 0 or args.rate <= 0 or args.every <= 0 or args.wait < 0:
        parser.error("--calls, --rate and --every must be positive, --wait not negative")
    raise_file_limit()
    bound = args.calls / args.rate + args.grace
    print(f"soak: {args.calls} calls at {args.rate}/s (sipp -sn uac, {args.transport}) against "
          f"sipfault on 127.0.0.1, RSS every {args.every:g} s, {args.wait:g} s wait after\n"
          f"{machine()}", flush=True)

    notes: list[str] = []
    samples: list[Sample] = []
    with run_sipfault(SCENARIO, quiet=True, transports=[args.transport],
                      journal=False) as server:
        pid = server.process.pid
        check_command(pid, ("sipfault", "run"), notes)
        time.sleep(1.0)
        idle = memory_kib(pid)
        cpu_start = cpu_seconds(pid)
        print(f"  idle: RSS {mib(idle)}", flush=True)

        def sample(phase: str) -> None:
            reading = Sample(time.monotonic() - started, phase, memory_kib(pid))
            samples.append(reading)
            print(f"  {reading.seconds:7.1f} s  {phase:<5}  RSS {mib(reading.rss_kib)}",
                  flush=True)

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            load = pool.submit(
                run_sipp, "uac", server.host, server.port, transport=args.transport,
                calls=args.calls, rate=args.rate, timeout=bound, trace_messages=False,
                extra_args=["-l", str(calls_in_progress(args.rate))],
            )
            while not concurrent.futures.wait([load], timeout=args.every).done:
                sample("load")
            result: SippResult = load.result()
        sample("load")  # the last reading of the load, as it ends
        load_seconds = time.monotonic() - started
        cpu_load = cpu_seconds(pid) - cpu_start
        peak = memory_kib(pid, "VmHWM")
        deadline = time.monotonic() + args.wait
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(args.every, left))
            sample("after")
        after = memory_kib(pid)
        server.stop()
        counts = live_counts(server.output)
        retransmissions = server.summary.other.get("retransmissions", {})

    print()
    failed = max(result.failed, args.calls - result.successful)
    if result.returncode not in (0, 1):
        notes.append(f"sipp exit status {result.returncode}: {first_event(result)}")
    print(f"load: {result.successful} ok, {failed} failed, {result.call_rate:.0f} cps achieved "
          f"in {load_seconds:.0f} s; sipfault retransmissions "
          + " ".join(f"{k}={v}" for k, v in retransmissions.items()))
    if result.successful:
        print(f"CPU: {cpu_load / result.successful * 1e6:.0f} µs per call over the load")
    print(f"RSS: {mib(idle)} idle, {mib(peak)} peak, {mib(after)} {args.wait:g} s after the "
          f"load ({after / idle - 1:+.0%} of idle)")
    measured = growth(samples)
    held = True
    if measured is None:
        print("RSS growth after warm-up: too few samples of the load to tell "
              "(lower --every or place more calls)")
    else:
        ratio, second_starts = measured
        text = f"RSS growth after warm-up: last quarter / second quarter = {ratio:.3f}: "
        if second_starts < WARM_UP:
            print(text + f"the load is too short to tell (its second quarter starts at "
                  f"{second_starts:.0f} s, before the {WARM_UP:g} s warm-up of 64*T1)")
        else:
            grew = ratio > 1 + GROWTH_TOLERANCE
            held = not grew
            print(text + ("grew" if grew else f"no growth (within {GROWTH_TOLERANCE:.0%})"))
    if counts is None:
        held = False
        print("live counts: the summary has no live: line")
    else:
        text = " ".join(f"{name}={value}" for name, value in counts.items())
        zero = not any(counts.values())
        held = held and zero
        print(f"live counts {args.wait:g} s after the load: {text}: "
              + ("back to zero" if zero else "NOT back to zero"))
    held = held and failed == 0
    for note in notes:
        print(f"note: {note}")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
