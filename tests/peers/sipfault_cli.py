"""Run `sipfault run SCENARIO` as a subprocess on an ephemeral loopback port.

The CLI contract relied on here:
- when ready it prints, flushed, a line matching `LISTENING_RE`;
- on SIGINT it shuts down, prints a summary with `requests: INVITE=1 ACK=1` and
  `responses: 100=1 180=1 486=1` lines, one `binding: AOR -> URI (expires in N s)` line per
  registrar binding still current, and exits 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers.locate import REPO_ROOT
from tests.peers.output import LineCollector
from tests.peers.ports import format_hostport

LISTENING_RE = re.compile(r"listening on (?P<host>\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+)")
#: With a certificate the listening line goes on "..., tls on 127.0.0.1:40124".
TLS_LISTENING_RE = re.compile(r"tls on (?:\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+)")
#: The test certificate and key (tests/tls/README.md).
TLS_FILES = (REPO_ROOT / "tests" / "tls" / "cert.pem", REPO_ROOT / "tests" / "tls" / "key.pem")
#: A summary line of counts: "requests: ACK=1 INVITE=1", "retransmissions: in=0 out=1";
#: "requests: -" when there were none.
_COUNTS_RE = re.compile(
    r"(?:^|\s)(?P<kind>[a-z][a-z0-9_-]*):"
    r"(?P<counts>(?:\s+[A-Za-z0-9_.!%*+`'~-]+=\d+)+|\s+-)\s*$"
)
_REQUIRED = ("requests", "responses")
#: "binding: sip:alice@127.0.0.1 -> sip:alice@127.0.0.1:5070;ob (expires in 59 s)"
_BINDING_RE = re.compile(
    r"^\s*binding:\s+(?P<aor>\S+)\s+->\s+(?P<uri>\S+)\s+\(expires in (?P<expires>\d+) s\)\s*$"
)


@dataclass(frozen=True)
class Binding:
    """A registrar binding the summary reports as current (RFC 3261 §10.3)."""

    aor: str
    """Address-of-record, e.g. "sip:alice@127.0.0.1"."""
    uri: str
    """The contact URI bound to it."""
    expires: int
    """Seconds it had left when sipfault stopped."""


@dataclass(frozen=True)
class Summary:
    """The counts `sipfault run` prints when it stops."""

    requests: dict[str, int]
    """Requests received, by method (e.g. {"INVITE": 1, "ACK": 1})."""
    responses: dict[str, int]
    """Responses sent, by status code as text (e.g. {"100": 1, "486": 1})."""
    other: dict[str, dict[str, int]]
    """Any further count lines, e.g. {"retransmissions": {"in": 0, "out": 1},
    "findings": {"stray-ack": 1}}; a line that was not printed is absent."""
    bindings: list[Binding] = field(default_factory=list)
    """Registrar bindings still current at the end, in the order printed."""

    @property
    def retransmissions_out(self) -> int:
        """Responses sent again (RFC 3261 §17.2.1 Timer G, §13.3.1.4); 0 when not reported."""
        return self.other.get("retransmissions", {}).get("out", 0)

    @property
    def findings(self) -> dict[str, int]:
        """Findings about the client's conduct, by name ({} when none were reported)."""
        return self.other.get("findings", {})


def parse_summary(output: str) -> Summary:
    """Counts from the last `requests:`, `responses:` (and other `name: k=v ...`) lines, and
    the `binding:` lines.

    Raises AssertionError, quoting the output, when the requests or responses line is missing.
    """
    found: dict[str, dict[str, int]] = {}
    bindings: list[Binding] = []
    for line in output.splitlines():
        bound = _BINDING_RE.match(line)
        if bound:
            bindings.append(Binding(bound["aor"], bound["uri"], int(bound["expires"])))
            continue
        match = _COUNTS_RE.search(line)
        if match:
            items = [item for item in match["counts"].split() if item != "-"]
            pairs = (item.split("=", 1) for item in items)
            found[match["kind"]] = {name: int(count) for name, count in pairs}
    missing = [kind for kind in _REQUIRED if kind not in found]
    if missing:
        raise AssertionError(
            f"sipfault summary has no {' or '.join(missing)} line; output was:\n{output}"
        )
    other = {kind: counts for kind, counts in found.items() if kind not in _REQUIRED}
    return Summary(
        requests=found["requests"], responses=found["responses"], other=other, bindings=bindings
    )


def resolve_scenario(scenario: str | os.PathLike[str]) -> Path:
    """An absolute scenario path; relative ones are taken from the repository root."""
    path = Path(scenario)
    return path if path.is_absolute() else REPO_ROOT / path


