"""A scenario's actions: requests sipfault sends itself in a dialog it answered (RFC 3261 §14).

A rule's ``then`` list is scheduled when the rule's 2xx goes out: each action runs ``after``
seconds from that answer, or from the first media packet after it. A re-INVITE offering T.38 is
what a receiving fax gateway sends once it hears CNG or the V.21 preamble; a BYE is the far
end hanging up mid-fax; UPDATE and INFO complete the set.

Each request runs in its client transaction (``client.py``): an INVITE with Timers A and B,
acknowledged on its 2xx (§13.2.2.4) and again on each retransmitted 2xx; a 491 is retried after
the random interval of §14.1 (0 to 2 s in 10 ms steps: the UAS does not own the Call-ID), drawn
from the seeded generator; a 481, a 408 or no answer at all ends the dialog (§12.2.1.2), the
last two with a BYE. No INVITE of ours starts while another INVITE is in progress in the
dialog, either way, nor any request before the ACK of our 2xx (§14.1, §15.1.1): the action waits.
The journal gets one :class:`~sipfault.core.events.RequestOutcome` per final response.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sipfault.core.client import ClientTransaction, InviteClientTransaction
from sipfault.core.dialogs import Dialog, DialogKey, DialogState
from sipfault.core.events import Event, Finding, RequestOutcome
from sipfault.core.requests import ClientRequests, SendRequest, in_dialog_request
from sipfault.core.sessions import MediaSession, describe
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import Action, SdpSettings, Timers
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request, Response
from sipfault.sip.sdp import SdpError, parse_sdp

__all__ = ["GLARE_RETRIES", "DialogActions"]

GLARE_RETRIES = 5
"""How many times a re-INVITE answered 491 is tried again before giving up."""

_METHODS = {"reinvite": "INVITE", "bye": "BYE", "update": "UPDATE", "info": "INFO"}


@dataclass(slots=True)
class _DialogState:
    """What the actions of one dialog have under way."""

    timers: list[Timer] = field(default_factory=list)
    invite: InviteClientTransaction | None = None
    """Our INVITE in progress (or accepted, for its ACK)."""
    ack: Request | None = None
    """The ACK of our last 2xx-answered INVITE, re-sent with each retransmitted 2xx."""
    serving: Request | None = None
    """The far end's INVITE being answered (no final response yet)."""


