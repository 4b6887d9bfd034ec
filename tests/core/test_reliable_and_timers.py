"""Reliable provisionals (RFC 3262) and session timers (RFC 4028) on a manual clock."""

from __future__ import annotations

from uas_harness import OFFER, Harness, request, response, statuses

from sipfault.sip.message import Response

RING_THEN_ANSWER = """
rules:
  - match: {method: INVITE}
    reply:
      - 100
      - {code: 180, reliable: true}
      - {code: 183, after: 100ms, sdp: answer}
      - {code: 200, after: 100ms, sdp: answer}
"""


def prack(rseq: int, tag: str, cseq: int = 2, branch: str = "z9hG4bK-prack") -> bytes:
    return request("PRACK", branch=branch, to_tag=tag, cseq=cseq,
                   extra=f"RAck: {rseq} 1 INVITE")


def test_require_100rel_makes_every_provisional_reliable_until_prack() -> None:
    h = Harness.from_yaml(RING_THEN_ANSWER)
    sent = h.feed(request(body=OFFER, extra="Require: 100rel\nSupported: timer"))
    assert statuses(sent) == [100, 180]
    assert "Require" not in sent[0].message.headers  # 100 is never reliable
    ringing = response(sent, 180)
    assert ringing.headers.get("Require") == "100rel"
    rseq = int(ringing.headers.get("RSeq") or "0")
    assert 1 <= rseq < 2**31
    # Re-sent at T1, doubling, with no cap; the 183 waits for the PRACK.
    again = h.advance(1.6)
    assert [round(s.time, 2) for s in again] == [0.5, 1.5]
    assert statuses(again) == [180, 180]
    tag = ringing.to.tag or ""
    sent = h.feed(prack(rseq, tag))
    assert statuses(sent) == [200, 183]  # the PRACK's own 200, then the 183 that waited
    assert response(sent, 200).cseq == (2, "PRACK")
    progress = response(sent, 183)
    assert progress.headers.get("RSeq") == str(rseq + 1)
    # The 200 to the INVITE waits for the PRACK of the 183.
    assert statuses(h.advance(0.5)) == [183]
    sent = h.feed(prack(rseq + 1, tag, cseq=3, branch="z9hG4bK-prack2"))
    assert [(r.status, r.cseq[1]) for r in (s.message for s in sent)
            if isinstance(r, Response)] == [(200, "PRACK"), (200, "INVITE")]


def test_unmatched_prack_gets_481() -> None:
    h = Harness.from_yaml(RING_THEN_ANSWER)
    sent = h.feed(request(extra="Require: 100rel"))
    ringing = response(sent, 180)
    assert statuses(h.feed(prack(999, ringing.to.tag or ""))) == [481]


def test_no_prack_within_64_t1_rejects_invite_with_5xx() -> None:
    h = Harness.from_yaml(RING_THEN_ANSWER)
    h.feed(request(extra="Require: 100rel"))
    sent = h.advance(33)
    finals = [s.message.status for s in sent
              if isinstance(s.message, Response) and s.message.status >= 200]
    assert finals[0] == 500
    assert h.findings("no-prack")


def test_supported_100rel_lets_the_scenario_choose() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [100, 180, {code: 183, after: 1s}]
""")
    sent = h.feed(request(extra="Supported: 100rel"))
    assert "RSeq" not in response(sent, 180).headers
    h2 = Harness.from_yaml(RING_THEN_ANSWER)
    assert "RSeq" in response(h2.feed(request(extra="Supported: 100rel")), 180).headers
    h3 = Harness.from_yaml(RING_THEN_ANSWER)
    assert "RSeq" not in response(h3.feed(request()), 180).headers


def test_demanding_100rel_of_a_client_without_it_gets_421() -> None:
    h = Harness.from_yaml("""
defaults: {require_100rel: true}
rules:
  - match: {method: INVITE}
    reply: [180]
""")
    refused = response(h.feed(request()), 421)
    assert refused.headers.get("Require") == "100rel"
    h2 = Harness.from_yaml("""
defaults: {require_100rel: true}
rules:
  - match: {method: INVITE}
    reply: [180]
