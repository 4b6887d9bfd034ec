"""What the UAS asks about the client's conduct at each step, and the findings it makes.

:class:`ClientConduct` holds the watches of this package (each with its bounded state) and is
told by the UAS core what happens: a new request, a retransmission, a final response sent, an
ACK, a CANCEL, a binding that expired, a forked 2xx, a transaction or dialog that ended. It
reports each finding as a :class:`~sipfault.core.events.Finding` citing its section, and does
what the client evidently meant where a message matches only leniently (an ACK with the wrong
branch still ends the 486's transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sipfault.core.conformance import Report, finding
from sipfault.core.conformance.acks import AckIndex
from sipfault.core.conformance.branches import (
    RequestIdentity,
    request_identity,
    reuse_difference,
)
from sipfault.core.conformance.registration import RegistrationWatch
from sipfault.core.conformance.retransmission import (
    RetransmissionTrack,
    after_final,
    check_time,
    judge,
    unanswered,
)
from sipfault.core.conformance.retry_after import RetryAfterWatch
from sipfault.core.dialogs import Dialog, DialogKey, Dialogs
from sipfault.core.events import Peer
from sipfault.core.exchange import Exchange
from sipfault.core.forking import ForkWatch
from sipfault.core.registrar import Binding
from sipfault.core.timers import TimerQueue
from sipfault.core.transactions import Absorbing, ServerTransaction, State, TransactionKey
from sipfault.model.scenario import Timers
from sipfault.sip.message import Request, Response

__all__ = ["ClientConduct"]


class ClientConduct:
    """The client's conduct as the UAS sees it: findings, and lenient matching."""

    __slots__ = ("_dialogs", "_exchanges", "_report", "_settings", "_timers", "_transactions",
                 "acks", "forks", "registrations", "retry_after")

    def __init__(
        self, report: Report, timers: TimerQueue, settings: Callable[[], Timers],
        dialogs: Dialogs, transactions: Mapping[TransactionKey, ServerTransaction],
        exchanges: Mapping[TransactionKey, Exchange],
    ) -> None:
        self._report = report
        self._timers = timers
        self._settings = settings
        self._dialogs = dialogs
        self._transactions = transactions
        self._exchanges = exchanges
        self.acks = AckIndex()
        self.retry_after = RetryAfterWatch()
        self.registrations = RegistrationWatch()
        self.forks = ForkWatch()

    def _find(self, now: float, kind: str, text: str, call_id: str | None, peer: Peer | None,
              details: dict[str, str] | None = None) -> None:
        self._report(finding(now, kind, text, call_id, peer, details))

    # ------------------------------------------------------------------------ requests

    def new_request(self, exchange: Exchange, now: float) -> None:
        """A new transaction: a request sooner than a Retry-After, a REGISTER refresh or storm."""
        request = exchange.request
        method = request.method
        if method != "REGISTER" and not len(self.retry_after):
            return
        call_id = request.headers.get("Call-ID")
        peer = exchange.transaction.peer
        if len(self.retry_after) and not exchange.in_dialog:
            text = self.retry_after.new_request(request, exchange.ruri.user_unescaped, now)
            if text is not None:
                self._find(now, "retry-after-ignored", text, call_id, peer)
        if method == "REGISTER":
            for kind, text in self.registrations.register(request, now):
                self._find(now, kind, text, call_id, peer)

    def retransmitted(
        self, tx: ServerTransaction, request: Request, peer: Peer, now: float
    ) -> None:
        """A request matched a transaction: a reused branch, or a retransmission to judge."""
        call_id = request.headers.get("Call-ID")
        if self._branch_reused(request_identity(tx.request), tx.request.method, request, peer,
                               now):
            return
        exchange = self._exchanges.get(tx.key)
        if exchange is None or peer.reliable:
            return
        if exchange.track is None:
            exchange.track = RetransmissionTrack(exchange.arrived)
        faults = exchange.faults
        if faults is None:
            delivered = tx.last_response is not None
            final_at = exchange.final_at
        else:
            delivered = faults.delivered_at is not None
            final_at = faults.final_delivered_at
        for kind, text in judge(exchange.track, now, request.method, self._settings(),
                                delivered, final_at):
            self._find(now, kind, text, call_id, peer)

    def absorbed(self, record: Absorbing, request: Request, peer: Peer, now: float) -> bool:
        """A request matched the compact record of a transaction (what :meth:`retransmitted`
        judges of a full one once its final response went intact); True when
        ``retransmission-after-final`` was reported now, so the record can remember it."""
        if self._branch_reused(record.identity, record.method, request, peer, now):
            return False
        if peer.reliable or record.reported:
            return False
        found = after_final(request.method, now, record.final_at, self._settings())
        if found is not None:
            self._find(now, *found, request.headers.get("Call-ID"), peer)
        return found is not None

    def _branch_reused(self, original: RequestIdentity, method: str, request: Request,
                       peer: Peer, now: float) -> bool:
        """RFC 3261 §8.1.1.7: ``branch-reused`` when the match is not the same request."""
        reused = reuse_difference(original, request)
        if reused is not None:
            self._find(now, "branch-reused",
                       f"{request.method} with the branch of an earlier {method} but "
                       f"{reused}: taken as its retransmission",
                       request.headers.get("Call-ID"), peer)
        return reused is not None

    def watch(self, exchange: Exchange, now: float) -> None:
        """After dispatch: a request over UDP whose answers go under faults is asked, 2*T1 on,
        whether it was retransmitted while nothing reached the client."""
        if exchange.faults is not None and not exchange.transaction.peer.reliable:
            self._timers.schedule(check_time(now, self._settings()),
                                  lambda at: self._check_unanswered(exchange, at))

    def _check_unanswered(self, exchange: Exchange, now: float) -> None:
        faults = exchange.faults
        found = unanswered(exchange.request.method, exchange.arrived, exchange.track is not None,
                           faults.delivered_at if faults is not None else None,
                           self._settings())
        if found is not None:
            self._find(now, *found, exchange.request.headers.get("Call-ID"),
                       exchange.transaction.peer)

    # ----------------------------------------------------------------------- answers

    def answered(self, exchange: Exchange, response: Response, now: float) -> None:
        """A final response went to the exchange's request."""
        if exchange.final_at is None:
            exchange.final_at = now
        request = exchange.request
        if response.status >= 300:
            if request.method == "INVITE":
                self.acks.rejected(request, exchange.transaction.key)
            self.retry_after.answered(request, response, exchange.ruri.user_unescaped, now)
        elif request.method == "INVITE" and exchange.dialog is not None:
            self.acks.awaiting(exchange.dialog)

    def transaction_ended(self, tx: ServerTransaction) -> None:
        """A server transaction is gone: its ACK can no longer come."""
        if tx.is_invite:
            self.acks.ended(tx.request, tx.key)

    # ------------------------------------------------------------------- ACK, CANCEL

    def acknowledge(self, dialog: Dialog, ack: Request, peer: Peer, now: float) -> None:
        """The ACK of a 2xx (§13.2.2.4): its CSeq number must be the INVITE's."""
        invite = dialog.invite
        if not dialog.acked and invite is not None:
            number = invite.request.cseq[0]
            if ack.cseq[0] != number:
                self._find(now, "ack-wrong-cseq",
                           f"ACK with CSeq {ack.cseq[0]} for the 2xx to the INVITE with CSeq "
                           f"{number}", ack.call_id, peer)
        self._dialogs.acknowledge(dialog)
        self.acks.settled(dialog)

    def lenient_ack(self, ack: Request, peer: Peer, now: float) -> bool:
        """An ACK the client evidently meant for a transaction or dialog it got wrong: it ends
        what it was meant for (no retransmission until Timer H for nothing), and is reported."""
        key = self.acks.find_rejected(ack)
        tx = self._transactions.get(key) if key is not None else None
        if tx is not None and tx.state is State.COMPLETED:
            tx.on_ack(now)
            status = tx.last_response.status if tx.last_response else 0
            self._find(now, "ack-branch-mismatch",
                       f"ACK for the {status} with branch {ack.top_via.branch} instead of the "
                       f"INVITE's {tx.request.top_via.branch}", ack.call_id, peer)
            return True
        dialog_key = self.acks.find_dialog(ack)
        dialog = self._dialogs.find(*dialog_key) if dialog_key is not None else None
        if dialog is not None and not dialog.acked:
            self._find(now, "ack-wrong-to-tag",
                       f"ACK with To tag {ack.to.tag} for the 2xx with To tag "
                       f"{dialog.local_tag}", ack.call_id, peer)
            self.acknowledge(dialog, ack, peer, now)
            return True
        return False

    def cancel(self, cancel: Exchange, invite: Exchange, now: float) -> None:
        """A CANCEL for an INVITE not yet answered: was a provisional response seen (§9.1)?"""
        if invite.faults is not None:
            reached = invite.faults.provisional_delivered
        else:
            reached = invite.transaction.last_response is not None
        if not reached:
            self._find(now, "early-cancel",
                       "CANCEL before any provisional response reached the client",
                       cancel.request.headers.get("Call-ID"), cancel.transaction.peer)

    def no_ack(self, tx: ServerTransaction, now: float) -> None:
        """Timer H fired: no ACK for the 3xx-6xx, unless it never reached the client intact."""
        exchange = self._exchanges.get(tx.key)
        faults = exchange.faults if exchange is not None else None
        if faults is not None and not faults.intact(tx.last_response):
            return
        status = tx.last_response.status if tx.last_response else 0
        self._find(now, "no-ack", f"no ACK for the {status} within 64*T1 (Timer H)",
                   tx.request.headers.get("Call-ID"), tx.peer)

    def no_ack_2xx(self, dialog: Dialog, now: float) -> None:
        """No ACK for a 2xx within 64*T1 (§13.3.1.4): ``fork-no-ack`` for an extra fork's,
        ``no-ack`` otherwise, nothing when no copy of the 2xx reached the client intact."""
        invite = dialog.invite
        reached = invite is None or invite.faults is None or any(
            faulted.intact for faulted in invite.faults.responses
            if faulted.response.status >= 200)
        if self.forks.is_fork(dialog.key):
            self.forks.forget(dialog.key)
            self._find(now, "fork-no-ack",
                       f"no ACK for the forked 2xx with To tag {dialog.local_tag} within "
                       "64*T1; sent BYE", dialog.call_id, dialog.peer)
        elif reached:
            self._find(now, "no-ack",
                       "no ACK for the 2xx within 64*T1; sent BYE (RFC 3261 §13.3.1.4)",
                       dialog.call_id, dialog.peer)
        self.acks.settled(dialog)

    # ------------------------------------------------------------------------- forks

    def forked(self, dialog: Dialog) -> None:
        """An extra fork's 2xx made ``dialog``: its ACK may come."""
        self.acks.awaiting(dialog)
        self.forks.forked(dialog.key)

    def watch_forks(self, keys: list[DialogKey], invite: Request, peer: Peer,
                    now: float) -> None:
        """Forked 2xx went out: 64*T1 on, more than one of their dialogs up is a finding."""
        self._timers.schedule(now + 64 * self._settings().t1,
                              lambda at: self._check_forks(keys, invite, peer, at))

    def _check_forks(self, keys: list[DialogKey], invite: Request, peer: Peer,
                     now: float) -> None:
        alive = [key for key in keys if self._dialogs.find(*key) is not None]
        for key in keys:
            if key not in alive:
                self.forks.forget(key)
        if len(alive) > 1:
            self._find(now, "fork-not-ended",
                       f"{len(alive)} dialogs of one INVITE still up "
                       f"{64 * self._settings().t1:g} s after its forked 2xx (the extra ones "
                       "should have got a BYE)", invite.headers.get("Call-ID"), peer,
                       {"to_tags": " ".join(key[1] for key in alive)})

    # ------------------------------------------------------------------- registration

    def binding_expired(self, binding: Binding, forced: bool, now: float) -> None:
        """A binding expired: 64*T1 on, ``no-refresh`` unless a REGISTER came for it."""
        if self.registrations.expired(binding, forced, now):
            self._timers.schedule(now + 64 * self._settings().t1,
                                  lambda at: self._check_refresh(binding, at))

    def _check_refresh(self, binding: Binding, now: float) -> None:
        if self.registrations.still_unrefreshed(binding):
            self._find(now, "no-refresh",
                       f"{binding.uri} not refreshed: its binding to {binding.aor} expired "
                       f"{64 * self._settings().t1:g} s ago", binding.call_id, None,
                       {"aor": binding.aor, "contact": binding.uri})
