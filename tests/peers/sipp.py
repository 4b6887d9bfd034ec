"""Drive SIPp: run a UAC scenario to completion, or keep a UAS running beside a test.

Every run is bounded twice: SIPp's own `-timeout ... -timeout_error`, and a subprocess timeout a
little longer, after which SIPp is killed and the test fails with what it had logged.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.peers.locate import require_sipp
from tests.peers.output import spawn
from tests.peers.ports import format_hostport, free_port

#: SIPp exit statuses (`sipp -h`, "Exit codes"), as the shell sees them.
EXIT_ALL_CALLS_OK = 0
EXIT_SOME_CALL_FAILED = 1
EXIT_INTERNAL_COMMAND = 97
EXIT_NO_CALLS = 99
EXIT_FATAL = 255
EXIT_BIND_FAILED = 254

#: SIPp transport modes: one UDP socket, one TCP connection.
TRANSPORT_MODES = {"udp": "u1", "tcp": "t1"}

_BIND_ATTEMPTS = 3


@dataclass(frozen=True)
class SippResult:
    """What one SIPp run did."""

    command: list[str]
    """The command line."""
    returncode: int
    """SIPp's exit status (0: every call succeeded)."""
    stdout: str
    """SIPp's standard output (its final screens)."""
    stderr: str
    """SIPp's standard error (scenario and socket errors)."""
    stats: dict[str, str]
    """Last row of the `-trace_stat` CSV, by column name (e.g. "SuccessfulCall(C)")."""
    messages: str
    """The `-trace_msg` log: every message sent and received ("" when not traced)."""
    errors: str
    """The `-trace_err` log: unexpected messages and failed checks."""

    def counter(self, name: str) -> int:
        """A cumulative integer statistic such as "SuccessfulCall" or "FailedCall"."""
        value = self.stats.get(f"{name}(C)", self.stats.get(name, ""))
        try:
            return int(float(value))
        except ValueError:
            return 0

    @property
    def successful(self) -> int:
        """Calls that ran the whole scenario."""
        return self.counter("SuccessfulCall")

    @property
    def failed(self) -> int:
        """Calls that failed (unexpected message, timeout, failed check...)."""
        return self.counter("FailedCall")

    @property
    def call_rate(self) -> float:
        """Mean call rate SIPp achieved over the run, calls per second."""
        try:
            return float(self.stats.get("CallRate(C)", "0") or 0)
        except ValueError:
            return 0.0

    def logged_messages(self) -> list[LoggedMessage]:
        """Messages from the `-trace_msg` log, in order, with their time stamps."""
        return parse_message_log(self.messages)

    def received(self, first_line_prefix: str = "") -> list[LoggedMessage]:
        """Messages SIPp received whose first line starts with `first_line_prefix`."""
        return [
            message
            for message in self.logged_messages()
            if message.direction == "rx" and message.first_line.startswith(first_line_prefix)
        ]

    def sent(self, first_line_prefix: str = "") -> list[LoggedMessage]:
        """Messages SIPp sent whose first line starts with `first_line_prefix`."""
        return [
            message
            for message in self.logged_messages()
            if message.direction == "tx" and message.first_line.startswith(first_line_prefix)
        ]

    def describe(self, tail: int = 12000) -> str:
        """A readable account for assertion messages: command, status, counters, logs."""
        parts = [
            f"sipp exit status {self.returncode}",
            f"command: {' '.join(self.command)}",
            f"successful={self.successful} failed={self.failed}",
        ]
        failures = {
            key: value
            for key, value in self.stats.items()
            if key.startswith("Failed") and key.endswith("(C)") and value not in ("", "0")
        }
        if failures:
            parts.append(f"failure counters: {failures}")
        if self.errors.strip():
            parts.append(f"errors log:\n{self.errors.strip()[-tail:]}")
        if self.stderr.strip():
            parts.append(f"stderr:\n{self.stderr.strip()[-tail:]}")
        if self.messages.strip():
            parts.append(f"message log:\n{self.messages.strip()[-tail:]}")
        else:
            parts.append(f"stdout:\n{self.stdout.strip()[-tail:]}")
        return "\n".join(parts)


