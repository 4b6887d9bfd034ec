"""Findings about the client (sipfault/core/conformance/), on a manual clock.

Each finding is made by a client that misbehaves on purpose, and not by one that does what the
RFC says; every finding's text names the section it rests on.
"""

from __future__ import annotations

import pytest
from test_auth import answer, authenticator, challenge_params
from test_auth import request as auth_request
from uas_harness import OFFER, TCP, Harness, request, response, statuses

from sipfault.core.conformance.acks import AckIndex
from sipfault.core.conformance.registration import RegistrationWatch
from sipfault.core.conformance.retry_after import RetryAfterWatch
from sipfault.core.events import Finding
from sipfault.model.findings import FINDINGS
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message

DROPPED = """
timers: {t1: 500ms, t2: 4s}
rules:
  - match: {method: INVITE}
    faults: [drop]
    reply: [{code: 486, after: 5s}]
  - match: {method: OPTIONS}
    faults: [{fault: drop, count: 5}]
    reply: [200]
"""


def _findings(h: Harness) -> list[Finding]:
    return [event for event in h.events if isinstance(event, Finding)]


def _kinds(h: Harness) -> list[str]:
    return [event.kind for event in _findings(h)]


def test_every_finding_cites_its_section() -> None:
    assert all(kind.description for kind in FINDINGS.values())
    assert all(kind.section.startswith("RFC ") for name, kind in FINDINGS.items()
               if name != "internal-error")


# ------------------------------------------------------------------- branches


def test_a_branch_reused_for_another_request_is_reported_and_absorbed() -> None:
    h = Harness.from_yaml("rules: []")
    assert statuses(h.feed(request("OPTIONS"))) == [200]
    assert statuses(h.feed(request("OPTIONS"))) == [200]  # a retransmission: re-sent
    assert _kinds(h) == []
    h.feed(request("OPTIONS", call_id="another-call"))
    (found,) = _findings(h)
    assert found.kind == "branch-reused" and "Call-ID another-call" in found.text
    assert found.text.endswith("(RFC 3261 §8.1.1.7)")


# ------------------------------------------------------------- retransmission


def test_no_retransmission_while_the_responses_were_dropped() -> None:
    h = Harness.from_yaml(DROPPED)
    h.feed(request(body=OFFER))
    h.advance(1.0)
    assert _kinds(h) == ["no-retransmission"]
    assert "RFC 3261 §17.1.1.2" in _findings(h)[0].text


def test_a_client_that_retransmits_on_time_makes_no_finding() -> None:
    h = Harness.from_yaml(DROPPED)
    h.feed(request(body=OFFER))
    for at in (0.5, 1.5, 3.5):  # T1, then doubling
        h.advance(at - h.now)
        h.feed(request(body=OFFER))
    h.advance(1.0)
    assert _kinds(h) == []


def test_a_non_invite_retransmits_up_to_t2() -> None:
    h = Harness.from_yaml(DROPPED)
    h.feed(request("OPTIONS"))
    for at in (0.5, 1.5, 3.5, 7.5, 11.5):  # 0.5, 1, 2, 4, then T2 = 4
        h.advance(at - h.now)
        h.feed(request("OPTIONS"))
    assert _kinds(h) == []


def test_no_finding_over_tcp_nor_when_a_provisional_got_through() -> None:
    h = Harness.from_yaml(DROPPED)
    h.feed(request(transport="TCP", body=OFFER), TCP)
    h.advance(2)
    ringing = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 100, fault: drop}, {code: 180, after: 100ms}, {code: 486, after: 5s}]
""")
    ringing.feed(request(body=OFFER))
    ringing.advance(2)
    assert _kinds(h) == [] and _kinds(ringing) == []


def test_a_retransmission_sooner_than_t1() -> None:
    h = Harness.from_yaml(DROPPED)
    h.feed(request(body=OFFER))
    h.advance(0.1)
    h.feed(request(body=OFFER))
    assert _kinds(h) == ["early-retransmission"]
    assert "sooner than T1 = 0.5 s" in _findings(h)[0].text


def test_an_interval_that_does_not_double() -> None:
    h = Harness.from_yaml(DROPPED)
    h.feed(request(body=OFFER))
    for at in (0.5, 1.0, 1.5, 2.0):  # every T1, never doubling
        h.advance(at - h.now)
        h.feed(request(body=OFFER))
    assert _kinds(h) == ["no-backoff"]  # reported once per request


def test_a_retransmission_after_the_final_response() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: OPTIONS}
    reply: [200]
""")
    h.feed(request("OPTIONS"))
    h.advance(0.2)
    h.feed(request("OPTIONS"))  # may have crossed the 200: within T1/2
    assert _kinds(h) == []
    h.advance(1.0)
    h.feed(request("OPTIONS"))
    assert _kinds(h) == ["retransmission-after-final"]


def test_a_retransmission_after_a_dropped_final_is_right() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: OPTIONS}
    reply: [{code: 200, fault: drop-first}]
