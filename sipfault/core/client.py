"""The client transactions of requests the UAS sends itself (RFC 3261 §17.1).

:class:`ClientTransaction` is the non-INVITE one (§17.1.2: BYE, UPDATE, INFO);
:class:`InviteClientTransaction` the INVITE one (§17.1.1, with the Accepted state of
RFC 6026 §8.4), its moves listed in :data:`INVITE_TRANSITIONS`. ``requests.py`` builds the
requests and keeps their transactions by branch.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from sipfault.core.events import Peer
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.message import Request, Response


class _SendsAndRetransmits:
    """What both client transactions do first (RFC 3261 §17.1.1.2, §17.1.2.2): send the
    request, arm the retransmission timer over UDP and the timeout timer on every transport."""

    __slots__ = ("_interval", "_queue", "_retransmit", "_send", "_timeout", "_timers", "peer",
                 "request")
    _send: Callable[[Request, Peer, bool, float], None]
    request: Request
    peer: Peer
    _queue: TimerQueue
    _interval: float
    _timers: Timers
    _retransmit: Timer | None
    _timeout: Timer | None

    def _init_timers(
        self, request: Request, peer: Peer, timers: Timers, queue: TimerQueue,
        send: Callable[[Request, Peer, bool, float], None],
    ) -> None:
        self.request = request
        self.peer = peer
        self._timers = timers
        self._queue = queue
        self._send = send
        self._interval = timers.t1
        self._retransmit = None
        self._timeout = None

    def _send_and_arm(
        self, now: float, retransmit: Callable[[float], None], retransmit_label: str,
        timeout: Callable[[float], None], timeout_label: str,
    ) -> None:
        self._send(self.request, self.peer, False, now)
        if not self.peer.reliable:
            self._retransmit = self._queue.schedule(now + self._interval, retransmit,
                                                    retransmit_label, self.request)
        self._timeout = self._queue.schedule(now + 64 * self._timers.t1, timeout,
                                             timeout_label, self.request)


class ClientTransaction(_SendsAndRetransmits):
    """A non-INVITE client transaction: Timer E re-sends over UDP, Timer F gives up (§17.1.2)."""

    __slots__ = ("_done", "_on_done", "branch", "final")

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
        self._init_timers(request, peer, timers, queue, send)
        self.branch = branch
        self.final: Response | None = None
        self._on_done = on_done
        self._done = False

    def start(self, now: float) -> None:
        """Send the request and arm Timers E (UDP only) and F."""
        self._send_and_arm(now, self._timer_e, "E", self._timer_f, "F")

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


class InviteState(enum.Enum):
    """INVITE client transaction states (RFC 3261 Figure 5, RFC 6026 §8.4)."""

    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"

    __hash__ = object.__hash__


INVITE_TRANSITIONS: dict[InviteState, frozenset[InviteState]] = {
    # from -> allowed next states. Calling -> Terminated is Timer B (§17.1.1.2); a 2xx goes
    # to Accepted, where retransmissions of it still reach the core for its ACK (RFC 6026).
    InviteState.CALLING: frozenset({InviteState.PROCEEDING, InviteState.COMPLETED,
                                    InviteState.ACCEPTED, InviteState.TERMINATED}),
    InviteState.PROCEEDING: frozenset({InviteState.PROCEEDING, InviteState.COMPLETED,
                                       InviteState.ACCEPTED}),
    InviteState.COMPLETED: frozenset({InviteState.TERMINATED}),
    InviteState.ACCEPTED: frozenset({InviteState.TERMINATED}),
}

TIMER_D_UDP = 32.0
"""Timer D over UDP: at least 32 s to absorb retransmitted final responses (§17.1.1.2)."""

_NOWHERE: frozenset[InviteState] = frozenset()


class InviteClientTransaction(_SendsAndRetransmits):
    """An INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §8.4).

    Timer A re-sends the INVITE over UDP, doubling from T1; Timer B gives up after 64*T1 in
    Calling. A 3xx-6xx is acknowledged here (``make_ack``, §17.1.1.3), again for each
    retransmission, until Timer D. A 2xx moves to Accepted for Timer M (64*T1): it and every
    retransmission go to ``on_final`` flagged as such, and the core sends (again) the ACK
    of its own (§13.2.2.4).
    """

    __slots__ = ("_ack", "_make_ack", "_on_done", "_on_final", "branch", "final", "state")

    def __init__(
        self,
        request: Request,
        branch: str,
        peer: Peer,
        timers: Timers,
        queue: TimerQueue,
        send: Callable[[Request, Peer, bool, float], None],
        make_ack: Callable[[Request, Response], Request],
        on_final: Callable[[InviteClientTransaction, Response | None, bool, float], None],
        on_done: Callable[[InviteClientTransaction, float], None],
    ) -> None:
        self._init_timers(request, peer, timers, queue, send)
        self.branch = branch
        self.state = InviteState.CALLING
        self.final: Response | None = None
        self._make_ack = make_ack
        self._on_final = on_final
        self._on_done = on_done
        self._ack: Request | None = None

    @property
    def pending(self) -> bool:
        """No final response yet (an INVITE "in progress", RFC 3261 §14.1)."""
        return self.state in (InviteState.CALLING, InviteState.PROCEEDING)

    def _move(self, new: InviteState, now: float) -> None:
        if new not in INVITE_TRANSITIONS.get(self.state, _NOWHERE):
            raise RuntimeError(f"INVITE client transaction cannot go {self.state.value} -> "
                               f"{new.value}")
        self.state = new
        if new is InviteState.TERMINATED:
            for timer in (self._retransmit, self._timeout):
                if timer is not None:
                    timer.cancel()
            self._on_done(self, now)

    def start(self, now: float) -> None:
        """Send the INVITE; arm Timer A (UDP only) and Timer B."""
        self._send_and_arm(now, self._timer_a, "A", self._timer_b, "B")

    def _timer_a(self, now: float) -> None:
        """Timer A: re-send the INVITE, the interval doubling each time (§17.1.1.2)."""
        if self.state is not InviteState.CALLING:
            return
        self._send(self.request, self.peer, True, now)
        self._interval *= 2
        self._retransmit = self._queue.schedule(now + self._interval, self._timer_a, "A",
                                                self.request)

    def _timer_b(self, now: float) -> None:
        """Timer B: no response at all within 64*T1 (§17.1.1.2): tell the core, give up."""
        if self.state is InviteState.CALLING:
            self._on_final(self, None, False, now)
            self._move(InviteState.TERMINATED, now)

    def _terminate(self, now: float) -> None:
        if self.state is not InviteState.TERMINATED:
            self._move(InviteState.TERMINATED, now)

    def on_response(self, response: Response, now: float) -> None:
        """A response whose branch and CSeq method are this transaction's (§17.1.3)."""
        status = response.status
        state = self.state
        if state is InviteState.TERMINATED:
            return
        if status < 200:
            if self.pending:
                if self._retransmit is not None:
                    self._retransmit.cancel()
                self._move(InviteState.PROCEEDING, now)
            return
        if status < 300:
            if self.pending:
                self.final = response
                if self._retransmit is not None:
                    self._retransmit.cancel()
                if self._timeout is not None:
                    self._timeout.cancel()
                self._move(InviteState.ACCEPTED, now)
                self._timeout = self._queue.schedule(now + 64 * self._timers.t1,
                                                     self._terminate, "M", self.request)
                self._on_final(self, response, False, now)
            elif state is InviteState.ACCEPTED:
                self._on_final(self, response, True, now)
            return
        if self.pending:
            self.final = response
            for timer in (self._retransmit, self._timeout):
                if timer is not None:
                    timer.cancel()
            self._ack = self._make_ack(self.request, response)
            self._send(self._ack, self.peer, False, now)
            self._move(InviteState.COMPLETED, now)
            delay = 0.0 if self.peer.reliable else TIMER_D_UDP
            self._timeout = self._queue.schedule(now + delay, self._terminate, "D", self.request)
            self._on_final(self, response, False, now)
        elif state is InviteState.COMPLETED and self._ack is not None:
            self._send(self._ack, self.peer, True, now)  # §17.1.1.2: re-ACK a retransmission
