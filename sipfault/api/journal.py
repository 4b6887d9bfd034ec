"""The journal in memory: every record of a run, for a test to read and wait on.

:class:`Journal` listens to a server's records (on the server's loop thread; one record per core
event, :mod:`sipfault.record.records`). It keeps them in order, wakes :meth:`Journal.wait_for`
callers, and notes what a test did not expect: a request no rule took that was refused (405,
481, 501...), and every finding about the client (a missing ACK, a malformed request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from sipfault.record.records import (
    DroppedRecord,
    FaultRecord,
    FindingRecord,
    MessageRecord,
    Record,
    RuleRecord,
    UnmatchedRecord,
    format_address,
)
from sipfault.sip.message import Request

__all__ = [
    "FindingRecord",
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

LADDER_KEY = "<- received from the client, -> sent by sipfault"
"""How to read the arrows of a ladder (:mod:`sipfault.record.records`)."""


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
    """``wait_for`` saw fewer requests than asked before its timeout (an assertion failure).

    Its text holds the message ladder; pytest shows it once, without sipfault's own frames.
    """

    where: str | None = None
    """``host:port`` of the server that waited, when a server raised it (the pytest plugin
    leaves that server's ladder out of the report, as the text already holds it)."""


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


def _refusal(status: int) -> bool:
    """A 4xx-6xx, except the digest challenges (401, 407) an ``auth`` section asks for."""
    return status >= 400 and status not in (401, 407)


def _from_text(transport: str | None, address: tuple[str, int] | None) -> str:
    if transport is None or address is None:
        return ""
    return f" from {transport} {format_address(address)}"


class Journal:
    """What a server saw and did, for tests: records, waiters, and what was not expected.

    Every method runs on the server's event loop thread (the threaded controller sees to it).
    """

    def __init__(self) -> None:
        self.records: list[Record] = []
        """Every record, in order: messages, rules taken, defaults, findings, drops..."""
        self._waiters: list[_Waiter] = []
        self._unexpected: list[Unexpected] = []
        self._taken: set[int] = set()  # ids of requests a rule took
        self._seen: dict[int, Request] = {}  # ids of requests received (kept alive here)
        self._reported: set[int] = set()  # ids of requests already reported as unexpected
        self._refused: list[MessageRecord] = []

    # ------------------------------------------------------------------ listening

    def on_record(self, record: Record) -> None:
        """Keep one record (the server's listener)."""
        self.records.append(record)
        if isinstance(record, MessageRecord):
            if record.received and record.is_request:
                if not record.retransmission and isinstance(record.message, Request):
                    self._seen[id(record.message)] = record.message
                self._wake()
            elif not record.received:
                self._note_refusal(record)
        elif isinstance(record, RuleRecord):
            self._taken.add(id(record.request))
        elif isinstance(record, UnmatchedRecord):
            if _refusal(record.status):
                self._reported.add(id(record.request))
                self._unexpected.append(Unexpected(
                    "unmatched",
                    f"no rule took {record.method} {record.uri}"
                    f"{_from_text(record.transport, record.source)}; "
                    f"answered {record.status} by default",
                    record.time, record.status, record.call_id, record.method,
                ))
        elif isinstance(record, FindingRecord):
            self._unexpected.append(Unexpected(
                record.kind, record.text + _from_text(record.transport, record.source),
                record.time, call_id=record.call_id,
            ))
        elif isinstance(record, DroppedRecord) and record.raw.strip():
            self._unexpected.append(Unexpected(
                "dropped", f"{record.reason}{_from_text(record.transport, record.source)}",
                record.time,
            ))

    def _note_refusal(self, record: MessageRecord) -> None:
        """Keep a first 4xx-6xx sent to a received request; unexpected() sorts them out."""
        if (record.status is not None and _refusal(record.status) and not record.retransmission
                and record.request is not None and id(record.request) in self._seen):
            self._refused.append(record)

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

    @property
    def messages(self) -> list[MessageRecord]:
        """Every message in and out, in order."""
        return [record for record in self.records if isinstance(record, MessageRecord)]

    def requests(self, method: str | None = None, *,
                 retransmissions: bool = False) -> list[MessageRecord]:
        """Requests received, oldest first; of one method if given (case-sensitive, §7.1)."""
        return [
            record for record in self.messages
            if record.received and record.is_request
            and (method is None or record.method == method)
            and (retransmissions or not record.retransmission)
        ]

    def responses(self, method: str | None = None, *, status: int | None = None,
                  retransmissions: bool = False) -> list[MessageRecord]:
        """Responses sent, oldest first; to requests of one method, of one status, if given."""
        return [
            record for record in self.messages
            if not record.received and not record.is_request
            and (method is None or record.method == method)
            and (status is None or record.status == status)
            and (retransmissions or not record.retransmission)
        ]

    def findings(self, kind: str | None = None) -> list[FindingRecord]:
        """Findings about the client, oldest first; only ``kind`` ones if given."""
        return [record for record in self.records if isinstance(record, FindingRecord)
                and (kind is None or record.kind == kind)]

    def unexpected(self) -> list[Unexpected]:
        """Requests refused because no rule took them, findings, unreadable messages."""
        items = list(self._unexpected)
        # A finding made while refusing a request (bad-request, auth-failed) already says it.
        finding_keys = {(item.call_id, item.time) for item in items
                        if item.kind not in ("unmatched", "dropped")}
        for sent in self._refused:
            request = sent.request
            assert request is not None and sent.status is not None
            key = id(request)
            if key in self._taken or key in self._reported:
                continue
            call_id = request.headers.get("Call-ID")
            if (call_id, sent.time) in finding_keys:
                continue
            items.append(Unexpected(
                "unmatched",
                f"{request.method} {request.uri}{_from_text(sent.transport, sent.client)} was "
                f"refused with {sent.status} {sent.reason} before any rule was tried",
                sent.time, sent.status, call_id, request.method,
            ))
        items.sort(key=lambda item: item.time)
        return items

    def ladder(self, limit: int = LADDER_LINES) -> str:
        """The message ladder: one line per record (see format_ladder)."""
        return format_ladder(self.records, limit)

    def clear(self) -> None:
        """Forget everything recorded so far (waiters keep waiting)."""
        self.records.clear()
        self._unexpected.clear()
        self._taken.clear()
        self._seen.clear()
        self._reported.clear()
        self._refused.clear()

    async def wait_for(self, method: str | None = None, count: int = 1,
                       timeout: float = 5.0) -> list[MessageRecord]:
        """Wait until ``count`` requests of ``method`` (any method if None) have arrived.

        Returns every such request so far (retransmissions left out). Raises
        :class:`WaitTimeout`, with the ladder, when they do not come within ``timeout`` s.
        """
        __tracebackhide__ = True  # a failing test shows its own line, not sipfault's
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
                f"what happened ({LADDER_KEY}):\n{self.ladder()}"
            ) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if not future.done():
                future.cancel()


