"""Call-rate benchmark: SIPp's UAC against sipfault and against SIPp's own UAS, on loopback.

For each rate, SIPp's UAC (bench/uac-setup-time.xml: SIPp's built-in uac, INVITE, 200, ACK,
BYE, 200, with the call set-up time marked) places calls at that rate for a fixed time
(`--seconds`, default 30, so every step is sustained load, not a burst that socket buffers
absorb), once against `sipfault run bench/answer-immediate.yaml --quiet` and once against
`sipp -sn uas`; each target is started afresh for each step, and the two alternate at each
rate. Per step: failed calls, the rate achieved, set-up time (INVITE sent to 200 received)
p50/p99/p99.9, the target's CPU per call, its RSS at idle, at its peak, and `--after` seconds
(default 60) after the load stopped. At the end, the table (`--markdown` also as Markdown),
the highest rate each target held with zero failed calls, and sipfault's share of SIPp's.

    python bench/callrate.py                      # rates 1000 to 6000/s, 30 s of calls each
    python bench/callrate.py --rates 200 --seconds 3 --after 2 --markdown

Every step is bounded: SIPp gets `-m CALLS -timeout (CALLS/RATE + GRACE)s`, and is killed 15 s
after that. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # run as a script: reuse the test harness's runners

from bench.process_stats import (  # noqa: E402
    command_line,
    cpu_seconds,
    memory_kib,
    percentile,
)
from tests.peers.locate import require_sipp  # noqa: E402
from tests.peers.sipfault_cli import run_sipfault  # noqa: E402
from tests.peers.sipp import SippResult, run_sipp, sipp_server  # noqa: E402

SCENARIO = REPO_ROOT / "bench" / "answer-immediate.yaml"
#: SIPp's built-in uac with a response time "setup" from the INVITE's first send to the 200.
UAC_SCENARIO = REPO_ROOT / "bench" / "uac-setup-time.xml"
TARGETS = ("sipfault", "sipp", "floor", "floor-blocking")
NAMES = {"sipfault": "sipfault", "sipp": "sipp -sn uas", "floor": "floor (asyncio)",
         "floor-blocking": "floor (blocking)"}
#: The canned-answer responders that show what CPU per call Python itself costs (not run
#: unless asked: ``--targets sipfault,sipp,floor,floor-blocking``).
FLOOR = REPO_ROOT / "bench" / "floor_uas.py"
DEFAULT_TARGETS = ("sipfault", "sipp")
#: A rate is held when SIPp's UAC got through every call at no less than this share of it: a
#: slow target makes SIPp stretch the step (its -l limit of calls in progress) without failing.
HELD_SHARE = 0.95
#: SIPp refuses to start when its -l limit of calls in progress exceeds its open-file limit.
_FILES_SPARE = 100
#: SIPp's short message log: a line per message sent or received, with a time in µs. Its
#: -trace_rtt file gives each call's response time too, but in whole clock steps (4 ms with
#: SIPp 3.6.1 here), too coarse for the median.
SHORT_LOG = "short.log"
#: The target settles after its start-up before its idle RSS is read.
_SETTLE = 1.0


@dataclass(frozen=True)
class Step:
    """One target at one rate."""

    target: str
    """"sipfault", "sipp" (SIPp's UAS), "floor" or "floor-blocking" (bench/floor_uas.py)."""
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
    setup_ms: tuple[float, float, float] | None = None
    """Set-up time p50, p99 and p99.9, milliseconds, over the calls that got their 200."""
    setup_count: int = 0
    """Calls with a set-up time (every call that got its 200)."""
    cpu_load: float | None = None
    """CPU seconds (user + system) the target used from the start to the end of the load."""
    cpu_after: float | None = None
    """CPU seconds it used while idle after the load (timers ending the transactions)."""
    rss_idle: int | None = None
    """VmRSS, KiB, after start-up and before the load."""
    rss_peak: int | None = None
    """VmHWM, KiB, when the load ended: the largest RSS the process had."""
    rss_after: int | None = None
    """VmRSS, KiB, `--after` seconds after the load ended."""

    @property
    def held(self) -> bool:
        """Every call succeeded, at no less than `HELD_SHARE` of the requested rate."""
        return (
            self.failed == 0
            and self.successful == self.calls
            and self.achieved >= HELD_SHARE * self.rate
        )

    @property
    def cpu_per_call(self) -> float | None:
        """Microseconds of the target's CPU per successful call, over the load."""
        if self.cpu_load is None or not self.successful:
            return None
        return self.cpu_load / self.successful * 1e6

    @property
    def after_vs_idle(self) -> float | None:
        """RSS after the wait over RSS at idle, minus one (0.2: 20% above idle)."""
        if self.rss_after is None or not self.rss_idle:
            return None
        return self.rss_after / self.rss_idle - 1


@dataclass
class Probe:
    """Readings of the target process over a step; a reading that failed stays None."""

    pids: tuple[int, ...]
    """The target's processes (a parent and its workers): CPU and RSS are their sums."""
    notes: list[str]
    cpu_start: float | None = None
    cpu_end: float | None = None
    cpu_idle_end: float | None = None
    rss_idle: int | None = None
    rss_peak: int | None = None
    rss_after: int | None = None

    def read(self, what: str, reader: str) -> float | None:
        """One reading ("cpu", "VmRSS", "VmHWM"); None, with a note, if the process is gone."""
        try:
            if reader == "cpu":
                return sum(cpu_seconds(pid) for pid in self.pids)
            return sum(memory_kib(pid, reader) for pid in self.pids)
        except (OSError, ValueError) as error:
            self.notes.append(f"no {what} reading: {error}")
            return None

    def before_load(self) -> None:
        """Idle RSS and the CPU counter at the start of the load."""
        self.rss_idle = _kib(self.read("idle RSS", "VmRSS"))
        self.cpu_start = self.read("CPU", "cpu")

    def end_of_load(self) -> None:
        """CPU used and the peak RSS when SIPp's UAC is done."""
        self.cpu_end = self.read("CPU", "cpu")
        self.rss_peak = _kib(self.read("peak RSS", "VmHWM"))

    def after_wait(self) -> None:
        """RSS and CPU once the wait after the load is over."""
        self.rss_after = _kib(self.read("RSS after the load", "VmRSS"))
        self.cpu_idle_end = self.read("CPU", "cpu")


def _spent(start: float | None, end: float | None) -> float | None:
    """CPU seconds between two readings, None if either is missing."""
    return None if start is None or end is None else end - start


def _kib(value: float | None) -> int | None:
    return None if value is None else int(value)


@contextlib.contextmanager
def target_process(
    target: str, transport: str, bound: float, notes: list[str], workers: int = 1
) -> Iterator[tuple[str, int, tuple[int, ...]]]:
    """Start the target under test on an ephemeral loopback port; yield (host, port, pids).

    The pids are the server process itself (`python -m sipfault run`, or `sipp`), checked from
    its command line, and with `workers` above 1 sipfault's worker processes. For sipfault,
    its exit summary's retransmission counts are appended to `notes`.
    """
    if target == "sipfault":
        extra = ["--workers", str(workers)] if workers > 1 else []
        with run_sipfault(SCENARIO, quiet=True, transports=[transport], journal=False,
                          extra_args=extra) as server:
            check_command(server.process.pid, ("sipfault", "run"), notes)
            pids = (server.process.pid, *worker_pids(server.stdout))
            if len(pids) != (workers + 1 if workers > 1 else 1):
                notes.append(f"found {len(pids) - 1} of {workers} workers' pids")
            yield server.host, server.port, pids
            server.stop()
            counts = server.summary.other.get("retransmissions", {})
            if any(counts.values()):  # SIPp retransmitted: sipfault answered late
                notes.append("retransmissions " + " ".join(f"{k}={v}" for k, v in counts.items()))
    elif target.startswith("floor"):
        if transport != "udp":
            raise SystemExit("the floor targets answer over UDP only")
        with floor_process(target == "floor-blocking", bound + 30) as (host, port, pid):
            yield host, port, (pid,)
    else:
        with sipp_server(
            "uas", transport=transport, timeout=bound + 30, trace_messages=False
        ) as server:
            check_command(server.process.pid, ("-sn", "uas"), notes)
            yield server.host, server.port, (server.process.pid,)


def worker_pids(listening: str) -> list[int]:
    """The worker processes a `--workers` listening line names ("w0 pid=123 seed=...")."""
    return [int(found) for found in re.findall(r"\bw\d+ pid=(\d+)", listening)]


@contextlib.contextmanager
def floor_process(blocking: bool, seconds: float) -> Iterator[tuple[str, int, int]]:
    """bench/floor_uas.py on an ephemeral loopback port; yield (host, port, pid)."""
    command = [sys.executable, str(FLOOR), "--seconds", str(seconds)]
    if blocking:
        command.append("--blocking")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        words = process.stdout.readline().split()
        if len(words) != 3 or words[0] != "listening":
            raise SystemExit(f"bench/floor_uas.py did not start: {words}")
        yield words[1], int(words[2]), process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check_command(pid: int, expected: tuple[str, ...], notes: list[str]) -> None:
    """Note it when the process measured is not the server (a wrapper, a shell)."""
    try:
        argv = command_line(pid)
    except OSError:
        argv = []
    if not all(word in argv for word in expected):
        notes.append(f"measured pid {pid} runs {' '.join(argv[:4]) or '?'}, not the server")


def run_step(
    target: str, rate: int, calls: int, transport: str, grace: float, after: float,
    workers: int = 1, socket_per_call: bool = False,
) -> Step:
    """Place `calls` calls at `rate` against a fresh `target`, measuring it; SIPp's UAC sends
    from one socket, or from a socket per call (`-t un`: what spreads calls over workers)."""
    bound = calls / rate + grace
    notes: list[str] = []
    started = time.monotonic()
    elapsed = 0.0
    result: SippResult | None = None
    probe: Probe | None = None
    with tempfile.TemporaryDirectory(prefix="callrate-") as tmp:
        try:
            with target_process(target, transport, bound + after, notes,
                                workers) as (host, port, pids):
                probe = Probe(pids, notes)
                time.sleep(_SETTLE)
                probe.before_load()
                started = time.monotonic()
                result = run_sipp(
                    UAC_SCENARIO,
                    host,
                    port,
                    transport="un" if socket_per_call and transport == "udp" else transport,
                    calls=calls,
                    rate=rate,
                    timeout=bound,
                    trace_messages=False,
                    workdir=tmp,
                    extra_args=[
                        *(["-max_socket", str(calls_in_progress(rate, True) + 10)]
                          if socket_per_call else []),
                        "-l",
                        str(calls_in_progress(rate, socket_per_call)),
                        "-trace_shortmsg",
                        "-shortmessage_file",
                        str(Path(tmp) / SHORT_LOG),
                    ],
                )
                elapsed = time.monotonic() - started
                probe.end_of_load()
                time.sleep(after)
                probe.after_wait()
        except AssertionError as error:  # the target did not start or stop cleanly
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            notes.append(lines[0] + (f" ... {lines[-1]}" if len(lines) > 1 else ""))
        setup = setup_times(Path(tmp) / SHORT_LOG)
    elapsed = elapsed or time.monotonic() - started
    if result is None:
        return Step(target, rate, calls, 0, calls, 0.0, elapsed, "; ".join(notes or ["no result"]))
    if result.returncode not in (0, 1) or not result.stats:
        notes.insert(0, f"sipp exit status {result.returncode}: {first_event(result)}")
    failed = max(result.failed, calls - result.successful)
    readings = probe or Probe((), notes)  # no readings: every one None
    return Step(
        target,
        rate,
        calls,
        result.successful,
        failed,
        result.call_rate,
        elapsed,
        "; ".join(notes),
        setup_ms=set_up_percentiles(setup),
        setup_count=len(setup),
        cpu_load=_spent(readings.cpu_start, readings.cpu_end),
        cpu_after=_spent(readings.cpu_end, readings.cpu_idle_end),
        rss_idle=readings.rss_idle,
        rss_peak=readings.rss_peak,
        rss_after=readings.rss_after,
    )


def setup_times(log: Path) -> list[float]:
    """Each call's set-up time, ms, sorted: from the INVITE's first transmission to the first
    200 for it, in SIPp's short message log.

    Its lines are tab-separated: date, time, epoch seconds (µs), S (sent) or R (received),
    Call-ID, "CSeq:1 INVITE", the first line. A call without a 200 has no set-up time.
    """
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    try:
        handle = log.open(errors="replace")
    except FileNotFoundError:
        return []
    with handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 7 or not fields[5].endswith(" INVITE"):
                continue
            call_id = fields[4]
            if fields[3] == "S":
                sent.setdefault(call_id, float(fields[2]))
            elif fields[6].startswith("SIP/2.0 200") and call_id not in answered:
                answered[call_id] = float(fields[2])
    return sorted(
        (when - sent[call_id]) * 1000 for call_id, when in answered.items() if call_id in sent
    )


def set_up_percentiles(values: list[float]) -> tuple[float, float, float] | None:
    """p50, p99 and p99.9 of sorted set-up times; None without any."""
    if not values:
        return None
    return percentile(values, 0.5), percentile(values, 0.99), percentile(values, 0.999)


def calls_in_progress(rate: int, socket_per_call: bool = False) -> int:
    """SIPp's -l: four seconds of calls, within the open-file limit; with a socket per call,
    SIPp wants its -max_socket and -l together under that limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - _FILES_SPARE
    return max(min(rate * 4, room // 2 if socket_per_call else room), 100)


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


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}"


def step_line(step: Step, after: float) -> str:
    """The line printed as a step finishes."""
    text = (
        f"  {step.target:>8} @ {step.rate:>5}/s: {step.successful} ok, {step.failed} failed, "
        f"{step.achieved:.0f} cps achieved, {step.seconds:.1f} s"
    )
    if step.setup_ms is not None:
        p50, p99, p999 = step.setup_ms
        text += f"; set-up p50 {_ms(p50)} / p99 {_ms(p99)} / p99.9 {_ms(p999)} ms"
        if step.setup_count != step.successful:
            text += f" (of {step.setup_count} calls answered)"
    if step.cpu_per_call is not None:
        text += f"; {step.cpu_per_call:.0f} µs CPU/call"
        if step.cpu_after is not None and step.successful:
            text += f" (+{step.cpu_after / step.successful * 1e6:.0f} in the {after:g} s after)"
    if step.rss_peak is not None:
        text += (
            f"; RSS {_mib(step.rss_idle)} idle, {_mib(step.rss_peak)} peak, "
            f"{_mib(step.rss_after)} MiB {after:g} s after"
        )
    return text + (f" ({step.note})" if step.note else "")


def table(steps: list[Step], after: float) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per rate and target, in the order of the rates."""
    header = [
        "rate/s", "target", "calls", "failed", "cps", "p50 ms", "p99 ms", "p99.9 ms",
        "CPU µs/call", "RSS idle MiB", "peak MiB", f"{after:g} s after MiB", "after vs idle",
    ]  # fmt: skip
    rows = []
    for step in sorted(steps, key=lambda s: (s.rate, TARGETS.index(s.target))):
        setup = [_ms(v) for v in step.setup_ms] if step.setup_ms else ["-"] * 3
        per_call = step.cpu_per_call
        vs_idle = step.after_vs_idle
        rows.append([
            str(step.rate), NAMES[step.target], str(step.calls), str(step.failed),
            f"{step.achieved:.0f}", *setup,
            "-" if per_call is None else f"{per_call:.0f}",
            _mib(step.rss_idle), _mib(step.rss_peak), _mib(step.rss_after),
            "-" if vs_idle is None else f"{vs_idle:+.0%}",
        ])  # fmt: skip
    return header, rows


def console_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, text left, numbers right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    text = [line(header), "-" * len(line(header))]
    text += [line(row) for row in rows]
    return "\n".join(text)


def markdown_table(header: list[str], rows: list[list[str]], caption: str) -> str:
    """The table in Markdown, under a line saying when, where and how it was run."""
    lines = [caption, "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if i == 1 else "---:" for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """Date, cores, CPU model, Python, SIPp and the load average at the start."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        model = next((line.split(":", 1)[1].strip() for line in handle
                      if line.startswith("model name")), "")
    try:
        sipp = subprocess.run([require_sipp(), "-v"], capture_output=True, text=True,
                              timeout=10, check=False).stdout
        version = next((w for w in sipp.split() if w.startswith("v")), "?").split("-")[0]
    except (OSError, subprocess.TimeoutExpired):
        version = "?"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    day = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{day}; {os.cpu_count()} cores{f' ({model})' if model else ''}; "
        f"Python {platform.python_version()}; SIPp {version}; load average {load} at the start"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the steps, print the table and the verdict; exit 0 unless nothing could run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--rates",
        default="1000,2000,3000,4000,5000,6000",
        help="comma-separated call rates, calls per second (default: %(default)s)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="seconds of calls per step: each step places RATE x SECONDS calls "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--after",
        type=float,
        default=60.0,
        help="seconds to wait after the load before reading the target's RSS again "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--targets",
        default=",".join(DEFAULT_TARGETS),
        help="comma-separated targets among " + ",".join(TARGETS) + " (default: %(default)s)",
    )
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run sipfault with --workers N; its CPU and RSS are the sums over its processes "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--uac-sockets",
        choices=("one", "per-call"),
        default="one",
        help="SIPp's UAC sends from one socket, or from one per call (-t un), for every "
        "target; UDP from one socket reaches one worker (default: %(default)s)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=15.0,
        help="seconds allowed beyond CALLS/RATE for each step (default: %(default)s)",
    )
    parser.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        metavar="FILE",
        help="also write the table as Markdown, to FILE or (without one) to standard output",
    )
    args = parser.parse_args(argv)
    rates = sorted({int(rate) for rate in args.rates.split(",") if rate.strip()})
    targets = tuple(target.strip() for target in args.targets.split(",") if target.strip())
    unknown = [target for target in targets if target not in TARGETS]
    if unknown or not rates or min(rates) <= 0 or args.seconds <= 0 or args.after < 0:
        parser.error(f"bad --rates, --seconds, --after or --targets {unknown or ''}")
    raise_file_limit()

    where = machine()
    print(
        f"SIPp UAC ({UAC_SCENARIO.name}, {args.transport}) on 127.0.0.1, "
        f"{args.seconds:g} s of calls per step, RSS again {args.after:g} s after, "
        f"rates {', '.join(map(str, rates))}/s\n{where}",
        flush=True,
    )
    steps: list[Step] = []
    for rate in rates:
        for target in targets:  # alternate targets so both see the same machine conditions
            calls = max(round(rate * args.seconds), 1)
            step = run_step(target, rate, calls, args.transport, args.grace, args.after,
                            args.workers, args.uac_sockets == "per-call")
            steps.append(step)
            print(step_line(step, args.after), flush=True)
    print()
    header, rows = table(steps, args.after)
    print(console_table(header, rows))
    print()
    for target in targets:
        print(
            f"highest rate held with zero failed calls (>= {HELD_SHARE:.0%} of it achieved), "
            f"{target}: {best_rate(steps, target)}/s"
        )
    if set(DEFAULT_TARGETS) <= set(targets):
        ours, theirs = best_rate(steps, "sipfault"), best_rate(steps, "sipp")
        ratio = f"{ours / theirs:.0%}" if theirs else "n/a (SIPp's UAS held no rate)"
        print(f"sipfault / SIPp UAS: {ratio}")
    if args.markdown:
        command = "python bench/callrate.py " + " ".join(argv if argv is not None else sys.argv[1:])
        caption = f"{where}; `{command.strip()}`"
        text = markdown_table(header, rows, caption)
        if args.markdown == "-":
            print(f"\n{text}")
        else:
            Path(args.markdown).write_text(text + "\n", encoding="utf-8")
            print(f"\nMarkdown table written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
