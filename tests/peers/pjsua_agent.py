"""A PJSUA2 user agent driven from the command line; prints one JSON object per line.

PJSUA2 allows one Endpoint per process and runs native threads of its own, so tests run this
file as a subprocess (see `tests.peers.pjsua`) instead of importing pjsua2 into pytest.

    python tests/peers/pjsua_agent.py call --uri sip:486@127.0.0.1:5062 --transport udp
    python tests/peers/pjsua_agent.py register --registrar sip:127.0.0.1:5062 \\
        --user alice --password secret --expires 60 --unregister

Events (the "event" key) are:
- "ready": transport bound (local address);
- "sip": every SIP message sent ("tx") or received ("rx"), parsed into first line, headers
  (in order, names as sent) and body, taken from PJSIP's message log;
- "call_state": each INVITE session state with the last status code and reason phrase;
- "media_state": media status per stream once the session has an answer;
- "reg_state": each registration outcome (code, reason, expiration);
- "redirected": a 3xx target PJSUA2 offers to follow, and whether it was followed;
- "error": an exception, with its text;
- "result": last line: "ok", "status", "reason" and what the command observed.

The agent binds 127.0.0.1 (or --local-host) port 0 for SIP and loopback for RTP, uses the null
audio device, and has no STUN, ICE, TURN or DNS servers. Exit status: 0 when the command ran to
its end (whatever the SIP outcome), 2 on --timeout, 1 on an error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import pjsua2 as pj  # type: ignore[import-untyped, unused-ignore]

_T0 = time.monotonic()

#: Where events go; `main` points it at a private copy of stdout (see `_separate_events`).
_EVENTS: TextIO = sys.stdout

#: PJSIP's message log entry: "RX 512 bytes Response msg 486/INVITE/cseq=1 (rdata0x..) from UDP
#: 127.0.0.1:5060:\n<message>\n--end msg--" (TX entries say "to" instead of "from").
_MSG_LOG_RE = re.compile(
    r"(?P<dir>RX|TX) (?P<size>\d+) bytes (?P<kind>Request|Response) msg (?P<what>\S+) "
    r"\((?P<ref>[^)]*)\) (?:from|to) (?P<transport>\w+) (?P<peer>\S+?):\s*\n"
    r"(?P<message>.*?)\n--end msg--",
    re.DOTALL,
)

_PRACK_USE = {
    "off": pj.PJSUA_100REL_NOT_USED,
    "optional": pj.PJSUA_100REL_OPTIONAL,
    "required": pj.PJSUA_100REL_MANDATORY,
}


def emit(event: str, **fields: Any) -> None:
    """Print one JSON line and flush, so the parent sees events as they happen."""
    record = {"event": event, "t": round(time.monotonic() - _T0, 3), **fields}
    _EVENTS.write(json.dumps(record) + "\n")
    _EVENTS.flush()


def parse_message(text: str) -> dict[str, Any]:
    """Split a logged SIP message into first line, headers (unfolded, RFC 3261 §7.3.1), body."""
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    headers: list[list[str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1][1] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            headers.append([name.strip(), value.strip()])
    return {"first_line": lines[0].strip(), "headers": headers, "body": body}


class MessageLog(pj.LogWriter):  # type: ignore[misc]
    """Receives PJSIP's log: SIP messages become "sip" events, the rest goes to stderr."""

    def __init__(self, stderr_level: int) -> None:
        super().__init__()
        self.stderr_level = stderr_level

    def write(self, entry: Any) -> None:
        text = str(entry.msg)
        for match in _MSG_LOG_RE.finditer(text):
            emit(
                "sip",
                dir=match["dir"].lower(),
                transport=match["transport"].lower(),
                peer=match["peer"],
                **parse_message(match["message"]),
            )
        if entry.level <= self.stderr_level:
            sys.stderr.write(text if text.endswith("\n") else text + "\n")
            sys.stderr.flush()


