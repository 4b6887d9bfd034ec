"""What the UAS core reports: messages to send and events for the journal.

The core never touches a socket: it appends :class:`Outgoing` items that the transport layer
sends to the peer each names (the packet's source address; RFC 3261 §18.2.2, RFC 3581), and
events that the CLI, the journal writers and the test API read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipfault.sip.frozen import quick_init
from sipfault.sip.message import Message, Request, Response


@quick_init
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


@quick_init
@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes for the transport to send."""

    data: bytes
    """The serialized message (or a CRLF keep-alive pong)."""
    peer: Peer
    """Where it goes: the peer a request came from; over UDP, at the port its Via names when
    it did not ask for ``rport`` (``sipfault.core.responses.response_peer``)."""
    close_after: bool = False
    """Close the stream connection once sent (after framing errors, RFC 4475 §3.1.2.2)."""
    reset: bool = False
    """Reset the stream connection (RST) instead of sending (a fault)."""
    pause_reading: bool = False
    """Stop reading the stream connection once sent, keeping it open (a fault)."""


@quick_init
@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message arrived and parsed."""

    time: float
    peer: Peer
    message: Message
    data: bytes
    retransmission: bool = False


@quick_init
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
    fault: str | None = None
    """The scenario fault that changed this copy (``data`` is what it made), or None."""
    fault_effect: str | None = None
    """What the fault did to this copy: "altered" (other bytes than the message's) or
    "duplicated" (an extra copy); None when ``fault`` is None."""


@quick_init
@dataclass(frozen=True, slots=True)
class MessageDropped:
    """Bytes that could not be answered: unparsable, a stray response, or too malformed."""

    time: float
    peer: Peer
    data: bytes
    reason: str


@quick_init
@dataclass(frozen=True, slots=True)
class KeepAliveReceived:
    """A keep-alive, not a message: a CRLF ping on a stream or a datagram of CRLFs (RFC 5626
    §4.4.1), or a STUN Binding Request or Indication on the SIP port (§4.4.2, RFC 8489)."""

    time: float
    peer: Peer
    kind: str
    """"crlf" or "stun"."""


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


@quick_init
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


@quick_init
@dataclass(frozen=True, slots=True)
class RequestUnmatched:
    """No rule took a request; the RFC default answered it with ``status``."""

    time: float
    request: Request
    peer: Peer
    status: int
    """What the default answered: 200 for OPTIONS or an in-dialog BYE, 405, 481, 501..."""


@quick_init
@dataclass(frozen=True, slots=True)
class FaultApplied:
    """A scenario fault acted on one transmission of a response.

    Each copy that went out is a :class:`MessageSent` naming the fault; a transmission the fault
    withheld (``effect`` "dropped") has no :class:`MessageSent`, only this event.
    """

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
    effect: str = "altered"
    """"dropped" (nothing went out), "altered" (other bytes went out), "duplicated" (more
    than one copy), "delayed", or "passed" (the message went out as it was)."""
    message: Response | None = None
    """The response the fault acted on, as sipfault built it."""
    peer: Peer | None = None
    """Where the response was going."""
    request: Request | None = None
    """The request it answers."""
    retransmission: bool = False
    """Whether this was a retransmission of the response (``attempt`` > 0)."""

    @property
    def withheld(self) -> bool:
        """True when the fault kept this transmission off the wire."""
        return self.emitted == 0


@quick_init
@dataclass(frozen=True, slots=True)
class TimerFired:
    """A protocol timer fired: RFC 3261 Timer E, F, G, H, I, J, L, or a 2xx / reliable 1xx
    retransmission ("2xx", "2xx-timeout", "1xx", "prack-timeout")."""

    time: float
    timer: str
    call_id: str | None


@quick_init
@dataclass(frozen=True, slots=True)
class EndpointFaultChanged:
    """A fault of the whole endpoint (outage, overload, slow) began or ended."""

    time: float
    fault: str
    """The fault as the journal names it, with its parameters: ``outage for=30s``."""
    active: bool
    """True when it began, False when it ended."""


@dataclass(frozen=True, slots=True)
class LoadShedding:
    """Load shedding began or ended: new INVITEs and REGISTERs get 503 while it lasts
    (RFC 3261 §21.5.4, ``sipfault.core.admission``)."""

    time: float
    active: bool
    """True when it began, False when it ended."""
    reason: str
    """What started it: "transactions" or "loop-lag"; "" when it ended."""
    transactions: int
    """Live transactions at that moment."""
    max_transactions: int | None
    """The limit on them, None when not watched."""
    lag: float
    """The last loop lag measured, in seconds."""
    max_loop_lag: float | None
    """The limit on it, None when not watched."""
    retry_after: int
    """Retry-After seconds of the 503s."""
    refused: int
    """When it ended: requests refused while it lasted."""
    duration: float
    """When it ended: how long it lasted, in seconds."""


@dataclass(frozen=True, slots=True)
class BindingExpired:
    """A registration ran out (or was forced out by a scenario fault)."""

    time: float
    aor: str
    contact: str
    forced: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class MediaTotals:
    """What one stream received while it carried one kind of media (``sipfault.media`` counts)."""

    packets: int = 0
    bytes: int = 0
    """UDP payload octets."""
    rtp: int = 0
    """Packets read as RTP (RFC 3550 §5.1)."""
    udptl: int = 0
    """Packets read as UDPTL (ITU-T T.38 §9.1)."""
    udptl_redundancy: int = 0
    """UDPTL packets carrying redundant copies of earlier IFP packets (t38UDPRedundancy)."""
    udptl_fec: int = 0
    """UDPTL packets carrying forward error correction (t38UDPFEC)."""
    other: int = 0
    """Packets that are neither."""
    lost: int = 0
    """Sequence numbers skipped: RTP per SSRC, UDPTL per stream (gaps, not late packets)."""
    payload_types: tuple[int, ...] = ()
    """RTP payload types seen, in order of first appearance."""
    ssrcs: int = 0
    """Distinct RTP SSRCs seen."""
    echoed: int = 0
    """Packets sent back (``media.echo``)."""


@quick_init
@dataclass(frozen=True, slots=True)
class MediaStarted:
    """A stream's socket is open (or it now carries another media type, on the same port)."""

    time: float
    call_id: str
    stream: int
    """The stream's number in this run."""
    index: int
    """Its ``m=`` line, from 0."""
    media: str
    """audio or image (T.38)."""
    local: tuple[str, int]
    """The address and port the socket is bound to."""
    remote: tuple[str, int] | None
    """Where the far end takes packets, per its SDP."""


@dataclass(frozen=True, slots=True)
class MediaFlowing:
    """The first packet of one kind (rtp, udptl, other) on a stream since it started."""

    time: float
    call_id: str
    stream: int
    index: int
    media: str
    kind: str
    source: tuple[str, int]
    """Where the packet came from."""


@quick_init
@dataclass(frozen=True, slots=True)
class MediaStopped:
    """A stream's socket closed, or it stopped carrying this media type: its totals."""

    time: float
    call_id: str
    stream: int
    index: int
    media: str
    local: tuple[str, int]
    totals: MediaTotals
    reason: str
    """e.g. "dialog ended", "rejected", "now image"."""


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """How the client answered a request sipfault sent itself in a dialog."""

    time: float
    call_id: str
    method: str
    purpose: str
    """What the request was for: "t38", "audio", "same", "bye", "info"..."""
    status: int
    """The final status; 0 when none came (Timer B or F)."""
    reason: str
    attempt: int = 1
    """1 for the first try; more after a 491 (RFC 3261 §14.1)."""


@dataclass(frozen=True, slots=True)
class T30Frame:
    """A T.30 frame or signal a fax terminal sent (``->``) or received (``<-``) (ITU-T T.30
    §5.3), e.g. ``DCS`` with ``14400 bps, fine, MMR, ECM``."""

    time: float
    call_id: str
    direction: str
    """``->`` sent, ``<-`` received."""
    frame: str
    """The frame's name and what it carries, as one line."""


@dataclass(frozen=True, slots=True)
class FaxPage:
    """A fax page received (with its files) or sent (ITU-T T.30 §3.2, phase C; T.4)."""

    time: float
    call_id: str
    number: int
    """From 1."""
    sent: bool
    width: int
    rows: int
    resolution: str
    """standard, fine or superfine."""
    compression: str
    """MH, MR or MMR, as the DCS set it."""
    bad_rows: int
    response: str
    """MCF, RTN, RTP... how the receiver answered it."""
    tiff: str | None = None
    """The call's TIFF (received pages)."""
    png: str | None = None
    """This page as PNG (received pages)."""


@dataclass(frozen=True, slots=True)
class FaxOutcome:
    """How a fax call ended: phase E (ITU-T T.30 §3.3), pages, rate, ECM, bad rows."""

    time: float
    call_id: str
    role: str
    """receive or send."""
    pages: int
    rate: int
    """Bit/s of the last DCS; 0 when none."""
    ecm: bool
    bad_rows: int
    result: str
    """The phase E label, e.g. ``OK`` or ``T1_EXPIRED``."""
    text: str
    """What the result means."""
    ok: bool
    tiff: str | None = None


Event = (
    MessageReceived | MessageSent | MessageDropped | Finding | RuleMatched | RequestUnmatched
    | FaultApplied | TimerFired | BindingExpired | KeepAliveReceived | MediaStarted
    | MediaFlowing | MediaStopped | RequestOutcome | EndpointFaultChanged | T30Frame | FaxPage
    | FaxOutcome | LoadShedding
)
