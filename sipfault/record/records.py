"""What happened, as records: the one translation of the core's events into what people read.

:func:`to_record` turns each event of :mod:`sipfault.core.events` into one frozen record stamped
with wall-clock time. Everything that shows a run renders from these records: the console of
``sipfault run`` (:mod:`sipfault.reporting`), the journal file (:meth:`to_json`, written by
:mod:`sipfault.record.jsonl`), the pcap (:mod:`sipfault.record.pcap`), and the Python API's
in-memory journal and message ladder (:mod:`sipfault.api.journal`).

One direction convention holds everywhere: a message is ``"in"`` when sipfault received it from
the client and ``"out"`` when sipfault sent it; a line people read shows ``<-`` for a message
received and ``->`` for one sent, followed by the client's transport and address::

    <- udp 127.0.0.1:5070 INVITE sip:486@127.0.0.1:5060 SIP/2.0 [1-18042@]
       rule 'busy' took the INVITE [1-18042@]
    -> udp 127.0.0.1:5070 SIP/2.0 486 Busy Here [1-18042@]

JSON objects (:meth:`to_json`, one per journal line; every one has ``time`` and ``type``):

- ``message``: ``direction`` ("in" or "out"), ``transport``, ``src`` and ``dst``
  (``{"host", "port"}``), ``retransmission``, ``first_line``, ``method`` (for a response, the
  CSeq method), ``status`` (responses only), ``call_id``, and ``raw``: the exact bytes (the
  writer gives text, or ``{"base64": ...}`` when they are not UTF-8).
- ``rule``: a rule took a request: ``rule``, ``method``, ``call_id``, ``transport``, ``src``,
  ``dst``.
- ``unmatched``: no rule took a request; the RFC default answered ``status``: ``method``,
  ``uri``, ``call_id``, ``transport``, ``src``, ``dst``.
- ``dropped``: bytes that could not be answered: ``reason``, ``transport``, ``src``, ``dst``,
  ``raw``. A stream that ends in the middle of a message is one too (``connection closed with
  37 bytes not parsed``, or ``reset``).
- ``keepalive``: a CRLF keep-alive or a STUN Binding Request (RFC 5626 §4.4): ``kind``
  ("crlf" or "stun"), ``transport``, ``src``, ``dst``.
- ``finding``: something the client did wrong: ``kind``, ``text``, ``call_id``, ``details``,
  and ``transport``, ``src``, ``dst`` when known.
- ``fault_applied``: a scenario fault acted on one transmission of a response: ``fault``,
  ``effect`` ("dropped", "altered", "duplicated" or "passed"), ``attempt`` (0 for the first
  transmission), ``emitted`` (copies that went out), ``call_id``, ``retransmission``,
  ``first_line``, ``method``, ``status``, ``transport``, ``src``, ``dst``. A ``message``
  record of a copy a fault altered or duplicated has ``fault``: ``{"name", "effect"}``; a
  transmission the fault dropped has no ``message`` record, and its line on the console is
  the message's own, marked ``[dropped by fault drop-first]``.
- ``media``: a media stream: ``event`` ("start": its socket opened or it changed media type;
  "flowing": the first packet of a ``kind``, rtp, udptl or other, from ``src``; "stop": its
  socket closed or it changed media type, with ``reason`` and its counts ``packets``,
  ``bytes``, ``rtp``, ``udptl`` (of which ``udptl_redundancy`` and ``udptl_fec`` carried
  error recovery), ``other``, ``lost`` (sequence gaps), ``payload_types``, ``ssrcs``,
  ``echoed``), ``call_id``, ``stream``, ``index`` (its ``m=`` line), ``media``,
  ``local``, and ``remote`` (the far end's address from its SDP) on "start".
- ``outcome``: how the client answered a request sipfault sent itself in a dialog:
  ``method``, ``purpose`` (t38, audio, same, bye, info), ``status`` (0: no answer),
  ``reason``, ``attempt``, ``call_id``.
- ``load_shedding``: new INVITEs and REGISTERs began (``active`` true) or stopped being refused
  with 503 under load (``sipfault.core.admission``): ``reason`` ("transactions" or
  "loop-lag"), ``transactions``, ``max_transactions``, ``lag`` and ``max_loop_lag`` (seconds),
  ``retry_after``, and when it stopped ``refused`` and ``duration`` (seconds).
- Any other event (a timer, a fault, a binding that expired) is written with its class name in
  snake case as ``type`` and its fields as plain values.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sipfault.core.events import (
    Event,
    FaultApplied,
    FaxOutcome,
    FaxPage,
    Finding,
    KeepAliveReceived,
    LoadShedding,
    MediaFlowing,
    MediaStarted,
    MediaStopped,
    MediaTotals,
    MessageDropped,
    MessageReceived,
    MessageSent,
    Peer,
    RequestOutcome,
    RequestUnmatched,
    RuleMatched,
    T30Frame,
)
from sipfault.record.fax_records import FaxPageRecord, FaxRecord, T30Record, fax_record
from sipfault.sip.frozen import quick_init
from sipfault.sip.headers import header_key
from sipfault.sip.message import Message, Request, Response

__all__ = [
    "RECEIVED",
    "SENT",
    "DroppedRecord",
    "FaultRecord",
    "FindingRecord",
    "KeepAliveRecord",
    "MediaRecord",
    "MessageRecord",
    "OtherRecord",
    "OutcomeRecord",
    "Record",
    "RuleRecord",
    "SheddingRecord",
    "UnmatchedRecord",
    "format_address",
    "to_record",
]

RECEIVED = "<-"
"""The arrow of a message sipfault received from the client."""
SENT = "->"
"""The arrow of a message sipfault sent to the client."""

CALL_ID_WIDTH = 8
"""Characters of a Call-ID shown in a line: enough to tell calls apart."""

_INDENT = "   "
"""Lines about a message (rules, defaults) sit under the message text, past the arrow."""


def format_address(address: tuple[str, int]) -> str:
    """``127.0.0.1:5070`` or ``[::1]:5070``."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _short(call_id: str | None) -> str:
    return f"[{(call_id or '-')[:CALL_ID_WIDTH]}]"


