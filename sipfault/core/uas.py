"""The sans-I/O user-agent server: bytes and the time in, bytes to send and events out.

Like aioquic's ``QuicConnection``, every entry point takes ``now``; :meth:`next_deadline` says
when :meth:`handle_timer` wants to run. The transport layer feeds whole messages (datagrams, or
what the stream framer cut) and sends :meth:`take_outgoing` to the peer each came from.

Request handling follows RFC 3261 §8.2 in order: well-formedness (400/416/505), transaction
matching (§17.2.3), CANCEL (§9.2), method (501), extensions (420), content (415), dialog
(481), then the scenario's rules, and the RFC defaults for what no rule takes.

The state machines are tables elsewhere: server transactions in ``transactions.py``, dialogs
in ``dialogs.py``; requests of our own (the BYE of an unacknowledged 2xx) are built and sent
by ``requests.py``, a scenario's ``then`` actions run in ``dialog_actions.py``. The per-request
state lives on the exchange (``exchange.py``); SDP answers follow ``offer_answer.py``, and the
media streams behind them are ``sessions.py``'s. Faults are carried out by
``response_faults.py``, ``emission.py`` and ``endpoint_faults.py``; findings about the client
are made by ``conformance/`` (``ClientConduct``), told at each step.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from sipfault.core.admission import SHED_METHODS, UNREAD_PREFIXES, Admission, Capacity
from sipfault.core.auth import Authenticator
from sipfault.core.capabilities import (
    ACCEPTED_ENCODINGS,
    KNOWN_METHODS,
    SESSION_BODY_TYPES,
    SESSION_METHODS,
    SUPPORTED_OPTIONS,
    accepts,
)
from sipfault.core.client import ClientTransaction
from sipfault.core.conformance import finding
from sipfault.core.conformance.conduct import ClientConduct
from sipfault.core.counts import LiveCounts
from sipfault.core.dial import REDIRECT_USER, dial_a_code_steps
from sipfault.core.dialog_actions import DialogActions
from sipfault.core.dialogs import Dialog, Dialogs, DialogState, InviteUnderway
from sipfault.core.emission import FaultedSender
from sipfault.core.endpoint_faults import DEFAULT_RETRY_AFTER, EndpointFaults
from sipfault.core.engine import ScenarioEngine
from sipfault.core.events import (
    BindingExpired,
    EndpointFaultChanged,
    Event,
    FaultApplied,
    Finding,
    KeepAliveReceived,
    MessageDropped,
    MessageReceived,
    MessageSent,
    Outgoing,
    Peer,
    RequestUnmatched,
    RuleMatched,
    TimerFired,
)
from sipfault.core.exchange import Exchange
from sipfault.core.faults import ExchangeFaults
from sipfault.core.fax_streams import FaxFactory
from sipfault.core.offer_answer import Refusal
from sipfault.core.registrar import Binding, Registrar
from sipfault.core.reliable import (
    OPTION_TAG,
    RAck,
    ReliableProvisionals,
    client_requires,
    client_supports,
    first_rseq,
)
from sipfault.core.requests import ClientRequests, in_dialog_request
from sipfault.core.required import FieldSources, code_fields, may_need_fields
from sipfault.core.response_faults import ResponseFaulting
from sipfault.core.responses import (
    apply_overrides,
    build_response,
    response_peer,
    response_vias,
)
from sipfault.core.session_timer import SessionTimer
from sipfault.core.sessions import MediaPorts, MediaSessions, NominalPorts
from sipfault.core.timers import Timer, TimerQueue
from sipfault.core.transactions import (
    Absorbing,
    AbsorbingTable,
    ServerTransaction,
    State,
    TransactionKey,
    transaction_key,
)
from sipfault.model.faults import Fault
from sipfault.model.scenario import (
    AuthSettings,
    Reply,
    Rule,
    Scenario,
    SdpSettings,
    UnmatchedAnswer,
)
from sipfault.sip.errors import SipParseError
from sipfault.sip.headers import built_field, header_key
from sipfault.sip.message import Message, Request, Response
from sipfault.sip.parser import parse_message
from sipfault.sip.sanitize import safe_value
from sipfault.sip.sdp import SdpError, parse_sdp
from sipfault.sip.stun import BINDING, StunClass, StunError, parse_stun
from sipfault.sip.stun import answer as stun_answer
from sipfault.sip.validate import CheckedRequest, check_request
from sipfault.version import __version__

SERVER_HEADER = f"sipfault/{__version__}"
RINGING_LIMIT = 180.0
"""Seconds an INVITE the scenario leaves ringing is kept after its last scripted response:
Timer C's three minutes (RFC 3261 §16.6 step 11), then it is answered 408."""
_CRLF = (b"\r", b"\n")


