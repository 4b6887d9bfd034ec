"""Non-INVITE transactions (RFC 3261 §17.2.2), §8.2 checks and the RFC defaults."""

from __future__ import annotations

import pytest
from uas_harness import TCP, Harness, request, response, statuses

from sipfault.core.events import RequestUnmatched

EMPTY = "name: empty\nrules: []\n"
INVITE_ONLY = """
rules:
  - match: {method: INVITE}
    reply: [486]
"""


def test_options_gets_200_with_allow_accept_supported() -> None:
    h = Harness.from_yaml(INVITE_ONLY)
    ok = response(h.feed(request("OPTIONS")), 200)
    allow = [m.strip() for m in ok.headers.get("Allow", "").split(",")]
    assert allow == ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE"]
    assert ok.headers.get("Accept") == "application/sdp"
    assert "Supported" in ok.headers
    assert ok.to.tag is not None


def test_non_invite_retransmission_gets_same_final_then_timer_j() -> None:
    h = Harness.from_yaml(EMPTY)
    first = h.feed(request("OPTIONS"))
    again = h.feed(request("OPTIONS"))
    assert first[0].data == again[0].data
    h.advance(31.9)
    assert h.feed(request("OPTIONS"))[0].data == first[0].data
    h.advance(0.2)  # Timer J = 64*T1 on UDP: the next one is a new transaction
    fresh = h.feed(request("OPTIONS"))
    assert fresh[0].data != first[0].data  # new To-tag


def test_timer_j_is_zero_over_tcp() -> None:
    h = Harness.from_yaml(EMPTY)
    first = h.feed(request("OPTIONS", transport="TCP"), TCP)
    h.advance(0)
    assert h.feed(request("OPTIONS", transport="TCP"), TCP)[0].data != first[0].data


def test_unknown_method_gets_501() -> None:
    h = Harness.from_yaml(EMPTY)
    sent = h.feed(request("FROBNICATE"))
    assert statuses(sent) == [501]
    assert "Allow" in response(sent, 501).headers


def test_known_method_nothing_handles_gets_405_without_it_in_allow() -> None:
    h = Harness.from_yaml(INVITE_ONLY)
    denied = response(h.feed(request("MESSAGE", body="hi", content_type="text/plain")), 405)
    assert "MESSAGE" not in denied.headers.get("Allow", "")
    assert "INVITE" in denied.headers.get("Allow", "")
    unmatched = [e for e in h.events if isinstance(e, RequestUnmatched)]
    assert [(e.request.method, e.status) for e in unmatched] == [("MESSAGE", 405)]


def test_initial_invite_without_rule_gets_405() -> None:
    h = Harness.from_yaml(EMPTY)
    denied = response(h.feed(request()), 405)
    assert "INVITE" not in denied.headers.get("Allow", "")


def test_require_unknown_option_gets_420_with_unsupported() -> None:
    h = Harness.from_yaml(INVITE_ONLY)
    sent = h.feed(request("OPTIONS", extra="Require: foo, bar\nProxy-Require: baz"))
    bad = response(sent, 420)
    assert bad.headers.get("Unsupported") == "foo, bar"


def test_unknown_session_body_type_gets_415_with_accept() -> None:
    h = Harness.from_yaml(INVITE_ONLY)
    sent = h.feed(request(body="x", content_type="application/unknownformat"))
    assert response(sent, 415).headers.get("Accept") == "application/sdp"


def test_unknown_content_encoding_gets_415_with_accept_encoding() -> None:
    h = Harness.from_yaml(INVITE_ONLY)
    sent = h.feed(request(body="x", extra="Content-Encoding: br"))
    assert response(sent, 415).headers.get("Accept-Encoding") == "identity"


def test_bye_and_in_dialog_request_for_unknown_dialog_get_481() -> None:
    h = Harness.from_yaml(INVITE_ONLY)
    assert statuses(h.feed(request("BYE", to_tag="nope"))) == [481]
    assert statuses(h.feed(request("INFO", branch="z9hG4bK-2", to_tag="nope"))) == [481]


def test_register_echoes_contact_with_expires() -> None:
    h = Harness.from_yaml(EMPTY)
    ok = response(h.feed(request("REGISTER", uri="sip:127.0.0.1", extra="Expires: 120")), 200)
    assert ok.headers.values("Contact") == ["<sip:alice@127.0.0.1:5070>;expires=120"]


def test_malformed_request_gets_400_naming_the_defect() -> None:
    h = Harness.from_yaml(EMPTY)
    data = request("OPTIONS").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
    bad = response(h.feed(data), 400)
    assert bad.reason == "CSeq method does not match the request method"
    assert h.findings("bad-request")


def test_bad_version_gets_505() -> None:
    h = Harness.from_yaml(EMPTY)
    data = request("OPTIONS").replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1)
    assert statuses(h.feed(data)) == [505]


