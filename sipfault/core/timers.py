"""A sans-I/O timer queue: deadlines are numbers, the caller says what time it is.

The asyncio layer keeps one handle armed at :meth:`TimerQueue.next_deadline` and calls
:meth:`TimerQueue.run_due` when it fires; unit tests call ``run_due`` with a manual clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(eq=False)
class Timer:
    """A scheduled callback; cancel it with :meth:`cancel`."""

    deadline: float
    """When it fires, on the caller's clock."""
    sequence: int
    """Tie-breaker: timers due at the same time fire in the order they were set."""
    callback: Callable[[float], None]
    """Called with the current time."""
    cancelled: bool = False
    """Set by cancel(); the queue skips it."""

    def cancel(self) -> None:
        """Stop the timer from firing."""
        self.cancelled = True


class TimerQueue:
    """Timers ordered by deadline."""

    def __init__(self) -> None:
        # (deadline, sequence, timer): tuples compare in C, which matters on a busy server.
        self._heap: list[tuple[float, int, Timer]] = []
        self._counter = itertools.count()

    def __len__(self) -> int:
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def schedule(self, deadline: float, callback: Callable[[float], None]) -> Timer:
        """Call ``callback(now)`` at the first ``run_due(now)`` with ``now >= deadline``."""
        sequence = next(self._counter)
        timer = Timer(deadline, sequence, callback)
        heapq.heappush(self._heap, (deadline, sequence, timer))
        return timer

    def next_deadline(self) -> float | None:
        """The earliest pending deadline, or None."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> int:
        """Fire every timer due at ``now`` (including ones set while firing); return the count."""
        fired = 0
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback(now)
                fired += 1
        return fired
