"""What the live view knows: the run's records folded into counts, calls and recent events.

:class:`LiveState` is a record listener (``endpoint.add_listener(state.on_record)``), run on
the endpoint's loop. It keeps the counts the console's summary prints (the same
:class:`sipfault.reporting.MessageCounts`, so ``/metrics`` and the summary agree), the calls
under way and the last finished ones with their journal objects (for their ladders), the last
findings and faults, and the last journal lines. Everything is bounded, so that a bench left
running for days does not grow: older finished calls and journal lines are let go.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict, deque

from sipfault.live.calls import LiveCall
from sipfault.record.jsonl import encode_line
from sipfault.record.records import (
    DroppedRecord,
    FindingRecord,
    MessageRecord,
    OtherRecord,
    Record,
)
from sipfault.record.run import RunRecord, SummaryRecord
from sipfault.report.sections import finding_sections
from sipfault.reporting import MessageCounts

__all__ = ["LiveState"]

KEEP_FINISHED = 500
"""Finished calls kept with their records (their ladders stay reachable)."""
MAX_LIVE = 5000
"""Calls under way followed at most; beyond, the longest idle one is let go."""
JOURNAL_LINES = 50_000
"""Journal lines kept for ``/journal``."""
RECENT = 50
"""Findings and faults listed."""
MAX_PENDING = 100_000
"""Unanswered requests followed at most."""
FOLLOW_BACKLOG = 10_000
"""Lines a ``/journal`` follower may fall behind before it is cut off."""


class LiveState:
    """Counts, calls and recent events of a running endpoint."""

    def __init__(self, *, keep_finished: int = KEEP_FINISHED, max_live: int = MAX_LIVE,
                 journal_lines: int = JOURNAL_LINES) -> None:
        self.counts = MessageCounts()
        """Requests, responses, retransmissions, findings: as the console's summary."""
        self.calls: OrderedDict[str, LiveCall] = OrderedDict()
        """Calls under way and the finished ones kept, by Call-ID, oldest first."""
        self.calls_by_method: Counter[str] = Counter()
        """Calls seen, by the method of their first request."""
        self.finished: deque[str] = deque()
        """Call-IDs of finished calls kept, oldest first."""
        self.findings: deque[dict[str, object]] = deque(maxlen=RECENT)
        """The last findings, oldest first."""
        self.faults: Counter[str] = Counter()
        """Faults applied, by name (one per transmission touched)."""
        self.fault_drops: Counter[str] = Counter()
        """Of those, transmissions dropped."""
        self.recent_faults: deque[dict[str, object]] = deque(maxlen=RECENT)
        """The last faults applied."""
        self.timers: Counter[str] = Counter()
        """Timers fired by label."""
        self.records = 0
        """Records seen."""
        self.journal: deque[str] = deque(maxlen=journal_lines)
        """The last journal lines (JSON, one record each)."""
        self.version = 0
        """Goes up with each record: a page knows whether it is behind."""
        self._pending: dict[tuple[str, str], None] = {}
        self._keep_finished = keep_finished
        self._max_live = max_live
        self._waiters: list[asyncio.Future[None]] = []
        self._followers: set[asyncio.Queue[str | None]] = set()

    # ------------------------------------------------------------------- listening

    def on_record(self, record: Record | RunRecord | SummaryRecord) -> None:
        """Fold one record in (the endpoint's listener)."""
        self.records += 1
        self.version += 1
        entry = record.to_json()
        line = encode_line(entry)
        self.journal.append(line)
        for queue in list(self._followers):
            try:
                queue.put_nowait(line)
            except asyncio.QueueFull:
                self._followers.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)
        if not isinstance(record, RunRecord | SummaryRecord):
            self._fold(record, entry)
        self._wake()

    def _fold(self, record: Record, entry: dict[str, object]) -> None:
        self.counts.on_record(record)
        call_id = getattr(record, "call_id", None)
        if isinstance(record, MessageRecord):
            self._track_pending(record)
        elif isinstance(record, FindingRecord):
            self.findings.append({
                "time": record.time, "kind": record.kind, "text": record.text,
                "call_id": record.call_id,
                "rfc": finding_sections(record.kind, record.text, record.details),
            })
        elif isinstance(record, OtherRecord):
            if record.type == "fault_applied":
                name = str(record.fields.get("fault"))
                self.faults[name] += 1
                if record.fields.get("emitted") == 0:
                    self.fault_drops[name] += 1
                self.recent_faults.append({"time": record.time, **record.fields})
            elif record.type == "timer_fired":
                self.timers[str(record.fields.get("timer"))] += 1
            call_id = call_id or record.fields.get("call_id")
        elif isinstance(record, DroppedRecord):
            return
        if isinstance(call_id, str) and call_id:
            self._take(call_id, record, entry)

    def _track_pending(self, record: MessageRecord) -> None:
        """Requests received that have no final response yet (from the records)."""
        if record.retransmission or record.method == "ACK":
            return
        key = (record.call_id or "", record.header("CSeq") or "")
        if record.received and record.is_request:
            self._pending[key] = None
            if len(self._pending) > MAX_PENDING:  # requests never answered (a drop rule)
                del self._pending[next(iter(self._pending))]
        elif not record.received and record.status is not None and record.status >= 200:
            self._pending.pop(key, None)

    def _take(self, call_id: str, record: Record, entry: dict[str, object]) -> None:
        call = self.calls.get(call_id)
        if call is None:
            if not (isinstance(record, MessageRecord) and record.received
                    and record.is_request):
                return  # records of calls let go, or of none the view follows
            call = LiveCall(call_id, record.time, updated=record.time)
            self.calls[call_id] = call
            self._let_go_idle()
        was_ended = call.ended
        call.take(record, entry, keep=True)
        if len(call.entries) == 1 and call.method:
            self.calls_by_method[call.method] += 1
        if call.ended and not was_ended:
            self.finished.append(call_id)
            while len(self.finished) > self._keep_finished:
                self.calls.pop(self.finished.popleft(), None)

    def _let_go_idle(self) -> None:
        live = len(self.calls) - len(self.finished)
        if live <= self._max_live:
            return
        idle = min((call for call in self.calls.values() if not call.ended),
                   key=lambda call: call.updated)
        del self.calls[idle.call_id]

    # --------------------------------------------------------------------- waiting

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def changed(self, timeout: float) -> bool:
        """Wait until a record comes (True) or ``timeout`` passes (False)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True

    def follow(self) -> asyncio.Queue[str | None]:
        """A queue of the journal lines to come; None in it means the follower fell behind."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(FOLLOW_BACKLOG)
        self._followers.add(queue)
        return queue

    def unfollow(self, queue: asyncio.Queue[str | None]) -> None:
        """Stop feeding a follower."""
        self._followers.discard(queue)

    # --------------------------------------------------------------------- reading

    @property
    def live_calls(self) -> list[LiveCall]:
        """Calls under way, newest first."""
        return [call for call in reversed(self.calls.values()) if not call.ended]

    @property
    def finished_calls(self) -> list[LiveCall]:
        """Finished calls kept, newest first."""
        return [self.calls[call_id] for call_id in reversed(self.finished)
                if call_id in self.calls]

    @property
    def pending_requests(self) -> int:
        """Requests received without a final response yet."""
        return len(self._pending)
