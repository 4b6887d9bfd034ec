"""One request being answered: its transaction, To-tag, dialog and scheduled steps.

The transaction (``transactions.py``) knows RFC 3261 §17.2; the exchange holds what the UAS
core adds on top: the tag it answers with (§8.2.6.2), the steps still to come, and the values a
scenario's placeholders stand for.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sipfault.core.conformance.retransmission import RetransmissionTrack
from sipfault.core.dialogs import Dialog
from sipfault.core.engine import RequestFacts
from sipfault.core.events import Peer
from sipfault.core.faults import ExchangeFaults
from sipfault.core.offer_answer import Refusal, answer_offer
from sipfault.core.reliable import ReliableProvisionals
from sipfault.core.responses import response_vias
from sipfault.core.session_timer import SessionTimer
from sipfault.core.sessions import MediaSession, MediaSessions, describe
from sipfault.core.timers import Timer, TimerQueue
from sipfault.core.transactions import ServerTransaction
from sipfault.model.scenario import Rule, SdpSettings, fill_placeholders
from sipfault.sip.headers import Field
from sipfault.sip.memo import Memo
from sipfault.sip.message import Request
from sipfault.sip.uri import Uri, format_sip_uri
from sipfault.sip.via import Via

_WILDCARDS = ("0.0.0.0", "::", "")
_DEFAULT_SDP = SdpSettings()
# The same few users call the same address and port call after call; the user and the host
# come from the peer's Request-URI and bound the key. bench/callrate.py: saves ~1.2 µs per
# dialog-creating response (timeit).
_CONTACTS: Memo[tuple[str, int, str, str, str], str] = Memo(
    "Contact values", entries=1024, longest=128, size=lambda key: len(key[0]) + len(key[3])
)


def _contact(host: str, port: int, transport: str, user: str, scheme: str) -> str:
    """``<sip:user@host:port>``, with only the characters a user part may hold (§25.1).

    A SIPS URI implies TLS and carries no transport parameter (RFC 5630 §3.1.3); a SIP URI
    names every transport but UDP, the default (RFC 3261 §19.1.1).
    """
    params: tuple[tuple[str, str | None], ...] = (
        () if transport == "udp" or scheme == "sips" else (("transport", transport),)
    )
    safe_user = "".join(c for c in user if c.isalnum() or c in "-_.!~*'()&=+$,;?/") or None
    return f"<{format_sip_uri(host, port, safe_user, params, scheme)}>"


class Exchange:
    """The UAS core's state for one server transaction."""

    # Slots: a server keeps an exchange per transaction for 64*T1 (Timers J and L).
    __slots__ = (
        "_pending", "_top_via", "_vias", "arrived", "dialog", "faults", "final_at", "in_dialog",
        "media", "reliable", "reply_to", "request", "rule", "ruri", "sent", "session_id",
        "session_timer", "session_version", "to_tag", "track", "transaction",
    )

    def __init__(
        self, transaction: ServerTransaction, ruri: Uri, in_dialog: bool, to_tag: str,
        dialog: Dialog | None, top_via: Via | None = None, reply_to: Peer | None = None,
    ) -> None:
        self.transaction = transaction
        self.reply_to: Peer = reply_to or transaction.peer
        """Where responses go (``responses.response_peer``: over UDP without ``rport``, the
        Via's port), and the requests of ours in the dialog this request makes."""
        self.request: Request = transaction.request
        """The request being answered (the transaction's, read often enough to keep here)."""
        # The facts rules match on are kept as their parts, and made when asked for: one
        # object less per exchange for the garbage collector to walk during 64*T1.
        self.ruri: Uri = ruri
        """The Request-URI."""
        self.in_dialog: bool = in_dialog
        """Whether the request carried a To-tag."""
        self.to_tag = to_tag
        self.dialog = dialog
        self._pending: list[Timer] | None = None  # made on the first deferred step
        self._vias: tuple[Field, ...] | None = None  # a tuple: kept for 64*T1, untracked
        self._top_via = top_via  # as validation read it, until the response Vias are made
        self.reliable: ReliableProvisionals | None = None
        """RFC 3262 state, once a reliable provisional has been sent."""
        self.session_timer: SessionTimer | None = None
        """RFC 4028 session timer the INVITE asked for, once accepted."""
        self.faults: ExchangeFaults | None = None
        """The faults of its rule and of the responses sent under one, if any."""
        self.arrived = 0.0
        """When the request arrived."""
        self.final_at: float | None = None
        """When the final response was first sent."""
        self.track: RetransmissionTrack | None = None
        """The client's retransmissions of the request, once one came (over UDP)."""
        self.session_id = 0
        """The SDP origin's sess-id while no dialog holds it (:meth:`session_body`)."""
        self.session_version = 0
        """The sess-version of the last SDP sent while no dialog holds it."""
        self.media: MediaSession | None = None
        """The media streams an answer opened while no dialog holds them."""
        self.rule: Rule | None = None
        """The rule answering, whose ``then`` actions start with its 2xx."""
        self.sent = b""
        """The last response as it went on the wire."""

    @property
    def facts(self) -> RequestFacts:
        """What rules match on."""
        return RequestFacts(self.request, self.ruri, self.transaction.peer, self.in_dialog)

    @property
    def vias(self) -> tuple[Field, ...]:
        """The Via lines every response copies, the top one fixed for RFC 3581 (read once)."""
        if self._vias is None:
            vias = response_vias(self.request, self.transaction.peer, self._top_via)
            self._vias = tuple(vias)
            self._top_via = None
        return self._vias

    def defer(self, queue: TimerQueue, at: float, action: Callable[[float], None]) -> None:
        """Run ``action`` at ``at`` unless the exchange is over by then."""
        if self._pending is None:
            self._pending = []
        self._pending.append(queue.schedule(at, action))

    def stop_if_unanswered(self) -> None:
        """Forget the steps still to come unless a final response went (its dialog ended)."""
        if not self.transaction.final_sent:
            self.cancel_pending()

    def cancel_pending(self) -> None:
        """Forget steps not yet taken (a final response went, or a CANCEL came)."""
        if self._pending:
            for timer in self._pending:
                timer.cancel()
            self._pending.clear()
        if self.reliable is not None:
            self.reliable.stop()

    def local_address(self) -> tuple[str, int]:
        """Our address as the client reached it.

        A socket bound to a wildcard does not know which address a datagram arrived on, so
        the Request-URI host stands in when it is an IP literal the client used.
        """
        host, port = self.transaction.peer.local
        if host in _WILDCARDS:
            ruri_host = self.ruri.host.strip("[]")
            host = ruri_host or "127.0.0.1"
        return host, port

    def contact(self, user: str | None = None) -> str:
        """Our Contact for dialog-creating and redirect responses (§12.1.1, §8.2.6.2).

        The user part is the Request-URI's unless ``user`` names another. The scheme is SIPS
        when the Request-URI's is (§12.1.1), SIP otherwise, whatever the transport.
        """
        host, port = self.local_address()
        transport = self.transaction.peer.transport
        user = user or self.ruri.user_unescaped or "sipfault"
        scheme = "sips" if self.ruri.scheme == "sips" else "sip"
        key = (host, port, transport, user, scheme)
        contact = _CONTACTS.get(key)
        if contact is None:
            contact = _contact(host, port, transport, user, scheme)
            _CONTACTS.remember(key, contact)
        return contact

    def placeholders(self) -> dict[str, str]:
        """Values for ``{to_user}`` and the other placeholders of scenario text."""
        host, port = self.local_address()
        return {
            "to_user": self.facts.address_user("To"),
            "from_user": self.facts.address_user("From"),
            "call_id": self.request.headers.get("Call-ID", "") or "",
            "ruri_user": self.facts.ruri_user,
            "local_host": host,
            "local_port": str(port),
        }

    def fill(self, text: str) -> str:
        """Scenario text with its placeholders filled (never evaluated, DESIGN.md)."""
        return fill_placeholders(text, self.placeholders()) if "{" in text else text

    def media_session(self, sessions: MediaSessions) -> MediaSession:
        """The call's media streams: the dialog's, or new ones (the dialog takes them over)."""
        if self.dialog is not None and self.dialog.media is not None:
            return self.dialog.media
        if self.media is None:
            self.media = sessions.new(self.request.call_id, self.transaction.peer.local[0],
                                      self.local_address()[0])
            if self.dialog is not None:
                self.dialog.media = self.media
        return self.media

    def session_body(
        self, sdp: str | SdpSettings, rng: random.Random, sessions: MediaSessions, now: float
    ) -> bytes | Refusal:
        """SDP for a response: an answer to the request's offer, an offer, or literal text.

        An answer or offer names a port for each stream that ``sessions`` opened (RFC 3264
        §6); a Refusal says the offer has nothing acceptable (the caller sends 488). An UPDATE
        or PRACK without an offer gets no body (RFC 3311 §5.2).

        The ``o=`` line's sess-id is drawn from ``rng`` once per dialog and its sess-version
        goes up by one with every SDP the dialog sends (RFC 8866 §5.2, RFC 3264 §8), so a
        run is repeated exactly from its seed. Before the dialog exists (the response that
        creates it), the exchange holds them, and the dialog takes them over.
        """
        if isinstance(sdp, str) and sdp != "answer":
            text = self.fill(sdp)
            return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        settings = sdp if isinstance(sdp, SdpSettings) else _DEFAULT_SDP
        request = self.request
        session = self.media_session(sessions)
        if request.body and request.content_type == "application/sdp":
            plans = answer_offer(request.body, settings)
            if isinstance(plans, Refusal):
                return plans
            media = session.apply(plans, now)
        elif request.method == "INVITE":
            media = session.offer("same" if session.last_media else "audio", settings, now)
            if self.dialog is not None:
                self.dialog.offer_in_2xx = True
        else:
            return b""
        origin: Dialog | Exchange = self.dialog if self.dialog is not None else self
        if origin.session_id == 0:  # 0 stands for none yet, so never drawn
            origin.session_id = rng.getrandbits(31) + 1
        origin.session_version += 1
        return describe(session.sdp_host, origin.session_id, origin.session_version, media)