""")
    assert statuses(h2.feed(request(extra="Supported: 100rel"))) == [180]


def test_session_expires_below_min_se_gets_422() -> None:
    h = Harness.from_yaml("""
defaults: {min_se: 120}
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    refused = response(h.feed(request(extra="Session-Expires: 90")), 422)
    assert refused.headers.get("Min-SE") == "120"


def test_accepted_session_expires_is_echoed_with_refresher() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    ok = response(h.feed(request(body=OFFER, extra="Session-Expires: 1800\nSupported: timer")),
                  200)
    assert ok.headers.get("Session-Expires") == "1800;refresher=uac"
    assert ok.headers.get("Require") == "timer"
    h2 = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    ok2 = response(h2.feed(request(body=OFFER, extra="x: 1800")), 200)
    assert ok2.headers.get("Session-Expires") == "1800;refresher=uas"


def test_scripted_codes_carry_required_fields() -> None:
    h = Harness.from_yaml("""
defaults: {retry_after: {503: 120}}
rules:
  - match: {method: INVITE, user: "401"}
    reply: [401]
  - match: {method: INVITE, user: "405"}
    reply: [405]
  - match: {method: INVITE, user: "423"}
    reply: [423]
  - match: {method: INVITE, user: "302"}
    reply: [302]
  - match: {method: INVITE, user: "503"}
    reply: [503]
  - match: {method: INVITE, user: "omit"}
    reply: [{code: 405, omit: [Allow]}]
""")
    def final(user: str, n: int) -> Response:
        sent = h.feed(request(uri=f"sip:{user}@127.0.0.1", branch=f"z9hG4bK-{n}",
                              call_id=f"c{n}"))
        return [s.message for s in sent if isinstance(s.message, Response)][-1]

    challenge = final("401", 1).headers.lines("WWW-Authenticate")
    assert [c.split("algorithm=")[1].split(",")[0] for c in challenge] == ["MD5"]
    assert all('realm="sipfault"' in c and "qop=\"auth\"" in c for c in challenge)
    # §21.4.6: a 405's Allow names the methods allowed, so never the one it refuses.
    allow = final("405", 2).headers.get("Allow") or ""
    assert "BYE" in allow and "INVITE" not in allow
    assert final("423", 3).headers.get("Min-Expires") == "60"
    assert final("302", 4).headers.get("Contact") == "<sip:302@127.0.0.1:5060>"
    assert final("503", 5).headers.get("Retry-After") == "120"
    assert "Allow" not in final("omit", 6).headers


def test_dial_a_code() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    dial_a_code: {ring: 100ms, answer_after: 200ms}
""")
    h.feed(request(uri="sip:486@127.0.0.1"))
    assert statuses(h.advance(0.5)) == [180, 486]
    assert [s.time for s in h.sent] == [0.0, 0.1, 0.30000000000000004]
    h.feed(request(uri="sip:999@127.0.0.1", branch="z9hG4bK-2", call_id="c2"))
    assert statuses(h.advance(1))[-1] == 404
    h.feed(request(uri="sip:200@127.0.0.1", branch="z9hG4bK-3", call_id="c3", body=OFFER))
    ok = response(h.advance(1), 200)
    assert ok.content_type == "application/sdp"


def test_dialled_redirect_points_at_the_number_that_answers() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    dial_a_code: {ring: 0ms, answer_after: 0ms}
""")
    moved = response(h.feed(request(uri="sip:302@127.0.0.1")), 302)
    assert moved.headers.values("Contact") == ["<sip:200@127.0.0.1:5060>"]
    h.feed(request(uri="sip:200@127.0.0.1", branch="z9hG4bK-2", call_id="c2"))
    assert statuses(h.sent)[-1] == 200


def test_require_100rel_makes_provisionals_reliable_for_a_supporting_client() -> None:
    h = Harness.from_yaml("""
defaults: {require_100rel: true}
rules:
  - match: {method: INVITE}
    reply: [100, 180]
""")
    ringing = response(h.feed(request(extra="Supported: 100rel")), 180)
    assert ringing.headers.get("Require") == "100rel" and "RSeq" in ringing.headers