def _json_address(address: tuple[str, int]) -> dict[str, object]:
    return {"host": address[0], "port": address[1]}


def _json_flow(transport: str, source: tuple[str, int],
               destination: tuple[str, int]) -> dict[str, object]:
    return {"transport": transport, "src": _json_address(source),
            "dst": _json_address(destination)}


class MessageRecord:
    """One SIP message sipfault received ("in") or sent ("out").

    A view of the core's event: every field is read from the message when first asked, since
    a server under load makes one record per message and most are only counted
    (bench/core_calls.py's traffic: ~0.4 µs to make instead of ~3.5 µs for a record with
    every field filled in).
    """

    type: ClassVar[str] = "message"

    __slots__ = ("_event", "_first_line", "_headers", "_peer", "direction", "message",
                 "request", "retransmission", "time")

    def __init__(self, event: MessageReceived | MessageSent, time: float) -> None:
        self._event = event
        self._peer = event.peer
        self.direction: str
        """"in" from the client, "out" from sipfault."""
        self.request: Request | None
        """For a response sipfault sent: the request it answers."""
        if isinstance(event, MessageSent):
            self.direction = "out"
            self.request = event.request
        else:
            self.direction = "in"
            self.request = None
        self.time = time
        """Wall-clock time (``time.time()``) it arrived or left."""
        self.message: Message = event.message
        """The parsed message (the core's object; do not change it)."""
        self.retransmission = event.retransmission
        """A copy of an earlier message of the same transaction."""
        self._first_line: str | None = None
        self._headers: tuple[tuple[str, str], ...] | None = None

    def __repr__(self) -> str:
        return f"MessageRecord({self.direction!r}, {self.time!r}, {self.first_line!r})"

    @property
    def transport(self) -> str:
        """"udp", "tcp" or "tls"."""
        return self._peer.transport

    @property
    def source(self) -> tuple[str, int]:
        """Address and port it came from."""
        return self._peer.remote if self.direction == "in" else self._peer.local

    @property
    def destination(self) -> tuple[str, int]:
        """Address and port it went to."""
        return self._peer.local if self.direction == "in" else self._peer.remote

    @property
    def method(self) -> str:
        """The request's method; for a response, the method in its CSeq (RFC 3261 §8.1.1.5),
        or "" when the CSeq cannot be read."""
        message = self.message
        if isinstance(message, Request):
            return message.method
        assert isinstance(message, Response)
        return _cseq_method(message)

    @property
    def uri(self) -> str | None:
        """The Request-URI; None for a response."""
        return self.message.uri if isinstance(self.message, Request) else None

    @property
    def status(self) -> int | None:
        """The status code; None for a request."""
        return self.message.status if isinstance(self.message, Response) else None

    @property
    def reason(self) -> str | None:
        """The reason phrase; None for a request."""
        return self.message.reason if isinstance(self.message, Response) else None

    @property
    def body(self) -> bytes:
        """The message body."""
        return self.message.body

    @property
    def raw(self) -> bytes:
        """The whole message as it went over the wire."""
        return self._event.data

    @property
    def first_line(self) -> str:
        """The Request-Line or Status-Line, as read or written."""
        line = self._first_line
        if line is None:
            line = self._first_line = self.message.first_line()
        return line

    @property
    def fault(self) -> str | None:
        """The scenario fault that altered or duplicated this copy, or None."""
        event = self._event
        return event.fault if isinstance(event, MessageSent) else None

    @property
    def fault_effect(self) -> str | None:
        """"altered" or "duplicated" when ``fault`` is set."""
        event = self._event
        return event.fault_effect if isinstance(event, MessageSent) else None

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Header fields in wire order, names as written."""
        headers = self._headers
        if headers is None:
            headers = self._headers = tuple(
                (header.name, header.value) for header in self.message.headers)
        return headers

    @property
    def is_request(self) -> bool:
        """True for a request, False for a response."""
        return self.status is None

    @property
    def received(self) -> bool:
        """True for a message from the client, False for one sipfault sent."""
        return self.direction == "in"

    @property
    def arrow(self) -> str:
        """``<-`` for a message received, ``->`` for one sent."""
        return RECEIVED if self.received else SENT

    @property
    def client(self) -> tuple[str, int]:
        """The client's address and port: where it came from, or where it went."""
        return self.source if self.received else self.destination

    @property
    def source_text(self) -> str:
        """Where it came from, e.g. ``udp 127.0.0.1:5070``."""
        return f"{self.transport} {format_address(self.source)}"

    def header(self, name: str) -> str | None:
        """The first value of a header, names ignoring case and compact forms (RFC 3261 §7.3)."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """Every field value of a header, in order."""
        key = header_key(name)
        return [value for field_name, value in self.headers if header_key(field_name) == key]

    @property
    def call_id(self) -> str | None:
        """The Call-ID."""
        return self.message.headers.get("Call-ID")

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def line(self) -> str:
        """``<- udp 127.0.0.1:5070 INVITE sip:bob@127.0.0.1 SIP/2.0 [a84b4c76]``."""
        again = " (retransmission)" if self.retransmission else ""
        fault = _fault_note(self.fault_effect, self.fault) if self.fault else ""
        return (f"{self.arrow} {self.transport} {format_address(self.client)} "
                f"{self.first_line} {_short(self.call_id)}{again}{fault}")

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object (see the module docstring)."""
        record: dict[str, object] = {
            "time": self.time, "type": self.type, "direction": self.direction,
            **_json_flow(self.transport, self.source, self.destination),
            "retransmission": self.retransmission, "first_line": self.first_line,
            "method": self.method or None,
        }
        if self.status is not None:
            record["status"] = self.status
        record["call_id"] = self.call_id
        if self.fault is not None:
            record["fault"] = {"name": self.fault, "effect": self.fault_effect}
        record["raw"] = self.raw
        return record

    def __str__(self) -> str:
        return self.line()