class Agent:
    """Owns the Endpoint, one transport and one account; pumps events on the main thread."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.endpoint = pj.Endpoint()
        self.log = MessageLog(args.log_level)
        self.account: AgentAccount | None = None
        self.transport_id = -1

    def start(self) -> None:
        """Create the library with no worker threads: callbacks run inside `pump`."""
        args = self.args
        self.endpoint.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0
        config.uaConfig.mainThreadOnly = False
        config.uaConfig.maxCalls = 4
        config.uaConfig.userAgent = args.user_agent
        config.logConfig.level = 5
        config.logConfig.consoleLevel = 5
        config.logConfig.msgLogging = True
        config.logConfig.writer = self.log
        config.logConfig.decor = 0
        config.medConfig.noVad = True
        config.medConfig.ecTailLen = 0
        self.endpoint.libInit(config)
        self.endpoint.audDevManager().setNullDev()

        ipv6 = ":" in args.local_host
        transport_type = {
            ("udp", False): pj.PJSIP_TRANSPORT_UDP,
            ("tcp", False): pj.PJSIP_TRANSPORT_TCP,
            ("tls", False): pj.PJSIP_TRANSPORT_TLS,
            ("udp", True): pj.PJSIP_TRANSPORT_UDP6,
            ("tcp", True): pj.PJSIP_TRANSPORT_TCP6,
            ("tls", True): pj.PJSIP_TRANSPORT_TLS6,
        }[(args.transport, ipv6)]
        transport_config = pj.TransportConfig()
        transport_config.port = 0
        transport_config.boundAddress = args.local_host
        transport_config.publicAddress = args.local_host
        self.transport_id = self.endpoint.transportCreate(transport_type, transport_config)
        self.endpoint.libStart()
        info = self.endpoint.transportGetInfo(self.transport_id)
        emit("ready", transport=args.transport, local=str(info.localName))

    def account_config(self, id_uri: str) -> Any:
        """An account bound to our one transport, with every NAT helper switched off."""
        args = self.args
        config = pj.AccountConfig()
        config.idUri = id_uri
        config.sipConfig.transportId = self.transport_id
        nat = config.natConfig
        nat.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.iceEnabled = False
        nat.turnEnabled = False
        nat.contactRewriteUse = 0
        nat.viaRewriteUse = 0
        nat.sdpNatRewriteUse = 0
        nat.udpKaIntervalSec = 0
        config.mediaConfig.transportConfig.port = 0
        config.mediaConfig.transportConfig.boundAddress = args.local_host
        config.callConfig.prackUse = _PRACK_USE[args.prack]
        config.callConfig.timerUse = pj.PJSUA_SIP_TIMER_INACTIVE
        if args.user and args.password is not None:
            # A plain password (dataType 0, PJSIP_CRED_DATA_PLAIN_PASSWD) answers MD5,
            # SHA-256 and SHA-512-256 challenges alike (PJSIP 2.15, RFC 8760); PJSIP answers
            # the first challenge in the response whose algorithm it supports. `algoType`
            # matters only for a precomputed digest (PJSIP_CRED_DATA_DIGEST), so it is not
            # set: the scenario's `auth.algorithms` decides which algorithm is used.
            credential = pj.AuthCredInfo("digest", args.realm, args.user, 0, args.password)
            config.sipConfig.authCreds.append(credential)
        return config

    def pump(self, until: Callable[[], bool], deadline: float) -> bool:
        """Handle events until `until()` holds (True) or `deadline` passes (False)."""
        while not until():
            if time.monotonic() >= deadline:
                return False
            self.endpoint.libHandleEvents(10)
        return True

    def linger(self, seconds: float) -> None:
        """Keep handling events a little, so late messages (200 to BYE, ACK) are logged."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.endpoint.libHandleEvents(10)

    def stop(self) -> None:
        """Destroy the library without sending anything more (no automatic unREGISTER/BYE)."""
        self.endpoint.libDestroy(pj.PJSUA_DESTROY_NO_TX_MSG)


class AgentAccount(pj.Account):  # type: ignore[misc]
    """Records registration outcomes."""

    def __init__(self) -> None:
        super().__init__()
        self.reg_states: list[dict[str, Any]] = []

    def onRegState(self, prm: Any) -> None:
        state = {
            "code": int(prm.code),
            "reason": str(prm.reason),
            "expiration": int(prm.expiration),
        }
        self.reg_states.append(state)
        emit("reg_state", **state)


