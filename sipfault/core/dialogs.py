"""Dialogs the UAS takes part in (RFC 3261 §12, §13.3.1.4).

A dialog starts with a dialog-creating response to an INVITE (a 1xx with a To-tag makes it
early, a 2xx confirms it). The UAS core re-sends a 2xx until the ACK comes (§13.3.1.4); when
none comes within 64*T1 the dialog ends, and the UAS sends a BYE. Like the transactions'
(``transactions.py``), the moves of a dialog are listed once, in :data:`TRANSITIONS`, and
checked on every move; :class:`Dialogs` holds the dialogs alive and makes every move.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sipfault.core.events import Peer
from sipfault.core.faults import ExchangeFaults
from sipfault.core.reliable import ReliableProvisionals
from sipfault.core.sessions import MediaSession
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.message import Request, Response

MAX_DIALOGS = 65536
"""Dialogs kept at most. A confirmed dialog lasts until its BYE (§15), which a client that
crashed or a load generator that never hangs up does not send; past this many, the oldest
acknowledged dialog is forgotten when a new one starts (a BYE for it then gets 481)."""

DialogKey = tuple[str, str, str]
"""(Call-ID, local tag, remote tag), RFC 3261 §12."""


class DialogState(enum.Enum):
    """RFC 3261 §12: early until a 2xx, confirmed after, terminated by BYE or failure."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"

    # Identity hash, as transactions.State: the C hash spares a Python call on every move.
    __hash__ = object.__hash__


TRANSITIONS: dict[DialogState, frozenset[DialogState]] = {
    # from -> allowed next states
    DialogState.EARLY: frozenset({DialogState.CONFIRMED, DialogState.TERMINATED}),
    # A 2xx to a re-INVITE (§14.2) confirms the dialog again.
    DialogState.CONFIRMED: frozenset({DialogState.CONFIRMED, DialogState.TERMINATED}),
}


class InviteUnderway(Protocol):
    """What a dialog keeps of the INVITE exchange that made or last refreshed it.

    A protocol rather than the exchange's class: the exchange refers to its dialog, and this
    module stays below it.
    """

    @property
    def request(self) -> Request:
        """The INVITE."""

    @property
    def reliable(self) -> ReliableProvisionals | None:
        """Its RFC 3262 state, once a reliable provisional went out (a PRACK is matched here)."""

    @property
    def faults(self) -> ExchangeFaults | None:
        """Its faults: a 2xx sent under one is re-sent under it."""

    def stop_if_unanswered(self) -> None:
        """Forget the steps still to come unless a final response went (the dialog ended)."""


Resend2xx = Callable[[Response, Peer, InviteUnderway, float], None]
"""How the UAS re-sends a 2xx: response, peer, the INVITE it answers, now."""


@dataclass(slots=True)
class Dialog:
    """One dialog, as the UAS side sees it."""

    call_id: str
    local_tag: str
    remote_tag: str
    peer: Peer
    """Where in-dialog requests of ours (and 2xx retransmissions) go: where the INVITE's
    responses went, the address it came from, at its source port with ``rport`` and at its
    Via's port without (never a resolved Contact, so a test tool cannot be made to send
    elsewhere)."""
    local_uri: str
    """The To of the INVITE (our From in requests we send)."""
    remote_uri: str
    """The From of the INVITE (our To)."""
    remote_target: str
    """The Contact URI of the INVITE (our Request-URI)."""
    route_set: list[str] = field(default_factory=list)
    """Record-Route values of the INVITE, in order (§12.1.1)."""
    state: DialogState = DialogState.EARLY
    """Moved only by :class:`Dialogs`, as :data:`TRANSITIONS` allows."""
    local_cseq: int = 0
    """CSeq of the last request we sent in the dialog."""
    remote_cseq: int | None = None
    """CSeq of the last request the peer sent (§12.2.2)."""
    acked: bool = False
    """Whether the ACK for the 2xx arrived."""
    offer_in_2xx: bool = False
    """Whether our 2xx carried an offer (the INVITE had none), so the ACK must bring the answer."""
    session_id: int = 0
    """The sess-id of the SDP ``o=`` line we send (RFC 4566 §5.2); 0 until the first SDP."""
    session_version: int = 0
    """The sess-version of the last SDP we sent, one more with each (RFC 3264 §8)."""
    invite: InviteUnderway | None = None
    """The INVITE exchange that made or last refreshed the dialog, while it lasts."""
    media: MediaSession | None = None
    """Its media streams, once SDP was exchanged."""
    local_contact: str = ""
    """The Contact of our dialog-creating response (re-sent in target refreshes, §14.1)."""
    _retransmit: Timer | None = None
    _give_up: Timer | None = None

    @property
    def key(self) -> DialogKey:
        """The dialog ID (§12)."""
        return (self.call_id, self.local_tag, self.remote_tag)

    def in_order(self, cseq: int) -> bool:
        """§12.2.2: a request's CSeq may not go below the last one; remember it when in order."""
        if self.remote_cseq is not None and cseq < self.remote_cseq:
            return False
        self.remote_cseq = cseq
        return True

    def next_local_cseq(self) -> int:
        """The CSeq of our next request in the dialog, one more than the last (§12.2.1.1)."""
        self.local_cseq += 1
        return self.local_cseq

    def stop_retransmission(self) -> None:
        """The ACK came (or the dialog ended): stop re-sending the 2xx."""
        for timer in (self._retransmit, self._give_up):
            if timer is not None:
                timer.cancel()


