"""INVITE server transactions and the 2xx retransmission of the UAS core, on a manual clock.

RFC 3261 §17.2.1 (Timers G, H, I), §13.3.1.4 (2xx until ACK), §9.2 (CANCEL), RFC 6026.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from uas_harness import OFFER, TCP, Harness, request, response, statuses

from sipfault.core.events import TimerFired
from sipfault.sip.message import Request, Response

BUSY = """
name: busy
timers: {t1: 500ms, t2: 4s, t4: 5s}
rules:
  - match: {method: INVITE}
    reply:
      - 100
      - {code: 180, after: 200ms}
      - {code: 486, after: 1s, headers: {Retry-After: 30}}
"""

ANSWER = """
name: answer
rules:
  - match: {method: INVITE}
    reply: [100, 180, {code: 200, sdp: answer}]
"""

RING = """
name: ring
rules:
  - match: {method: INVITE}
    reply: [100, 180]
"""


def test_busy_sequence_and_timing() -> None:
    h = Harness.from_yaml(BUSY)
    assert statuses(h.feed(request())) == [100]
    assert statuses(h.advance(0.19)) == []
    assert statuses(h.advance(0.02)) == [180]
    assert statuses(h.advance(0.99)) == [486]
    final = response(h.sent, 486)
    assert final.headers.get("Retry-After") == "30"
    assert [s.time for s in h.sent] == pytest.approx([0.0, 0.2, 1.2])


def test_to_tag_absent_on_100_and_stable_after() -> None:
    h = Harness.from_yaml(BUSY)
    h.feed(request())
    h.advance(2)
    trying, ringing, busy = (s.message for s in h.sent[:3])
    assert isinstance(trying, Response) and trying.to.tag is None
    assert ringing.to.tag is not None
    assert ringing.to.tag == busy.to.tag


def test_timer_g_doubles_to_t2_until_timer_h() -> None:
    h = Harness.from_yaml(BUSY)
    h.feed(request())
    h.advance(40)
    times = [s.time for s in h.sent if isinstance(s.message, Response) and s.message.status == 486]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps[:5] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert times[-1] <= 1.2 + 32
    assert len(h.findings("no-ack")) == 1  # Timer H fired at 64*T1


def test_ack_stops_retransmission_and_absorbs_retransmitted_invite() -> None:
    h = Harness.from_yaml(BUSY)
    h.feed(request())
    h.advance(1.3)
    assert h.feed(request("ACK", cseq_method="ACK")) == []
    assert statuses(h.advance(4.9)) == []
    assert h.feed(request()) == []  # Confirmed: absorbed until Timer I (T4)
    h.advance(0.2)
    assert statuses(h.feed(request())) == [100]  # Timer I fired: a new transaction
    assert h.findings("no-ack") == []


def test_retransmitted_invite_gets_latest_response() -> None:
    h = Harness.from_yaml(BUSY)
    h.feed(request())
    h.advance(0.3)
    assert statuses(h.feed(request())) == [180]
    h.advance(1.0)
    assert statuses(h.feed(request())) == [486]


def test_no_timer_g_over_tcp() -> None:
    h = Harness.from_yaml(BUSY)
    h.feed(request(transport="TCP"), TCP)
    assert statuses(h.advance(40)) == [180, 486]
    assert all(s.peer == TCP for s in h.sent)


def test_received_and_rport_filled() -> None:
    h = Harness.from_yaml(BUSY)
    sent = h.feed(request())
    via = sent[0].message.top_via
    assert via.params == (("branch", "z9hG4bK-1"), ("rport", "5070"), ("received", "127.0.0.1"))


def test_timestamp_copied_into_100() -> None:
    h = Harness.from_yaml(BUSY)
    sent = h.feed(request(extra="Timestamp: 54"))
    assert sent[0].message.headers.get("Timestamp") == "54"


def test_auto_100_when_first_step_is_delayed() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 603, after: 1s}]
""")
    assert statuses(h.feed(request())) == [100]
    assert statuses(h.advance(1)) == [603]


def test_answer_creates_dialog_with_contact_record_route_and_sdp() -> None:
    h = Harness.from_yaml(ANSWER)
    sent = h.feed(request(body=OFFER, extra="Record-Route: <sip:p1.example.com;lr>"))
    assert statuses(sent) == [100, 180, 200]
    ok = response(sent, 200)
    assert ok.headers.get("Contact") == "<sip:bob@127.0.0.1:5060>"
    assert ok.headers.values("Record-Route") == ["<sip:p1.example.com;lr>"]
    assert response(sent, 180).headers.get("Contact") is not None
    assert ok.content_type == "application/sdp"
    body = ok.body.decode()
    assert "m=audio 40000 RTP/AVP 0 101" in body
    assert "c=IN IP4 127.0.0.1" in body
    assert ok.headers.get("Content-Length") == str(len(ok.body))


def test_2xx_retransmitted_until_ack() -> None:
    h = Harness.from_yaml(ANSWER)
    h.feed(request(body=OFFER))
    again = h.advance(3.6)
    assert [round(s.time, 3) for s in again] == [0.5, 1.5, 3.5]
    tag = response(h.sent, 200).to.tag
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    assert h.advance(40) == []
    assert h.findings("no-ack") == []


def test_2xx_retransmitted_over_tcp_too() -> None:
    h = Harness.from_yaml(ANSWER)
    h.feed(request(transport="TCP", body=OFFER), TCP)
    assert [round(s.time, 3) for s in h.advance(1.0)] == [0.5]