@dataclass(frozen=True)
class LoggedMessage:
    """One message from SIPp's `-trace_msg` log."""

    time: float
    """Wall-clock time SIPp logged it at (seconds since the epoch)."""
    direction: str
    """"tx" (sent by SIPp) or "rx" (received)."""
    first_line: str
    """Request-Line or Status-Line."""
    text: str
    """The whole message."""

    def header_values(self, name: str) -> list[str]:
        """Values of every header field `name` (case-insensitive, unfolded; compact forms are
        not mapped), in order."""
        head = self.text.replace("\r\n", "\n").split("\n\n", 1)[0]
        fields: list[list[str]] = []
        for line in head.split("\n")[1:]:
            if line[:1] in (" ", "\t") and fields:
                fields[-1][1] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields.append([key.strip(), value.strip()])
        wanted = name.lower()
        return [value for key, value in fields if key.lower() == wanted]

    def header(self, name: str) -> str | None:
        """First value of header field `name`, None when absent."""
        values = self.header_values(name)
        return values[0] if values else None


#: "----------------------------------------------- 2026-11-22 02:40:09.848123"
_LOG_SEPARATOR_RE = re.compile(r"^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\s*$", re.M)


def parse_message_log(text: str) -> list[LoggedMessage]:
    """Split a SIPp `-trace_msg` log into messages (UDP and TCP, sent and received)."""
    messages: list[LoggedMessage] = []
    parts = _LOG_SEPARATOR_RE.split(text)
    for stamp, entry in zip(parts[1::2], parts[2::2], strict=False):
        header, _, message = entry.strip("\n").partition("\n")
        direction = "rx" if "received" in header else "tx" if "sent" in header else ""
        message = message.strip("\r\n")
        if not direction or not message:
            continue
        when = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        first_line = message.splitlines()[0].strip()
        messages.append(LoggedMessage(when, direction, first_line, message))
    return messages


def parse_stat_csv(text: str) -> dict[str, str]:
    """The last data row of a SIPp `-trace_stat` file, keyed by the header row's names."""
    rows = [line for line in text.splitlines() if line.strip()]
    if len(rows) < 2:
        return {}
    header = rows[0].split(";")
    values = rows[-1].split(";")
    return dict(zip(header, values, strict=False))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _common_args(
    *,
    local_ip: str,
    local_port: int,
    transport: str,
    workdir: Path,
    trace_messages: bool,
) -> list[str]:
    """Options every SIPp run gets: loopback only, no keyboard, logs into `workdir`."""
    args = [
        "-t", TRANSPORT_MODES.get(transport, transport),
        "-i", local_ip,
        "-p", str(local_port),
        "-bind_local",
        "-mi", local_ip,
        "-ci", local_ip,
        "-nostdin",
        "-trace_stat", "-stf", str(workdir / "stats.csv"),
        "-trace_err", "-error_file", str(workdir / "errors.log"),
        "-trace_screen", "-screen_file", str(workdir / "screen.log"),
    ]  # fmt: skip
    if trace_messages:
        args += ["-trace_msg", "-message_file", str(workdir / "messages.log")]
    return args


def _scenario_args(scenario: str | os.PathLike[str]) -> list[str]:
    """`-sf FILE` for a path, `-sn NAME` for a built-in scenario such as "uac" or "uas"."""
    text = os.fspath(scenario)
    if text.endswith(".xml") or os.sep in text:
        return ["-sf", str(Path(text).resolve())]
    return ["-sn", text]


def _collect(
    command: list[str], returncode: int, stdout: str, stderr: str, workdir: Path
) -> SippResult:
    return SippResult(
        command=command,
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        stats=parse_stat_csv(_read(workdir / "stats.csv")),
        messages=_read(workdir / "messages.log"),
        errors=_read(workdir / "errors.log"),
    )


def run_sipp(
    scenario: str | os.PathLike[str],
    remote_host: str,
    remote_port: int,
    *,
    transport: str = "udp",
    calls: int = 1,
    rate: float | None = None,
    timeout: float = 20.0,
    service: str | None = None,
    local_ip: str = "127.0.0.1",
    extra_args: Sequence[str] = (),
    trace_messages: bool = True,
    workdir: str | os.PathLike[str] | None = None,
) -> SippResult:
    """Run a SIPp UAC scenario (an XML path, or a built-in name like "uac") to the end.

    `-m calls -timeout {timeout}s -timeout_error` bound SIPp itself; the process is killed
    `timeout + 15` s after start if it has not exited. `service` sets `[service]`, the
    Request-URI user. The local port comes from the kernel's ephemeral range.
    """
    sipp = require_sipp()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="sipp-"))
        work = Path(workdir)
        for attempt in range(_BIND_ATTEMPTS):
            for stale in ("stats.csv", "messages.log", "errors.log", "screen.log"):
                (work / stale).unlink(missing_ok=True)
            command = [sipp, format_hostport(remote_host, remote_port)]
            command += _scenario_args(scenario)
            command += _common_args(
                local_ip=local_ip,
                local_port=free_port(local_ip),
                transport=transport,
                workdir=work,
                trace_messages=trace_messages,
            )
            command += ["-m", str(calls), "-timeout", f"{timeout:g}s", "-timeout_error"]
            if rate is not None:
                command += ["-r", f"{rate:g}"]
            if service is not None:
                command += ["-s", service]
            command += list(extra_args)
            try:
                done = subprocess.run(
                    command,
                    cwd=work,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=timeout + 15,
                )
            except subprocess.TimeoutExpired as expired:
                result = _collect(
                    command, -signal.SIGKILL, _text(expired.stdout), _text(expired.stderr), work
                )
                raise AssertionError(
                    f"sipp did not exit within {timeout + 15:.0f} s\n{result.describe()}"
                ) from None
            result = _collect(command, done.returncode, done.stdout, done.stderr, work)
            if result.returncode != EXIT_BIND_FAILED or attempt == _BIND_ATTEMPTS - 1:
                return result
    raise AssertionError("unreachable")  # pragma: no cover


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