class AgentCall(pj.Call):  # type: ignore[misc]
    """Records INVITE session states; notes when the call was answered."""

    def __init__(self, account: AgentAccount, follow_redirects: bool = False) -> None:
        super().__init__(account)
        self.follow_redirects = follow_redirects
        self.redirects: list[str] = []
        self.states: list[str] = []
        self.status = 0
        self.reason = ""
        self.confirmed_at: float | None = None
        self.disconnected = False

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        self.states.append(str(info.stateText))
        self.status = int(info.lastStatusCode)
        self.reason = str(info.lastReason)
        emit(
            "call_state",
            state=str(info.stateText),
            code=self.status,
            reason=self.reason,
            call_id=str(info.callIdString),
        )
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and self.confirmed_at is None:
            self.confirmed_at = time.monotonic()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True

    def onCallMediaState(self, prm: Any) -> None:
        info = self.getInfo()
        emit("media_state", media=[int(media.status) for media in info.media])

    def onCallRedirected(self, prm: Any) -> int:
        """A 3xx named a target (RFC 3261 §8.1.3.4): follow it with --follow-redirects
        (the new INVITE's To names the target), else end the call as PJSUA2 does by default."""
        target = str(prm.targetUri)
        self.redirects.append(target)
        emit("redirected", target=target, followed=self.follow_redirects)
        if self.follow_redirects:
            return int(pj.PJSIP_REDIRECT_ACCEPT_REPLACE)
        return int(pj.PJSIP_REDIRECT_STOP)


def _with_transport(uri: str, transport: str) -> str:
    """Add `;transport=tcp` to a URI that names no transport (RFC 3261 §19.1.1)."""
    if transport == "udp" or ";transport=" in uri.lower():
        return uri
    return f"{uri};transport={transport}"


def _host_of(uri: str) -> str:
    """The hostport of a SIP URI, for an account's identity."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.split("@", 1)[-1]
    return re.split(r"[;?>]", rest, maxsplit=1)[0]


def run_call(agent: Agent, deadline: float) -> int:
    """Place one call; hang up `--hangup-after` s after it is answered; report how it ended."""
    args = agent.args
    uri = _with_transport(args.uri, args.transport)
    account = AgentAccount()
    account.create(agent.account_config(f"sip:{args.user or 'agent'}@{args.local_host_uri}"))
    agent.account = account
    call = AgentCall(account, follow_redirects=args.follow_redirects)
    param = pj.CallOpParam(True)
    for header in args.header:
        name, _, value = header.partition(":")
        sip_header = pj.SipHeader()
        sip_header.hName = name.strip()
        sip_header.hValue = value.strip()
        param.txOption.headers.append(sip_header)
    emit("calling", uri=uri)
    call.makeCall(uri, param)

    hung_up = False

    def finished() -> bool:
        nonlocal hung_up
        if call.disconnected:
            return True
        if args.hangup_after is None or call.confirmed_at is None or hung_up:
            return False
        if time.monotonic() >= call.confirmed_at + args.hangup_after:
            hung_up = True
            emit("hangup")
            call.hangup(pj.CallOpParam(True))
        return False

    done = agent.pump(finished, deadline)
    agent.linger(args.linger)
    emit(
        "result",
        ok=done,
        status=call.status,
        reason=call.reason,
        states=call.states,
        answered=call.confirmed_at is not None,
        hung_up=hung_up,
        redirects=call.redirects,
        timed_out=not done,
    )
    if not done:
        call.hangup(pj.CallOpParam(True))
        agent.linger(0.2)
    return 0 if done else 2


def run_register(agent: Agent, deadline: float) -> int:
    """REGISTER (answering digest challenges); wait for --refreshes refreshes that PJSUA2's
    own timer sends; with --unregister, then remove the binding (Expires: 0)."""
    args = agent.args
    account = AgentAccount()
    user = args.user or "agent"
    config = agent.account_config(f"sip:{user}@{_host_of(args.registrar)}")
    config.regConfig.registrarUri = _with_transport(args.registrar, args.transport)
    config.regConfig.timeoutSec = args.expires
    config.regConfig.retryIntervalSec = 0
    config.regConfig.firstRetryIntervalSec = 0
    config.regConfig.registerOnAdd = True
    config.regConfig.unregWaitMsec = 1000
    if args.delay_before_refresh is not None:
        # PJSUA2 refreshes `delayBeforeRefreshSec` before the granted expiry runs out.
        config.regConfig.delayBeforeRefreshSec = args.delay_before_refresh
    account.create(config)
    agent.account = account
    states = account.reg_states

    def registered(state: dict[str, Any]) -> bool:
        return 200 <= int(state["code"]) < 300

    done = agent.pump(lambda: len(states) >= 1, deadline)
    first = states[0] if states else None
    refreshes: list[dict[str, Any]] = []
    if done and args.refreshes > 0 and first is not None and registered(first):
        done = agent.pump(lambda: len(states) >= 1 + args.refreshes, deadline)
        refreshes = states[1 : 1 + args.refreshes]
    unregistered: dict[str, Any] | None = None
    if done and args.unregister and first is not None and registered(first):
        before = len(states)
        account.setRegistration(False)
        done = agent.pump(lambda: len(states) > before, deadline)
        if len(states) > before:
            unregistered = states[before]
    agent.linger(args.linger)
    last: dict[str, Any] = states[-1] if states else {"code": 0}
    last.setdefault("reason", "")
    emit(
        "result",
        ok=done and registered(last),
        status=last["code"],
        reason=last["reason"],
        registered=first,
        refreshes=refreshes,
        unregistered=unregistered,
        timed_out=not done,
    )
    return 0 if done else 2


def build_parser() -> argparse.ArgumentParser:
    """Command-line options shared by the subcommands, then each subcommand's own."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--transport", choices=("udp", "tcp", "tls"), default="udp")
    common.add_argument("--local-host", default="127.0.0.1", help="address to bind SIP and RTP")
    common.add_argument("--timeout", type=float, default=15.0, help="give up after S seconds")
    common.add_argument("--linger", type=float, default=0.3, help="handle events S s at the end")
    common.add_argument("--user", help="user part of our identity; digest username")
    common.add_argument("--password", help="digest password")
    common.add_argument("--realm", default="*", help="digest realm to answer (default: any)")
    common.add_argument(
        "--100rel",
        dest="prack",
        choices=tuple(_PRACK_USE),
        default="off",
        help="reliable provisional responses (RFC 3262): not used, Supported, or Required",
    )
    common.add_argument("--user-agent", default="pjsua2-agent")
    common.add_argument("--log-level", type=int, default=3, help="PJSIP log level on stderr")

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    call = commands.add_parser("call", parents=[common], help="place one call")
    call.add_argument("--uri", required=True, help="Request-URI to call")
    call.add_argument(
        "--hangup-after",
        type=float,
        default=0.5,
        help="send BYE S seconds after the call is answered (negative: never)",
    )
    call.add_argument(
        "--header", action="append", default=[], help="extra INVITE header 'Name: value'"
    )
    call.add_argument(
        "--follow-redirects",
        action="store_true",
        help="follow a 3xx to its Contact (default: the call ends with the 3xx)",
    )
    register = commands.add_parser("register", parents=[common], help="register once")
    register.add_argument("--registrar", required=True, help="registrar URI, sip:host:port")
    register.add_argument("--expires", type=int, default=60)
    register.add_argument("--unregister", action="store_true", help="then remove the binding")
    register.add_argument(
        "--refreshes",
        type=int,
        default=0,
        help="after registering, wait for N refreshes sent by PJSUA2's own refresh timer",
    )
    register.add_argument(
        "--delay-before-refresh",
        type=int,
        help="refresh S seconds before the granted expiry ends (PJSUA2 default: 5)",
    )
    return parser