@quick_init
@dataclass(frozen=True, slots=True)
class RuleRecord:
    """A scenario rule took a request."""

    type: ClassVar[str] = "rule"

    time: float
    """Wall-clock time."""
    rule: str
    """The rule's name (or its place in the scenario)."""
    method: str
    """The method of the request it took."""
    call_id: str
    """The Call-ID of the request it took."""
    transport: str
    """The request's transport."""
    source: tuple[str, int]
    """Where the request came from."""
    destination: tuple[str, int]
    """Where it arrived."""
    request: Request = field(repr=False, compare=False)
    """The request it took (the core's object)."""

    def line(self) -> str:
        """``   rule 'busy' took the INVITE [a84b4c76]``."""
        return f"{_INDENT}rule {self.rule!r} took the {self.method} {_short(self.call_id)}"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        return {"time": self.time, "type": self.type, "rule": self.rule, "method": self.method,
                "call_id": self.call_id,
                **_json_flow(self.transport, self.source, self.destination)}


@quick_init
@dataclass(frozen=True, slots=True)
class UnmatchedRecord:
    """No rule took a request; the RFC default answered it with ``status``."""

    type: ClassVar[str] = "unmatched"

    time: float
    """Wall-clock time."""
    method: str
    """The request's method."""
    uri: str
    """Its Request-URI."""
    status: int
    """What the default answered: 200 for OPTIONS, 405, 481, 501..."""
    call_id: str | None
    """Its Call-ID."""
    transport: str
    """Its transport."""
    source: tuple[str, int]
    """Where it came from."""
    destination: tuple[str, int]
    """Where it arrived."""
    request: Request = field(repr=False, compare=False)
    """The request (the core's object)."""

    def line(self) -> str:
        """``   no rule took the SUBSCRIBE; default answer 405 [a84b4c76]``."""
        return (f"{_INDENT}no rule took the {self.method}; default answer {self.status} "
                f"{_short(self.call_id)}")

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        return {"time": self.time, "type": self.type, "method": self.method, "uri": self.uri,
                "status": self.status, "call_id": self.call_id,
                **_json_flow(self.transport, self.source, self.destination)}


