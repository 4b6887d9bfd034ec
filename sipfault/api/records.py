"""The request journal: every message in and out, as frozen records a test can read.

:class:`Journal` listens to a server's events (on the server's loop thread). It keeps one
:class:`MessageRecord` per message, wakes :meth:`Journal.wait_for` callers, and notes what a
test did not expect: a request no rule took that was refused (405, 481, 501...), and every
finding about the client (a missing ACK, a malformed request).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sipfault.core.events import (
    Event,
    Finding,
    MessageDropped,
    MessageReceived,
    MessageSent,
    Peer,
    RequestUnmatched,
    RuleMatched,
)
from sipfault.sip.headers import header_key
from sipfault.sip.message import Request, Response

__all__ = [
    "Journal",
    "MessageRecord",
    "Unexpected",
    "UnexpectedTraffic",
    "WaitTimeout",
    "describe_unexpected",
    "format_ladder",
]

LADDER_LINES = 200
"""Most ladder lines shown in a failure; earlier ones are counted, not shown."""


def _endpoint(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class MessageRecord:
    """One SIP message sipfault received ("in") or sent ("out")."""

    direction: str
    """"in" from the client, "out" from sipfault."""
    time: float
    """Wall-clock time (``time.time()``) it arrived or left."""
    transport: str
    """"udp", "tcp" or "tls"."""
    source: tuple[str, int]
    """Address and port it came from."""
    destination: tuple[str, int]
    """Address and port it went to."""
    method: str
    """The request's method; for a response, the method in its CSeq (RFC 3261 §8.1.1.5)."""
    uri: str | None
    """The Request-URI; None for a response."""
    status: int | None
    """The status code; None for a request."""
    reason: str | None
    """The reason phrase; None for a request."""
    headers: tuple[tuple[str, str], ...]
    """Header fields in wire order, names as written."""
    body: bytes
    """The message body."""
    raw: bytes = field(repr=False)
    """The whole message as it went over the wire."""
    retransmission: bool = False
    """A copy of an earlier message of the same transaction."""

    @property
    def is_request(self) -> bool:
        """True for a request, False for a response."""
        return self.status is None

    @property
    def source_text(self) -> str:
        """Where it came from, e.g. ``udp 127.0.0.1:5070``."""
        return f"{self.transport} {_endpoint(self.source)}"

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
        return self.header("Call-ID")

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    @property
    def first_line(self) -> str:
        """The Request-Line or Status-Line."""
        if self.status is None:
            return f"{self.method} {self.uri} SIP/2.0"
        return f"SIP/2.0 {self.status} {self.reason}"

    def __str__(self) -> str:
        arrow = "->" if self.direction == "in" else "<-"
        client = self.source if self.direction == "in" else self.destination
        again = " (retransmission)" if self.retransmission else ""
        return f"{self.transport} {_endpoint(client)} {arrow} {self.first_line}{again}"


@dataclass(frozen=True)
class Unexpected:
    """Something that happened that no rule asked for."""

    kind: str
    """"unmatched" for a request refused by default, "dropped", or a finding's kind."""
    text: str
    """What happened, in one line."""
    time: float
    """Wall-clock time."""
    status: int | None = None
    """For "unmatched": the status the default answered with."""
    call_id: str | None = None
    """The Call-ID concerned, when known."""
    method: str | None = None
    """For "unmatched": the request's method."""

    def allowed_by(self, allowed: Iterable[str | int]) -> bool:
        """True when ``allowed`` names this kind or (for "unmatched") this status."""
        names = set(allowed)
        return self.kind in names or (self.status is not None and self.status in names)

    def __str__(self) -> str:
        call = f" [Call-ID {self.call_id}]" if self.call_id else ""
        return f"{self.kind}: {self.text}{call}"


class WaitTimeout(AssertionError):
    """``wait_for`` saw fewer requests than asked before its timeout (an assertion failure)."""


class UnexpectedTraffic(AssertionError):
    """The client sent what no rule expected, or did something wrong (see ``unexpected()``)."""

    def __init__(self, message: str, items: list[Unexpected]) -> None:
        super().__init__(message)
        self.items = items


@dataclass
class _Waiter:
    method: str | None
    count: int
    future: asyncio.Future[list[MessageRecord]]


def _record(event: MessageReceived | MessageSent, wall: float) -> MessageRecord:
    message = event.message
    peer = event.peer
    incoming = isinstance(event, MessageReceived)
    if isinstance(message, Request):
        method, uri, status, reason = message.method, message.uri, None, None
    else:
        assert isinstance(message, Response)
        cseq = (message.headers.get("CSeq") or "").split()
        method = cseq[-1] if len(cseq) == 2 else ""
        uri, status, reason = None, message.status, message.reason
    return MessageRecord(
        direction="in" if incoming else "out",
        time=wall,
        transport=peer.transport,
        source=peer.remote if incoming else peer.local,
        destination=peer.local if incoming else peer.remote,
        method=method,
        uri=uri,
        status=status,
        reason=reason,
        headers=tuple((header.name, header.value) for header in message.headers),
        body=message.body,
        raw=event.data,
        retransmission=event.retransmission,
    )


