"""Faults of the whole endpoint: ``outage``, ``overload`` and ``slow``, for a time or until cleared.

- ``outage``: every message received is dropped and nothing is sent, as if the host had gone;
- ``overload``: every new request but ACK and CANCEL gets 503 with Retry-After
  (RFC 3261 §21.5.4);
- ``slow``: every response is held back ``by`` a time, or a random time from ``min`` to ``max``.

A ``probability`` makes each one act on some messages only (an outage with probability 0.2 is
a lossy link). The faults come from the scenario's ``endpoint_faults`` (each from its ``after``
for its ``for``, counted from :meth:`EndpointFaults.arm`) or are set at run time, one per name:
setting a fault again replaces it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sipfault.core.timers import Timer, TimerQueue
from sipfault.model import validate
from sipfault.model.faults import ENDPOINT, Fault

__all__ = ["DEFAULT_RETRY_AFTER", "EndpointFaults"]

DEFAULT_RETRY_AFTER = 30
"""Retry-After seconds of an ``overload`` 503 that names none."""

Changed = Callable[[Fault, bool, float], None]
"""Told (fault, began?, now) when a fault begins or ends."""


class EndpointFaults:
    """The endpoint faults in force, with the timers that begin and end them."""

    __slots__ = ("_active", "_armed", "_dice", "_on_change", "_queue", "_timers", "any")

    def __init__(self, queue: TimerQueue, dice: random.Random, on_change: Changed) -> None:
        self._queue = queue
        self._dice = dice
        self._on_change = on_change
        self._active: dict[str, Fault] = {}
        self._timers: dict[str, list[Timer]] = {}
        self.any = False
        """Whether any fault is in force: a plain attribute, read for every message."""
        self._armed: tuple[Fault, ...] | None = None

    @property
    def armed(self) -> bool:
        """Whether a scenario's faults were set going (:meth:`arm_scenario`)."""
        return self._armed is not None

    def arm_scenario(self, faults: tuple[Fault, ...], now: float) -> None:
        """Set a scenario's ``endpoint_faults`` going from ``now``, unless they are the ones
        already set; other ones end every fault in force first."""
        if self._armed is not None and self._armed == faults:
            return
        if self._armed is not None:
            self.clear(None, now)
        self._armed = faults
        self.arm(faults, now)

    def set_by_name(self, name: str, params: dict[str, object] | None, now: float) -> Fault | None:
        """Begin fault ``name`` with ``params`` as a scenario file's ``endpoint_faults`` entry
        writes them (``{"for": "30s"}``), checked as one is; None ends it. Returns the fault
        begun. Raises :class:`~sipfault.model.validate.InvalidValue` for a bad one."""
        if params is None:
            validate.fault_name(name, ENDPOINT)
            self.clear(name, now)
            return None
        fault = validate.fault({**params, "fault": name}, ENDPOINT)
        self.set(fault, now)
        return fault

    @property
    def active(self) -> dict[str, Fault]:
        """The faults in force by name."""
        return dict(self._active)

    def arm(self, faults: tuple[Fault, ...], now: float) -> None:
        """Set each of ``faults`` to begin ``fault.start`` seconds from ``now``."""
        for fault in faults:
            self.set(fault, now)

    def set(self, fault: Fault, now: float) -> None:
        """Begin ``fault`` at ``now + fault.start`` (now when 0), for ``fault.duration``;
        a fault of the same name is replaced."""
        self.clear(fault.name, now)
        timers = self._timers.setdefault(fault.name, [])
        if fault.start > 0:
            timers.append(self._queue.schedule(now + fault.start,
                                               lambda at: self._begin(fault, at)))
        else:
            self._begin(fault, now)

    def _begin(self, fault: Fault, now: float) -> None:
        self._active[fault.name] = fault
        self.any = True
        self._on_change(fault, True, now)
        if fault.duration is not None:
            self._timers.setdefault(fault.name, []).append(self._queue.schedule(
                now + fault.duration, lambda at: self.clear(fault.name, at)))

    def clear(self, name: str | None, now: float) -> None:
        """End the fault ``name`` (every fault for None), and forget its timers."""
        for each in [name] if name is not None else list({*self._active, *self._timers}):
            for timer in self._timers.pop(each, []):
                timer.cancel()
            fault = self._active.pop(each, None)
            self.any = bool(self._active)
            if fault is not None:
                self._on_change(fault, False, now)

    def acting(self, name: str) -> Fault | None:
        """The fault ``name`` if it is in force and acts this time (its probability drawn)."""
        fault = self._active.get(name)
        if fault is None:
            return None
        if fault.probability is not None and self._dice.random() >= fault.probability:
            return None
        return fault

    def slow_delay(self) -> tuple[Fault, float] | None:
        """The ``slow`` fault and the delay it gives this response, if it acts."""
        fault = self.acting("slow")
        if fault is None or fault.delay is None:
            return None
        low, high = fault.delay
        return fault, low if low == high else self._dice.uniform(low, high)