@quick_init
@dataclass(frozen=True, slots=True)
class DroppedRecord:
    """Bytes that could not be answered: unparsable, a stray response, a failed handshake."""

    type: ClassVar[str] = "dropped"

    time: float
    """Wall-clock time."""
    reason: str
    """Why, in a few words."""
    transport: str
    """The transport they came over."""
    source: tuple[str, int]
    """Where they came from."""
    destination: tuple[str, int]
    """Where they arrived."""
    raw: bytes = field(repr=False)
    """The bytes (empty for a failed TLS handshake)."""

    def line(self) -> str:
        """``!! udp 127.0.0.1:5070 dropped: unparsable``."""
        return f"!! {self.transport} {format_address(self.source)} dropped: {self.reason}"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        return {"time": self.time, "type": self.type, "reason": self.reason,
                **_json_flow(self.transport, self.source, self.destination), "raw": self.raw}


@quick_init
@dataclass(frozen=True, slots=True)
class KeepAliveRecord:
    """A keep-alive from a client: CRLFs (RFC 5626 §4.4.1) or a STUN Binding (§4.4.2)."""

    type: ClassVar[str] = "keepalive"

    time: float
    """Wall-clock time."""
    kind: str
    """"crlf" or "stun"."""
    transport: str
    """The transport it came over."""
    source: tuple[str, int]
    """Where it came from."""
    destination: tuple[str, int]
    """Where it arrived."""

    def line(self) -> str:
        """``.. udp 127.0.0.1:5070 keep-alive (crlf)``."""
        return f".. {self.transport} {format_address(self.source)} keep-alive ({self.kind})"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        return {"time": self.time, "type": self.type, "kind": self.kind,
                **_json_flow(self.transport, self.source, self.destination)}