def _refusal(status: int) -> bool:
    """A 4xx-6xx, except the digest challenges (401, 407) an ``auth`` section asks for."""
    return status >= 400 and status not in (401, 407)


def _peer_text(peer: Peer | None) -> str:
    return "" if peer is None else f" from {peer.transport} {_endpoint(peer.remote)}"


class Journal:
    """What a server saw and did, for tests: records, waiters, and what was not expected.

    Every method runs on the server's event loop thread (the threaded controller sees to it).
    """

    def __init__(self, wall_clock: Callable[[float], float]) -> None:
        """``wall_clock`` turns an event's ``loop.time()`` into ``time.time()``."""
        self._wall = wall_clock
        self.events: list[tuple[float, Event]] = []
        """Every event with its wall-clock time, in order."""
        self.records: list[MessageRecord] = []
        """Every message in and out, in order."""
        self._waiters: list[_Waiter] = []
        self._unexpected: list[Unexpected] = []
        self._taken: set[int] = set()  # ids of requests a rule took
        self._seen: dict[int, Request] = {}  # ids of requests received (kept alive here)
        self._reported: set[int] = set()  # ids of requests already reported as unexpected
        self._refused: list[tuple[float, MessageSent]] = []
        self._last_request: Request | None = None

    # ------------------------------------------------------------------ listening

    def on_event(self, event: Event) -> None:
        """Record one event (the server's listener)."""
        wall = self._wall(event.time)
        self.events.append((wall, event))
        if isinstance(event, MessageReceived | MessageSent):
            self.records.append(_record(event, wall))
            if isinstance(event, MessageReceived) and isinstance(event.message, Request):
                if not event.retransmission:
                    self._last_request = event.message
                    self._seen[id(event.message)] = event.message
                self._wake()
            elif isinstance(event, MessageSent):
                self._note_refusal(event, wall)
        elif isinstance(event, RuleMatched):
            last = self._last_request
            if last is not None and last.method == event.method:
                self._taken.add(id(last))
        elif isinstance(event, RequestUnmatched):
            if _refusal(event.status):
                self._reported.add(id(event.request))
                self._unexpected.append(Unexpected(
                    "unmatched",
                    f"no rule took {event.request.method} {event.request.uri}"
                    f"{_peer_text(event.peer)}; answered {event.status} by default",
                    wall, event.status, event.request.headers.get("Call-ID"),
                    event.request.method,
                ))
        elif isinstance(event, Finding):
            self._unexpected.append(Unexpected(
                event.kind, event.text + _peer_text(event.peer), wall, call_id=event.call_id,
            ))
        elif isinstance(event, MessageDropped) and event.data.strip():
            self._unexpected.append(Unexpected(
                "dropped", f"{event.reason}{_peer_text(event.peer)}", wall,
            ))

    def _note_refusal(self, event: MessageSent, wall: float) -> None:
        """Keep a first 4xx-6xx sent to a received request; unexpected() sorts them out."""
        message = event.message
        if (isinstance(message, Response) and _refusal(message.status) and not event.retransmission
                and event.request is not None and id(event.request) in self._seen):
            self._refused.append((wall, event))

    def _wake(self) -> None:
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
                continue
            found = self.requests(waiter.method)
            if len(found) >= waiter.count:
                self._waiters.remove(waiter)
                waiter.future.set_result(found)

    # ------------------------------------------------------------------ reading

    def requests(self, method: str | None = None, *,
                 retransmissions: bool = False) -> list[MessageRecord]:
        """Requests received, oldest first; of one method if given (case-sensitive, §7.1)."""
        return [
            record for record in self.records
            if record.direction == "in" and record.is_request
            and (method is None or record.method == method)
            and (retransmissions or not record.retransmission)
        ]

    def responses(self, method: str | None = None, *, status: int | None = None,
                  retransmissions: bool = False) -> list[MessageRecord]:
        """Responses sent, oldest first; to requests of one method, of one status, if given."""
        return [
            record for record in self.records
            if record.direction == "out" and not record.is_request
            and (method is None or record.method == method)
            and (status is None or record.status == status)
            and (retransmissions or not record.retransmission)
        ]

    def unexpected(self) -> list[Unexpected]:
        """Requests refused because no rule took them, findings, unreadable messages."""
        items = list(self._unexpected)
        # A finding made while refusing a request (bad-request, auth-failed) already says it.
        finding_keys = {(item.call_id, item.time) for item in items
                        if item.kind not in ("unmatched", "dropped")}
        for wall, sent in self._refused:
            request = sent.request
            assert request is not None
            key = id(request)
            if key in self._taken or key in self._reported:
                continue
            call_id = request.headers.get("Call-ID")
            if (call_id, wall) in finding_keys:
                continue
            assert isinstance(sent.message, Response)
            status = sent.message.status
            items.append(Unexpected(
                "unmatched",
                f"{request.method} {request.uri}{_peer_text(sent.peer)} was refused with "
                f"{status} {sent.message.reason} before any rule was tried",
                wall, status, call_id, request.method,
            ))
        items.sort(key=lambda item: item.time)
        return items

    def ladder(self, limit: int = LADDER_LINES) -> str:
        """The message ladder: one line per message, rule and finding (see format_ladder)."""
        return format_ladder(self.events, limit)

    def clear(self) -> None:
        """Forget everything recorded so far (waiters keep waiting)."""
        self.events.clear()
        self.records.clear()
        self._unexpected.clear()
        self._taken.clear()
        self._seen.clear()
        self._reported.clear()
        self._refused.clear()
        self._last_request = None

    async def wait_for(self, method: str | None = None, count: int = 1,
                       timeout: float = 5.0) -> list[MessageRecord]:
        """Wait until ``count`` requests of ``method`` (any method if None) have arrived.

        Returns every such request so far (retransmissions left out). Raises
        :class:`WaitTimeout`, with the ladder, when they do not come within ``timeout`` s.
        """
        if count < 1:
            raise ValueError(f"count={count} (expected 1 or more)")
        found = self.requests(method)
        if len(found) >= count:
            return found
        future: asyncio.Future[list[MessageRecord]] = (
            asyncio.get_running_loop().create_future()
        )
        waiter = _Waiter(method, count, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            seen = len(self.requests(method))
            what = f"{method} " if method else ""
            plural = "" if count == 1 else "s"
            raise WaitTimeout(
                f"waited {timeout:g} s for {count} {what}request{plural}, got {seen}; "
                f"what happened (-> from the client, <- from sipfault):\n{self.ladder()}"
            ) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if not future.done():
                future.cancel()


def format_ladder(events: Iterable[tuple[float, Event]], limit: int = LADDER_LINES) -> str:
    """A readable message ladder: time since the first event, client, arrow, first line.

    ``->`` is a message from the client to sipfault, ``<-`` one from sipfault; rules taken
    and findings are shown where they happened.
    """
    lines: list[str] = []
    start: float | None = None
    for wall, event in events:
        if start is None:
            start = wall
        stamp = f"+{wall - start:7.3f}s"
        line = _ladder_line(event)
        if line is not None:
            lines.append(f"  {stamp}  {line}")
    if not lines:
        return "  (no messages)"
    if len(lines) > limit:
        hidden = len(lines) - limit
        lines = [f"  ... {hidden} earlier line{'s' if hidden != 1 else ''}", *lines[-limit:]]
    return "\n".join(lines)


def _ladder_line(event: Event) -> str | None:
    if isinstance(event, MessageReceived | MessageSent):
        peer = event.peer
        arrow = "->" if isinstance(event, MessageReceived) else "<-"
        call_id = (event.message.headers.get("Call-ID") or "-")[:12]
        again = " (retransmission)" if event.retransmission else ""
        return (f"{peer.transport} {_endpoint(peer.remote)} {arrow} "
                f"{event.message.first_line()}  [{call_id}]{again}")
    if isinstance(event, RuleMatched):
        return f"    rule {event.rule!r} took the {event.method}"
    if isinstance(event, RequestUnmatched):
        return f"    no rule took the {event.request.method}; default answer {event.status}"
    if isinstance(event, Finding):
        return f"!! finding {event.kind}: {event.text}"
    if isinstance(event, MessageDropped):
        return f"!! {event.peer.transport} {_endpoint(event.peer.remote)} dropped: {event.reason}"
    # Any other event: its type and fields, so nothing the core reports is hidden.
    fields = " ".join(
        f"{item.name}={getattr(event, item.name)}"
        for item in dataclasses.fields(event) if item.name != "time"
    )
    name = re.sub(r"(?<!^)(?=[A-Z])", " ", type(event).__name__).lower()
    return f"    {name}: {fields}"


def describe_unexpected(items: list[Unexpected], ladder: str, where: str, hint: str) -> str:
    """The failure text: what was not expected, the message ladder, and what to try next."""
    count = len(items)
    lines = [f"sipfault at {where} saw {count} thing{'s' if count != 1 else ''} "
             "the test did not expect:"]
    lines += [f"  - {item}" for item in items]
    lines += ["Message ladder (-> from the client, <- from sipfault):", ladder, hint]
    return "\n".join(lines)
