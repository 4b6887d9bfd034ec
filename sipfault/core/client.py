"""The client transaction of a request the UAS sends itself (RFC 3261 §17.1.2, non-INVITE).

``requests.py`` builds those requests and keeps their transactions by branch.
"""

from __future__ import annotations

from collections.abc import Callable

from sipfault.core.events import Peer
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.message import Request, Response


class ClientTransaction:
    """A non-INVITE client transaction: Timer E re-sends over UDP, Timer F gives up (§17.1.2)."""

    __slots__ = ("_done", "_interval", "_on_done", "_queue", "_retransmit", "_send", "_timeout",
                 "_timers", "branch", "final", "peer", "request")

    def __init__(
        self,
        request: Request,
        branch: str,
        peer: Peer,
        timers: Timers,
        queue: TimerQueue,
        send: Callable[[Request, Peer, bool, float], None],
        on_done: Callable[[ClientTransaction, Response | None, float], None],
    ) -> None:
        self.request = request
        self.branch = branch
        self.peer = peer
        self.final: Response | None = None
        self._timers = timers
        self._queue = queue
        self._send = send
        self._on_done = on_done
        self._interval = timers.t1
        self._retransmit: Timer | None = None
        self._timeout: Timer | None = None
        self._done = False

    def start(self, now: float) -> None:
        """Send the request and arm Timers E (UDP only) and F."""
        self._send(self.request, self.peer, False, now)
        if not self.peer.reliable:
            self._retransmit = self._queue.schedule(now + self._interval, self._timer_e, "E",
                                                    self.request)
        self._timeout = self._queue.schedule(now + 64 * self._timers.t1, self._timer_f, "F",
                                             self.request)

    def _timer_e(self, now: float) -> None:
        if self._done:
            return
        self._send(self.request, self.peer, True, now)
        self._interval = min(2 * self._interval, self._timers.t2)
        self._retransmit = self._queue.schedule(now + self._interval, self._timer_e, "E",
                                                self.request)

    def _timer_f(self, now: float) -> None:
        if not self._done:
            self._finish(None, now)

    def on_response(self, response: Response, now: float) -> None:
        """A response matched by branch: provisional ones slow Timer E to T2, finals end it."""
        if self._done:
            return
        if response.status < 200:
            self._interval = self._timers.t2
            return
        self._finish(response, now)

    def _finish(self, response: Response | None, now: float) -> None:
        self._done = True
        self.final = response
        for timer in (self._retransmit, self._timeout):
            if timer is not None:
                timer.cancel()
        self._on_done(self, response, now)