@quick_init
@dataclass(frozen=True, slots=True)
class FindingRecord:
    """Something the client did that a test may want to know: a missed ACK, a late retry."""

    type: ClassVar[str] = "finding"

    time: float
    """Wall-clock time."""
    kind: str
    """Short identifier, e.g. "no-ack", "stray-ack", "bad-request"."""
    text: str
    """What happened, in one line."""
    call_id: str | None
    """The Call-ID concerned, when known."""
    details: dict[str, str]
    """More facts, by name."""
    transport: str | None = None
    """The client's transport, when known."""
    source: tuple[str, int] | None = None
    """The client's address, when known."""
    destination: tuple[str, int] | None = None
    """sipfault's address, when known."""

    def line(self) -> str:
        """``!! finding no-ack: no ACK for the 486 [a84b4c76]``."""
        return f"!! finding {self.kind}: {self.text} {_short(self.call_id)}"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        record: dict[str, object] = {
            "time": self.time, "type": self.type, "kind": self.kind, "text": self.text,
            "call_id": self.call_id, "details": dict(self.details),
        }
        if (self.transport is not None and self.source is not None
                and self.destination is not None):
            record.update(_json_flow(self.transport, self.source, self.destination))
        return record


_KIND_NAMES = {"rtp": "RTP", "udptl": "UDPTL", "other": "non-RTP"}


@quick_init
@dataclass(frozen=True, slots=True)
class MediaRecord:
    """A media stream started, saw its first packet of a kind, or stopped with its counts."""

    type: ClassVar[str] = "media"

    time: float
    """Wall-clock time."""
    event: str
    """"start", "flowing" or "stop"."""
    call_id: str
    stream: int
    """The stream's number in this run."""
    index: int
    """Its ``m=`` line, from 0."""
    media: str
    """audio or image (T.38)."""
    local: tuple[str, int] | None = None
    """The socket's address (start, stop)."""
    remote: tuple[str, int] | None = None
    """start: the far end's address from its SDP; flowing: where the packet came from."""
    kind: str | None = None
    """flowing: rtp, udptl or other."""
    totals: MediaTotals | None = None
    """stop: what the stream received."""
    reason: str | None = None
    """stop: why, e.g. "dialog ended", "now image"."""

    @property
    def name(self) -> str:
        """``audio#0``: the media type and the ``m=`` line."""
        return f"{self.media}#{self.index}"

    def line(self) -> str:
        """``   media audio#0 stopped (dialog ended): 250 packets, 43000 bytes... [a84b4c76]``."""
        short = _short(self.call_id)
        if self.event == "start":
            far = format_address(self.remote) if self.remote else "not given"
            here = format_address(self.local) if self.local else "?"
            return f"{_INDENT}media {self.name} listening on {here}, far end {far} {short}"
        if self.event == "flowing":
            source = format_address(self.remote) if self.remote else "?"
            kind = _KIND_NAMES.get(self.kind or "", self.kind or "?")
            return f"{_INDENT}media {self.name} first {kind} packet from {source} {short}"
        totals = self.totals or MediaTotals()
        return (f"{_INDENT}media {self.name} stopped ({self.reason}): {totals.packets} packets, "
                f"{totals.bytes} bytes, RTP {totals.rtp}, UDPTL {totals.udptl}, other "
                f"{totals.other}, lost {totals.lost} {short}")

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        record: dict[str, object] = {
            "time": self.time, "type": self.type, "event": self.event,
            "call_id": self.call_id, "stream": self.stream, "index": self.index,
            "media": self.media,
        }
        if self.local is not None:
            record["local"] = _json_address(self.local)
        if self.event == "start":
            record["remote"] = _json_address(self.remote) if self.remote else None
        if self.event == "flowing":
            record["kind"] = self.kind
            record["src"] = _json_address(self.remote) if self.remote else None
        if self.totals is not None:
            totals = self.totals
            record.update(packets=totals.packets, bytes=totals.bytes, rtp=totals.rtp,
                          udptl=totals.udptl, udptl_redundancy=totals.udptl_redundancy,
                          udptl_fec=totals.udptl_fec, other=totals.other, lost=totals.lost,
                          payload_types=list(totals.payload_types), ssrcs=totals.ssrcs,
                          echoed=totals.echoed, reason=self.reason)
        return record