class UserAgentServer:
    """Answers requests as a scenario says, with RFC 3261 defaults for the rest."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        server_header: str | None = SERVER_HEADER,
        wall_clock: Callable[[], float] = lambda: 0.0,
        force_rport: bool = False,
        media_ports: MediaPorts | None = None,
        fax: FaxFactory | None = None,
        capacity: Capacity | None = None,
    ) -> None:
        """``media_ports`` opens the sockets of the streams SDP names (the endpoint's);
        without one, ports are named without sockets (:class:`NominalPorts`). ``fax`` makes
        the fax terminals of T.38 streams whose rule has ``fax``. Past ``capacity``, new
        INVITEs and REGISTERs get 503 (``admission.py``)."""
        self.engine = ScenarioEngine(scenario, seed)
        self.admission = Admission(capacity, salt=f"{self.engine.seed}/shed")
        """Load shedding: whether new INVITEs and REGISTERs are refused now, and how many were."""
        self.force_rport = force_rport
        """Answer UDP requests at their source port even without ``rport`` (RFC 3581 for
        clients behind NAT that do not ask for it); else the Via's port (RFC 3261 §18.2.2)."""
        self._wall_clock = wall_clock
        self.timers = TimerQueue()
        self.timers.observer = self._timer_fired
        self.server_header = server_header
        # Tags, branches, nonces and SDP session ids: from the run's seed unless given, so a
        # run is repeated exactly (a seed of its own, not the rules' generator's sequence).
        self._rng = rng if rng is not None else random.Random(f"{self.engine.seed}/uas")
        self._transactions: dict[TransactionKey, ServerTransaction] = {}
        self._exchanges: dict[TransactionKey, Exchange] = {}
        self.absorbing = AbsorbingTable()
        """Transactions past their final response, as compact records (:meth:`_compact`)."""
        self._outgoing: list[Outgoing] = []
        self._events: list[Event] = []
        self.registrar = Registrar(scenario.registrar, scenario.defaults, wall_clock)
        self._expiry_timer: Timer | None = None
        self.auth = self._authenticator(scenario)
        # Bound once and shared: a bound method per transaction would be three more objects
        # for the garbage collector to track, each kept for 64*T1.
        self._tx_callbacks = (self._send_response, self._transaction_terminated, self._no_ack)
        self._dialogs = Dialogs(self.timers, self._resend_2xx, self._no_ack_2xx,
                                self._dialog_ended)
        self._requests = ClientRequests(self.timers, self._send_request, self._no_response)
        ports = media_ports if media_ports is not None else NominalPorts()
        self.media = MediaSessions(ports, self.timers, self._report,
                                   lambda: self.scenario.media, fax)
        """The media streams of every call."""
        self._actions = DialogActions(
            self.timers, self._requests, self._send_request, self._report, self._rng,
            lambda: self.scenario.timers, lambda: "z9hG4bK" + self._new_tag(12),
            self._dialogs.end, self.server_header,
        )
        # Findings about the client (conformance/), and faults: the endpoint's, the responses'
        # (seeded per exchange from the run's seed), and what sends under them.
        self._conduct = ClientConduct(self._report, self.timers, lambda: self.scenario.timers,
                                      self._dialogs, self._transactions, self._exchanges)
        self.endpoint_faults = EndpointFaults(
            self.timers, random.Random(f"{self.engine.seed}/endpoint"), self._endpoint_changed)
        """The faults of the whole endpoint in force (outage, overload, slow)."""
        self._faulting = ResponseFaulting(self.engine.seed, self._report, self._emit,
                                          self._new_tag, self._dialogs,
                                          lambda: self.scenario.timers, self._conduct)
        self._sender = FaultedSender(self.timers, self.endpoint_faults, self._put, self._report)

    # ----------------------------------------------------------------- the sans-I/O surface

    @property
    def scenario(self) -> Scenario:
        """The scenario in force."""
        return self.engine.scenario

    def replace_scenario(self, scenario: Scenario) -> None:
        """Answer new requests with other rules; exchanges under way finish as planned.

        Bindings survive unless the registrar settings change.
        """
        old = self.engine.scenario
        self.engine.replace(scenario)
        if (scenario.registrar, scenario.defaults) != (old.registrar, old.defaults):
            self.registrar = Registrar(scenario.registrar, scenario.defaults, self._wall_clock)
        if scenario.auth != old.auth or scenario.defaults.realm != old.defaults.realm:
            self.auth = self._authenticator(scenario)

    def add_rule(self, rule: Rule) -> None:
        """Try ``rule`` after the scenario's others; their counters carry on (unlike
        :meth:`replace_scenario`, which starts them again)."""
        self.engine.append(rule)

    @property
    def seed(self) -> int:
        """The run's seed: rules' ``probability`` draws, and tags and SDP ids unless an
        ``rng`` was given, repeat with it."""
        return self.engine.seed

    def bindings(self, now: float) -> dict[str, list[Binding]]:
        """The registrar's current bindings by address-of-record (RFC 3261 §10.3)."""
        return self.registrar.bindings(now)

    def _authenticator(self, scenario: Scenario) -> Authenticator:
        """The scenario's digest settings, or a challenger with no users for scripted 401s."""
        settings = scenario.auth or AuthSettings(users=(), realm=scenario.defaults.realm,
                                                 methods=frozenset())
        return Authenticator(settings, self._random_bytes)

    def start(self, now: float) -> None:
        """Set the scenario's endpoint faults going, their ``after`` counted from ``now``.

        The endpoint calls this when it starts listening; otherwise the first message or timer
        does. After :meth:`replace_scenario` with other endpoint faults, the next call sets
        those instead (and ends the faults in force).
        """
        self.endpoint_faults.arm_scenario(self.scenario.endpoint_faults, now)

    def set_endpoint_fault(
        self, name: str, params: dict[str, object] | None, now: float
    ) -> Fault | None:
        """Begin the endpoint fault ``name`` with ``params`` (its parameters as a scenario
        file's ``endpoint_faults`` entry writes them: ``{"for": "30s"}``); None ends it.

        Raises :class:`~sipfault.model.validate.InvalidValue` for an unknown fault or a bad
        parameter, with the message a scenario file would get. Returns the fault begun.
        """
        return self.endpoint_faults.set_by_name(name, params, now)

    def clear_endpoint_faults(self, now: float) -> None:
        """End every endpoint fault in force."""
        self.endpoint_faults.clear(None, now)

    def _endpoint_changed(self, fault: Fault, active: bool, now: float) -> None:
        self._events.append(EndpointFaultChanged(now, str(fault), active))

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` next has work, or None."""
        deadline = self.timers.next_deadline()
        absorbing = self.absorbing.next_deadline()
        if absorbing is None or (deadline is not None and deadline <= absorbing):
            return deadline
        return absorbing

    def handle_timer(self, now: float) -> None:
        """Run every timer due at ``now``; a failing one is reported and the rest still run."""
        if not self.endpoint_faults.armed:
            self.start(now)
        for timer, call_id in self.absorbing.expire_timers(now):
            self._events.append(TimerFired(now, timer, call_id))
        while True:
            try:
                self.timers.run_due(now)
                return
            except Exception as exc:  # the server must keep serving (a bug, reported)
                self._internal_error(exc, now, None)

    def _timer_fired(self, label: str, context: object, now: float) -> None:
        call_id = context.headers.get("Call-ID") if isinstance(context, Message) else None
        self._events.append(TimerFired(now, label, call_id))

    def media_activity(self, stream: int, kind: str, source: tuple[str, int],
                       now: float) -> None:
        """The first packet of ``kind`` ("rtp", "udptl", "other") on a media stream since it
        started (the transport counts the rest); never raises, like :meth:`receive`."""
        try:
            self.media.activity(stream, kind, source, now)
        except Exception as exc:
            self._internal_error(exc, now, None)

    def media_datagram(self, stream: int, data: bytes, source: tuple[str, int],
                       now: float) -> None:
        """A datagram on a stream in fax mode; never raises, like :meth:`receive`."""
        try:
            self.media.datagram(stream, data, source, now)
        except Exception as exc:
            self._internal_error(exc, now, None)

    def close_media(self, now: float) -> None:
        """Close every media stream, each with its totals journaled (the endpoint stops)."""
        self.media.close_all(now, "stopped")

    def _report(self, event: Event) -> None:
        self._events.append(event)

    def take_outgoing(self) -> list[Outgoing]:
        """What to send, in order; the list is emptied."""
        out, self._outgoing = self._outgoing, []
        return out

    def take_events(self) -> list[Event]:
        """What happened since the last call, in order; the list is emptied."""
        events, self._events = self._events, []
        return events

    @property
    def dialogs(self) -> list[Dialog]:
        """Dialogs alive now."""
        return self._dialogs.alive()

    def counts(self) -> LiveCounts:
        """Sizes of the live tables: each returns to zero once the timers that end its
        entries have run (RFC 3261 §17.2 Timers H/I/J/L, §13.3.1.4, §17.1.2 Timer F)."""
        absorbing = len(self.absorbing)
        return LiveCounts(len(self._transactions) + absorbing, len(self._dialogs),
                          len(self.timers) + absorbing,
                          len(self._requests))

    def idle(self) -> bool:
        """Whether no transaction, dialog or request of ours is live (bindings aside)."""
        return not (self._transactions or len(self.absorbing) or len(self._dialogs)
                    or len(self._requests))

    def release_memory(self) -> None:
        """Once :meth:`idle`, give back what the busiest moment left: the tables' slots and
        the timers cancelled but still in the heap (the endpoint calls this after a load)."""
        if not self.idle():
            return
        self._transactions.clear()
        self._exchanges.clear()
        self.absorbing.shrink()
        self.timers.sweep()

    def receive(self, data: bytes, peer: Peer, now: float) -> None:
        """One whole message from ``peer`` (a datagram, or one message the framer cut).

        Never raises: a failure inside sipfault is reported as an ``internal-error`` finding
        and the message dropped, so one bad input cannot stop the server.
        """
        if not self.endpoint_faults.armed:
            self.start(now)
        try:
            self._receive(data, peer, now)
        except Exception as exc:
            self._internal_error(exc, now, peer, data)

    def _internal_error(
        self, exc: Exception, now: float, peer: Peer | None, data: bytes = b""
    ) -> None:
        text = f"internal error: {type(exc).__name__}: {exc}"
        self._events.append(finding(now, "internal-error", text, None, peer))
        if peer is not None:
            self._events.append(MessageDropped(now, peer, data, text))

    def _receive(self, data: bytes, peer: Peer, now: float) -> None:
        if data[:1] in _CRLF and not data.strip(b"\r\n"):
            # A datagram of CRLFs: the keep-alive phones send every 30 s (RFC 5626 §4.4.1
            # style, over UDP); not a message, and nothing to answer.
            self._events.append(KeepAliveReceived(now, peer, "crlf"))
            return
        if (self.admission.limited and not self.endpoint_faults.any
                and self._refuse_unread(data, peer, now)):
            return
        try:
            message = parse_message(data, stream=peer.reliable)
        except SipParseError as exc:
            self._reject(exc, data, peer, now)
            return
        if self.endpoint_faults.any and self._outage(message, data, peer, now):
            return
        if isinstance(message, Response):
            self._events.append(MessageReceived(now, peer, message, data))
            self._on_response(message, data, peer, now)
        elif isinstance(message, Request):
            self._on_request(message, data, peer, now)

    def stream_failed(self, error: SipParseError, head: bytes, peer: Peer, now: float) -> None:
        """The framer gave up on a stream (RFC 4475 §3.1.2.2, §3.3.9): answer if we can, close."""
        if head:
            try:
                parse_message(head + b"\r\n\r\n", stream=True)
            except SipParseError as inner:
                error.partial = error.partial or inner.partial
        self._reject(error, head, peer, now, close=True)

    def connection_refused(self, peer: Peer, reason: str, now: float, data: bytes = b"") -> None:
        """A connection refused or ended by the server: a failed TLS handshake (RFC 3261
        §26.2.1), a connection cap, a timeout; ``data``: the bytes of a message it held."""
        self._events.append(MessageDropped(now, peer, data, reason))

    def _outage(self, message: Message, data: bytes, peer: Peer, now: float) -> bool:
        """An ``outage`` in force takes the message: journaled as received, never answered."""
        outage = self.endpoint_faults.acting("outage")
        if outage is None:
            return False
        self._events.append(MessageReceived(now, peer, message, data))
        self._events.append(FaultApplied(now, outage.name, message.headers.get("Call-ID"), 0,
                                         0, 0, "received and dropped"))
        return True

    def _put(self, item: Outgoing) -> None:
        self._outgoing.append(item)

    def keepalive(self, peer: Peer, now: float) -> None:
        """A double-CRLF ping on a stream: answer with a CRLF pong (RFC 5626 §4.4.1)."""
        self._events.append(KeepAliveReceived(now, peer, "crlf"))
        self._outgoing.append(Outgoing(b"\r\n", peer))

    def stun(self, data: bytes, peer: Peer, now: float) -> None:
        """A STUN message on the SIP port (RFC 5626 §4.4.2): a Binding Request gets its
        Binding Success Response, over the transport it came on (RFC 8489 §6.3.1)."""
        try:
            message = parse_stun(data)
        except StunError as exc:
            self._events.append(MessageDropped(now, peer, data, f"malformed STUN: {exc}"))
            return
        if message.kind in (StunClass.SUCCESS, StunClass.ERROR):
            self._events.append(MessageDropped(now, peer, data,
                                               "STUN response matches no request"))
            return
        if message.method == BINDING:
            self._events.append(KeepAliveReceived(now, peer, "stun"))
        reply = stun_answer(message, peer.remote, self.server_header)
        if reply is not None:
            self._outgoing.append(Outgoing(reply, peer))

    def connection_lost(self, peer: Peer, unparsed: bytes, reset: bool, now: float) -> None:
        """A stream connection ended in the middle of a message: journal what it held."""
        if unparsed:
            ended = "reset" if reset else "closed"
            self._events.append(MessageDropped(
                now, peer, unparsed, f"connection {ended} with {len(unparsed)} bytes not parsed"))

    # ------------------------------------------------------------------------ requests

    def _on_request(self, request: Request, data: bytes, peer: Peer, now: float) -> None:
        try:
            checked = check_request(request, KNOWN_METHODS)
            key = transaction_key(request, top=checked.top_via)
        except SipParseError as exc:
            self._events.append(MessageReceived(now, peer, request, data))
            self._reject(exc, data, peer, now)
            return
        existing = self._transactions.get(key) if request.method != "ACK" else None
        if existing is None and request.method != "ACK":
            record = self.absorbing.get(key)
            if record is not None:
                self._events.append(MessageReceived(now, peer, request, data, True))
                self._absorb(key, record, request, peer, now)
                return
        self._events.append(
            MessageReceived(now, peer, request, data, existing is not None)
        )
        if request.method == "ACK":
            self._on_ack(request, key, checked, peer, now)
            return
        if existing is not None:
            self._conduct.retransmitted(existing, request, peer, now)
            existing.on_retransmission(now)
            return
        if self.admission.limited and self._shed(request, checked, peer, now):
            return
        tx = ServerTransaction(
            key, request, peer, self.scenario.timers, self.timers, *self._tx_callbacks
        )
        self._transactions[key] = tx
        their_tag = checked.to.tag
        to_tag = their_tag or self._new_tag()
        dialog = (self._dialogs.find(request.call_id, their_tag, checked.from_.tag)
                  if their_tag is not None else None)
        exchange = Exchange(tx, checked.ruri, their_tag is not None, to_tag, dialog,
                            checked.top_via, response_peer(peer, checked.top_via,
                                                           self.force_rport))
        exchange.arrived = now
        self._exchanges[key] = exchange
        self._conduct.new_request(exchange, now)
        if request.method == "CANCEL":
            self._on_cancel(exchange, now)
            return
        if self.endpoint_faults.any and self._overload(exchange, now):
            return
        self._dispatch(exchange, now)
        self._conduct.watch(exchange, now)

    def _overload(self, exchange: Exchange, now: float) -> bool:
        """An ``overload`` in force answers a new request with 503 and Retry-After."""
        self._faulting.exchange_faults(exchange)  # its delivery is tracked
        overload = self.endpoint_faults.acting("overload")
        if overload is None:
            return False
        seconds = overload.retry_after if overload.retry_after is not None else DEFAULT_RETRY_AFTER
        request = exchange.request
        # The fault takes the request as a rule would: it is answered as the test asked.
        self._events.append(RuleMatched(now, "endpoint fault overload", request.method,
                                        request.call_id, request, exchange.transaction.peer))
        self._events.append(FaultApplied(now, overload.name, request.call_id, 0, 1, 503,
                                         f"Retry-After: {seconds}"))
        self._reply(exchange, 503, now, extra=[("Retry-After", str(seconds))])
        return True

    def report_loop_lag(self, lag: float, now: float) -> None:
        """How late, in seconds, the endpoint's loop ran a periodic call: load shedding
        starts or stops by it and by the live transactions (``admission.py``)."""
        self.admission.report_lag(lag, now)
        if self.admission.limited:
            self._update_admission(now)

    def _update_admission(self, now: float) -> None:
        change = self.admission.update(
            len(self._transactions) + len(self.absorbing) + len(self._requests), now)
        if change is not None:
            self._events.append(change)

    def _refuse_unread(self, data: bytes, peer: Peer, now: float) -> bool:
        """While shedding, refuse a plain new INVITE or REGISTER from its bytes, unparsed and
        unjournaled (counted), or absorb the ACK of such a refusal (``refusal.py``)."""
        if data.startswith(UNREAD_PREFIXES[:2]):
            self._update_admission(now)
        answer = self.admission.answer_unread(data, peer, self.force_rport, self.server_header)
        if isinstance(answer, Outgoing):
            self._outgoing.append(answer)
            return True
        return answer

    def _shed(self, request: Request, checked: CheckedRequest, peer: Peer, now: float) -> bool:
        """Under load, refuse a new out-of-dialog INVITE or REGISTER with 503 and Retry-After
        (RFC 3261 §21.5.4), statelessly (§8.2.7): no transaction, no timer."""
        if request.method not in SHED_METHODS or checked.to.tag is not None:
            return False
        admission = self.admission
        self._update_admission(now)
        if admission.admits(request.method, False):
            return False
        response = admission.refusal(request, checked, peer, self.server_header)
        top = checked.top_via
        self._emit(response, response_peer(peer, top, self.force_rport), now, False, request)
        return True

    def _dispatch(self, exchange: Exchange, now: float) -> None:
        """RFC 3261 §8.2 checks, then the scenario, then the defaults."""
        request = exchange.request
        method = request.method
        if method not in KNOWN_METHODS:
            self._reply(exchange, 501, now, extra=[("Allow", self._allow())])
            return
        unsupported = [
            tag for tag in request.headers.values("Require") if tag not in SUPPORTED_OPTIONS
        ]
        if unsupported:  # §8.2.2.3; Require is ignored in CANCEL and ACK, handled elsewhere
            self._reply(exchange, 420, now, extra=[("Unsupported", ", ".join(unsupported))])
            return
        encodings = [
            coding for coding in request.headers.values("Content-Encoding")
            if coding.lower() not in ACCEPTED_ENCODINGS
        ]
        if request.body and encodings:  # §8.2.3
            self._reply(exchange, 415, now,
                        extra=[("Accept-Encoding", ", ".join(ACCEPTED_ENCODINGS))])
            return
        content_type = request.content_type
        if (method in SESSION_METHODS and request.body
                and content_type not in SESSION_BODY_TYPES):  # §8.2.3, RFC 4475 §3.3.6
            self._reply(exchange, 415, now, extra=[("Accept", ", ".join(SESSION_BODY_TYPES))])
            return
        if (method in ("INVITE", "UPDATE", "PRACK") and request.body
                and content_type == "application/sdp" and not self._check_sdp(exchange, now)):
            return
        if exchange.in_dialog and not self._check_dialog(exchange, now):
            return
        if method == "INVITE" and exchange.dialog is not None and not self._check_glare(
                exchange, now):
            return
        if method == "INVITE" and not accepts(request, "application/sdp"):
            # A session needs SDP in the 2xx (RFC 3264); Accept rules it out (RFC 4475 §3.3.15).
            self._not_acceptable(exchange, "application/sdp", now)
            return
        if method == "INVITE" and not self._check_invite_extensions(exchange, now):
            return
        if method == "PRACK":
            self._on_prack(exchange, now)
            return
        if self.auth.applies_to(method) and not self._authenticate(exchange, now):
            return
        rule = self.engine.select(exchange.facts)
        if rule is not None:
            self._run_rule(exchange, rule, now)
            return
        self._default(exchange, now)
        response = exchange.transaction.last_response
        self._events.append(RequestUnmatched(now, exchange.request, exchange.transaction.peer,
                                             response.status if response else 0))

    def _check_sdp(self, exchange: Exchange, now: float) -> bool:
        """An offer we cannot read gets 400 naming the defect (RFC 3261 §21.4.1, RFC 8866)."""
        try:
            parse_sdp(exchange.request.body)
        except SdpError as exc:
            self._reply(exchange, 400, now, reason=f"Bad SDP: {exc.reason}")
            return False
        return True

    def _check_glare(self, exchange: Exchange, now: float) -> bool:
        """RFC 3261 §14.2: a re-INVITE while ours is in progress gets 491; one while the far
        end's previous INVITE has no final response yet gets 500 with Retry-After 0-10 s."""
        dialog = exchange.dialog
        assert dialog is not None
        if self._actions.invite_pending(dialog):
            self._reply(exchange, 491, now)
            return False
        if self._actions.serving(dialog):
            self._reply(exchange, 500, now, reason="Server Internal Error",
                        extra=[("Retry-After", str(self._rng.randrange(0, 11)))])
            return False
        self._actions.serve(dialog, exchange.request)
        return True

    def _check_invite_extensions(self, exchange: Exchange, now: float) -> bool:
        """RFC 3262 §3 (421 when 100rel is demanded) and RFC 4028 §8.1 (422 below Min-SE)."""
        request = exchange.request
        defaults = self.scenario.defaults
        if defaults.require_100rel and not client_supports(request):
            self._reply(exchange, 421, now, extra=[("Require", OPTION_TAG)])
            return False
        try:
            timer = SessionTimer.from_request(request)
        except SipParseError as exc:
            self._reply(exchange, 400, now, reason=exc.reason)
            return False
        if timer is not None and timer.interval < defaults.min_se:
            self._reply(exchange, 422, now)
            return False
        exchange.session_timer = timer
        return True

    def _authenticate(self, exchange: Exchange, now: float) -> bool:
        """RFC 3261 §22: challenge, re-challenge, or refuse; True when the request may pass."""
        outcome = self.auth.check(exchange.request, now)
        if outcome.notice is not None:
            kind, text = outcome.notice
            self._events.append(finding(now, kind, text, exchange.request.headers.get("Call-ID"),
                                        exchange.transaction.peer,
                                        {"user": outcome.username or ""}))
        if outcome.kind == "ok":
            return True
        self._reply(exchange, outcome.status, now, reason=outcome.reason,
                    extra=outcome.headers)
        if outcome.kind == "forbidden":
            self._events.append(finding(now, "auth-failed", outcome.reason or "403 Forbidden",
                                        exchange.request.headers.get("Call-ID"),
                                        exchange.transaction.peer,
                                        {"user": outcome.username or ""}))
        return False

    def _on_prack(self, exchange: Exchange, now: float) -> None:
        """RFC 3262 §3, §7.2: a PRACK matching the outstanding reliable 1xx gets 200; else 481."""
        try:
            rack = RAck.parse(exchange.request.headers.get("RAck") or "")
        except SipParseError as exc:
            self._reply(exchange, 400, now, reason=exc.reason)
            return
        invite = exchange.dialog.invite if exchange.dialog is not None else None
        reliable = invite.reliable if invite is not None else None
        if reliable is not None and reliable.acknowledge(rack):
            self._reply(exchange, 200, now)
            reliable.release(now)
            return
        self._reply(exchange, 481, now)

    def _check_dialog(self, exchange: Exchange, now: float) -> bool:
        """§12.2.2: a request with a To-tag needs its dialog and an in-order CSeq."""
        dialog = exchange.dialog
        if dialog is None:
            self._reply(exchange, 481, now)
            return False
        if not dialog.in_order(exchange.request.cseq[0]):
            self._reply(exchange, 500, now, reason="Request Out Of Order",
                        extra=[("Retry-After", "1")])
            return False
        return True

    def _default(self, exchange: Exchange, now: float) -> None:
        """What RFC 3261 says a UAS does when the scenario says nothing."""
        request = exchange.request
        method = request.method
        dialog = exchange.dialog
        if method == "OPTIONS":  # §11.2
            self._reply(exchange, 200, now, extra=[
                ("Allow", self._allow()),
                ("Accept", ", ".join(SESSION_BODY_TYPES)),
                ("Accept-Encoding", ", ".join(ACCEPTED_ENCODINGS)),
                ("Accept-Language", "en"),
                ("Supported", ", ".join(SUPPORTED_OPTIONS)),
            ])
        elif method == "REGISTER":
            answer = self.registrar.handle(request, now)
            self._reply(exchange, answer.status, now, reason=answer.reason, extra=answer.headers)
            self._arm_expiry()
        elif method == "BYE" and dialog is not None:  # §15.1.2
            self._dialogs.end(dialog, now)
            self._reply(exchange, 200, now)
        elif method in ("INVITE", "UPDATE") and dialog is not None:  # §14.2 target refresh
            self._reply_step(exchange, Reply(200, sdp="answer"), now)
        elif method in ("BYE", "PRACK", "UPDATE"):
            self._reply(exchange, 481, now)
        elif self._rules_take(method):
            # The scenario answers this method, just not this request: 404 (or its own
            # `unmatched`), never a 405 whose Allow would name the method it refuses (§21.4.6).
            refusal = self.scenario.unmatched
            self._reply(exchange, refusal.code, now, reason=refusal.reason)
        else:
            self._reply(exchange, 405, now)  # Allow without the method (_allow_for)

    def _rules_take(self, method: str) -> bool:
        """Whether some rule takes requests of ``method`` (a rule without one takes any)."""
        methods = self.engine.methods
        return methods is None or method in methods

    def answer_unmatched(self, answer: UnmatchedAnswer) -> None:
        """Answer requests no rule takes, of a method some rule takes, with ``answer``; the
        rules' counters carry on."""
        self.engine.scenario = replace(self.engine.scenario, unmatched=answer)

    def _allow(self) -> str:
        return self.engine.allow

    def _allow_for(self, status: int, method: str) -> Callable[[], str]:
        """The Allow of a response: a 405's never names the method it refuses (§21.4.6)."""
        if status != 405:
            return self._allow
        return lambda: ", ".join(
            name for name in self.engine.allow.split(", ") if name != method)

    # ------------------------------------------------------------------- scenario rules

    def _run_rule(self, exchange: Exchange, rule: Rule, now: float) -> None:
        request = exchange.request
        self._events.append(RuleMatched(now, _rule_name(rule, self.scenario.rules),
                                        request.method, request.call_id, request,
                                        exchange.transaction.peer))
        exchange.rule = rule
        swallowed = rule.drop
        if rule.faults or rule.drop:
            faults = self._faulting.exchange_faults(exchange)
            faults.rule_faults = rule.faults
            for fault in rule.faults:
                if fault.name == "swallow" and not swallowed and faults.chance(fault):
                    swallowed = True
                    self._events.append(FaultApplied(now, fault.name, request.call_id, 0, 0, 0,
                                                     "request not answered"))
        if swallowed:
            # Never answered; forget the transaction when the client would have given up.
            exchange.defer(self.timers, now + 64 * self.scenario.timers.t1,
                           exchange.transaction.abandon)
            return
        if not rule.reply and rule.dial_a_code is None and rule.t38 is None:
            # a swallow that did not happen
            self._default(exchange, now)
            return
        steps = rule.reply
        if rule.t38 is not None:
            steps = (rule.t38.reply(),)
        if rule.dial_a_code is not None:
            steps = dial_a_code_steps(rule.dial_a_code, exchange.ruri.user_unescaped,
                                      request.method, exchange.contact(REDIRECT_USER))
        first_delay = steps[0].after if steps else 0.0
        if request.method == "INVITE" and first_delay > 0:
            self._reply(exchange, 100, now)  # §17.2.1: 100 Trying unless a response is at hand
        at = now
        for step in steps:
            at += step.after
            if step.after <= 0 and at == now:
                self._reply_step(exchange, step, now)
            else:
                exchange.defer(self.timers, at, self._step_action(exchange, step))
        if request.method == "INVITE" and all(step.code < 200 for step in steps):
            self._limit_ringing(exchange, at, now)

    def _limit_ringing(self, exchange: Exchange, last_step: float, now: float) -> None:
        """An INVITE the scenario leaves ringing ends, so that a client that vanished without
        a CANCEL leaves nothing behind: at its Expires with 487 (RFC 3261 §13.3.1), else
        :data:`RINGING_LIMIT` after the last scripted response with 408."""
        status, at = 408, last_step + RINGING_LIMIT
        expires = exchange.request.headers.get("Expires")
        if expires is not None and expires.strip().isdigit() and now + int(expires) < at:
            status, at = 487, now + int(expires)
        exchange.defer(self.timers, at, lambda when: self._end_ringing(exchange, status, when))

    def _end_ringing(self, exchange: Exchange, status: int, now: float) -> None:
        tx = exchange.transaction
        if not tx.final_sent and tx.state in (State.TRYING, State.PROCEEDING):
            self._reply(exchange, status, now)

    def _step_action(self, exchange: Exchange, step: Reply) -> Callable[[float], None]:
        return lambda when: self._reply_step(exchange, step, when)

    def _reply_step(self, exchange: Exchange, step: Reply, now: float) -> None:
        """Send one scripted response, unless the transaction has moved past it."""
        tx = exchange.transaction
        if tx.final_sent or tx.state not in (State.TRYING, State.PROCEEDING):
            return
        reliable = exchange.reliable
        if reliable is not None and reliable.busy and (step.code < 300):
            # RFC 3262 §3: one reliable 1xx at a time, and no 2xx before its PRACK.
            reliable.wait(lambda at: self._reply_step(exchange, step, at))
            return
        request = exchange.request
        body = b""
        content_type: str | None = None
        if step.sdp is not None:
            if exchange.rule is not None and exchange.rule.fax is not None:
                exchange.media_session(self.media).fax = exchange.rule.fax
            answer = exchange.session_body(step.sdp, self._rng, self.media, now)
            if isinstance(answer, Refusal):  # RFC 3261 §21.4.26, §20.43
                host = exchange.local_address()[0]
                self._reply(exchange, 488, now, extra=[
                    ("Warning", f'{answer.warning} {host} "{answer.text}"')])
                return
            content_type = "application/sdp" if answer else None
            body = answer
        elif step.body is not None:
            body = exchange.fill(step.body).encode()
            content_type = "text/plain"
        headers = [(name, exchange.fill(value)) for name, value in step.headers]
        for name, value in headers:
            if name.lower() in ("content-type", "c"):
                content_type = value
        if body and content_type and not accepts(request, content_type):
            self._not_acceptable(exchange, content_type, now)
            return
        self._reply(
            exchange, step.code, now, reason=step.reason, body=body, content_type=content_type,
            overrides=headers, omit=step.omit, request=request,
            reliable=self._wants_reliable(exchange, step), fault=step.fault,
        )

    def _not_acceptable(self, exchange: Exchange, content_type: str, now: float) -> None:
        """§21.4.7: 406 when the body we would send is not one the request's Accept allows."""
        host = exchange.local_address()[0]
        self._reply(exchange, 406, now, extra=[
            ("Warning", f'399 {host} "Accept does not allow {content_type}"'),
            ("Accept", content_type),
        ])

    def _wants_reliable(self, exchange: Exchange, step: Reply) -> bool:
        """RFC 3262 §3: Require: 100rel makes every non-100 1xx reliable; Supported lets the
        scenario choose (``reliable: true``, or ``defaults.reliable``)."""
        request = exchange.request
        if request.method != "INVITE" or not 100 < step.code < 200 or step.reliable is False:
            return False  # reliable: false is honoured even against Require: 100rel (a fault)
        if client_requires(request):
            return True
        defaults = self.scenario.defaults
        chosen = step.reliable if step.reliable is not None else (
            defaults.reliable or defaults.require_100rel)
        return chosen and client_supports(request)

    # ------------------------------------------------------------------------- answering

    def _reply(
        self,
        exchange: Exchange,
        status: int,
        now: float,
        *,
        reason: str | None = None,
        extra: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        overrides: Sequence[tuple[str, str]] = (),
        omit: Sequence[str] = (),
        request: Request | None = None,
        reliable: bool = False,
        fault: Fault | None = None,
    ) -> None:
        """Build a response with every field its code and context require, and send it."""
        request = request or exchange.request
        tx = exchange.transaction
        faults = (self._faulting.for_response(exchange, status, fault)
                  if fault is not None or exchange.faults is not None else ())
        if faults:
            self._faulting.before_building(exchange, status, faults, now)
        is_invite = request.method == "INVITE"
        creates_dialog = is_invite and 100 < status < 300
        fields = list(extra)
        defaults = self.scenario.defaults
        if may_need_fields(status, request.method, defaults):
            named = {header_key(name) for name, _ in fields}
            sources = FieldSources(request, defaults, self._allow_for(status, request.method),
                                   exchange.contact,
                                   lambda proxy: self._challenge(proxy, now),
                                   exchange.local_address()[0])
            fields += [f for f in code_fields(status, sources) if header_key(f[0]) not in named]
        if creates_dialog and "contact" not in {header_key(name) for name, _ in fields}:
            fields.append(("Contact", exchange.contact()))
        if 200 <= status < 300 and exchange.session_timer is not None:
            fields += exchange.session_timer.response_fields()
        if self.server_header:
            fields.append(("Server", self.server_header))
        response = build_response(
            request, status,
            vias=exchange.vias,
            to_tag=None if status == 100 else exchange.to_tag,
            reason=reason, extra=fields, body=body, content_type=content_type,
            record_route=creates_dialog,
        )
        rseq: int | None = None
        if reliable:
            if exchange.reliable is None:
                exchange.reliable = self.reliable_for(exchange)
            rseq = exchange.reliable.mark(response)
        if overrides or omit:
            apply_overrides(response, overrides, omit)
        if faults:
            self._faulting.register(exchange, response, faults)
        if not tx.respond(response, now):
            return
        if rseq is not None and exchange.reliable is not None:
            exchange.reliable.sent(rseq, response, now)
        if creates_dialog:
            self._update_dialog(exchange, response, now)
        elif (is_invite and status >= 300 and exchange.dialog is not None
              and exchange.dialog.state is DialogState.EARLY):
            self._dialogs.end(exchange.dialog, now)
        if status >= 200:
            self._after_final(exchange, status, now)
        if status >= 200:
            exchange.cancel_pending()
            if exchange.reliable is not None and status >= 300:
                exchange.reliable.stop()
            self._conduct.answered(exchange, response, now)
        if faults:
            self._faulting.after_sending(exchange, response, faults, now)
        elif status >= 200 and not (overrides or omit):
            # A response the scenario reshaped may not parse again as the record re-sends it.
            self._compact(exchange, now)

    def _after_final(self, exchange: Exchange, status: int, now: float) -> None:
        """Media and actions after a final response: a refused INVITE closes the streams its
        answer opened; a 2xx in a dialog starts the rule's ``then`` actions."""
        dialog = exchange.dialog
        if exchange.request.method == "INVITE" and dialog is not None:
            self._actions.served(dialog, exchange.request)
        if status >= 300:
            if dialog is None and exchange.media is not None:
                exchange.media.close(now, "refused")
            return
        rule = exchange.rule
        if status < 300 and dialog is not None and rule is not None and rule.then:
            steps = rule.reply or ((rule.t38.reply(),) if rule.t38 is not None else ())
            settings = next((step.sdp for step in steps
                             if isinstance(step.sdp, SdpSettings)), SdpSettings())
            self._actions.schedule(dialog, rule.then, settings, now)

    def _challenge(self, proxy: bool, now: float) -> list[tuple[str, str]]:
        """A fresh digest challenge for a scripted 401 or 407 (RFC 3261 §22.1, RFC 8760)."""
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        return [(name, value) for _, value in self.auth.challenge(now)]

    def _arm_expiry(self) -> None:
        """Keep one timer at the registrar's next expiry, so it is journaled when it happens."""
        deadline = self.registrar.next_deadline()
        if self._expiry_timer is not None:
            if self._expiry_timer.deadline == deadline and not self._expiry_timer.cancelled:
                return
            self._expiry_timer.cancel()
        self._expiry_timer = None
        if deadline is not None:
            self._expiry_timer = self.timers.schedule(deadline, self._expire_bindings)

    def _expire_bindings(self, now: float) -> None:
        for binding in self.registrar.expire(now):
            forced = binding.expires_at > now
            self._events.append(BindingExpired(now, binding.aor, binding.uri, forced=forced))
            self._conduct.binding_expired(binding, forced, now)
        self._expiry_timer = None
        self._arm_expiry()

    def reliable_for(self, exchange: Exchange) -> ReliableProvisionals:
        """The RFC 3262 state of an INVITE exchange, made on first use."""
        return ReliableProvisionals(
            exchange.request, first_rseq(self._rng), self.scenario.timers, self.timers,
            lambda response, at: self._emit(response, exchange.reply_to, at, True,
                                            exchange.request, exchange.faults),
            lambda at: self._prack_timeout(exchange, at),
        )

    def _prack_timeout(self, exchange: Exchange, now: float) -> None:
        """RFC 3262 §3: no PRACK within 64*T1: reject the INVITE with a 5xx."""
        self._events.append(finding(now, "no-prack",
                                    "no PRACK for a reliable provisional within 64*T1",
                                    exchange.request.headers.get("Call-ID"),
                                    exchange.transaction.peer))
        exchange.cancel_pending()
        self._reply(exchange, 500, now, reason="Reliable Provisional Not Acknowledged")

    def _send_response(
        self, response: Response, peer: Peer, tx: ServerTransaction, again: bool, now: float
    ) -> None:
        """A server transaction sends (or re-sends) a response, where its exchange says."""
        exchange = self._exchanges.get(tx.key)
        if exchange is None:
            self._emit(response, peer, now, again, tx.request)
            return
        exchange.sent = self._emit(response, exchange.reply_to, now, again, tx.request,
                                   exchange.faults)

    def _resend_2xx(
        self, response: Response, peer: Peer, invite: InviteUnderway, now: float
    ) -> None:
        """A dialog re-sends the 2xx to its INVITE (§13.3.1.4)."""
        self._emit(response, peer, now, True, invite.request, invite.faults)

    def _send_request(self, request: Request, peer: Peer, again: bool, now: float) -> None:
        """A client transaction of ours sends (or re-sends) its request."""
        self._emit(request, peer, now, again)

    def _emit(
        self, message: Message, peer: Peer, now: float, again: bool,
        request: Request | None = None, faults: ExchangeFaults | None = None,
    ) -> bytes:
        """Serialize and send, through the faults of its exchange and of the endpoint; the
        bytes of the message (before faults)."""
        data = message.to_bytes()
        if faults is not None or self.endpoint_faults.any:
            self._sender.send(message, data, peer, now, again, request, faults)
            return data
        self._outgoing.append(Outgoing(data, peer))
        self._events.append(MessageSent(now, peer, message, data, again, request))
        return data

    def _reject(
        self, error: SipParseError, data: bytes, peer: Peer, now: float, close: bool = False
    ) -> None:
        """Answer a malformed request statelessly with ``error.status``, or drop it (§8.2)."""
        partial = error.partial
        if (not isinstance(partial, Request) or partial.method == "ACK"
                or "Via" not in partial.headers):
            self._events.append(MessageDropped(now, peer, data, error.reason))
            if close:
                self._outgoing.append(Outgoing(b"", peer, close_after=True))
            return
        try:
            top = partial.top_via
            vias = response_vias(partial, peer, top)
            reply_to = response_peer(peer, top, self.force_rport)
        except SipParseError:  # a malformed Via is copied as it stands (RFC 4475 §3.1.2.1)
            vias = [built_field("Via", safe_value(value))
                    for value in partial.headers.lines("Via")]
            reply_to = peer  # and the answer goes to the packet's source port
        response = build_response(partial, error.status, vias=vias, to_tag=self._new_tag(),
                                  reason=error.reason,
                                  extra=[("Server", self.server_header)]
                                  if self.server_header else ())
        data_out = response.to_bytes()
        self._outgoing.append(Outgoing(data_out, reply_to, close_after=close))
        self._events.append(MessageSent(now, reply_to, response, data_out, False, partial))
        self._events.append(finding(now, "bad-request", f"{error.status} {error.reason}",
                                    partial.headers.get("Call-ID"), peer))

    # ---------------------------------------------------------------------- ACK and CANCEL

    def _on_ack(
        self, ack: Request, key: TransactionKey, checked: CheckedRequest, peer: Peer, now: float
    ) -> None:
        """§17.2.1: an ACK for a 3xx-6xx ends its transaction; one for a 2xx its retransmission.

        ``key`` is the ACK's transaction key, which is its INVITE's.
        """
        tx = self._transactions.get(key)
        if tx is not None and tx.state in (State.COMPLETED, State.CONFIRMED):
            if tx.on_ack(now):
                exchange = self._exchanges.get(key)
                if exchange is not None:
                    self._compact(exchange, now)
            return
        record = self.absorbing.get(key)
        if record is not None and record.state == State.CONFIRMED.value:
            return  # §17.2.1: Confirmed absorbs ACKs
        dialog = self._dialogs.find(ack.call_id, checked.to.tag, checked.from_.tag)
        if dialog is not None:
            if not dialog.acked and dialog.offer_in_2xx and dialog.media is not None:
                self._answer_in_ack(dialog, ack, peer, now)
            self._conduct.acknowledge(dialog, ack, peer, now)
            return
        if self.admission.limited and self.admission.acknowledges(ack, checked):
            return  # the ACK of a 503 refusing its INVITE under load
        if self._conduct.lenient_ack(ack, peer, now):
            return
        self._events.append(finding(now, "stray-ack", "ACK matched no transaction or dialog",
                                    ack.headers.get("Call-ID"), peer))

    def _answer_in_ack(self, dialog: Dialog, ack: Request, peer: Peer, now: float) -> None:
        """RFC 3264 §5 with RFC 3261 §13.2.1: our 2xx carried the offer, the ACK the answer."""
        assert dialog.media is not None
        if not ack.body or ack.content_type != "application/sdp":
            self._events.append(Finding(now, "no-answer-in-ack",
                                        "our 2xx carried an offer; the ACK brought no answer",
                                        ack.call_id, peer))
            dialog.media.offer_refused()
            return
        try:
            dialog.media.answered(parse_sdp(ack.body), now)
        except SdpError as exc:
            self._events.append(Finding(now, "bad-sdp", f"the answer in the ACK: {exc.reason}",
                                        ack.call_id, peer))
            dialog.media.offer_refused()

    def _on_cancel(self, exchange: Exchange, now: float) -> None:
        """§9.2: 200 to the CANCEL and 487 to the INVITE it names; 481 when none matches."""
        cancel = exchange.request
        invite_key = transaction_key(cancel, method="INVITE")
        invite_exchange = self._exchanges.get(invite_key)
        if invite_exchange is None or invite_exchange.request.method != "INVITE":
            record = self.absorbing.get(invite_key)
            if record is not None and record.method == "INVITE":
                exchange.to_tag = record.to_tag  # answered already: the CANCEL does nothing
                self._reply(exchange, 200, now)
                return
            self._reply(exchange, 481, now)
            return
        exchange.to_tag = invite_exchange.to_tag
        self._reply(exchange, 200, now)
        if not invite_exchange.transaction.final_sent:
            self._conduct.cancel(exchange, invite_exchange, now)
            invite_exchange.cancel_pending()
            self._reply(invite_exchange, 487, now)

    # --------------------------------------------------------------------------- dialogs

    def _update_dialog(self, exchange: Exchange, response: Response, now: float) -> None:
        """§12.1.1: a 1xx with a tag makes an early dialog, a 2xx confirms it."""
        dialog = exchange.dialog
        if dialog is None:
            dialog = self._dialogs.create(exchange.request, exchange.to_tag,
                                          exchange.reply_to, exchange.session_id,
                                          exchange.session_version)
            dialog.media, exchange.media = exchange.media, None
            exchange.dialog = dialog
        contact = response.headers.get("Contact")
        if contact:
            dialog.local_contact = contact
        self._dialogs.answered(dialog, exchange, response, self.scenario.timers, now)

    def _dialog_ended(self, dialog: Dialog, now: float) -> None:
        """Its media streams close and its actions still to come are forgotten."""
        self._actions.dialog_ended(dialog)
        if dialog.media is not None:
            dialog.media.close(now, "dialog ended")

    def _no_ack_2xx(self, dialog: Dialog, now: float) -> None:
        """§13.3.1.4: no ACK for the 2xx within 64*T1 ended the dialog: send a BYE."""
        self._conduct.no_ack_2xx(dialog, now)
        self._send_bye(dialog, now)

    def _no_ack(self, tx: ServerTransaction, now: float) -> None:
        self._conduct.no_ack(tx, now)

    # ----------------------------------------------------------------- requests of our own

    def _send_bye(self, dialog: Dialog, now: float) -> None:
        """A BYE of our own, with its client transaction (§15.1.1, §17.1.2)."""
        branch = "z9hG4bK" + self._new_tag(12)
        bye = in_dialog_request(dialog, "BYE", branch, user_agent=self.server_header)
        self._requests.start(bye, branch, dialog.peer, self.scenario.timers, now)

    def _no_response(self, client: ClientTransaction, now: float) -> None:
        self._events.append(finding(now, "no-response",
                                    f"no final response to our {client.request.method}",
                                    client.request.headers.get("Call-ID"), client.peer))

    def _on_response(self, response: Response, data: bytes, peer: Peer, now: float) -> None:
        """Responses can only answer our own requests; anything else is dropped (§8.1.3.3)."""
        if not self._requests.on_response(response, now):
            self._events.append(MessageDropped(now, peer, data, "response matches no request"))

    # ------------------------------------------------------------------------ bookkeeping

    def _transaction_terminated(self, tx: ServerTransaction, now: float) -> None:
        del now
        self._forget(tx)

    def _forget(self, tx: ServerTransaction) -> None:
        """The transaction and its exchange are gone from the tables."""
        self._transactions.pop(tx.key, None)
        self._conduct.transaction_ended(tx)
        exchange = self._exchanges.pop(tx.key, None)
        if exchange is not None:
            exchange.cancel_pending()
            if exchange.dialog is not None:
                self._actions.served(exchange.dialog, exchange.request)

    def _compact(self, exchange: Exchange, now: float) -> None:
        """Once only absorbing retransmissions is left, a compact record takes the place of
        the transaction and its exchange (RFC 3261 §17.2: Timers J, I and L keep it 64*T1 or
        T4). Not under faults, whose copies and findings need the full state, nor while
        reliable provisionals or retransmission findings are tracked."""
        if (exchange.faults is not None or exchange.reliable is not None
                or exchange.track is not None or self.endpoint_faults.any):
            return
        tx = exchange.transaction
        record = tx.compact(exchange.to_tag, exchange.final_at or 0.0, exchange.sent,
                            exchange.reply_to)
        if record is None or not self.absorbing.add(tx.key, record, now):
            return
        tx.stop_timers()
        self._forget(tx)

    def _absorb(self, key: TransactionKey, record: Absorbing, request: Request, peer: Peer,
                now: float) -> None:
        """A retransmission met a compact record: judged, then answered with the final
        response in Completed and absorbed otherwise (§17.2.1, §17.2.2, RFC 6026 §7.1)."""
        if self._conduct.absorbed(record, request, peer, now):
            self.absorbing.update(key, record._replace(reported=True))
        if record.response:
            message = parse_message(record.response, stream=peer.reliable)
            if self.endpoint_faults.any:  # a slow or lossy endpoint since the answer went
                self._sender.send(message, record.response, record.peer, now, True, None, None)
                return
            self._outgoing.append(Outgoing(record.response, record.peer))
            self._events.append(MessageSent(now, record.peer, message, record.response, True))

    def _random_bytes(self, size: int) -> bytes:
        return self._rng.getrandbits(size * 8).to_bytes(size, "big")

    def _new_tag(self, size: int = 8) -> str:
        return f"{self._rng.getrandbits(size * 4):0{size}x}"


def _rule_name(rule: Rule, rules: tuple[Rule, ...]) -> str:
    if rule.name:
        return rule.name
    index = rules.index(rule) + 1 if rule in rules else 0
    return f"rule {index}"


__all__ = ["SERVER_HEADER", "UserAgentServer"]
