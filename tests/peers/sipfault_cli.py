"""Run `sipfault run SCENARIO` as a subprocess on an ephemeral loopback port.

The CLI contract relied on here:
- when ready it prints, flushed, a line matching `LISTENING_RE`;
- with `--journal FILE` it writes one JSON line per message and event as it happens (read by
  tests/peers/journal.py);
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
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from tests.peers.journal import Journal, JournalFile
from tests.peers.locate import REPO_ROOT
from tests.peers.output import LineCollector, spawn
from tests.peers.ports import format_hostport

LISTENING_RE = re.compile(r"listening on (?P<host>\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+)")
#: With a certificate the listening line goes on "..., tls on 127.0.0.1:40124".
TLS_LISTENING_RE = re.compile(r"tls on (?:\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+)")
#: The test certificate and key (tests/tls/README.md).
TLS_FILES = (REPO_ROOT / "tests" / "tls" / "cert.pem", REPO_ROOT / "tests" / "tls" / "key.pem")
#: A summary line of counts: "requests: ACK=1 INVITE=1", "retransmissions: in=0 out=1";
#: "requests: -" when there were none.
_WITHHELD_RE = re.compile(r"\s*\(withheld by faults:(?P<counts>(?:\s+\d+=\d+)+)\)\s*$")
_COUNTS_RE = re.compile(
    r"(?:^|\s)(?P<kind>[a-z][a-z0-9_-]*):"
    r"(?P<counts>(?:\s+[A-Za-z0-9_.!%*+`'~-]+=\d+)+|\s+-)\s*$"
)
_REQUIRED = ("requests", "responses")
#: `finish()`'s default: no finding about the client.
NO_FINDINGS: Mapping[str, int] = MappingProxyType({})
#: How often `wait_for` reads the journal again.
_POLL_INTERVAL = 0.01
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
    "findings": {"stray-ack": 1}, "withheld": {"200": 1}} (responses a fault kept back); a
    line that was not printed is absent."""
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
        withheld = _WITHHELD_RE.search(line)
        if withheld:  # `responses: 200=1 (withheld by faults: 200=1)`
            line = line[: withheld.start()]
            found["withheld"] = dict(
                (name, int(count)) for name, count in
                (item.split("=", 1) for item in withheld["counts"].split())
            )
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


class PeerReport(Protocol):
    """What a peer's run gives to explain a failure (SippResult, AgentResult)."""

    def describe(self) -> str: ...


@dataclass
class SipfaultProcess:
    """A running `sipfault run`; `stop()` ends it and keeps its output and summary.

    It writes a journal; `wait_for()` and `finish()` read it to wait for what the test expects
    to have happened (a message received, a response sent, a timer fired) instead of sleeping.
    """

    host: str
    """Address it listens on, without brackets."""
    port: int
    """Port it listens on (UDP and TCP share it)."""
    process: subprocess.Popen[str]
    """The child process."""
    command: list[str]
    """Command line it was started with."""
    journal_file: JournalFile
    """Its `--journal`, read as it grows."""
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

    def uri(self, user: str | None, transport: str | None = None) -> str:
        """A SIP URI addressing `user` on this server, e.g. `sip:486@127.0.0.1:40123`; without
        a user (`None`), the server itself, e.g. a registrar's `sip:127.0.0.1:40123`.

        For "tls", the TLS port: `sip:486@127.0.0.1:40124;transport=tls`.
        """
        suffix = f";transport={transport}" if transport and transport != "udp" else ""
        port = self.tls_port if transport == "tls" else self.port
        userinfo = f"{user}@" if user is not None else ""
        return f"sip:{userinfo}{format_hostport(self.host, port)}{suffix}"

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

    def explain(self, peer: PeerReport) -> str:
        """For an assertion message: what the peer reports, then sipfault's output."""
        return f"{peer.describe()}\n--- sipfault output ---\n{self.output}"

    def wait_for_line(self, pattern: str, timeout: float = 5.0) -> bool:
        """Wait (bounded) until a stdout line matches the regex `pattern`."""
        return self._stdout.wait_for(re.compile(pattern), timeout) is not None

    @property
    def journal(self) -> Journal:
        """The journal as written so far."""
        return self.journal_file.read()

    def wait_for(
        self, predicate: Callable[[Journal], bool], what: str, timeout: float = 10.0
    ) -> Journal:
        """Wait until `predicate(journal)` holds; AssertionError, saying `what` was awaited,
        when it does not within `timeout` s or sipfault exits first."""
        deadline = time.monotonic() + timeout
        while True:
            journal = self.journal
            if predicate(journal):
                return journal
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"sipfault's journal did not show {what} within {timeout:g} s "
                    f"(exit status {self.process.poll()})\n{self.output}"
                )
            time.sleep(_POLL_INTERVAL)

    def finish(
        self,
        *,
        requests: Mapping[str, int] | None = None,
        responses: Mapping[str, int] | None = None,
        retransmitted: int | None = 0,
        findings: Mapping[str, int] = NO_FINDINGS,
        peer: PeerReport | None = None,
        timeout: float = 10.0,
    ) -> Summary:
        """Wait until the exchange is over, stop, and check the summary; return it.

        Over means the journal shows at least `requests` received and `responses` sent (first
        transmissions, by method and by code as text), and every 3xx-6xx response to an INVITE
        ended by its ACK: the transaction went to Confirmed, which stops Timer G, and Timer I
        fired (RFC 3261 §17.2.1), so nothing of it is sent again. A finding beyond `findings`
        ends the wait early: the check below reports it.

        The summary must then count exactly `requests` and `responses` (where given), exactly
        `findings` about the client (none by default: an ACK that matched no transaction or
        dialog, for one, is a `stray-ack` finding) and `retransmitted` responses sent again
        (unless None). `peer` adds its report to the failure messages.
        """

        def over(journal: Journal) -> bool:
            unexpected = any(n > findings.get(kind, 0) for kind, n in journal.findings.items())
            return unexpected or journal.reached(requests, responses)

        expected = f"requests {dict(requests or {})}, responses {dict(responses or {})}"
        try:
            self.wait_for(over, f"{expected} and every rejected INVITE acknowledged", timeout)
        except AssertionError as error:
            if peer is not None:
                error.add_note(peer.describe())
            raise
        self.stop()
        summary = self.summary
        why = self.explain(peer) if peer is not None else self.output
        if requests is not None:
            assert summary.requests == dict(requests), why
        if responses is not None:
            assert summary.responses == dict(responses), why
        # A finding names the cause (a stray ACK) of the retransmissions that may follow it.
        assert summary.findings == dict(findings), f"findings about the client:\n{why}"
        if retransmitted is not None:
            assert summary.retransmissions_out == retransmitted, f"responses sent again:\n{why}"
        return summary

    def stop(self, *, timeout: float = 10.0) -> str:
        """SIGINT, wait (bounded), assert exit status 0; return the full output.

        Idempotent: later calls return the same output.
        """
        if self.returncode is None:
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


