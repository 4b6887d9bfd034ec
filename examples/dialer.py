"""A small SIP dialer built on PJSUA2: places a call, honours Retry-After, hangs up.

This is the example *system under test*: ``test_dialer.py`` checks it against sipfault.

What it does:

- calls a SIP URI over UDP or TCP, answering digest challenges when given a user and password;
- when the callee is busy (486, 600) or unavailable (480, 503) and the response carries a
  ``Retry-After`` of at most ``--max-retry-after`` seconds, waits that long and calls again,
  up to ``--attempts`` calls in all (RFC 3261 §20.33);
- once a call is answered, hangs up with a BYE after ``--hangup-after`` seconds.

PJSUA2 allows one library instance per process, so the dialer always runs in a process of its
own. From Python, :func:`dial` starts that process and returns a :class:`DialResult`::

    result = dial("sip:alice@127.0.0.1:5060", hangup_after=0.5)
    assert result.outcome == "answered"

From a shell (one JSON object per line on stdout; the last one is the result)::

    python examples/dialer.py sip:alice@127.0.0.1:5060 --transport tcp --hangup-after 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RETRYABLE = frozenset({480, 486, 503, 600})
"""Final responses after which a Retry-After is honoured."""

_RETRY_AFTER_RE = re.compile(r"^Retry-After\s*:\s*(\d+)", re.IGNORECASE | re.MULTILINE)


# ------------------------------------------------------------------------ the Python side


@dataclass(frozen=True)
class DialResult:
    """How a dial ended, as the dialer process reported it."""

    outcome: str
    """"answered", "busy" (or another failure code, not retried), "timeout" or "error"."""
    status: int
    """The last final status code the dialer saw (0 if none)."""
    attempts: int
    """Calls placed (INVITE transactions started by the dialer, not retransmissions)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Every event the dialer printed, in order."""
    stderr: str = ""
    """The PJSIP log, for failure messages."""

    def describe(self) -> str:
        """The events and the log, for an assertion message."""
        lines = [json.dumps(event) for event in self.events]
        return "\n".join(["dialer events:", *lines, "dialer log:", self.stderr[-4000:]])


def dial(
    uri: str,
    *,
    transport: str = "udp",
    hangup_after: float = 0.5,
    max_retry_after: float = 5.0,
    attempts: int = 2,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 20.0,
) -> DialResult:
    """Run the dialer in its own process and return how the call went."""
    command = [
        sys.executable, str(Path(__file__).resolve()), uri, "--transport", transport,
        "--hangup-after", str(hangup_after), "--max-retry-after", str(max_retry_after),
        "--attempts", str(attempts), "--timeout", str(timeout),
    ]
    if user is not None:
        command += ["--user", user]
    if password is not None:
        command += ["--password", password]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 10,
                               check=False)
    events = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    result = next((event for event in reversed(events) if event["event"] == "result"), None)
    if result is None:
        return DialResult("error", 0, 0, events, completed.stderr)
    return DialResult(result["outcome"], result["status"], result["attempts"], events,
                      completed.stderr)


# ---------------------------------------------------------------- the PJSUA2 process


_events = sys.stdout
"""Where events go: a private copy of stdout once :func:`run` has started."""


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout, flushed at once."""
    _events.write(json.dumps({"event": event, "t": round(time.monotonic(), 3), **fields}) + "\n")
    _events.flush()