_NOWHERE: frozenset[DialogState] = frozenset()


def _move(dialog: Dialog, new: DialogState) -> None:
    if new not in TRANSITIONS.get(dialog.state, _NOWHERE):
        raise RuntimeError(f"dialog cannot go {dialog.state.value} -> {new.value}")
    dialog.state = new


class Dialogs:
    """The dialogs alive, by dialog ID, and every move of one (§12.1.1, §12.2.2, §13.3.1.4).

    ``resend`` re-sends a 2xx; ``on_no_ack`` hears of a dialog ended because no ACK came
    within 64*T1 (the UAS then sends its BYE). Both are bound once and shared by every dialog.
    """

    __slots__ = ("_by_key", "_limit", "_on_end", "_on_no_ack", "_queue", "_resend")

    def __init__(
        self, queue: TimerQueue, resend: Resend2xx, on_no_ack: Callable[[Dialog, float], None],
        on_end: Callable[[Dialog, float], None] | None = None, limit: int = MAX_DIALOGS,
    ) -> None:
        self._by_key: dict[DialogKey, Dialog] = {}
        self._limit = limit
        self._queue = queue
        self._resend = resend
        self._on_no_ack = on_no_ack
        self._on_end = on_end

    def __len__(self) -> int:
        return len(self._by_key)

    def alive(self) -> list[Dialog]:
        """The dialogs not terminated, oldest first."""
        return list(self._by_key.values())

    def find(self, call_id: str, to_tag: str | None, from_tag: str | None) -> Dialog | None:
        """The dialog of a request with these Call-ID, To and From tags (§12.2.2), if any."""
        if to_tag is None:
            return None
        return self._by_key.get((call_id, to_tag, from_tag or ""))

    def create(
        self, invite: Request, local_tag: str, peer: Peer, session_id: int = 0,
        session_version: int = 0,
    ) -> Dialog:
        """§12.1.1: the early dialog of a dialog-creating 1xx (or 2xx) to ``invite``.

        ``session_id`` and ``session_version`` carry over the SDP origin the response creating
        it may have used already.
        """
        headers = invite.headers
        contacts = headers.values("Contact")
        target = contacts[0] if contacts else headers.get("From", "")
        dialog = Dialog(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=invite.from_.tag or "",
            peer=peer,
            local_uri=headers.get("To", "") or "",
            remote_uri=headers.get("From", "") or "",
            remote_target=target or "",
            route_set=headers.values("Record-Route"),
            remote_cseq=invite.cseq[0],
            session_id=session_id,
            session_version=session_version,
        )
        if len(self._by_key) >= self._limit:
            self._forget_oldest_idle()
        self._by_key[dialog.key] = dialog
        return dialog

    def _forget_oldest_idle(self) -> None:
        """End the oldest confirmed, acknowledged dialog: the bound of :data:`MAX_DIALOGS`.

        Others are left alone: an unacknowledged one ends within 64*T1 (§13.3.1.4), an early
        one with its INVITE's final response or CANCEL.
        """
        for dialog in self._by_key.values():
            if dialog.acked and dialog.state is DialogState.CONFIRMED:
                self.end(dialog)
                return

    def answered(
        self, dialog: Dialog, invite: InviteUnderway, response: Response, timers: Timers,
        now: float,
    ) -> None:
        """A dialog-creating response to ``invite`` went out (§12.1.1, §13.3.1.4).

        The dialog keeps the INVITE (a PRACK or a BYE looks there); a 2xx confirms it, and is
        re-sent until its ACK.
        """
        dialog.invite = invite
        if response.status < 200:
            return
        _move(dialog, DialogState.CONFIRMED)
        dialog.acked = False
        retransmission = _Retransmission2xx(self, dialog, response, invite, timers, now)
        # §13.3.1.4 names no timers; the journal calls them "2xx" and "2xx-timeout".
        dialog._retransmit = self._queue.schedule(
            now + timers.t1, retransmission.retransmit, "2xx", response
        )

    def acknowledge(self, dialog: Dialog) -> None:
        """The ACK for the 2xx (§13.3.1.4): stop re-sending it; the dialog is confirmed."""
        if dialog.acked:
            return
        dialog.acked = True
        dialog.stop_retransmission()
        if dialog.state is DialogState.EARLY:
            _move(dialog, DialogState.CONFIRMED)

    def end(self, dialog: Dialog, now: float = 0.0) -> None:
        """BYE, a failure to the INVITE of an early dialog, or no ACK: the dialog is over.

        An INVITE still ringing ends with it: its steps still to come are forgotten; ``on_end``
        hears of it (its media streams close).
        """
        if dialog.state is DialogState.TERMINATED:
            return
        _move(dialog, DialogState.TERMINATED)
        dialog.stop_retransmission()
        self._by_key.pop(dialog.key, None)
        invite = dialog.invite
        if invite is not None:
            invite.stop_if_unanswered()
        dialog.invite = None
        if self._on_end is not None:
            self._on_end(dialog, now)

    def _no_ack(self, dialog: Dialog, now: float) -> None:
        # Told first, while the dialog still knows its INVITE (and how its 2xx went out).
        self._on_no_ack(dialog, now)
        self.end(dialog, now)