@dataclass
class SipfaultProcess:
    """A running `sipfault run`; `stop()` ends it and keeps its output and summary."""

    host: str
    """Address it listens on, without brackets."""
    port: int
    """Port it listens on (UDP and TCP share it)."""
    process: subprocess.Popen[str]
    """The child process."""
    command: list[str]
    """Command line it was started with."""
    _stdout: LineCollector = field(repr=False)
    _stderr: LineCollector = field(repr=False)
    returncode: int | None = None
    """Exit status once stopped."""
    tls_port: int = 0
    """Port it listens on with TLS (started with ``tls=True``), else 0."""

    def __iter__(self) -> Iterator[object]:
        """Unpack as `(host, port, process)`."""
        return iter((self.host, self.port, self.process))

    @property
    def hostport(self) -> str:
        """`host:port` to give SIPp as the remote host."""
        return format_hostport(self.host, self.port)

    def uri(self, user: str, transport: str | None = None) -> str:
        """A SIP URI addressing `user` on this server, e.g. `sip:486@127.0.0.1:40123`.

        For "tls", the TLS port: `sip:486@127.0.0.1:40124;transport=tls`.
        """
        suffix = f";transport={transport}" if transport and transport != "udp" else ""
        if transport == "tls":
            return f"sip:{user}@{format_hostport(self.host, self.tls_port)}{suffix}"
        return f"sip:{user}@{self.hostport}{suffix}"

    @property
    def stdout(self) -> str:
        """Standard output read so far."""
        return self._stdout.text

    @property
    def stderr(self) -> str:
        """Standard error read so far."""
        return self._stderr.text

    @property
    def output(self) -> str:
        """Standard output, then standard error, read so far."""
        return f"{self.stdout}\n{self.stderr}".strip("\n")

    def wait_for_line(self, pattern: str, timeout: float = 5.0) -> bool:
        """Wait (bounded) until a stdout line matches the regex `pattern`."""
        return self._stdout.wait_for(re.compile(pattern), timeout) is not None

    def stop(self, *, settle: float = 0.0, timeout: float = 10.0) -> str:
        """SIGINT, wait (bounded), assert exit status 0; return the full output.

        `settle` seconds pass first so the last datagrams a peer sent are processed (and any
        retransmission that an unmatched ACK would cause has time to show in the summary).
        Idempotent: later calls return the same output.
        """
        if self.returncode is None:
            if settle > 0:
                time.sleep(settle)
            self.returncode = _interrupt(self.process, timeout)
            self._stdout.join(timeout)
            self._stderr.join(timeout)
        if self.returncode != 0:
            raise AssertionError(
                f"sipfault exited with status {self.returncode} after SIGINT (expected 0)\n"
                f"command: {' '.join(self.command)}\n{self.output}"
            )
        return self.output

    @property
    def summary(self) -> Summary:
        """The exit summary; only meaningful after `stop()`."""
        return parse_summary(self.output)

    def assert_clean(self) -> None:
        """After `stop()`: no response was sent again and no finding was made about the client.

        Over UDP, an ACK that matched no transaction leaves the final response retransmitted
        (RFC 3261 §17.2.1, §13.3.1.4); `stop(settle=...)` beyond T1 gives that time to show.
        """
        summary = self.summary
        assert summary.retransmissions_out == 0, f"responses were retransmitted:\n{self.output}"
        assert summary.findings == {}, f"findings about the client:\n{self.output}"


def _interrupt(process: subprocess.Popen[str], timeout: float) -> int:
    """SIGINT the process and return its exit status; SIGKILL it if it overstays `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
            return -signal.SIGKILL
    return process.returncode


def sipfault_command(
    scenario: str | os.PathLike[str],
    *,
    listen: str = "127.0.0.1:0",
    transports: Sequence[str] | None = None,
    t1: str | None = None,
    verbose: bool = False,
    quiet: bool = False,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The `python -m sipfault run ...` command line for these options."""
    command = [sys.executable, "-m", "sipfault", "run", str(resolve_scenario(scenario))]
    command += ["--listen", listen]
    if transports:
        command += ["--transport", ",".join(transports)]
    if t1:
        command += ["--t1", t1]
    if verbose:
        command.append("-v")
    if quiet:
        command.append("--quiet")
    command += list(extra_args)
    return command


@contextlib.contextmanager
def run_sipfault(
    scenario: str | os.PathLike[str],
    *,
    listen: str = "127.0.0.1:0",
    transports: Sequence[str] | None = None,
    t1: str | None = None,
    verbose: bool = False,
    quiet: bool = False,
    tls: bool = False,
    extra_args: Sequence[str] = (),
    ready_timeout: float = 15.0,
    stop_timeout: float = 10.0,
) -> Iterator[SipfaultProcess]:
    """Start `sipfault run SCENARIO` and yield it once it prints its listening line.

    `tls=True` adds the test certificate, so TLS listens too (on `tls_port`).

    On leaving the block it is stopped with SIGINT (bounded) and must exit 0; call `stop()`
    inside the block to read the summary there. An exception from the block gets sipfault's
    output attached as a note, so the message ladder shows in the failure.
    """
    command = sipfault_command(
        scenario,
        listen=listen,
        transports=transports,
        t1=t1,
        verbose=verbose,
        quiet=quiet,
        extra_args=[*extra_args, "--tls-cert", str(TLS_FILES[0]), "--tls-key",
                    str(TLS_FILES[1])] if tls else extra_args,
    )
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    stdout = LineCollector(process.stdout, "sipfault-stdout")  # type: ignore[arg-type]
    stderr = LineCollector(process.stderr, "sipfault-stderr")  # type: ignore[arg-type]
    match = stdout.wait_for(LISTENING_RE, ready_timeout)
    if match is None:
        status = _interrupt(process, stop_timeout)
        stdout.join(stop_timeout)
        stderr.join(stop_timeout)
        raise AssertionError(
            f"sipfault printed no 'listening on HOST:PORT' line within {ready_timeout:.0f} s "
            f"(exit status {status})\ncommand: {' '.join(command)}\n"
            f"stdout:\n{stdout.text}\nstderr:\n{stderr.text}"
        )
    running = SipfaultProcess(
        host=match["host"].strip("[]"),
        port=int(match["port"]),
        process=process,
        command=command,
        _stdout=stdout,
        _stderr=stderr,
        tls_port=int(tls_match["port"]) if (tls_match := TLS_LISTENING_RE.search(
            match.string)) else 0,
    )
    try:
        yield running
    except BaseException as error:
        with contextlib.suppress(AssertionError):
            running.stop(timeout=stop_timeout)
        error.add_note(f"sipfault (exit status {running.returncode}) output:\n{running.output}")
        raise
    running.stop(timeout=stop_timeout)
