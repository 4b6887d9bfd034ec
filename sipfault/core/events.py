"""What the UAS core reports: messages to send and events for the journal.

The core never touches a socket: it appends :class:`Outgoing` items that the transport layer
sends to the peer a message came from (RFC 3581 symmetric response routing), and events that the
CLI, the journal writers and the test API read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipfault.sip.message import Message, Request


@dataclass(frozen=True, slots=True)
class Peer:
    """The other end of a message, as the transport saw it."""

    transport: str
    """"udp", "tcp" or "tls"."""
    remote: tuple[str, int]
    """Source address and port of the packet or connection."""
    local: tuple[str, int]
    """The address and port it arrived on."""
    connection: int | None = None
    """For streams: the connection's id, so answers leave on it (RFC 3261 §18.2.2)."""

    @property
    def reliable(self) -> bool:
        """Whether the transport is a stream (no retransmissions needed, §17.2)."""
        return self.transport != "udp"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes for the transport to send."""

    data: bytes
    """The serialized message (or a CRLF keep-alive pong)."""
    peer: Peer
    """Where it goes: always the peer a request came from."""
    close_after: bool = False
    """Close the stream connection once sent (after framing errors, RFC 4475 §3.1.2.2)."""
    reset: bool = False
    """Reset the stream connection (RST) instead of sending (a fault)."""
    pause_reading: bool = False
    """Stop reading the stream connection once sent, keeping it open (a fault)."""


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message arrived and parsed."""

    time: float
    peer: Peer
    message: Message
    data: bytes
    retransmission: bool = False


@dataclass(frozen=True, slots=True)
class MessageSent:
    """A message left (or was handed to the transport)."""

    time: float
    peer: Peer
    message: Message
    data: bytes
    retransmission: bool = False
    request: Request | None = None
    """For a response: the request it answers."""


@dataclass(frozen=True, slots=True)
class MessageDropped:
    """Bytes that could not be answered: unparsable, a stray response, or too malformed."""

    time: float
    peer: Peer
    data: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the client did that a test may want to know: a missed ACK, a late retry."""

    time: float
    kind: str
    """Short identifier, e.g. "no-ack", "stray-ack", "bad-request"."""
    text: str
    call_id: str | None = None
    peer: Peer | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleMatched:
    """A scenario rule took a request."""

    time: float
    rule: str
    """The rule's name, or "rule N" (its place in the scenario) when it has none."""
    method: str
    """The request's method (also ``request.method``)."""
    call_id: str
    request: Request
    """The request the rule took."""
    peer: Peer
    """Where the request came from."""


@dataclass(frozen=True, slots=True)
class RequestUnmatched:
    """No rule took a request; the RFC default answered it with ``status``."""

    time: float
    request: Request
    peer: Peer
    status: int
    """What the default answered: 200 for OPTIONS or an in-dialog BYE, 405, 481, 501..."""


@dataclass(frozen=True, slots=True)
class FaultApplied:
    """A scenario fault changed what went out for one transmission of a response."""

    time: float
    fault: str
    call_id: str | None
    attempt: int
    """0 for the first transmission, then 1, 2... for retransmissions."""
    emitted: int
    """How many messages went out instead of one (0 for a dropped one)."""
    status: int = 0
    """The status of the response it acted on; 0 for a request or the endpoint's faults."""
    detail: str = ""
    """What it did when its name does not say it all: ``delayed 1.234 s``, ``held``..."""


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A protocol timer fired: RFC 3261 Timer E, F, G, H, I, J, L, or a 2xx / reliable 1xx
    retransmission ("2xx", "2xx-timeout", "1xx", "prack-timeout")."""

    time: float
    timer: str
    call_id: str | None


@dataclass(frozen=True, slots=True)
class EndpointFaultChanged:
    """A fault of the whole endpoint (outage, overload, slow) began or ended."""

    time: float
    fault: str
    """The fault as the journal names it, with its parameters: ``outage for=30s``."""
    active: bool
    """True when it began, False when it ended."""


@dataclass(frozen=True, slots=True)
class BindingExpired:
    """A registration ran out (or was forced out by a scenario fault)."""

    time: float
    aor: str
    contact: str
    forced: bool = False


Event = (
    MessageReceived | MessageSent | MessageDropped | Finding | RuleMatched | RequestUnmatched
    | FaultApplied | TimerFired | BindingExpired | EndpointFaultChanged
)
