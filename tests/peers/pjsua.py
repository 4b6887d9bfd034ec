"""Run `pjsua_agent.py` in a subprocess and read back its JSON-line events."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peers.locate import require_pjsua2

AGENT = Path(__file__).with_name("pjsua_agent.py")


@dataclass(frozen=True)
class SipMessage:
    """One SIP message the agent sent or received."""

    direction: str
    """"tx" (sent by the agent) or "rx" (received)."""
    first_line: str
    """Request-Line or Status-Line."""
    headers: list[tuple[str, str]]
    """Headers in order, names as they were on the wire."""
    body: str
    """Message body ("" when none)."""

    @property
    def is_response(self) -> bool:
        """True for a response (Status-Line starts with SIP/2.0)."""
        return self.first_line.upper().startswith("SIP/")

    @property
    def method(self) -> str:
        """Request method, or the CSeq method of a response (RFC 3261 §8.1.1.5)."""
        if not self.is_response:
            return self.first_line.split(" ", 1)[0]
        cseq = self.header("CSeq") or ""
        return cseq.split()[-1] if cseq.split() else ""

    @property
    def status(self) -> int | None:
        """Status code of a response, None for a request."""
        if not self.is_response:
            return None
        return int(self.first_line.split()[1])

    def header(self, name: str) -> str | None:
        """First value of header `name` (case-insensitive; compact forms are not mapped)."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """All values of header `name`, in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def __str__(self) -> str:
        arrow = "-->" if self.direction == "tx" else "<--"
        return f"{arrow} {self.first_line}"


@dataclass(frozen=True)
class AgentResult:
    """Everything one agent run reported."""

    command: list[str]
    """The command line."""
    returncode: int
    """0: ran to its end; 2: --timeout hit; 1: error."""
    events: list[dict[str, Any]]
    """Every event, in order."""
    stderr: str
    """The agent's PJSIP log (level --log-level) and anything else it printed."""
    noise: list[str]
    """Stdout lines that were not JSON (should stay empty)."""

    @property
    def result(self) -> dict[str, Any]:
        """The final "result" event ({} when the agent died before printing one)."""
        results = self.of("result")
        return results[-1] if results else {}

    @property
    def status(self) -> int:
        """Final status code the agent saw (call: last INVITE status; register: last code)."""
        return int(self.result.get("status", 0))

    @property
    def reason(self) -> str:
        """Reason phrase that went with `status`."""
        return str(self.result.get("reason", ""))

    def of(self, kind: str) -> list[dict[str, Any]]:
        """Events of one kind ("call_state", "reg_state", "sip", ...)."""
        return [event for event in self.events if event.get("event") == kind]

    @property
    def call_states(self) -> list[str]:
        """INVITE session states in order, e.g. ["CALLING", "EARLY", "DISCONNECTED"]."""
        return [str(event["state"]) for event in self.of("call_state")]

    @property
    def messages(self) -> list[SipMessage]:
        """SIP messages sent and received, in order."""
        return [
            SipMessage(
                direction=str(event["dir"]),
                first_line=str(event["first_line"]),
                headers=[(str(name), str(value)) for name, value in event["headers"]],
                body=str(event["body"]),
            )
            for event in self.of("sip")
        ]

    def sent(self, method: str | None = None) -> list[SipMessage]:
        """Requests the agent sent (of `method` when given)."""
        return [
            message
            for message in self.messages
            if message.direction == "tx"
            and not message.is_response
            and (method is None or message.method == method)
        ]

    def received(self, method: str | None = None) -> list[SipMessage]:
        """Responses the agent received (to `method` when given), in order."""
        return [
            message
            for message in self.messages
            if message.direction == "rx"
            and message.is_response
            and (method is None or message.method == method)
        ]

    def statuses(self, method: str | None = None) -> list[int]:
        """Status codes received (for requests of `method` when given), in order."""
        return [message.status for message in self.received(method) if message.status]

    def ladder(self) -> str:
        """The message ladder, one line per message, for failure messages."""
        return "\n".join(str(message) for message in self.messages)

    def describe(self, tail: int = 8000) -> str:
        """A readable account for assertion messages."""
        parts = [
            f"pjsua agent exit status {self.returncode}",
            f"command: {' '.join(self.command)}",
            f"result: {json.dumps(self.result)}",
            f"ladder:\n{self.ladder() or '(no SIP messages)'}",
        ]
        errors = self.of("error")
        if errors:
            parts.append(f"errors: {errors}")
        if self.noise:
            parts.append("stdout noise:\n" + "\n".join(self.noise[-50:]))
        if self.stderr.strip():
            parts.append(f"stderr:\n{self.stderr.strip()[-tail:]}")
        return "\n".join(parts)