def run(args: argparse.Namespace) -> int:
    """Place calls as the options say; print events and a final result."""
    # PJSIP's C code prints to file descriptor 1 before its log can be redirected: keep the
    # events on a copy of stdout and point descriptor 1 at stderr.
    global _events
    _events = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    import pjsua2 as pj  # type: ignore[import-untyped]

    class Call(pj.Call):  # type: ignore[misc]
        def __init__(self, account: Any) -> None:
            super().__init__(account)
            self.answered_at: float | None = None
            self.ended = False
            self.status = 0
            self.retry_after: int | None = None

        def onCallState(self, prm: Any) -> None:
            info = self.getInfo()
            event = prm.e
            if (event.type == pj.PJSIP_EVENT_TSX_STATE
                    and event.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG):
                found = _RETRY_AFTER_RE.search(event.body.tsxState.src.rdata.wholeMsg)
                if found is not None:
                    self.retry_after = int(found.group(1))
            emit("call_state", state=str(info.stateText), code=int(info.lastStatusCode),
                 call_id=str(info.callIdString))
            if info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.answered_at is None:
                self.answered_at = time.monotonic()
            if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.status = int(info.lastStatusCode)
                self.ended = True

    class StderrLog(pj.LogWriter):  # type: ignore[misc]
        """PJSIP's log goes to stderr; stdout carries only our JSON lines."""

        def write(self, entry: Any) -> None:
            sys.stderr.write(str(entry.msg).rstrip("\n") + "\n")

    endpoint = pj.Endpoint()
    endpoint.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0  # callbacks run inside libHandleEvents, on this thread
    config.uaConfig.mainThreadOnly = False
    config.uaConfig.userAgent = "example-dialer/1.0"
    config.logConfig.level = 4
    config.logConfig.consoleLevel = 4
    log = StderrLog()  # kept alive while the library runs
    config.logConfig.writer = log
    config.medConfig.noVad = True
    endpoint.libInit(config)
    endpoint.audDevManager().setNullDev()
    kind = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP}[args.transport]
    transport_config = pj.TransportConfig()
    transport_config.boundAddress = "127.0.0.1"
    transport_id = endpoint.transportCreate(kind, transport_config)
    endpoint.libStart()

    account_config = pj.AccountConfig()
    account_config.idUri = f"sip:{args.user or 'dialer'}@127.0.0.1"
    account_config.sipConfig.transportId = transport_id
    account_config.natConfig.contactRewriteUse = 0
    account_config.natConfig.viaRewriteUse = 0
    account_config.natConfig.sdpNatRewriteUse = 0
    account_config.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    account_config.callConfig.timerUse = pj.PJSUA_SIP_TIMER_INACTIVE
    if args.user and args.password is not None:
        account_config.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", "*", args.user, 0, args.password))
    account = pj.Account()
    account.create(account_config)

    uri = args.uri if args.transport == "udp" else f"{args.uri};transport={args.transport}"
    deadline = time.monotonic() + args.timeout
    outcome, status, placed = "timeout", 0, 0
    calls: list[Any] = []  # PJSUA2 needs the Call objects alive until the library is destroyed
    while placed < args.attempts and time.monotonic() < deadline:
        call = Call(account)
        calls.append(call)
        placed += 1
        emit("dialing", uri=uri, attempt=placed)
        call.makeCall(uri, pj.CallOpParam(True))
        hung_up = False
        while not call.ended and time.monotonic() < deadline:
            endpoint.libHandleEvents(10)
            if (call.answered_at is not None and not hung_up
                    and time.monotonic() >= call.answered_at + args.hangup_after):
                hung_up = True
                emit("hanging_up")
                call.hangup(pj.CallOpParam(True))
        if not call.ended:
            break
        status = call.status
        if call.answered_at is not None:
            outcome = "answered"
            break
        outcome = "busy" if status in RETRYABLE else "failed"
        wait = call.retry_after
        if (status not in RETRYABLE or wait is None or wait > args.max_retry_after
                or placed >= args.attempts):
            break
        emit("waiting", seconds=wait, reason=f"Retry-After in the {status}")
        until = time.monotonic() + wait
        while time.monotonic() < until:
            endpoint.libHandleEvents(10)
    linger = time.monotonic() + 0.3  # let the last ACK or 200-to-BYE go out
    while time.monotonic() < linger:
        endpoint.libHandleEvents(10)
    emit("result", outcome=outcome, status=status, attempts=placed)
    endpoint.libDestroy(pj.PJSUA_DESTROY_NO_TX_MSG)
    os._exit(0)  # PJSUA2's objects can crash when Python finalizes them


def main() -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("uri", help="SIP URI to call, e.g. sip:alice@127.0.0.1:5060")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--hangup-after", type=float, default=0.5,
                        help="seconds to stay on an answered call")
    parser.add_argument("--max-retry-after", type=float, default=5.0,
                        help="longest Retry-After honoured with another call")
    parser.add_argument("--attempts", type=int, default=2, help="calls to place at most")
    parser.add_argument("--user", help="our user name, and the digest user name")
    parser.add_argument("--password", help="digest password")
    parser.add_argument("--timeout", type=float, default=20.0, help="give up after S seconds")
    try:
        return run(parser.parse_args())
    except Exception as error:  # a PJSUA2 error: report it as the result
        emit("error", type=type(error).__name__, message=str(error))
        emit("result", outcome="error", status=0, attempts=0)
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
