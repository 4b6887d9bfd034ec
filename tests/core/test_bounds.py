"""Every table of the core that grows with traffic has a bound, proven here on a manual clock.

- Server transactions, dialogs, timers and our client transactions live until RFC 3261
  §17.2's Timers H/I/J/L, a BYE (§15.1.2) or Timer F (§17.1.2): ``UserAgentServer.counts()``
  returns to zero once traffic stops and those timers have run, however many calls came.
- Confirmed dialogs whose BYE never comes: at most ``MAX_DIALOGS``, the oldest acknowledged
  one forgotten first.
- Registrar bindings: at most ``MAX_BINDINGS_PER_AOR`` per address-of-record and
  ``max_bindings`` in all; a REGISTER past either is refused whole with 503 and Retry-After.
- Digest auth: nonces (``NonceStore``), failure counters per user and Call-ID, and lockout
  windows per user are each kept at most 4096, the oldest forgotten first.
- The parse memos are proven in tests/test_memos.py; the UDP peers and TCP connections of the
  endpoint in tests/server/test_table_bounds.py; the summary's counters in
  tests/cli/test_summary_bounds.py.
"""

from __future__ import annotations

import itertools

from uas_harness import OFFER, TCP, UDP, Harness, request, response, statuses

from sipfault.core.auth import Authenticator
from sipfault.core.counts import LiveCounts
from sipfault.core.dialogs import MAX_DIALOGS, Dialogs, DialogState
from sipfault.core.registrar import MAX_BINDINGS_PER_AOR, Registrar
from sipfault.core.timers import TimerQueue
from sipfault.core.uas import RINGING_LIMIT
from sipfault.model.scenario import AuthLockout, AuthSettings, RegistrarSettings, ResponseDefaults
from sipfault.sip.digest import NonceStore, parse_auth_params
from sipfault.sip.message import Request
from sipfault.sip.parser import parse_message

ZERO = LiveCounts(transactions=0, dialogs=0, timers=0, client_transactions=0)

CALLS = """
name: calls
timers: {t1: 500ms, t2: 4s, t4: 5s}
rules:
  - match: {method: INVITE, user: busy}
    reply: [100, {code: 486, after: 100ms}]
  - match: {method: INVITE}
    reply: [100, 180, {code: 200, sdp: answer}]
  - match: {method: MESSAGE}
    reply: [202]
"""

T1 = 0.5
SETTLE = 64 * T1 + 1.0
"""Past the longest lifetime of anything a finished call leaves behind (Timers H, J, L, F)."""


def _answered_call(harness: Harness, n: int, peer: object = None) -> None:
    """INVITE -> 200, ACK, BYE -> 200: a whole call, as a UA makes it."""
    kwargs = {"peer": peer} if peer is not None else {}
    call = f"call-{n}"
    sent = harness.feed(request(call_id=call, branch=f"z9hG4bK-i{n}", body=OFFER), **kwargs)
    to_tag = response(sent, 200).to.tag
    harness.feed(request("ACK", call_id=call, branch=f"z9hG4bK-a{n}", to_tag=to_tag), **kwargs)
    sent = harness.feed(request("BYE", call_id=call, branch=f"z9hG4bK-b{n}", cseq=2,
                                to_tag=to_tag), **kwargs)
    assert statuses(sent) == [200]


def _rejected_call(harness: Harness, n: int) -> None:
    """INVITE -> 486 (after 100 ms), ACK: the transaction waits for Timer I."""
    call = f"busy-{n}"
    harness.feed(request(uri="sip:busy@127.0.0.1:5060", call_id=call, branch=f"z9hG4bK-r{n}"))
    sent = harness.advance(0.2)
    to_tag = response(sent, 486).to.tag
    harness.feed(request("ACK", uri="sip:busy@127.0.0.1:5060", call_id=call,
                         branch=f"z9hG4bK-r{n}", to_tag=to_tag))


def test_a_fresh_uas_holds_nothing() -> None:
    assert Harness.from_yaml(CALLS).uas.counts() == ZERO