""")
    h.feed(request("OPTIONS"))
    h.advance(0.5)
    h.feed(request("OPTIONS"))
    h.advance(1.0)
    assert _kinds(h) == []


# ----------------------------------------------------------------- Retry-After


BUSY_LATER = """
rules:
  - match: {method: INVITE}
    reply: [{code: 486, headers: {Retry-After: 30}}]
  - match: {method: MESSAGE}
    reply: [{code: 503, headers: {Retry-After: 60}}]
"""


def test_a_new_call_sooner_than_retry_after() -> None:
    h = Harness.from_yaml(BUSY_LATER)
    h.feed(request())
    h.feed(request("ACK", cseq_method="ACK"))
    h.advance(5)
    h.feed(request(call_id="call-2", branch="z9hG4bK-2"))
    (found,) = _findings(h)
    assert found.kind == "retry-after-ignored"
    assert "after a 486 with Retry-After: 30" in found.text and "§20.33" in found.text


def test_a_new_call_after_retry_after_or_to_someone_else_is_fine() -> None:
    h = Harness.from_yaml(BUSY_LATER)
    h.feed(request())
    h.advance(5)
    h.feed(request(uri="sip:carol@127.0.0.1:5060", call_id="call-2", branch="z9hG4bK-2"))
    h.feed(request("OPTIONS", call_id="call-3", branch="z9hG4bK-3"))
    h.advance(30)
    h.feed(request(call_id="call-4", branch="z9hG4bK-4"))
    assert "retry-after-ignored" not in _kinds(h)


def test_after_a_503_any_new_request_counts() -> None:
    h = Harness.from_yaml(BUSY_LATER)
    h.feed(request("MESSAGE"))
    h.advance(1)
    h.feed(request("OPTIONS", call_id="call-2", branch="z9hG4bK-2"))
    assert _kinds(h) == ["retry-after-ignored"]


def test_the_retry_after_table_is_bounded() -> None:
    watch = RetryAfterWatch(size=8)
    for number in range(50):
        invite = _parsed(request(call_id=f"c{number}",
                                 extra=f"Contact: <sip:u{number}@192.0.2.1>")
                         .replace(b"sip:alice@127.0.0.1>", f"sip:u{number}@h>".encode()))
        watch.answered(invite, Response(486, "Busy Here", _retry(30)), "bob", 0.0)
    assert len(watch) <= 8


def _retry(seconds: int) -> object:
    from sipfault.sip.headers import Headers
    return Headers([("Retry-After", str(seconds))])


def _parsed(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


# ---------------------------------------------------------------- registration


REGISTRAR = """
timers: {t1: 500ms}
defaults: {min_expires: 60}
rules: []
"""


def _register(number: int, expires: int = 60) -> bytes:
    return request("REGISTER", uri="sip:127.0.0.1:5060", call_id="reg-1", cseq=number,
                   branch=f"z9hG4bK-r{number}", extra=f"Expires: {expires}")


def test_refreshing_before_expiry_is_right() -> None:
    h = Harness.from_yaml(REGISTRAR)
    for number in range(1, 5):
        assert statuses(h.feed(_register(number))) == [200]
        h.advance(50)
    assert _kinds(h) == []


def test_a_refresh_after_the_binding_expired() -> None:
    h = Harness.from_yaml(REGISTRAR)
    h.feed(_register(1))
    h.advance(70)
    h.feed(_register(2))
    (found,) = _findings(h)
    assert found.kind == "late-refresh" and "10.0 s after" in found.text
    assert "RFC 3261 §10.2.4" in found.text


def test_no_refresh_at_all() -> None:
    h = Harness.from_yaml(REGISTRAR)
    h.feed(_register(1))
    h.advance(60 + 32 + 1)
    assert _kinds(h) == ["no-refresh"]


def test_a_forced_expiry_is_not_held_against_the_client() -> None:
    h = Harness.from_yaml(REGISTRAR + "registrar: {expire: [{after: 10s}]}\n")
    h.feed(_register(1))
    h.advance(50)
    h.feed(_register(2))
    h.advance(100)
    assert "late-refresh" not in _kinds(h)


def test_a_register_storm() -> None:
    h = Harness.from_yaml(REGISTRAR)
    for number in range(1, 30):
        h.feed(_register(number))
        h.advance(1)
    assert _kinds(h) == ["register-storm"]  # once per minute


def test_the_registration_tables_are_bounded() -> None:
    watch = RegistrationWatch(storm=5, size=4)
    for number in range(20):
        watch.register(_parsed(request("REGISTER", uri="sip:127.0.0.1")
                               .replace(b"To: <sip:bob@127.0.0.1>",
                                        f"To: <sip:u{number}@127.0.0.1>".encode())), 0.0)
    assert len(watch._recent) <= 4


# ------------------------------------------------------------------ ACK, CANCEL


def test_an_ack_with_another_branch_ends_the_transaction_as_meant() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 486}]
""")
    h.feed(request())
    h.feed(request("ACK", cseq_method="ACK", branch="z9hG4bK-other"))
    assert statuses(h.advance(40)) == []  # no 486 re-sent until Timer H
    assert _kinds(h) == ["ack-branch-mismatch"]
    assert "RFC 3261 §17.1.1.3" in _findings(h)[0].text