def test_no_ack_for_2xx_ends_dialog_with_bye() -> None:
    h = Harness.from_yaml(ANSWER)
    h.feed(request(body=OFFER))
    out = h.advance(32.0)
    byes = [s for s in out if isinstance(s.message, Request)]
    assert len(byes) == 1
    bye = byes[0].message
    assert isinstance(bye, Request) and bye.method == "BYE"
    assert bye.uri == "sip:alice@127.0.0.1:5070"
    assert bye.from_.tag == response(h.sent, 200).to.tag
    assert bye.to.tag == "ft1"
    assert len(h.findings("no-ack")) == 1
    assert h.uas.dialogs == []
    # The BYE is re-sent on Timer E until a response comes.
    assert [s.message.method for s in h.advance(0.6) if isinstance(s.message, Request)] == ["BYE"]
    ok = (
        f"SIP/2.0 200 OK\r\nVia: {bye.headers.get('Via')}\r\n"
        f"From: {bye.headers.get('From')}\r\nTo: {bye.headers.get('To')}\r\n"
        "Call-ID: call-1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
    )
    h.feed(ok.encode())
    assert h.advance(60) == []


def test_bye_in_dialog_gets_200_and_ends_it() -> None:
    h = Harness.from_yaml(ANSWER)
    h.feed(request(body=OFFER))
    tag = response(h.sent, 200).to.tag
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    sent = h.feed(request("BYE", branch="z9hG4bK-bye", to_tag=tag, cseq=2))
    assert statuses(sent) == [200]
    assert h.uas.dialogs == []
    again = h.feed(request("BYE", branch="z9hG4bK-bye2", to_tag=tag, cseq=3))
    assert statuses(again) == [481]


def test_cancel_of_ringing_call() -> None:
    h = Harness.from_yaml(RING)
    h.feed(request())
    ringing = response(h.sent, 180)
    sent = h.feed(request("CANCEL", cseq_method="CANCEL"))
    assert statuses(sent) == [200, 487]
    ok, terminated = response(sent, 200), response(sent, 487)
    assert ok.cseq == (1, "CANCEL")
    assert terminated.cseq == (1, "INVITE")
    assert ok.to.tag == ringing.to.tag == terminated.to.tag
    h.feed(request("ACK", cseq_method="ACK", to_tag=ringing.to.tag))
    assert statuses(h.advance(40)) == []


def test_cancel_matching_nothing_gets_481() -> None:
    h = Harness.from_yaml(RING)
    assert statuses(h.feed(request("CANCEL", branch="z9hG4bK-nothing"))) == [481]


def test_cancel_after_final_gets_200_only() -> None:
    h = Harness.from_yaml(BUSY)
    h.feed(request())
    h.advance(1.3)
    assert statuses(h.feed(request("CANCEL", cseq_method="CANCEL"))) == [200]


def test_reinvite_in_dialog_is_accepted_by_default() -> None:
    h = Harness.from_yaml(ANSWER)
    h.feed(request(body=OFFER))
    tag = response(h.sent, 200).to.tag
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    t38 = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=image 49172 udptl t38") + \
        "a=T38FaxVersion:0\r\na=T38FaxRateManagement:transferredTCF\r\n"
    sent = h.feed(request(branch="z9hG4bK-re", to_tag=tag, cseq=2, body=t38))
    ok = response(sent, 200)
    assert "m=image 40000 udptl t38" in ok.body.decode()
    assert "a=T38FaxRateManagement:transferredTCF" in ok.body.decode()


def test_out_of_order_cseq_in_dialog_gets_500() -> None:
    h = Harness.from_yaml(ANSWER)
    h.feed(request(cseq=5, body=OFFER))
    tag = response(h.sent, 200).to.tag
    sent = h.feed(request("BYE", branch="z9hG4bK-bye", to_tag=tag, cseq=4))
    assert statuses(sent) == [500]


def test_timers_are_journaled_by_name() -> None:
    h = Harness.from_yaml(BUSY)
    h.feed(request())
    h.advance(40)
    fired = [(e.timer, round(e.time, 3), e.call_id) for e in h.events
             if isinstance(e, TimerFired)]
    assert fired[:2] == [("G", 1.7, "call-1"), ("G", 2.7, "call-1")]
    assert ("H", 33.2, "call-1") in fired
    h2 = Harness.from_yaml(ANSWER)
    h2.feed(request(body=OFFER))
    h2.advance(40)
    names = [e.timer for e in h2.events if isinstance(e, TimerFired)]
    assert names[:3] == ["2xx", "2xx", "2xx"]
    assert {"2xx-timeout", "L", "E"} <= set(names)


T38 = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=image 49172 udptl t38") + \
    "a=T38FaxVersion:0\r\na=T38FaxRateManagement:transferredTCF\r\n"


def reinvite_t38(scenario_file: str) -> Response:
    h = Harness.from_yaml((Path(__file__).resolve().parents[2] / scenario_file).read_text())
    h.feed(request(body=OFFER))
    ok = response(h.advance(1.3), 200)
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=ok.to.tag, cseq_method="ACK"))
    sent = h.feed(request(branch="z9hG4bK-re", to_tag=ok.to.tag, cseq=2, body=T38))
    final = [s.message for s in sent if isinstance(s.message, Response)][-1]
    assert isinstance(final, Response)
    return final


def test_foip_bench_refuses_or_accepts_t38() -> None:
    refused = reinvite_t38("scenarios/foip/t38-reject-488.yaml")
    assert refused.status == 488
    assert refused.headers.get("Warning") == '304 127.0.0.1 "Media type not available: T.38"'
    accepted = reinvite_t38("scenarios/foip/t38-accept.yaml")
    assert accepted.status == 200
    assert "m=image 40000 udptl t38" in accepted.body.decode()