@dataclass(frozen=True)
class SipfaultOptions:
    """How to run `sipfault run`: its command-line options, and T4."""

    listen: str = "127.0.0.1:0"
    """`--listen`."""
    transports: Sequence[str] | None = None
    """`--transport` (default: the CLI's, UDP and TCP)."""
    t1: str | None = None
    """`--t1`, e.g. "100ms"."""
    t4: str | None = None
    """T4, which the CLI does not set: the scenario is run from a copy with `timers: {t4: ...}`
    added (it must have no `timers` of its own). Timer I lasts T4 over UDP (RFC 3261 §17.2.1)."""
    verbose: bool = False
    """`-v`: whole messages."""
    quiet: bool = False
    """`--quiet`."""
    tls: bool = False
    """Add the test certificate, so TLS listens too (on `tls_port`)."""
    extra_args: Sequence[str] = ()
    """Anything else for the command line."""
    journal: bool = True
    """Write the `--journal` that `wait_for()` and `finish()` read; the call-rate benchmark
    turns it off, to measure sipfault as `sipfault run --quiet` serves."""

    def command(self, scenario: Path, journal: Path) -> list[str]:
        """The `python -m sipfault run ...` command line."""
        command = [sys.executable, "-m", "sipfault", "run", str(scenario)]
        command += ["--listen", self.listen]
        if self.journal:
            command += ["--journal", str(journal)]
        if self.transports:
            command += ["--transport", ",".join(self.transports)]
        if self.t1:
            command += ["--t1", self.t1]
        if self.verbose:
            command.append("-v")
        if self.quiet:
            command.append("--quiet")
        if self.tls:
            command += ["--tls-cert", str(TLS_FILES[0]), "--tls-key", str(TLS_FILES[1])]
        return command + list(self.extra_args)

    def scenario_file(self, scenario: str | os.PathLike[str], workdir: Path) -> Path:
        """The scenario to run: the file itself, or a copy in `workdir` that sets T4."""
        path = resolve_scenario(scenario)
        if self.t4 is None:
            return path
        text = path.read_text(encoding="utf-8")
        if re.search(r"^timers\s*:", text, re.MULTILINE):
            raise ValueError(f"{path} sets its own timers; t4={self.t4!r} would clash")
        copy = workdir / path.name
        copy.write_text(f"{text.rstrip()}\n\ntimers: {{t4: {self.t4}}}\n", encoding="utf-8")
        return copy


@contextlib.contextmanager
def run_sipfault(
    scenario: str | os.PathLike[str],
    *,
    ready_timeout: float = 15.0,
    stop_timeout: float = 10.0,
    **options: Any,
) -> Iterator[SipfaultProcess]:
    """Start `sipfault run SCENARIO` and yield it once it prints its listening line.

    `options` are the fields of `SipfaultOptions` (`t1="100ms"`, `tls=True`, ...).

    On leaving the block it is stopped with SIGINT (bounded) and must exit 0; call `stop()`
    inside the block to read the summary there. An exception from the block gets sipfault's
    output attached as a note, so the message ladder shows in the failure.
    """
    settings = SipfaultOptions(**options)
    with tempfile.TemporaryDirectory(prefix="sipfault-run-") as tmp:
        workdir = Path(tmp)
        journal = workdir / "journal.jsonl"
        command = settings.command(settings.scenario_file(scenario, workdir), journal)
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        process = spawn(command, cwd=REPO_ROOT, env=env)
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
        tls_match = TLS_LISTENING_RE.search(match.string)
        running = SipfaultProcess(
            host=match["host"].strip("[]"),
            port=int(match["port"]),
            process=process,
            command=command,
            journal_file=JournalFile(journal),
            _stdout=stdout,
            _stderr=stderr,
            tls_port=int(tls_match["port"]) if tls_match else 0,
        )
        try:
            yield running
        except BaseException as error:
            with contextlib.suppress(AssertionError):
                running.stop(timeout=stop_timeout)
            error.add_note(f"sipfault (exit status {running.returncode}) output:\n{running.output}")
            raise
        running.stop(timeout=stop_timeout)
