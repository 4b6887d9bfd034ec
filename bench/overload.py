"""Overload benchmark: twice the clean rate for 10 s, then the clean rate, and how soon it holds.

sipfault runs `bench/answer-immediate.yaml` with load shedding (`--max-loop-lag`, and
`--max-transactions` when given). SIPp's built-in UAC (`sipp -sn uac`: INVITE, 200, ACK, BYE,
200) places calls at 2R for `--overload` seconds, where R is sipfault's clean rate (the highest
rate `bench/callrate.py` shows it holding with zero failed calls, given as `--rate`). Then the
recovery: back-to-back SIPp runs of one second each at R. Printed: the calls refused with 503
during the overload and the other failures, each recovery second's successes and failures, the
time from the end of the overload to the first second at R from which every second has zero
failures, and sipfault's peak RSS and RSS at the end.

    python bench/overload.py --rate 600
    python bench/overload.py --rate 600 --max-loop-lag 100 --max-transactions 80000

Every SIPp run is bounded (`-timeout`, then killed); traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT, REPO_ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))  # run as a script: reuse the test harness's runners

from callrate import calls_in_progress, raise_file_limit  # noqa: E402

from tests.peers.sipfault_cli import SipfaultProcess, run_sipfault  # noqa: E402
from tests.peers.sipp import SippResult, run_sipp  # noqa: E402

SCENARIO = REPO_ROOT / "bench" / "answer-immediate.yaml"
#: Seconds a SIPp run may take beyond its calls' duration: refused calls end at once, served ones
#: within milliseconds; a call whose INVITE was lost would wait for SIPp's retransmissions.
GRACE = 4.0


@dataclass(frozen=True)
class Phase:
    """One SIPp run."""

    rate: int
    calls: int
    successful: int
    failed: int
    started: float
    """time.monotonic() when it began."""
    seconds: float
    """How long it took."""
    note: str


def place_calls(server: SipfaultProcess, rate: int, seconds: float) -> Phase:
    """`rate` x `seconds` calls at `rate` against the running sipfault."""
    calls = max(round(rate * seconds), 1)
    started = time.monotonic()
    result: SippResult = run_sipp(
        "uac", server.host, server.port, calls=calls, rate=rate, timeout=seconds + GRACE,
        trace_messages=False, extra_args=["-l", str(calls_in_progress(rate))],
    )
    note = "" if result.returncode in (0, 1) else f"sipp exit status {result.returncode}"
    failed = max(result.failed, calls - result.successful)
    return Phase(rate, calls, result.successful, failed, started, time.monotonic() - started,
                 note)


def rss_kb(pid: int, field: str) -> int:
    """`VmRSS` or `VmHWM` (peak) of a process, in kB; 0 when it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match[1]) if match else 0


def recovered_after(phases: list[Phase], overload_end: float) -> float | None:
    """Seconds from the end of the overload to the start of the first recovery run from which
    every run had zero failures; None when the last one still failed."""
    clean_from: Phase | None = None
    for phase in phases:
        if phase.failed:
            clean_from = None
        elif clean_from is None:
            clean_from = phase
    return None if clean_from is None else clean_from.started - overload_end


def main(argv: list[str] | None = None) -> int:
    """Run the overload and the recovery; print what each did."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=int, required=True,
                        help="sipfault's clean rate R, calls per second (bench/callrate.py)")
    parser.add_argument("--overload", type=float, default=10.0,
                        help="seconds of calls at 2R (default: %(default)s)")
    parser.add_argument("--recovery", type=int, default=8,
                        help="one-second runs at R after the overload (default: %(default)s)")
    parser.add_argument("--max-loop-lag", type=int, default=100, metavar="MS",
                        help="sipfault's --max-loop-lag (default: %(default)s ms)")
    parser.add_argument("--max-transactions", type=int, metavar="N",
                        help="sipfault's --max-transactions (default: none)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.overload <= 0 or args.recovery <= 0:
        parser.error("--rate, --overload and --recovery must be above 0")
    raise_file_limit()
    options = ["--max-loop-lag", str(args.max_loop_lag)]
    if args.max_transactions:
        options += ["--max-transactions", str(args.max_transactions)]
    print(f"sipfault run {SCENARIO.relative_to(REPO_ROOT)} --quiet {' '.join(options)}; "
          f"SIPp UAC (udp) at {2 * args.rate}/s for {args.overload:g} s, then {args.recovery} "
          f"x 1 s at {args.rate}/s", flush=True)
    recovery: list[Phase] = []
    with run_sipfault(SCENARIO, quiet=True, transports=["udp"], journal=False,
                      extra_args=options) as server:
        pid = server.process.pid
        idle = rss_kb(pid, "VmRSS")
        overload = place_calls(server, 2 * args.rate, args.overload)
        overload_end = time.monotonic()
        print(f"  overload {overload.rate}/s: {overload.successful} ok, {overload.failed} failed "
              f"of {overload.calls} in {overload.seconds:.1f} s {overload.note}", flush=True)
        for _ in range(args.recovery):
            phase = place_calls(server, args.rate, 1.0)
            recovery.append(phase)
            print(f"  +{phase.started - overload_end:4.1f} s at {phase.rate}/s: "
                  f"{phase.successful} ok, {phase.failed} failed {phase.note}", flush=True)
        peak, end = rss_kb(pid, "VmHWM"), rss_kb(pid, "VmRSS")
        output = server.stop()
    shedding = re.search(r"^load shedding: .*?(\d+) INVITE/REGISTER refused.*$", output,
                         re.MULTILINE)
    refused = int(shedding[1]) if shedding else 0
    episodes = len(re.findall(r"!! shedding load", output))
    after = recovered_after(recovery, overload_end)
    print()
    print(f"overload at {2 * args.rate}/s: {overload.successful} calls served, "
          f"{overload.failed} failed; sipfault sent {refused} 503s in the whole run")
    print(f"sipfault summary: {shedding[0] if shedding else 'no load shedding'}"
          + (f" ({episodes} episodes announced on the console)" if episodes else ""))
    failed = sum(phase.failed for phase in recovery)
    print(f"recovery at {args.rate}/s: {failed} failed calls in {len(recovery)} runs of 1 s")
    print("serving R again with zero failures: "
          + (f"{after:.1f} s after the overload ended" if after is not None
             else f"not within {len(recovery)} s"))
    print(f"sipfault RSS: idle {idle / 1024:.0f} MB, peak {peak / 1024:.0f} MB, "
          f"at the end {end / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
