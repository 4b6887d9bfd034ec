"""A T.38 stream that runs a fax terminal: what the core asks of it (ITU-T T.38 §9.1, T.30).

The core does not know fax: when a call's rule has ``fax`` settings and a stream becomes
``m=image ... udptl t38`` (RFC 3264 §8.3, ITU-T T.38 Annex D), :class:`FaxDriver` asks the
injected :data:`FaxFactory` for a :class:`FaxStream` (``sipfault.media.fax`` makes them),
hands it each datagram of the stream with the time, sends what it produces out of the
stream's socket to the far end (the address its SDP names, or the source of its packets:
symmetric), journals its events, and keeps one timer of the UAS's queue at its deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sipfault.core.events import Event
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import FaxSettings

__all__ = ["FaxDriver", "FaxFactory", "FaxStream"]


class FaxStream(Protocol):
    """A sans-I/O fax terminal on UDPTL, as the core drives it."""

    def start(self, now: float) -> None: ...

    def datagram(self, data: bytes, now: float) -> None: ...

    def next_deadline(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...

    def take_datagrams(self) -> list[bytes]: ...

    def take_events(self) -> list[Event]: ...

    def close(self, now: float, reason: str) -> None:
        """The stream closed: report the outcome if the fax did not end by itself."""


FaxFactory = Callable[[FaxSettings, str, int, int], FaxStream]
"""(settings, Call-ID, ``m=`` line, T38FaxVersion) -> a fax stream."""

Send = Callable[[bytes, tuple[str, int]], None]


class FaxDriver:
    """One fax stream joined to the core's clock, timers, journal and a stream's socket."""

    def __init__(self, stream: FaxStream, queue: TimerQueue, report: Callable[[Event], None],
                 send: Send, remote: tuple[str, int] | None) -> None:
        self.stream = stream
        self._queue = queue
        self._report = report
        self._send = send
        self.remote = remote
        """Where datagrams go: the SDP's address until the far end's packets arrive."""
        self._timer: Timer | None = None
        self.closed = False

    def start(self, now: float) -> None:
        self.stream.start(now)
        self._pump(now)

    def datagram(self, data: bytes, source: tuple[str, int], now: float) -> None:
        if self.closed:
            return
        self.remote = source  # symmetric: answer where the packets come from
        self.stream.datagram(data, now)
        self._pump(now)

    def close(self, now: float, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.stream.close(now, reason)
        for event in self.stream.take_events():
            self._report(event)

    def _on_timer(self, now: float) -> None:
        self._timer = None
        if self.closed:
            return
        self.stream.handle_timer(now)
        self._pump(now)

    def _pump(self, now: float) -> None:
        del now
        for data in self.stream.take_datagrams():
            if self.remote is not None:
                self._send(data, self.remote)
        for event in self.stream.take_events():
            self._report(event)
        deadline = self.stream.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self._queue.schedule(deadline, self._on_timer)