@dataclass
class SippServer:
    """A SIPp UAS running in the background; `stop()` ends it and returns its result."""

    host: str
    """Address it listens on."""
    port: int
    """Port it listens on."""
    transport: str
    """"udp" or "tcp"."""
    process: subprocess.Popen[str]
    """The SIPp process."""
    command: list[str]
    """Its command line."""
    workdir: Path
    """Where its logs go."""
    result: SippResult | None = None
    """Set by `stop()`."""

    @property
    def hostport(self) -> str:
        """`host:port` for a request URI."""
        return format_hostport(self.host, self.port)

    def uri(self, user: str) -> str:
        """A SIP URI addressing `user` on this UAS."""
        suffix = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{user}@{self.hostport}{suffix}"

    def stop(self, timeout: float = 10.0) -> SippResult:
        """SIGTERM (SIPp then writes its final statistics), wait bounded, collect the logs."""
        if self.result is None:
            if self.process.poll() is None:
                self.process.terminate()
            try:
                stdout, stderr = self.process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                stdout, stderr = self.process.communicate(timeout=timeout)
            self.result = _collect(
                self.command, self.process.returncode, stdout, stderr, self.workdir
            )
        return self.result


def _listening(port: int, transport: str) -> bool:
    """Whether some socket is bound to `port` (Linux /proc; used to wait for SIPp's bind)."""
    table = "/proc/net/tcp" if transport == "tcp" else "/proc/net/udp"
    suffix = f":{port:04X}"
    try:
        with open(table) as handle:
            next(handle)
            return any(line.split()[1].endswith(suffix) for line in handle)
    except (OSError, StopIteration, IndexError):
        return False


@contextlib.contextmanager
def sipp_server(
    scenario: str | os.PathLike[str] = "uas",
    *,
    transport: str = "udp",
    local_ip: str = "127.0.0.1",
    calls: int | None = None,
    timeout: float = 60.0,
    extra_args: Sequence[str] = (),
    trace_messages: bool = True,
    ready_timeout: float = 5.0,
) -> Iterator[SippServer]:
    """Run a SIPp UAS (built-in "uas" or an XML file) on an ephemeral loopback port.

    SIPp quits by itself after `timeout` seconds (or `calls` calls); leaving the block stops
    it with SIGTERM. Its result (statistics, logs) is on `server.result` afterwards.
    """
    sipp = require_sipp()
    with tempfile.TemporaryDirectory(prefix="sipp-uas-") as tmp:
        work = Path(tmp)
        server: SippServer | None = None
        for _attempt in range(_BIND_ATTEMPTS):
            port = free_port(local_ip)
            command = [sipp, *_scenario_args(scenario)]
            command += _common_args(
                local_ip=local_ip,
                local_port=port,
                transport=transport,
                workdir=work,
                trace_messages=trace_messages,
            )
            command += ["-timeout", f"{timeout:g}s"]
            if calls is not None:
                command += ["-m", str(calls)]
            command += list(extra_args)
            process = spawn(command, cwd=work)
            candidate = SippServer(local_ip, port, transport, process, command, work)
            deadline = time.monotonic() + ready_timeout
            while process.poll() is None and time.monotonic() < deadline:
                if _listening(port, transport):
                    server = candidate
                    break
                time.sleep(0.02)
            if server is not None:
                break
            result = candidate.stop()
            if result.returncode != EXIT_BIND_FAILED:
                raise AssertionError(f"sipp UAS did not start\n{result.describe()}")
        if server is None:
            raise AssertionError("sipp UAS could not bind a port")
        try:
            yield server
        finally:
            server.stop()