def test_the_ack_of_a_2xx_with_another_to_tag_stops_its_retransmission() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    h.feed(request(body=OFFER))
    h.feed(request("ACK", cseq_method="ACK", branch="z9hG4bK-ack", to_tag="not-ours"))
    assert statuses(h.advance(40)) == []
    assert _kinds(h) == ["ack-wrong-to-tag"]


def test_the_ack_of_a_2xx_with_another_cseq() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    tag = response(h.feed(request(body=OFFER)), 200).to.tag
    h.feed(request("ACK", cseq=7, cseq_method="ACK", branch="z9hG4bK-ack", to_tag=tag))
    assert _kinds(h) == ["ack-wrong-cseq"]
    h2 = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    tag = response(h2.feed(request(body=OFFER)), 200).to.tag
    h2.feed(request("ACK", cseq_method="ACK", branch="z9hG4bK-ack", to_tag=tag))
    h2.advance(40)
    assert _kinds(h2) == []


def test_a_stray_ack_is_still_stray() -> None:
    h = Harness.from_yaml("rules: []")
    h.feed(request("ACK", cseq_method="ACK", call_id="nobody", to_tag="x"))
    assert _kinds(h) == ["stray-ack"]


def test_a_cancel_before_any_provisional() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    faults: [late-100]
    reply: [{code: 200, after: 2s, sdp: answer}]
""")
    h.feed(request(body=OFFER))
    h.advance(0.5)
    h.feed(request("CANCEL", cseq_method="CANCEL"))
    assert "early-cancel" in _kinds(h)
    assert "RFC 3261 §9.1" in _findings(h)[0].text


def test_a_cancel_after_ringing_is_right() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [180, {code: 200, after: 2s, sdp: answer}]
""")
    h.feed(request(body=OFFER))
    h.advance(0.5)
    assert statuses(h.feed(request("CANCEL", cseq_method="CANCEL"))) == [200, 487]
    h.feed(request("ACK", cseq_method="ACK"))
    assert _kinds(h) == []


def test_no_ack_is_not_held_against_a_client_that_never_got_the_final() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [100, {code: 486, fault: drop}]
""")
    h.feed(request())
    h.advance(40)
    assert "no-ack" not in _kinds(h)


def test_the_ack_index_is_bounded() -> None:
    index = AckIndex(size=4)
    for number in range(20):
        index.rejected(_parsed(request(call_id=f"c{number}")), ("k", str(number)))
    assert len(index) <= 4


# --------------------------------------------------------------- authentication


def test_credentials_in_the_other_header_field() -> None:
    auth = authenticator()
    challenge = challenge_params(auth.check(auth_request(), now=0.0))
    outcome = auth.check(auth_request(credentials=(answer(challenge),),
                                      header="Proxy-Authorization", cseq=2), now=1.0)
    assert outcome.status == 401
    assert outcome.notice is not None and outcome.notice[0] == "auth-not-as-challenged"
    assert "Proxy-Authorization" in outcome.notice[1]


def test_credentials_for_another_realm() -> None:
    auth = authenticator()
    challenge = dict(challenge_params(auth.check(auth_request(), now=0.0)), realm="elsewhere")
    outcome = auth.check(auth_request(credentials=(answer(challenge),), cseq=2), now=1.0)
    assert outcome.notice is not None and outcome.notice[0] == "auth-not-as-challenged"
    assert "'elsewhere'" in outcome.notice[1]


@pytest.mark.parametrize("algorithm", ["SHA-256", "SHA-512-256"])
def test_an_algorithm_that_was_not_offered(algorithm: str) -> None:
    auth = authenticator()  # MD5 only
    challenge = dict(challenge_params(auth.check(auth_request(), now=0.0)), algorithm=algorithm)
    outcome = auth.check(auth_request(credentials=(answer(challenge),), cseq=2), now=1.0)
    assert outcome.status == 400
    assert outcome.notice is not None and outcome.notice[0] == "auth-algorithm-not-offered"
    assert "offered: MD5" in outcome.notice[1]


def test_right_credentials_make_no_notice() -> None:
    auth = authenticator()
    challenge = challenge_params(auth.check(auth_request(), now=0.0))
    outcome = auth.check(auth_request(credentials=(answer(challenge),), cseq=2), now=1.0)
    assert outcome.kind == "ok" and outcome.notice is None


def test_auth_findings_reach_the_journal_with_their_section() -> None:
    h = Harness.from_yaml("""
auth:
  users: {alice: secret}
rules: []
""")
    h.feed(request("REGISTER", uri="sip:127.0.0.1:5060",
                   extra='Proxy-Authorization: Digest username="alice", realm="sipfault", '
                         'nonce="x", uri="sip:127.0.0.1:5060", response="0"'))
    (found,) = _findings(h)
    assert found.kind == "auth-not-as-challenged" and found.text.endswith("(RFC 3261 §22.2)")