def _separate_events() -> None:
    """Keep events on a private copy of stdout and point file descriptor 1 at stderr, so that
    whatever PJSIP's C code prints (before our log writer is installed) stays out of them."""
    global _EVENTS
    _EVENTS = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; always end the process without Python finalizing PJSUA2 objects."""
    args = build_parser().parse_args(argv)
    _separate_events()
    if getattr(args, "hangup_after", None) is not None and args.hangup_after < 0:
        args.hangup_after = None
    host = args.local_host
    args.local_host_uri = f"[{host}]" if ":" in host else host
    agent = Agent(args)
    deadline = time.monotonic() + args.timeout
    status = 1
    try:
        agent.start()
        status = (
            run_call(agent, deadline) if args.command == "call" else run_register(agent, deadline)
        )
    except Exception as error:  # report any PJSUA2 error as an event, then exit 1
        emit("error", type=type(error).__name__, message=str(getattr(error, "info", error)))
        emit("result", ok=False, status=0, reason="", error=str(error), timed_out=False)
        status = 1
    try:
        agent.stop()
    except Exception as error:
        emit("error", type=type(error).__name__, message=f"libDestroy: {error}")
    _EVENTS.flush()
    sys.stderr.flush()
    # PJSUA2's SWIG objects can crash when the interpreter finalizes them: leave directly.
    os._exit(status)


if __name__ == "__main__":
    main()