def _options(options: dict[str, Any]) -> Iterator[str]:
    """`--name value` pairs from keyword arguments: True gives a bare flag, None/False nothing."""
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            yield flag
        elif isinstance(value, list | tuple):
            for item in value:
                yield flag
                yield str(item)
        else:
            yield flag
            yield str(value)


def run_agent(
    command: str,
    *args: str,
    timeout: float = 15.0,
    extra_args: Sequence[str] = (),
    **options: Any,
) -> AgentResult:
    """Run `pjsua_agent.py COMMAND --option value ...` and collect its events.

    Keyword options become flags (`hangup_after=0.2` -> `--hangup-after 0.2`; `unregister=True`
    -> `--unregister`; `header=[...]` repeats `--header`). The agent gets `--timeout timeout`
    and is killed if it is still running 20 s later.
    """
    require_pjsua2()
    argv = [sys.executable, str(AGENT), command, *args, "--timeout", f"{timeout:g}"]
    argv += list(_options({key: value for key, value in options.items() if key != "timeout"}))
    argv += list(extra_args)
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout + 20,
        )
        stdout, stderr, returncode = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        stdout = _text(expired.stdout)
        stderr = _text(expired.stderr) + f"\n(killed: running {timeout + 20:.0f} s after start)"
        returncode = -9
    events: list[dict[str, Any]] = []
    noise: list[str] = []
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            noise.append(line)
            continue
        if isinstance(event, dict):
            events.append(event)
        else:
            noise.append(line)
    return AgentResult(argv, returncode, events, stderr, noise)


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def pjsua_call(
    uri: str,
    *,
    transport: str = "udp",
    hangup_after: float | None = 0.5,
    timeout: float = 15.0,
    **options: Any,
) -> AgentResult:
    """Place one call to `uri` with PJSUA2; hang up `hangup_after` s after an answer.

    Other options go to the agent: `follow_redirects=True` follows a 3xx to its Contact,
    `header=["Require: foo"]` adds INVITE header fields, `user`/`password` answer digest
    challenges, and `**{"100rel": "required"}` demands reliable provisionals (RFC 3262).
    """
    return run_agent(
        "call",
        "--uri",
        uri,
        transport=transport,
        hangup_after=-1 if hangup_after is None else hangup_after,
        timeout=timeout,
        **options,
    )


def pjsua_register(
    registrar: str,
    *,
    user: str,
    password: str,
    transport: str = "udp",
    expires: int = 60,
    unregister: bool = False,
    timeout: float = 15.0,
    **options: Any,
) -> AgentResult:
    """REGISTER `user` at `registrar` with PJSUA2 (answering digest challenges).

    `refreshes=N` waits for N refreshes sent by PJSUA2's own timer, which fires
    `delay_before_refresh` s before the granted expiry ends (PJSIP 2.15.1 was seen to wait
    at least 5 s: expires 60 with delay 58 refreshes after 5 s);
    `unregister=True` then removes the binding with Expires: 0.
    """
    return run_agent(
        "register",
        "--registrar",
        registrar,
        user=user,
        password=password,
        transport=transport,
        expires=expires,
        unregister=unregister,
        timeout=timeout,
        **options,
    )