def format_ladder(records: Iterable[Record], limit: int = LADDER_LINES) -> str:
    """A readable message ladder: time since the first record, then each record's line.

    ``<-`` is a message received from the client, ``->`` one sipfault sent (marked when a
    scenario fault altered it, and shown marked ``[dropped by fault ...]`` when a fault kept it
    off the wire); rules taken, default answers and findings are shown where they happened.
    """
    lines: list[str] = []
    start: float | None = None
    for record in records:
        if start is None:
            start = record.time
        if isinstance(record, FaultRecord) and not record.withheld:
            continue  # the copies that went out carry the fault on their own lines
        lines.append(f"  +{record.time - start:7.3f}s  {record.line()}")
    if not lines:
        return "  (no messages)"
    if len(lines) > limit:
        hidden = len(lines) - limit
        lines = [f"  ... {hidden} earlier line{'s' if hidden != 1 else ''}", *lines[-limit:]]
    return "\n".join(lines)


def describe_unexpected(items: list[Unexpected], ladder: str, where: str, hint: str) -> str:
    """The failure text: what was not expected, the message ladder, and what to try next."""
    count = len(items)
    lines = [f"sipfault at {where} saw {count} thing{'s' if count != 1 else ''} "
             "the test did not expect:"]
    lines += [f"  - {item}" for item in items]
    lines += [f"Message ladder ({LADDER_KEY}):", ladder, hint]
    return "\n".join(lines)