_METHOD_NAMES = {"INVITE": "re-INVITE"}


@quick_init
@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """How the client answered a request sipfault sent itself (a re-INVITE, a BYE...)."""

    type: ClassVar[str] = "outcome"

    time: float
    """Wall-clock time."""
    call_id: str
    method: str
    purpose: str
    """t38, audio, same, bye, info."""
    status: int
    """The final status; 0 when none came."""
    reason: str
    attempt: int = 1

    def line(self) -> str:
        """``   our re-INVITE (t38) was answered 488 Not Acceptable Here [a84b4c76]``."""
        name = _METHOD_NAMES.get(self.method, self.method)
        what = f"{name} ({self.purpose})" if self.purpose != self.method.lower() else name
        again = f", attempt {self.attempt}" if self.attempt > 1 else ""
        answer = f"was answered {self.status} {self.reason}" if self.status else self.reason
        return f"{_INDENT}our {what} {answer}{again} {_short(self.call_id)}"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        return {"time": self.time, "type": self.type, "call_id": self.call_id,
                "method": self.method, "purpose": self.purpose, "status": self.status,
                "reason": self.reason, "attempt": self.attempt}


@quick_init
@dataclass(frozen=True, slots=True)
class FaultRecord:
    """A scenario fault acted on one transmission of a response sipfault sent."""

    type: ClassVar[str] = "fault_applied"

    time: float
    """Wall-clock time."""
    fault: str
    """The fault's name, e.g. "drop-first"."""
    effect: str
    """"dropped", "altered", "duplicated", or "passed" (sent as it was)."""
    attempt: int
    """0 for the first transmission, then 1, 2... for retransmissions."""
    emitted: int
    """How many copies went out (0 when dropped)."""
    call_id: str | None
    """The response's Call-ID."""
    transport: str
    """The client's transport."""
    source: tuple[str, int]
    """sipfault's address, where the response left from."""
    destination: tuple[str, int]
    """The client's address, where it was going."""
    first_line: str
    """The response's Status-Line, as sipfault built it."""
    method: str
    """The method in its CSeq."""
    status: int
    """Its status code."""
    retransmission: bool = False
    """Whether this was a retransmission of the response."""
    message: Response | None = field(default=None, repr=False, compare=False)
    """The response (the core's object)."""
    request: Request | None = field(default=None, repr=False, compare=False)
    """The request it answers."""
    detail: str = ""
    """What the fault did when its name does not say it all (``delayed 0.412 s``)."""

    @property
    def withheld(self) -> bool:
        """True when the fault kept this transmission off the wire."""
        return self.effect == "dropped"

    def line(self) -> str:
        """``-> udp 127.0.0.1:5070 SIP/2.0 200 OK [a84b4c76] [dropped by fault drop-first]``
        for a withheld transmission, else ``   fault truncate altered the 200 [a84b4c76]``."""
        if self.withheld:
            again = " (retransmission)" if self.retransmission else ""
            return (f"{SENT} {self.transport} {format_address(self.destination)} "
                    f"{self.first_line} {_short(self.call_id)}{again}"
                    f"{_fault_note(self.effect, self.fault)}")
        return f"{_INDENT}fault {self.fault} {self.effect} the {self.status} {_short(self.call_id)}"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object (see the module docstring)."""
        return {"time": self.time, "type": self.type, "fault": self.fault,
                "effect": self.effect, "attempt": self.attempt, "emitted": self.emitted,
                "call_id": self.call_id, "retransmission": self.retransmission,
                "first_line": self.first_line, "method": self.method or None,
                "status": self.status, "detail": self.detail,
                **_json_flow(self.transport, self.source, self.destination)}


@quick_init
@dataclass(frozen=True, slots=True)
class SheddingRecord:
    """Load shedding began or ended (RFC 3261 §21.5.4, :mod:`sipfault.core.admission`)."""

    type: ClassVar[str] = "load_shedding"

    time: float
    """Wall-clock time."""
    shedding: LoadShedding
    """The core's event: what started it, the transactions and the lag then, their limits
    (``--max-transactions``, ``--max-loop-lag``), and when it ended, what it refused."""

    def line(self) -> str:
        """``!! shedding load: 5012 transactions >= --max-transactions 5000; new
        INVITE/REGISTER get 503 Retry-After 2``, or ``!! load shedding over after 3.2 s:
        1834 requests refused``."""
        event = self.shedding
        if not event.active:
            return (f"!! load shedding over after {event.duration:.1f} s: "
                    f"{event.refused} requests refused")
        if event.reason == "loop-lag" and event.max_loop_lag is not None:
            why = (f"loop lag {event.lag * 1000:.0f} ms >= --max-loop-lag "
                   f"{event.max_loop_lag * 1000:.0f}")
        else:
            why = (f"{event.transactions} transactions >= --max-transactions "
                   f"{event.max_transactions}")
        return (f"!! shedding load: {why}; new INVITE/REGISTER get 503 "
                f"Retry-After {event.retry_after}")

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        fields = {item.name: getattr(self.shedding, item.name)
                  for item in dataclasses.fields(self.shedding) if item.name != "time"}
        return {"time": self.time, "type": self.type, **fields}


def _fault_note(effect: str | None, fault: str) -> str:
    """`` [dropped by fault drop-first]``: what a fault did to a transmission, after its line."""
    return f" [{effect} by fault {fault}]"


@quick_init
@dataclass(frozen=True, slots=True)
class OtherRecord:
    """Any other event (a timer fired, a fault applied, a binding expired), field by field."""

    time: float
    """Wall-clock time."""
    type: str
    """The event's class name in snake case, e.g. "binding_expired"."""
    fields: dict[str, object]
    """The event's fields (but its time) as plain values: numbers, text, lists, dicts."""
    event: object = field(repr=False, compare=False)
    """The core's event."""

    def line(self) -> str:
        """``   binding expired: aor=sip:alice@x contact=<sip:alice@127.0.0.1> forced=False``."""
        values = " ".join(f"{name}={value}" for name, value in self.fields.items())
        return f"{_INDENT}{self.type.replace('_', ' ')}: {values}"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object."""
        return {"time": self.time, "type": self.type, **self.fields}


Record = (
    MessageRecord | RuleRecord | UnmatchedRecord | DroppedRecord | FindingRecord | FaultRecord
    | KeepAliveRecord | MediaRecord | OutcomeRecord | OtherRecord | T30Record | FaxPageRecord
    | FaxRecord | SheddingRecord
)
"""What happened, one record per core event."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _plain(value: object) -> object:
    """A field value JSON can carry: numbers, text, bytes (the writer converts), or text."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return str(value)


def _cseq_method(message: Response) -> str:
    """The method in a response's CSeq (RFC 3261 §8.1.1.5), or "" when it cannot be read."""
    cseq = (message.headers.get("CSeq") or "").split()
    return cseq[-1] if len(cseq) == 2 else ""


