"""A manual-clock harness around the sans-I/O UAS: no sockets, no sleeping."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sipfault.core.events import Event, Finding, Outgoing, Peer
from sipfault.core.uas import UserAgentServer
from sipfault.scenario.loader import load_scenario_text
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message

UDP = Peer("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060))
TCP = Peer("tcp", ("127.0.0.1", 40000), ("127.0.0.1", 5060), connection=7)


def request(
    method: str = "INVITE",
    *,
    uri: str = "sip:bob@127.0.0.1:5060",
    branch: str = "z9hG4bK-1",
    call_id: str = "call-1",
    cseq: int = 1,
    cseq_method: str | None = None,
    from_tag: str = "ft1",
    to_tag: str | None = None,
    transport: str = "UDP",
    extra: str = "",
    body: str = "",
    content_type: str = "application/sdp",
) -> bytes:
    """A well-formed request as a client would send it."""
    to = "<sip:bob@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/{transport} 127.0.0.1:5070;branch={branch};rport",
        "Max-Forwards: 70",
        f"From: \"Alice\" <sip:alice@127.0.0.1>;tag={from_tag}",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {cseq_method or method}",
        "Contact: <sip:alice@127.0.0.1:5070>",
    ]
    if extra:
        lines.extend(extra.strip("\r\n").split("\n"))
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


OFFER = (
    "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
)


@dataclass
class Sent:
    """One message the UAS handed to the transport, with the clock time."""

    time: float
    message: Response | Request
    peer: Peer
    data: bytes


@dataclass
class Harness:
    """Drives a UserAgentServer with a manual clock and collects what it sends."""

    uas: UserAgentServer
    now: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    unparsable: list[bytes] = field(default_factory=list)
    """Bytes sent that are not a SIP message (a fault made them so)."""
    outgoing: list[Outgoing] = field(default_factory=list)
    """Every item handed to the transport, connection instructions included."""

    @classmethod
    def from_yaml(cls, text: str, seed: int = 1) -> Harness:
        scenario = load_scenario_text(text, "test.yaml")
        return cls(UserAgentServer(scenario, seed=seed, rng=random.Random(seed)))

    def feed(self, data: bytes, peer: Peer = UDP) -> list[Sent]:
        """Deliver a message now; return what went out in response."""
        self.uas.receive(data, peer, self.now)
        return self._collect()

    def advance(self, seconds: float) -> list[Sent]:
        """Move the clock forward, firing every timer on the way, in order."""
        end = self.now + seconds
        out: list[Sent] = []
        while True:
            deadline = self.uas.next_deadline()
            if deadline is None or deadline > end:
                break
            self.now = max(self.now, deadline)
            self.uas.handle_timer(self.now)
            out += self._collect()
        self.now = end
        return out

    def _collect(self) -> list[Sent]:
        out = []
        for item in self.uas.take_outgoing():
            self.outgoing.append(item)
            if item.data.strip():
                try:
                    message = parse_message(item.data, stream=item.peer.reliable)
                except SipParseError:
                    self.unparsable.append(item.data)
                    continue
                assert isinstance(message, (Request, Response))
                out.append(Sent(self.now, message, item.peer, item.data))
        self.sent += out
        self.events += self.uas.take_events()
        return out

    def findings(self, kind: str) -> list[Finding]:
        return [e for e in self.events if isinstance(e, Finding) and e.kind == kind]


def statuses(sent: list[Sent]) -> list[int]:
    """Status codes of the responses in ``sent``, in order."""
    return [s.message.status for s in sent if isinstance(s.message, Response)]


def response(sent: list[Sent], status: int) -> Response:
    """The first response with this status."""
    for item in sent:
        if isinstance(item.message, Response) and item.message.status == status:
            return item.message
    raise AssertionError(f"no {status} in {statuses(sent)}")