def test_one_call_of_each_kind_leaves_nothing_after_the_timers() -> None:
    harness = Harness.from_yaml(CALLS)
    _answered_call(harness, 1)
    counts = harness.uas.counts()
    # The INVITE waits in Accepted for Timer L, the BYE in Completed for Timer J; the
    # dialog ended with the BYE.
    assert (counts.transactions, counts.dialogs) == (2, 0)
    assert counts.timers == 2
    _rejected_call(harness, 1)
    assert statuses(harness.feed(request("MESSAGE", call_id="m", branch="z9hG4bK-m"))) == [202]
    assert statuses(harness.feed(request("OPTIONS", call_id="o", branch="z9hG4bK-o"))) == [200]
    assert harness.uas.counts().transactions == 5
    harness.advance(SETTLE)
    assert harness.uas.counts() == ZERO


def test_timer_l_j_and_i_end_each_transaction_on_time() -> None:
    """RFC 3261 §17.2.1-§17.2.2, RFC 6026 §7.1: I after T4, J and L after 64*T1."""
    harness = Harness.from_yaml(CALLS)
    _rejected_call(harness, 1)  # ACKed at 0.2 s: Timer I = T4 = 5 s
    harness.advance(4.9)
    assert harness.uas.counts().transactions == 1
    harness.advance(0.2)
    assert harness.uas.counts() == ZERO
    harness.feed(request("OPTIONS", call_id="o", branch="z9hG4bK-o"))  # Timer J = 64*T1
    _answered_call(harness, 2)  # Timer L = 64*T1 for the INVITE, J for the BYE
    harness.advance(64 * T1 - 0.01)
    assert harness.uas.counts().transactions == 3
    harness.advance(0.02)
    assert harness.uas.counts() == ZERO


def test_over_tcp_non_invite_transactions_end_at_once() -> None:
    """Timer J is zero over a reliable transport (§17.2.2); Timer L stays 64*T1."""
    harness = Harness.from_yaml(CALLS)
    _answered_call(harness, 1, peer=TCP)
    harness.advance(0.0)  # Timer J fires at once
    assert harness.uas.counts().transactions == 1  # the INVITE in Accepted only
    harness.advance(64 * T1 + 0.01)
    assert harness.uas.counts() == ZERO


def test_an_unacknowledged_2xx_ends_with_our_bye_and_its_client_transaction() -> None:
    """§13.3.1.4: no ACK within 64*T1 ends the dialog; the BYE's client transaction waits
    for Timer F (§17.1.2) when the client never answers it either."""
    harness = Harness.from_yaml(CALLS)
    harness.feed(request(call_id="lost", body=OFFER))
    assert harness.uas.counts().dialogs == 1
    harness.advance(64 * T1 + 0.01)
    counts = harness.uas.counts()
    assert (counts.dialogs, counts.client_transactions) == (0, 1)
    harness.advance(64 * T1 + 0.01)
    assert harness.uas.counts() == ZERO


def test_many_calls_peak_at_rate_times_lifetime_and_return_to_zero() -> None:
    """2000 calls at 100 calls/s over 20 s: what is held peaks near rate x 64*T1 (the
    longest lifetime), not at the number of calls, and everything ends."""
    harness = Harness.from_yaml(CALLS)
    peak = ZERO
    for n in range(2000):
        if n % 10 == 0:
            _rejected_call(harness, n)  # advances the clock 0.2 s
        else:
            _answered_call(harness, n)
        harness.advance(0.01)
        counts = harness.uas.counts()
        if counts.transactions > peak.transactions:
            peak = counts
        assert counts.dialogs <= 1
    rate = 2000 / harness.now
    lifetime = 64 * T1
    # Each answered call leaves two transactions (INVITE in Accepted, BYE in Completed).
    assert peak.transactions <= 2 * rate * lifetime * 1.1
    assert peak.transactions < 2 * 2000 / 2  # well below everything ever seen
    harness.advance(SETTLE)
    assert harness.uas.counts() == ZERO


# ------------------------------------------------------------------------------- registrar