def _flow_from(peer: Peer) -> tuple[str, tuple[str, int], tuple[str, int]]:
    """Transport, source, destination of what came from ``peer``."""
    return peer.transport, peer.remote, peer.local


def _rule_record(event: RuleMatched, wall: float) -> RuleRecord:
    peer = event.peer
    return RuleRecord(wall, event.rule, event.method, event.call_id, peer.transport,
                      peer.remote, peer.local, event.request)


def _unmatched_record(event: RequestUnmatched, wall: float) -> UnmatchedRecord:
    request, peer = event.request, event.peer
    return UnmatchedRecord(wall, request.method, request.uri, event.status,
                           request.headers.get("Call-ID"), peer.transport, peer.remote,
                           peer.local, request)


def _dropped_record(event: MessageDropped, wall: float) -> DroppedRecord:
    return DroppedRecord(wall, event.reason, *_flow_from(event.peer), raw=event.data)


def _keepalive_record(event: KeepAliveReceived, wall: float) -> KeepAliveRecord:
    return KeepAliveRecord(wall, event.kind, *_flow_from(event.peer))


def _finding_record(event: Finding, wall: float) -> FindingRecord:
    flow = _flow_from(event.peer) if event.peer is not None else (None, None, None)
    return FindingRecord(wall, event.kind, event.text, event.call_id, dict(event.details), *flow)


