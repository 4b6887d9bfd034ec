"""Dialogs the UAS takes part in (RFC 3261 §12, §13.3.1.4).

A dialog starts with a dialog-creating response to an INVITE (a 1xx with a To-tag makes it
early, a 2xx confirms it). The UAS core re-sends a 2xx until the ACK comes (§13.3.1.4); when
none comes within 64*T1 the dialog ends with a BYE.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sipfault.core.events import Peer
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.message import Response

if TYPE_CHECKING:
    from sipfault.core.exchange import Exchange

DialogKey = tuple[str, str, str]
"""(Call-ID, local tag, remote tag), RFC 3261 §12."""


class DialogState(enum.Enum):
    """RFC 3261 §12: early until a 2xx, confirmed after, terminated by BYE or failure."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(slots=True)
class Dialog:
    """One dialog, as the UAS side sees it."""

    call_id: str
    local_tag: str
    remote_tag: str
    peer: Peer
    """Where in-dialog requests of ours go: the peer the INVITE came from (never a resolved
    Contact, so a test tool cannot be made to send elsewhere)."""
    local_uri: str
    """The To of the INVITE (our From in requests we send)."""
    remote_uri: str
    """The From of the INVITE (our To)."""
    remote_target: str
    """The Contact URI of the INVITE (our Request-URI)."""
    route_set: list[str] = field(default_factory=list)
    """Record-Route values of the INVITE, in order (§12.1.1)."""
    state: DialogState = DialogState.EARLY
    local_cseq: int = 0
    """CSeq of the last request we sent in the dialog."""
    remote_cseq: int | None = None
    """CSeq of the last request the peer sent (§12.2.2)."""
    acked: bool = False
    """Whether the ACK for the 2xx arrived."""
    offer_in_2xx: bool = False
    """Whether our 2xx carried an offer (the INVITE had none), so the ACK must bring the answer."""
    invite: Exchange | None = None
    """The INVITE exchange that made or last refreshed the dialog, while it lasts."""
    _retransmit: Timer | None = None
    _give_up: Timer | None = None

    @property
    def key(self) -> DialogKey:
        """The dialog ID (§12)."""
        return (self.call_id, self.local_tag, self.remote_tag)

    def start_2xx_retransmission(
        self,
        response: Response,
        timers: Timers,
        queue: TimerQueue,
        resend: Callable[[Response, Peer, float], None],
        on_no_ack: Callable[[Dialog, float], None],
        now: float,
    ) -> None:
        """§13.3.1.4: re-send the 2xx at T1, doubling to T2, until ACK; give up at 64*T1."""
        retransmission = _Retransmission2xx(self, response, timers, queue, resend, on_no_ack, now)
        # §13.3.1.4 names no timers; the journal calls them "2xx" and "2xx-timeout".
        self._retransmit = queue.schedule(
            now + timers.t1, retransmission.retransmit, "2xx", response
        )

    def stop_retransmission(self) -> None:
        """The ACK came (or the dialog ended): stop re-sending the 2xx."""
        for timer in (self._retransmit, self._give_up):
            if timer is not None:
                timer.cancel()


class _Retransmission2xx:
    """The state of one 2xx being re-sent until its ACK (§13.3.1.4).

    An object with methods rather than closures: a closure that schedules itself refers to
    itself, and every dialog would end as a cycle that only the garbage collector frees. The
    timers let go of these methods when they fire or are cancelled.
    """

    __slots__ = ("_give_up_at", "_interval", "_on_no_ack", "_queue", "_resend", "_timers",
                 "dialog", "response")

    def __init__(
        self, dialog: Dialog, response: Response, timers: Timers, queue: TimerQueue,
        resend: Callable[[Response, Peer, float], None],
        on_no_ack: Callable[[Dialog, float], None], now: float,
    ) -> None:
        self.dialog = dialog
        self.response = response
        self._timers = timers
        self._queue = queue
        self._resend = resend
        self._on_no_ack = on_no_ack
        self._interval = timers.t1
        self._give_up_at: float | None = now + 64 * timers.t1

    def retransmit(self, at: float) -> None:
        dialog = self.dialog
        if dialog.acked or dialog.state is DialogState.TERMINATED:
            return
        if self._give_up_at is not None:
            # The give-up timer is armed on the first retransmission, not with the 2xx:
            # most ACKs come within T1, and a timer per call that is always cancelled would
            # only weigh on the heap and the garbage collector.
            dialog._give_up = self._queue.schedule(
                self._give_up_at, self.give_up, "2xx-timeout", self.response
            )
            self._give_up_at = None
        self._resend(self.response, dialog.peer, at)
        self._interval = min(2 * self._interval, self._timers.t2)
        dialog._retransmit = self._queue.schedule(
            at + self._interval, self.retransmit, "2xx", self.response
        )

    def give_up(self, at: float) -> None:
        dialog = self.dialog
        if not dialog.acked and dialog.state is not DialogState.TERMINATED:
            dialog.stop_retransmission()
            self._on_no_ack(dialog, at)