def _register(contact: str, *, aor: str = "alice", call_id: str = "reg-1", cseq: int = 1,
              expires: int = 3600) -> Request:
    lines = [
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK-reg",
        "Max-Forwards: 70",
        f"From: <sip:{aor}@example.com>;tag=f1",
        f"To: <sip:{aor}@example.com>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: {contact}",
        f"Expires: {expires}",
        "Content-Length: 0",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def _registrar(**bounds: int) -> Registrar:
    return Registrar(RegistrarSettings(), ResponseDefaults(), lambda: 0.0, **bounds)


def _bound(registrar: Registrar, now: float) -> int:
    return sum(len(bindings) for bindings in registrar.bindings(now).values())


def test_an_aor_holds_at_most_64_bindings_and_the_65th_gets_503() -> None:
    registrar = _registrar()
    for n in range(MAX_BINDINGS_PER_AOR):
        answer = registrar.handle(
            _register(f"<sip:alice@192.0.2.{n}>", call_id=f"c{n}", expires=100 + n), now=0.0)
        assert answer.status == 200
    refused = registrar.handle(_register("<sip:alice@198.51.100.1>", call_id="extra"), now=10.0)
    assert (refused.status, refused.reason) == (503, "Too Many Registered Contacts")
    # The soonest binding of the AOR leaves at 100 s: 90 s from now.
    assert dict(refused.headers)["Retry-After"] == "90"
    assert _bound(registrar, 10.0) == MAX_BINDINGS_PER_AOR  # nothing was dropped or added
    # Refreshing and removing bindings already held still pass at the bound.
    assert registrar.handle(
        _register("<sip:alice@192.0.2.0>", call_id="c0", cseq=2), now=11.0).status == 200
    assert registrar.handle(
        _register("<sip:alice@192.0.2.1>", call_id="c1", cseq=2, expires=0), now=11.0
    ).status == 200
    # Once there is room again, a new contact is taken.
    assert registrar.handle(
        _register("<sip:alice@198.51.100.1>", call_id="extra", cseq=2), now=12.0).status == 200
    assert _bound(registrar, 12.0) == MAX_BINDINGS_PER_AOR


def test_the_registrar_holds_at_most_max_bindings_over_every_aor() -> None:
    registrar = _registrar(max_bindings=50)
    for n in range(200):
        answer = registrar.handle(_register(f"<sip:u{n}@192.0.2.1>", aor=f"u{n}",
                                            call_id=f"c{n}", expires=60), now=float(n) / 10)
        assert answer.status == (200 if n < 50 else 503)
        assert _bound(registrar, float(n) / 10) <= 50
    # The first bindings leave at 60 s: an address-of-record may register again then.
    assert registrar.handle(_register("<sip:late@192.0.2.1>", aor="late"), now=60.0).status == 200
    assert registrar.handle(_register("<sip:late@192.0.2.2>", aor="late"), now=60.0).status == 503


# ------------------------------------------------------------------------------------ auth


def _counting_random() -> object:
    counter = itertools.count(1)
    return lambda n: next(counter).to_bytes(n, "big")


def _wrong(call_id: str, user: str = "printer") -> Request:
    lines = [
        "REGISTER sip:registrar.example SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK-a",
        "Max-Forwards: 70",
        "From: <sip:printer@registrar.example>;tag=1",
        "To: <sip:printer@registrar.example>",
        f"Call-ID: {call_id}",
        "CSeq: 1 REGISTER",
        f'Authorization: Digest username="{user}", realm="bench.example", nonce="x", '
        'uri="sip:registrar.example", response="00000000000000000000000000000000", '
        'algorithm=MD5',
        "Content-Length: 0",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def _authenticator(**overrides: object) -> Authenticator:
    settings: dict[str, object] = {"users": (("printer", "secret"),), "realm": "bench.example",
                                   "algorithms": ("MD5",), "max_attempts": 2}
    settings.update(overrides)
    return Authenticator(AuthSettings(**settings), _counting_random())  # type: ignore[arg-type]


def test_nonces_are_kept_at_most_4096_the_oldest_forgotten() -> None:
    auth = _authenticator()
    first = parse_auth_params(auth.challenge(0.0)[0][1])[1]["nonce"]
    for _ in range(5000):
        auth.challenge(1.0)
    store: NonceStore = auth._nonces  # the store the challenges draw from
    assert len(store) == store.capacity == 4096
    assert first not in store


def test_failure_counters_per_call_are_kept_at_most_4096() -> None:
    auth = _authenticator(lockout=None)  # the per-user lockout would stop "printer" first
    assert auth.check(_wrong("first"), 0.0).kind == "challenge"
    assert auth.check(_wrong("first"), 0.0).kind == "forbidden"  # max_attempts = 2
    for n in range(5000):
        auth.check(_wrong(f"call-{n}"), 1.0)
        assert len(auth._failures) <= 4096
    # The counter of the first Call-ID was forgotten: it starts again from a challenge.
    assert auth.check(_wrong("first"), 2.0).kind == "challenge"


def test_lockout_windows_are_kept_for_at_most_4096_users() -> None:
    auth = _authenticator(max_attempts=99, lockout=AuthLockout(attempts=3, window=600.0))
    for n in range(5000):
        auth.check(_wrong(f"call-{n}", user=f"guess{n}"), float(n) / 1000)
        assert len(auth._wrong_by_user) <= 4096


# --------------------------------------------------------------------------------- dialogs


def _invite(n: int) -> Request:
    message = parse_message(request(call_id=f"d{n}", branch=f"z9hG4bK-d{n}", from_tag=f"f{n}"))
    assert isinstance(message, Request)
    return message


def _dialogs(limit: int = MAX_DIALOGS) -> Dialogs:
    return Dialogs(TimerQueue(), lambda *args: None, lambda *args: None, limit=limit)


def test_confirmed_dialogs_without_bye_are_kept_at_most_max_dialogs() -> None:
    """A load generator that never hangs up: the oldest acknowledged dialogs are forgotten."""
    dialogs = _dialogs()
    invite = _invite(0)
    for n in range(MAX_DIALOGS + 100):
        dialog = dialogs.create(invite, f"t{n}", UDP)
        dialogs.acknowledge(dialog)
    assert len(dialogs) == MAX_DIALOGS
    assert dialogs.find("d0", "t0", "f0") is None  # the oldest went first
    assert dialogs.find("d0", f"t{MAX_DIALOGS + 99}", "f0") is not None


def test_only_idle_dialogs_are_forgotten_to_make_room() -> None:
    dialogs = _dialogs(limit=3)
    early = dialogs.create(_invite(1), "early", UDP)  # still ringing: kept
    idle = [dialogs.create(_invite(n), f"idle{n}", UDP) for n in (2, 3)]
    for dialog in idle:
        dialogs.acknowledge(dialog)
    dialogs.create(_invite(4), "new", UDP)
    assert len(dialogs) == 3
    assert dialogs.find("d1", "early", "f1") is early
    assert dialogs.find("d2", "idle2", "f2") is None
    assert idle[0].state is DialogState.TERMINATED
    assert dialogs.find("d3", "idle3", "f3") is idle[1]


RINGING = """
name: ringing
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [100, 180]
"""


def test_an_invite_left_ringing_ends_with_408_after_timer_c_and_leaves_nothing() -> None:
    """A client that vanished without a CANCEL: RFC 3261 §16.6's Timer C (3 min) after the
    last scripted response, 408; then Timer H (no ACK comes) and nothing is left."""
    harness = Harness.from_yaml(RINGING)
    assert statuses(harness.feed(request(call_id="gone", body=OFFER))) == [100, 180]
    assert statuses(harness.advance(RINGING_LIMIT - 0.01)) == []
    assert harness.uas.counts().dialogs == 1  # the early dialog rings on
    sent = harness.advance(0.02)
    assert statuses(sent)[:1] == [408]
    harness.advance(SETTLE)
    assert harness.uas.counts() == ZERO


def test_an_invite_with_expires_that_is_left_ringing_gets_487_then() -> None:
    """§13.3.1: no final response before the INVITE's Expires: 487."""
    harness = Harness.from_yaml(RINGING)
    harness.feed(request(call_id="expiring", extra="Expires: 5", body=OFFER))
    assert statuses(harness.advance(4.99)) == []
    assert statuses(harness.advance(0.02))[:1] == [487]


def test_a_ringing_invite_answered_or_cancelled_in_time_is_left_alone() -> None:
    harness = Harness.from_yaml(RINGING)
    harness.feed(request(call_id="c", body=OFFER))
    assert statuses(harness.feed(request("CANCEL", call_id="c"))) == [200, 487]
    assert 408 not in statuses(harness.advance(RINGING_LIMIT + 1))