def _fault_record(event: FaultApplied, wall: float) -> FaultRecord | OtherRecord:
    message, peer = event.message, event.peer
    if message is None or peer is None:
        return _other_record(event, wall)
    return FaultRecord(
        wall, event.fault, event.effect, event.attempt, event.emitted, event.call_id,
        peer.transport, peer.local, peer.remote, message.first_line(), _cseq_method(message),
        message.status, event.retransmission, message, event.request, event.detail,
    )


def _media_started_record(event: MediaStarted, wall: float) -> MediaRecord:
    return MediaRecord(wall, "start", event.call_id, event.stream, event.index, event.media,
                       event.local, event.remote)


def _media_flowing_record(event: MediaFlowing, wall: float) -> MediaRecord:
    return MediaRecord(wall, "flowing", event.call_id, event.stream, event.index, event.media,
                       remote=event.source, kind=event.kind)


def _media_stopped_record(event: MediaStopped, wall: float) -> MediaRecord:
    return MediaRecord(wall, "stop", event.call_id, event.stream, event.index, event.media,
                       event.local, totals=event.totals, reason=event.reason)


def _shedding_record(event: LoadShedding, wall: float) -> SheddingRecord:
    return SheddingRecord(wall, event)


def _outcome_record(event: RequestOutcome, wall: float) -> OutcomeRecord:
    return OutcomeRecord(wall, event.call_id, event.method, event.purpose, event.status,
                         event.reason, event.attempt)


def _other_record(event: Event, wall: float) -> OtherRecord:
    fields = {
        item.name: _plain(getattr(event, item.name))
        for item in dataclasses.fields(event) if item.name != "time"
    }
    return OtherRecord(wall, _snake(type(event).__name__), fields, event)


_CONVERTERS: dict[type[object], Callable[[Any, float], Record]] = {
    MessageReceived: MessageRecord,
    MessageSent: MessageRecord,
    RuleMatched: _rule_record,
    RequestUnmatched: _unmatched_record,
    MessageDropped: _dropped_record,
    KeepAliveReceived: _keepalive_record,
    Finding: _finding_record,
    FaultApplied: _fault_record,
    MediaStarted: _media_started_record,
    MediaFlowing: _media_flowing_record,
    MediaStopped: _media_stopped_record,
    T30Frame: fax_record,
    FaxPage: fax_record,
    FaxOutcome: fax_record,
    LoadShedding: _shedding_record,
    RequestOutcome: _outcome_record,
}
"""How each kind of event becomes its record, by the event's exact class: one dictionary
look-up per event, where a server under load makes several records per call."""


def to_record(event: Event, wall: float) -> Record:
    """The record of one core event that happened at wall-clock time ``wall``."""
    convert = _CONVERTERS.get(type(event))
    if convert is not None:
        return convert(event, wall)
    return _record_by_kind(event, wall)


def _record_by_kind(event: Event, wall: float) -> Record:
    """:func:`to_record` for an event whose exact class is not in :data:`_CONVERTERS`: the
    converter of the nearest class it derives from, else its fields as an OtherRecord."""
    for base in type(event).__mro__[1:]:
        convert = _CONVERTERS.get(base)
        if convert is not None:
            return convert(event, wall)
    return _other_record(event, wall)