def test_unparsable_bytes_are_dropped_and_journaled() -> None:
    h = Harness.from_yaml(EMPTY)
    assert h.feed(b"\x00\x01garbage") == []
    assert h.feed(request("OPTIONS")) != []  # still serving


def test_stray_response_is_dropped() -> None:
    h = Harness.from_yaml(EMPTY)
    stray = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
             b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
             b"Content-Length: 0\r\n\r\n")
    assert h.feed(stray) == []


def test_counters_first_nth_every() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: OPTIONS, first: 2}
    reply: [503]
  - match: {method: OPTIONS, every: 2}
    reply: [480]
  - match: {method: OPTIONS}
    reply: [200]
""")
    codes = [statuses(h.feed(request("OPTIONS", branch=f"z9hG4bK-{i}")))[0] for i in range(6)]
    # Requests 3..6 fall through the first rule; the second rule sees them as its 1st..4th.
    assert codes == [503, 503, 200, 480, 200, 480]


def test_nth_rule() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: OPTIONS, nth: 3}
    reply: [500]
  - match: {method: OPTIONS}
    reply: [200]
""")
    codes = [statuses(h.feed(request("OPTIONS", branch=f"z9hG4bK-{i}")))[0] for i in range(4)]
    assert codes == [200, 200, 500, 200]


def test_probability_is_reproducible_with_a_seed() -> None:
    text = """
seed: 42
rules:
  - match: {method: OPTIONS, probability: 0.5}
    reply: [503]
  - match: {method: OPTIONS}
    reply: [200]
"""
    def run() -> list[int]:
        h = Harness.from_yaml(text, seed=0)
        h.uas.engine.replace(h.uas.engine.scenario)
        return [statuses(h.feed(request("OPTIONS", branch=f"z9hG4bK-{i}")))[0]
                for i in range(20)]

    first = run()
    assert first == run()
    assert set(first) == {200, 503}


def test_match_on_ruri_user_header_and_transport() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE, user: "4\\\\d\\\\d", transport: tcp}
    reply: [486]
  - match: {method: INVITE, headers: {User-Agent: "^printer/"}}
    reply: [488]
  - match: {method: INVITE}
    reply: [603]
""")
    assert statuses(h.feed(request(uri="sip:486@127.0.0.1", transport="TCP"), TCP))[-1] == 486
    assert statuses(h.feed(request(uri="sip:486@127.0.0.1", branch="z9hG4bK-2")))[-1] == 603
    printer = request(branch="z9hG4bK-3", extra="User-Agent: printer/2.1")
    assert statuses(h.feed(printer))[-1] == 488


def test_drop_rule_never_answers_and_is_forgotten_after_64_t1() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE, first: 1}
    drop: true
  - match: {method: INVITE}
    reply: [486]
""")
    assert h.feed(request()) == []
    assert h.feed(request()) == []  # the retransmission is absorbed too
    assert h.advance(40) == []
    assert statuses(h.feed(request(branch="z9hG4bK-2"))) == [486]


def test_placeholders_fill_header_values() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply:
      - {code: 302, headers: {Contact: "<sip:{ruri_user}@{local_host}:{local_port}>"}}
""")
    moved = response(h.feed(request(uri="sip:carol@127.0.0.1:5060")), 302)
    assert moved.headers.values("Contact") == ["<sip:carol@127.0.0.1:5060>"]


def test_invite_whose_accept_rules_out_sdp_gets_406() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [100, {code: 200, sdp: answer}]
""")
    refused = response(h.feed(request(extra="Accept: text/nobodyKnowsThis")), 406)
    assert refused.headers.get("Warning", "").startswith('399 127.0.0.1 "Accept does not allow')
    assert statuses(h.feed(request(branch="z9hG4bK-2", call_id="c2",
                                   extra="Accept: application/*")))[-1] == 200


def test_a_body_the_client_does_not_accept_becomes_406() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: MESSAGE}
    reply: [{code: 200, body: "hello"}]
""")
    sent = h.feed(request("MESSAGE", body="hi", content_type="text/plain",
                          extra="Accept: application/json"))
    assert statuses(sent) == [406]


def test_a_failure_inside_the_core_is_reported_and_serving_goes_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness.from_yaml(EMPTY)

    def broken(*args: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(h.uas, "_dispatch", broken)
    assert h.feed(request("OPTIONS")) == []
    assert [f.text for f in h.findings("internal-error")] == [
        "internal error: ZeroDivisionError: boom"]
    monkeypatch.undo()
    assert statuses(h.feed(request("OPTIONS", branch="z9hG4bK-2"))) == [200]


def test_a_failing_timer_does_not_stop_the_others() -> None:
    h = Harness.from_yaml(EMPTY)
    fired: list[float] = []

    def broken(now: float) -> None:
        raise RuntimeError("timer bug")

    h.uas.timers.schedule(1.0, broken)
    h.uas.timers.schedule(1.0, fired.append)
    h.advance(2)
    assert fired == [1.0]
    assert h.findings("internal-error")
