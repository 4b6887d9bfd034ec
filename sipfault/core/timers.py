"""A sans-I/O timer queue: deadlines are numbers, the caller says what time it is.

The asyncio layer keeps one handle armed at :meth:`TimerQueue.next_deadline` and calls
:meth:`TimerQueue.run_due` when it fires; unit tests call ``run_due`` with a manual clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

COMPACT_AFTER = 1024
"""Cancelled timers the heap may hold before they are swept out (when they are also half)."""


def _spent(now: float) -> None:
    """What a cancelled or fired timer calls: nothing (its own callback is let go)."""
    del now


class Timer:
    """A scheduled callback; cancel it with :meth:`cancel`."""

    __slots__ = ("_queue", "callback", "cancelled", "context", "deadline", "label", "sequence")

    deadline: float
    """When it fires, on the caller's clock."""
    sequence: int
    """Tie-breaker: timers due at the same time fire in the order they were set."""
    callback: Callable[[float], None]
    """Called with the current time."""
    cancelled: bool
    """Set by cancel() and when it fires; the queue skips it."""
    label: str | None
    """The protocol timer's name ("G", "H"...), reported to the observer when it fires."""
    context: object
    """What the timer is about (the request), handed to the observer with the label."""

    def __init__(
        self, deadline: float, sequence: int, callback: Callable[[float], None],
        queue: TimerQueue | None = None, label: str | None = None, context: object = None,
    ) -> None:
        self.deadline = deadline
        self.sequence = sequence
        self.callback = callback
        self.cancelled = False
        self._queue = queue
        self.label = label
        self.context = context

    def __repr__(self) -> str:
        return f"Timer(deadline={self.deadline!r}, sequence={self.sequence!r})"

    def cancel(self) -> None:
        """Stop the timer from firing."""
        if self.cancelled:
            return
        self.cancelled = True
        # Let go of the callback and the context: they often hold their owner (a
        # transaction's bound method, a dialog, a parsed request), and the timer stays in the
        # heap until its deadline, up to 64*T1 away.
        self.callback = _spent
        self.context = None
        if self._queue is not None:
            self._queue.forget_one()


class TimerQueue:
    """Timers ordered by deadline."""

    def __init__(self) -> None:
        # (deadline, sequence, timer): tuples compare in C, which matters on a busy server.
        self._heap: list[tuple[float, int, Timer]] = []
        self._counter = itertools.count()
        self._cancelled = 0  # cancelled timers still in the heap
        self.observer: Callable[[str, object, float], None] | None = None
        """Told (label, context, now) before a labelled timer's callback runs."""

    def __len__(self) -> int:
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def schedule(
        self, deadline: float, callback: Callable[[float], None], label: str | None = None,
        context: object = None,
    ) -> Timer:
        """Call ``callback(now)`` at the first ``run_due(now)`` with ``now >= deadline``.

        A ``label`` names a protocol timer (RFC 3261 Timer G, H...): the observer hears of it
        when it fires, so the journal can say which timer did what.
        """
        sequence = next(self._counter)
        timer = Timer(deadline, sequence, callback, self, label, context)
        heapq.heappush(self._heap, (deadline, sequence, timer))
        return timer

    def forget_one(self) -> None:
        """A timer in the heap was cancelled; sweep them out when they are half the heap.

        Most timers of a busy server are cancelled long before their deadline (the 2xx's
        give-up at 64*T1 once the ACK came); without the sweep they would pile up.
        """
        self._cancelled += 1
        if self._cancelled > COMPACT_AFTER and 2 * self._cancelled > len(self._heap):
            self.sweep()

    def sweep(self) -> None:
        """Drop every cancelled timer now, in a heap list of its own size."""
        self._heap = [entry for entry in self._heap if not entry[2].cancelled]
        heapq.heapify(self._heap)
        self._cancelled = 0

    def next_deadline(self) -> float | None:
        """The earliest pending deadline, or None."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> int:
        """Fire every timer due at ``now`` (including ones set while firing); return the count."""
        fired = 0
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if timer.cancelled:
                self._cancelled -= 1
                continue
            timer.cancelled = True
            callback, timer.callback = timer.callback, _spent
            if timer.label is not None and self.observer is not None:
                self.observer(timer.label, timer.context, now)
            callback(now)
            fired += 1
            heap = self._heap  # a sweep while firing replaces the list
        return fired