class _Retransmission2xx:
    """The state of one 2xx being re-sent until its ACK (§13.3.1.4).

    An object with methods rather than closures: a closure that schedules itself refers to
    itself, and every dialog would end as a cycle that only the garbage collector frees. The
    timers let go of these methods when they fire or are cancelled.
    """

    __slots__ = ("_dialogs", "_give_up_at", "_interval", "_timers", "dialog", "invite", "response")

    def __init__(
        self, dialogs: Dialogs, dialog: Dialog, response: Response, invite: InviteUnderway,
        timers: Timers, now: float,
    ) -> None:
        self._dialogs = dialogs
        self.dialog = dialog
        self.response = response
        self.invite = invite
        self._timers = timers
        self._interval = timers.t1
        self._give_up_at: float | None = now + 64 * timers.t1

    def retransmit(self, at: float) -> None:
        dialog = self.dialog
        if dialog.acked or dialog.state is DialogState.TERMINATED:
            return
        queue = self._dialogs._queue
        if self._give_up_at is not None:
            # The give-up timer is armed on the first retransmission, not with the 2xx:
            # most ACKs come within T1, and a timer per call that is always cancelled would
            # only weigh on the heap and the garbage collector.
            dialog._give_up = queue.schedule(
                self._give_up_at, self.give_up, "2xx-timeout", self.response
            )
            self._give_up_at = None
        self._dialogs._resend(self.response, dialog.peer, self.invite, at)
        self._interval = min(2 * self._interval, self._timers.t2)
        dialog._retransmit = queue.schedule(
            at + self._interval, self.retransmit, "2xx", self.response
        )

    def give_up(self, at: float) -> None:
        dialog = self.dialog
        if not dialog.acked and dialog.state is not DialogState.TERMINATED:
            self._dialogs._no_ack(dialog, at)