class DialogActions:
    """Runs the actions of every dialog; the UAS feeds it the moments it needs."""

    def __init__(
        self,
        queue: TimerQueue,
        requests: ClientRequests,
        send: SendRequest,
        report: Callable[[Event], None],
        rng: random.Random,
        timers: Callable[[], Timers],
        new_branch: Callable[[], str],
        end_dialog: Callable[[Dialog, float], None],
        user_agent: str | None,
    ) -> None:
        self._queue = queue
        self._requests = requests
        self._send = send
        self._report = report
        self._rng = rng
        self._timers = timers
        self._new_branch = new_branch
        self._end_dialog = end_dialog
        self._user_agent = user_agent
        self._state: dict[DialogKey, _DialogState] = {}

    def _of(self, dialog: Dialog) -> _DialogState:
        state = self._state.get(dialog.key)
        if state is None:
            state = self._state[dialog.key] = _DialogState()
        return state

    # -- what the UAS tells -----------------------------------------------------------------

    def schedule(self, dialog: Dialog, actions: tuple[Action, ...], settings: SdpSettings,
                 now: float) -> None:
        """The rule's 2xx went out: start the clock of each action."""
        for action in actions:
            if action.start == "media":
                session = dialog.media
                if session is None:
                    continue  # no streams: nothing can arrive
                session.wait_for_media(self._media_start(dialog, action, settings))
            else:
                self._at(dialog, now + action.after, action, settings, 1)

    def _media_start(self, dialog: Dialog, action: Action,
                     settings: SdpSettings) -> Callable[[float], None]:
        return lambda at: self._at(dialog, at + action.after, action, settings, 1)

    def _at(self, dialog: Dialog, when: float, action: Action, settings: SdpSettings,
            attempt: int) -> None:
        if dialog.state is DialogState.TERMINATED:
            return
        state = self._of(dialog)
        state.timers = [timer for timer in state.timers if not timer.cancelled]
        state.timers.append(self._queue.schedule(
            when, lambda at: self._run(dialog, action, settings, attempt, at)))

    def invite_pending(self, dialog: Dialog) -> bool:
        """Whether an INVITE of ours is in progress in ``dialog`` (glare: 491, §14.2)."""
        state = self._state.get(dialog.key)
        return state is not None and state.invite is not None and state.invite.pending

    def serving(self, dialog: Dialog) -> bool:
        """Whether an INVITE of the far end in ``dialog`` has no final response yet."""
        state = self._state.get(dialog.key)
        return state is not None and state.serving is not None

    def serve(self, dialog: Dialog, invite: Request) -> None:
        """An INVITE of the far end starts being answered."""
        self._of(dialog).serving = invite

    def served(self, dialog: Dialog, invite: Request) -> None:
        """That INVITE got its final response (or was given up)."""
        state = self._state.get(dialog.key)
        if state is not None and state.serving is invite:
            state.serving = None

    def dialog_ended(self, dialog: Dialog) -> None:
        """Forget what was still to come."""
        state = self._state.pop(dialog.key, None)
        if state is not None:
            for timer in state.timers:
                timer.cancel()

    # -- running an action --------------------------------------------------------------------

    def _blocked(self, dialog: Dialog, method: str) -> bool:
        """§15.1.1: nothing before the ACK of our 2xx; §14.1: one INVITE at a time."""
        if not dialog.acked:
            return True
        if method == "INVITE":
            return self.invite_pending(dialog) or self.serving(dialog)
        return False

    def _run(self, dialog: Dialog, action: Action, settings: SdpSettings, attempt: int,
             now: float) -> None:
        if dialog.state is DialogState.TERMINATED:
            return
        method = _METHODS[action.send]
        if self._blocked(dialog, method):
            self._at(dialog, now + self._timers().t1, action, settings, attempt)
            return
        purpose = self._purpose(action)
        body = b""
        session = dialog.media
        if method in ("INVITE", "UPDATE") and (action.sdp is not None or method == "INVITE"):
            body = self._offer(dialog, session, action.sdp or "same", settings, now)
        extra = tuple(action.headers)
        if method in ("INVITE", "UPDATE") and dialog.local_contact:
            extra = (("Contact", dialog.local_contact), *extra)
        branch = self._new_branch()
        request = in_dialog_request(dialog, method, branch, user_agent=self._user_agent,
                                    body=body, content_type="application/sdp" if body else None,
                                    extra=extra)
        timers = self._timers()
        if method == "INVITE":
            client = self._requests.start_invite(
                request, branch, dialog.peer, timers, now,
                lambda tx, response, again, at: self._invite_final(
                    dialog, action, settings, attempt, tx, response, again, at))
            self._of(dialog).invite = client
            return
        if method == "BYE":
            self._end_dialog(dialog, now)  # §15.1.1: the dialog ends as the BYE leaves
        self._requests.start(
            request, branch, dialog.peer, timers, now,
            lambda tx, response, at: self._final(dialog, purpose, tx, response, at))

    def _purpose(self, action: Action) -> str:
        if action.send in ("reinvite", "update"):
            return action.sdp or "same"
        return action.send

    def _offer(self, dialog: Dialog, session: MediaSession | None, kind: str,
               settings: SdpSettings, now: float) -> bytes:
        if session is None:
            return b""
        media = session.offer(kind, settings, now)
        if dialog.session_id == 0:
            dialog.session_id = self._rng.getrandbits(31) + 1
        dialog.session_version += 1
        return describe(session.sdp_host, dialog.session_id, dialog.session_version, media)

    def _invite_final(
        self, dialog: Dialog, action: Action, settings: SdpSettings, attempt: int,
        client: InviteClientTransaction, response: Response | None, again: bool, now: float,
    ) -> None:
        state = self._of(dialog)
        if again:  # a retransmitted 2xx: our ACK again (§13.2.2.4)
            if state.ack is not None:
                self._send(state.ack, dialog.peer, True, now)
            return
        purpose = self._purpose(action)
        session = dialog.media
        status = response.status if response is not None else 0
        if response is not None and 200 <= status < 300:
            _refresh_target(dialog, response)  # the ACK goes to the refreshed target
            ack = in_dialog_request(dialog, "ACK", self._new_branch(), cseq=client.request.cseq[0],
                                    user_agent=self._user_agent)
            state.ack = ack
            self._send(ack, dialog.peer, False, now)
            refused = self._apply_answer(session, response, now)
            text = response.reason
            if refused:
                text += f" (refused {', '.join(refused)} with port 0)"
                self._report(Finding(now, "request-refused",
                                     f"our re-INVITE offering {purpose} was answered {status} "
                                     f"with {', '.join(f'm={m} 0' for m in refused)}",
                                     dialog.call_id, dialog.peer,
                                     {"method": "INVITE", "status": str(status),
                                      "purpose": purpose}))
            self._report(RequestOutcome(now, dialog.call_id, "INVITE", purpose, status, text,
                                        attempt))
            return
        if session is not None:
            session.offer_refused()
        reason = response.reason if response is not None else "no response (Timer B)"
        self._report(RequestOutcome(now, dialog.call_id, "INVITE", purpose, status, reason,
                                    attempt))
        if status == 491 and attempt <= GLARE_RETRIES:
            # §14.1: the UAS side does not own the Call-ID: 0 to 2 s, in units of 10 ms.
            delay = self._rng.randrange(0, 201) / 100
            self._at(dialog, now + delay, action, settings, attempt + 1)
            return
        self._refused(dialog, "INVITE", purpose, status, reason, now)

    def _final(self, dialog: Dialog, purpose: str, client: ClientTransaction,
               response: Response | None, now: float) -> None:
        method = client.request.method
        status = response.status if response is not None else 0
        reason = response.reason if response is not None else "no response (Timer F)"
        if response is not None and 200 <= status < 300 and method == "UPDATE":
            self._apply_answer(dialog.media, response, now)
        elif method == "UPDATE" and dialog.media is not None:
            dialog.media.offer_refused()
        self._report(RequestOutcome(now, dialog.call_id, method, purpose, status, reason))
        if status >= 300 or response is None:
            if response is None and method == "BYE":
                return  # the no-response finding says it already
            self._refused(dialog, method, purpose, status, reason, now)

    def _apply_answer(self, session: MediaSession | None, response: Response,
                      now: float) -> list[str]:
        if session is None or not response.body or response.content_type != "application/sdp":
            return []
        try:
            answer = parse_sdp(response.body)
        except SdpError as exc:
            self._report(Finding(now, "bad-sdp", f"the answer to our offer: {exc.reason}",
                                 session.call_id))
            session.offer_refused()
            return []
        return session.answered(answer, now)

    def _refused(self, dialog: Dialog, method: str, purpose: str, status: int, reason: str,
                 now: float) -> None:
        """A failure to our request; §12.2.1.2 for 481, 408 and no response."""
        if status:
            self._report(Finding(now, "request-refused",
                                 f"our {method} ({purpose}) was answered {status} {reason}",
                                 dialog.call_id, dialog.peer,
                                 {"method": method, "status": str(status), "purpose": purpose}))
        if method == "BYE" or dialog.state is DialogState.TERMINATED:
            return
        if status == 481:
            self._end_dialog(dialog, now)
        elif status in (0, 408):
            self._end_dialog(dialog, now)
            self._bye(dialog, now)

    def _bye(self, dialog: Dialog, now: float) -> None:
        branch = self._new_branch()
        bye = in_dialog_request(dialog, "BYE", branch, user_agent=self._user_agent)
        self._requests.start(bye, branch, dialog.peer, self._timers(), now,
                             lambda tx, response, at: self._final(dialog, "bye", tx, response,
                                                                  at))


def _refresh_target(dialog: Dialog, response: Response) -> None:
    """§12.2.1.2: a 2xx to a re-INVITE carries the far end's Contact: the new remote target."""
    try:
        contacts = response.headers.values("Contact")
    except SipParseError:
        return
    if contacts:
        dialog.remote_target = contacts[0]
