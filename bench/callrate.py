"""Call-rate benchmark: SIPp's UAC against sipfault and against SIPp's own UAS, on loopback.

For each rate, SIPp's built-in UAC (`sipp -sn uac`: INVITE, 200, ACK, BYE, 200) places calls at
that rate for a fixed time (`--seconds`, so every step is sustained load, not a burst that socket
buffers absorb), once against `sipfault run bench/answer-immediate.yaml --quiet`
and once against `sipp -sn uas`; each target is started afresh for each step. The table shows
successful and failed calls; at the end, the highest rate each target held with zero failed
calls, and sipfault's share of SIPp's.

    python bench/callrate.py                      # rates 1000 to 8000/s, 5 s of calls each
    python bench/callrate.py --rates 250,500 --seconds 2 --targets sipp

Every step is bounded: SIPp gets `-m CALLS -timeout (CALLS/RATE + GRACE)s`, and is killed 15 s
after that. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # run as a script: reuse the test harness's runners

from tests.peers.sipfault_cli import run_sipfault  # noqa: E402
from tests.peers.sipp import SippResult, run_sipp, sipp_server  # noqa: E402

SCENARIO = REPO_ROOT / "bench" / "answer-immediate.yaml"
TARGETS = ("sipfault", "sipp")
#: A rate is held when SIPp's UAC got through every call at no less than this share of it: a
#: slow target makes SIPp stretch the step (its -l limit of calls in progress) without failing.
HELD_SHARE = 0.9
#: SIPp refuses to start when its -l limit of calls in progress exceeds its open-file limit.
_FILES_SPARE = 100


@dataclass(frozen=True)
class Step:
    """One target at one rate."""

    target: str
    """"sipfault" or "sipp" (SIPp's UAS)."""
    rate: int
    """Requested call rate, calls per second."""
    calls: int
    """Calls placed."""
    successful: int
    """Calls SIPp's UAC completed."""
    failed: int
    """Calls that failed (timeout, unexpected message, retransmissions exhausted)."""
    achieved: float
    """Mean call rate SIPp's UAC actually reached."""
    seconds: float
    """Wall-clock time of the UAC run."""
    note: str
    """Anything that went wrong beyond failed calls, and sipfault's retransmission counts."""

    @property
    def held(self) -> bool:
        """Every call succeeded, at no less than `HELD_SHARE` of the requested rate."""
        return (
            self.failed == 0
            and self.successful == self.calls
            and self.achieved >= HELD_SHARE * self.rate
        )


@contextlib.contextmanager
def target_address(
    target: str, transport: str, bound: float, notes: list[str]
) -> Iterator[tuple[str, int]]:
    """Start the target under test on an ephemeral loopback port; yield (host, port).

    For sipfault, its exit summary's retransmission counts are appended to `notes`.
    """
    if target == "sipfault":
        with run_sipfault(SCENARIO, quiet=True, transports=[transport], journal=False) as server:
            yield server.host, server.port
            server.stop()
            counts = server.summary.other.get("retransmissions", {})
            if any(counts.values()):  # SIPp retransmitted: sipfault answered late
                notes.append("retransmissions " + " ".join(f"{k}={v}" for k, v in counts.items()))
    else:
        with sipp_server(
            "uas", transport=transport, timeout=bound + 30, trace_messages=False
        ) as server:
            yield server.host, server.port


def run_step(target: str, rate: int, calls: int, transport: str, grace: float) -> Step:
    """Place `calls` calls at `rate` against a fresh `target`."""
    bound = calls / rate + grace
    notes: list[str] = []
    started = time.monotonic()
    result: SippResult | None = None
    try:
        with target_address(target, transport, bound, notes) as (host, port):
            result = run_sipp(
                "uac",
                host,
                port,
                transport=transport,
                calls=calls,
                rate=rate,
                timeout=bound,
                trace_messages=False,
                extra_args=["-l", str(calls_in_progress(rate))],
            )
    except AssertionError as error:  # the target did not start or stop cleanly
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        notes.append(lines[0] + (f" ... {lines[-1]}" if len(lines) > 1 else ""))
    elapsed = time.monotonic() - started
    if result is None:
        return Step(target, rate, calls, 0, calls, 0.0, elapsed, "; ".join(notes or ["no result"]))
    if result.returncode not in (0, 1):
        notes.insert(0, f"sipp exit status {result.returncode}: {first_event(result)}")
    failed = max(result.failed, calls - result.successful)
    return Step(
        target, rate, calls, result.successful, failed, result.call_rate, elapsed, "; ".join(notes)
    )


def calls_in_progress(rate: int) -> int:
    """SIPp's -l: four seconds of calls, within the open-file limit (one socket per call)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(min(rate * 4, soft - _FILES_SPARE), 100)


def raise_file_limit() -> None:
    """Let SIPp (a child, which inherits the limit) keep a few seconds of calls in progress."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def first_event(result: SippResult) -> str:
    """SIPp's first logged error event, without its time stamps, cut to one short line.

    "Dead call" lines (a late retransmission for a finished call) are only informative.
    """
    for line in (result.errors + "\n" + result.stderr).splitlines():
        fields = line.split("\t", 2)  # "date<TAB>time<TAB>epoch: message"
        if len(fields) == 3 and ": " in fields[2]:
            text = fields[2].split(": ", 1)[1]
            if not text.startswith("Dead call"):
                return text[:120]
    return "no error logged"


def best_rate(steps: list[Step], target: str) -> int:
    """Highest rate `target` held (every call, at >= HELD_SHARE of the rate); 0 if none."""
    return max((step.rate for step in steps if step.target == target and step.held), default=0)


def print_table(steps: list[Step], targets: tuple[str, ...]) -> None:
    """Per rate: successful/failed calls and achieved rate, per target."""
    names = {"sipfault": "sipfault", "sipp": "sipp -sn uas"}
    header = f"{'rate/s':>7} {'calls':>6}" + "".join(
        f" | {names[target] + ' ok':>16} {'failed':>6} {'cps':>7}" for target in targets
    )
    print(header)
    print("-" * len(header))
    for rate in sorted({step.rate for step in steps}):
        row = [step for step in steps if step.rate == rate]
        line = f"{rate:>7} {row[0].calls:>6}"
        for target in targets:
            step = next((s for s in row if s.target == target), None)
            if step is None:
                line += f" | {'-':>16} {'-':>6} {'-':>7}"
            else:
                line += f" | {step.successful:>16} {step.failed:>6} {step.achieved:>7.0f}"
        print(line, flush=True)
    for step in steps:
        if step.note:
            print(f"note: {step.target} at {step.rate}/s: {step.note}")


def main(argv: list[str] | None = None) -> int:
    """Run the steps, print the table and the verdict; exit 0 unless nothing could run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--rates",
        default="1000,2000,3000,4000,5000,6000,8000",
        help="comma-separated call rates, calls per second (default: %(default)s)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="seconds of calls per step: each step places RATE x SECONDS calls "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="comma-separated targets among sipfault,sipp (default: %(default)s)",
    )
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument(
        "--grace",
        type=float,
        default=15.0,
        help="seconds allowed beyond CALLS/RATE for each step (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    rates = sorted({int(rate) for rate in args.rates.split(",") if rate.strip()})
    targets = tuple(target.strip() for target in args.targets.split(",") if target.strip())
    unknown = [target for target in targets if target not in TARGETS]
    if unknown or not rates or min(rates) <= 0 or args.seconds <= 0:
        parser.error(f"bad --rates, --seconds or --targets {unknown or ''}")
    raise_file_limit()

    print(
        f"SIPp UAC (sipp -sn uac, {args.transport}) on 127.0.0.1, "
        f"{args.seconds:g} s of calls per step, "
        f"rates {', '.join(map(str, rates))}/s",
        flush=True,
    )
    steps: list[Step] = []
    for rate in rates:
        for target in targets:  # alternate targets so both see the same machine conditions
            calls = max(round(rate * args.seconds), 1)
            step = run_step(target, rate, calls, args.transport, args.grace)
            steps.append(step)
            print(
                f"  {target:>8} @ {rate:>5}/s: {step.successful} ok, {step.failed} failed, "
                f"{step.achieved:.0f} cps achieved, {step.seconds:.1f} s"
                + (f" ({step.note})" if step.note else ""),
                flush=True,
            )
    print()
    print_table(steps, targets)
    print()
    for target in targets:
        print(
            f"highest rate held with zero failed calls (>= {HELD_SHARE:.0%} of it achieved), "
            f"{target}: {best_rate(steps, target)}/s"
        )
    if set(TARGETS) <= set(targets):
        ours, theirs = best_rate(steps, "sipfault"), best_rate(steps, "sipp")
        ratio = f"{ours / theirs:.0%}" if theirs else "n/a (SIPp's UAS held no rate)"
        print(f"sipfault / SIPp UAS: {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
