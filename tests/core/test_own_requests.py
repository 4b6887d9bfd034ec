"""Requests sipfault sends itself in a dialog (a scenario's ``then`` actions), on the manual
clock: the INVITE client transaction (RFC 3261 §17.1.1: Timers A and B, the ACK of a failure,
RFC 6026 Accepted), the ACK of a 2xx and of its retransmissions (§13.2.2.4), the 491 retry
(§14.1), glare the other way (§14.2), and the BYE of a far end hanging up mid-fax."""

from __future__ import annotations

from uas_harness import OFFER, Harness, request, response, statuses

from sipfault.core.client import INVITE_TRANSITIONS, InviteState
from sipfault.core.events import Finding, MediaStarted, MediaStopped, RequestOutcome, TimerFired
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message
from sipfault.sip.sdp import parse_sdp
from tests.core.far_end import T38_ANSWER, reply_to, requests_of

GATEWAY = """
rules:
  - name: answer-then-t38
    match: {method: INVITE, in_dialog: false}
    reply: [{code: 200, sdp: answer}]
    then:
      - {after: 2s, send: reinvite, sdp: t38}
      - {after: 10s, send: bye}
"""

def answered_call(scenario: str = GATEWAY) -> tuple[Harness, str]:
    """A call answered 200 and acknowledged at t=0; the To-tag sipfault chose."""
    h = Harness.from_yaml(scenario)
    tag = response(h.feed(request(body=OFFER)), 200).to.tag or ""
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    return h, tag


def outcomes(h: Harness) -> list[tuple[str, str, int, int]]:
    return [(e.method, e.purpose, e.status, e.attempt) for e in h.events
            if isinstance(e, RequestOutcome)]


def test_the_invite_client_transaction_is_a_table() -> None:
    assert INVITE_TRANSITIONS[InviteState.COMPLETED] == frozenset({InviteState.TERMINATED})
    assert InviteState.ACCEPTED in INVITE_TRANSITIONS[InviteState.CALLING]
    assert InviteState.TERMINATED not in INVITE_TRANSITIONS[InviteState.PROCEEDING]


def test_the_reinvite_offering_t38_is_built_from_the_dialog() -> None:
    h, tag = answered_call()
    assert requests_of(h.advance(1.9), "INVITE") == []
    (reinvite,) = requests_of(h.advance(0.1), "INVITE")
    assert reinvite.uri == "sip:alice@127.0.0.1:5070"  # the remote target (§12.2.1.1)
    assert reinvite.from_.tag == tag and reinvite.to.tag == "ft1"
    assert reinvite.cseq == (1, "INVITE")
    assert reinvite.headers.get("Contact") == "<sip:bob@127.0.0.1:5060>"
    (image,) = parse_sdp(reinvite.body).media
    assert (image.media, image.port, image.proto) == ("image", 40000, "udptl")  # the audio port
    assert image.t38.version == 0 and image.t38.udp_ec == "t38UDPRedundancy"
    origin = parse_sdp(reinvite.body).origin
    first = parse_sdp(response(h.sent, 200).body).origin
    assert origin.session_id == first.session_id and int(origin.version) == int(first.version) + 1


def test_timer_a_doubles_and_timer_b_ends_the_dialog_with_a_bye() -> None:
    h, _ = answered_call()
    h.advance(2.0)
    sent = h.advance(40.0)
    resent = [round(item.time, 2) for item in sent
              if isinstance(item.message, Request) and item.message.method == "INVITE"]
    assert resent == [2.5, 3.5, 5.5, 9.5, 17.5, 33.5]  # T1, 2T1, 4T1... until Timer B
    timers = [(e.timer, round(e.time, 2)) for e in h.events if isinstance(e, TimerFired)]
    assert ("B", 34.0) in timers
    assert ("INVITE", "t38", 0, 1) in outcomes(h)
    bye = requests_of(h.sent, "BYE")
    assert len(bye) >= 1 and bye[0].cseq == (2, "BYE")  # §12.2.1.2: no answer ends the dialog
    assert h.uas.dialogs == []
    assert any(isinstance(e, MediaStopped) and e.reason == "dialog ended" for e in h.events)


def test_a_2xx_is_acknowledged_again_on_each_retransmission() -> None:
    h, _ = answered_call()
    (reinvite,) = requests_of(h.advance(2.0), "INVITE")
    ok = reply_to(reinvite, 200, T38_ANSWER, "OK")
    (ack,) = requests_of(h.feed(ok), "ACK")
    assert ack.cseq == (1, "ACK")  # the INVITE's number (§13.2.2.4)
    assert ack.top_via.branch != reinvite.top_via.branch  # a new transaction
    assert ack.uri == "sip:alice@127.0.0.1:5070;transport=udp"  # the 2xx refreshed the target
    (again,) = requests_of(h.feed(ok), "ACK")
    assert again.to_bytes() == ack.to_bytes()
    assert requests_of(h.advance(5.0), "INVITE") == []  # Timer A stopped
    assert outcomes(h) == [("INVITE", "t38", 200, 1)]
    started = [e for e in h.events if isinstance(e, MediaStarted)]
    assert [(e.media, e.local[1], e.remote) for e in started] == [
        ("audio", 40000, ("127.0.0.1", 49170)), ("image", 40000, ("127.0.0.1", 49172))]


def test_a_failure_is_acknowledged_by_the_transaction_and_reported() -> None:
    h, _ = answered_call()
    (reinvite,) = requests_of(h.advance(2.0), "INVITE")
    refused = reply_to(reinvite, 488, reason="Not Acceptable Here")
    (ack,) = requests_of(h.feed(refused), "ACK")
    assert ack.top_via.branch == reinvite.top_via.branch  # §17.1.1.3: same transaction
    assert ack.cseq == (1, "ACK") and ack.uri == reinvite.uri
    assert requests_of(h.feed(refused), "ACK")[0].to_bytes() == ack.to_bytes()  # Timer D
    assert outcomes(h) == [("INVITE", "t38", 488, 1)]
    (finding,) = h.findings("request-refused")
    assert finding.details == {"method": "INVITE", "status": "488", "purpose": "t38"}
    assert h.uas.dialogs != []  # the call goes on, in audio
    assert not any(isinstance(e, MediaStopped) for e in h.events)


def test_a_200_refusing_t38_with_port_zero_is_a_finding() -> None:
    h, _ = answered_call()
    (reinvite,) = requests_of(h.advance(2.0), "INVITE")
    port_zero = T38_ANSWER.replace("m=image 49172", "m=image 0")
    h.feed(reply_to(reinvite, 200, port_zero, "OK"))
    (finding,) = h.findings("request-refused")
    assert "answered 200 with m=image 0" in finding.text
    assert not any(isinstance(e, MediaStarted) and e.media == "image" for e in h.events)


def test_491_is_retried_after_the_seeded_interval() -> None:
    h, _ = answered_call()
    (reinvite,) = requests_of(h.advance(2.0), "INVITE")
    h.feed(reply_to(reinvite, 491, reason="Request Pending"))
    later = h.advance(2.01)
    (retry,) = requests_of(later, "INVITE")
    delay = next(item.time for item in later if item.message is retry) - 2.0
    assert 0 <= delay <= 2.0
    assert abs(round(delay, 2) - delay) < 1e-9  # §14.1: in units of 10 ms
    assert retry.cseq == (2, "INVITE")
    assert outcomes(h) == [("INVITE", "t38", 491, 1)]
    again = Harness.from_yaml(GATEWAY)  # the same seed, the same interval
    tag = response(again.feed(request(body=OFFER)), 200).to.tag or ""
    again.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    (first,) = requests_of(again.advance(2.0), "INVITE")
    again.feed(reply_to(first, 491, reason="Request Pending"))
    retried = [item.time for item in again.advance(2.01)
               if isinstance(item.message, Request) and item.message.method == "INVITE"]
    assert retried[0] - 2.0 == delay


def test_the_bye_ends_the_dialog_mid_fax() -> None:
    h, _ = answered_call()
    (reinvite,) = requests_of(h.advance(2.0), "INVITE")
    h.feed(reply_to(reinvite, 200, T38_ANSWER, "OK"))
    (bye,) = requests_of(h.advance(8.0), "BYE")
    assert bye.cseq == (2, "BYE")
    assert h.uas.dialogs == []  # ended as the BYE left (§15.1.1)
    stopped = [e for e in h.events if isinstance(e, MediaStopped)]
    assert [(e.media, e.reason) for e in stopped] == [("audio", "now image"),
                                                      ("image", "dialog ended")]
    h.feed(reply_to(bye, 200, reason="OK"))
    assert outcomes(h)[-1] == ("BYE", "bye", 200, 1)


def test_an_action_waits_for_the_ack_of_our_2xx() -> None:
    h = Harness.from_yaml(GATEWAY)
    tag = response(h.feed(request(body=OFFER)), 200).to.tag or ""
    h.advance(2.0)
    assert requests_of(h.sent, "INVITE") == []  # §14.1: our 2xx transaction is in progress
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    assert len(requests_of(h.advance(0.6), "INVITE")) == 1


def test_their_reinvite_while_ours_is_pending_gets_491() -> None:
    h, tag = answered_call()
    h.advance(2.0)
    sent = h.feed(request(branch="z9hG4bK-glare", to_tag=tag, cseq=2, body=OFFER))
    assert statuses(sent) == [491]


def test_a_second_reinvite_while_the_first_is_unanswered_gets_500_with_retry_after() -> None:
    h, tag = answered_call("""
rules:
  - match: {method: INVITE, in_dialog: true}
    reply: [{code: 200, after: 5s, sdp: answer}]
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    assert statuses(h.feed(request(branch="z9hG4bK-r1", to_tag=tag, cseq=2, body=OFFER))) == [100]
    sent = h.feed(request(branch="z9hG4bK-r2", to_tag=tag, cseq=3, body=OFFER))
    assert statuses(sent) == [500]
    retry_after = response(sent, 500).headers.get("Retry-After") or ""
    assert 0 <= int(retry_after) <= 10  # §14.2
    h.feed(request("ACK", branch="z9hG4bK-r2", to_tag=tag, cseq=3, cseq_method="ACK"))
    assert statuses(h.advance(5.0)) == [200]
    sent = h.feed(request(branch="z9hG4bK-r3", to_tag=tag, cseq=4, body=OFFER))
    assert statuses(sent) == [100]  # the first one is answered: no longer pending


def test_actions_from_the_first_media_packet() -> None:
    h, _ = answered_call("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
    then: [{after: 1s, from: media, send: info}]
""")
    h.advance(30.0)
    assert requests_of(h.sent, "INFO") == []
    h.uas.media_activity(1, "rtp", ("127.0.0.1", 49170), h.now)
    (info,) = requests_of(h.advance(1.0), "INFO")
    assert info.cseq == (1, "INFO")
    h.feed(reply_to(info, 200, reason="OK"))
    assert outcomes(h) == [("INFO", "info", 200, 1)]


def test_a_481_ends_the_dialog_without_a_bye() -> None:
    h, _ = answered_call()
    (reinvite,) = requests_of(h.advance(2.0), "INVITE")
    h.feed(reply_to(reinvite, 481, reason="Call/Transaction Does Not Exist"))
    assert h.uas.dialogs == []
    assert requests_of(h.advance(20.0), "BYE") == []


def test_an_offer_less_invite_gets_our_offer_and_the_ack_brings_the_answer() -> None:
    h = Harness.from_yaml("rules:\n  - match: {method: INVITE}\n    reply: [{code: 200, sdp: "
                          "answer}]\n")
    ok = response(h.feed(request()), 200)
    (audio,) = parse_sdp(ok.body).media
    assert (audio.port, audio.formats) == (40000, ("0", "8", "101"))
    ack_answer = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=audio 49180 RTP/AVP 0")
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=ok.to.tag, cseq_method="ACK",
                   body=ack_answer))
    started = [e for e in h.events if isinstance(e, MediaStarted)]
    assert started[0].remote is None
    assert not h.findings("no-answer-in-ack")


def test_an_unparsable_offer_gets_400_naming_the_defect() -> None:
    h = Harness.from_yaml("rules:\n  - match: {method: INVITE}\n    reply: [{code: 200, sdp: "
                          "answer}]\n")
    sent = h.feed(request(body="v=0\r\no=broken\r\n"))
    assert statuses(sent) == [400]
    assert response(sent, 400).reason == "Bad SDP: o= line needs six fields (RFC 8866 §5.2)"


def test_an_offer_with_nothing_acceptable_gets_488_with_warning() -> None:
    h = Harness.from_yaml("rules:\n  - match: {method: INVITE}\n    reply: [100, {code: 200, "
                          "sdp: answer}]\n")
    video = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=video 49170 RTP/AVP 31")
    sent = h.feed(request(body=video))
    assert statuses(sent) == [100, 488]
    assert response(sent, 488).headers.get("Warning") == (
        '304 127.0.0.1 "Media type not available: video"')
    opus = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=audio 49170 RTP/AVP 96") + \
        "a=rtpmap:96 opus/48000/2\r\n"
    sent = h.feed(request(branch="z9hG4bK-2", call_id="call-2", body=opus))
    assert (response(sent, 488).headers.get("Warning") or "").startswith(
        '305 127.0.0.1 "Incompatible media format')
    assert h.uas.media.ports.open_streams == {}  # type: ignore[attr-defined]


def test_the_scenarios_sdp_settings_pin_the_answer() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: {codecs: [PCMA], ptime: 20, t38: false}}]
""")
    ok = response(h.feed(request(body=OFFER)), 200)
    (audio,) = parse_sdp(ok.body).media
    assert audio.formats == ("8",) and audio.ptime == 20
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=ok.to.tag, cseq_method="ACK"))
    t38 = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=image 49172 udptl t38")
    refused = response(h.feed(request(branch="z9hG4bK-re", to_tag=ok.to.tag, cseq=2,
                                      body=t38)), 200)
    (image,) = parse_sdp(refused.body).media
    assert (image.media, image.port) == ("image", 0)


def test_dialog_end_closes_every_stream() -> None:
    h, tag = answered_call("rules:\n  - match: {method: INVITE}\n    reply: [{code: 200, sdp: "
                           "answer}]\n")
    ports = h.uas.media.ports
    assert len(ports.open_streams) == 1  # type: ignore[attr-defined]
    h.feed(request("BYE", branch="z9hG4bK-bye", to_tag=tag, cseq=2))
    assert ports.open_streams == {}  # type: ignore[attr-defined]
    assert isinstance(parse_message(h.sent[-1].data), Response)
    assert not [e for e in h.events if isinstance(e, Finding) and e.kind == "internal-error"]


def test_a_named_t38_answer_with_a_delay_and_actions() -> None:
    t38 = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=image 49172 udptl t38")
    h, tag = answered_call("""
rules:
  - match: {method: INVITE, in_dialog: true, media: image}
    t38: {answer: accept, after: 1s, sdp: {t38: {max_datagram: 272}}}
    then: [{after: 3s, send: bye}]
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""")
    assert statuses(h.feed(request(branch="z9hG4bK-re", to_tag=tag, cseq=2, body=t38))) == [100]
    ok = response(h.advance(1.0), 200)
    assert parse_sdp(ok.body).media[0].t38.max_datagram == 272
    h.feed(request("ACK", branch="z9hG4bK-ack2", to_tag=tag, cseq=2, cseq_method="ACK"))
    assert len(requests_of(h.advance(3.0), "BYE")) == 1


def test_the_reinvite_follows_the_route_set_of_the_dialog() -> None:
    """§12.1.1: the UAS's route set is the INVITE's Record-Route, in order; §12.2.1.1: the
    Request-URI is the remote target (the Contact) and the Route fields carry the set."""
    h = Harness.from_yaml(GATEWAY)
    routes = "Record-Route: <sip:p1.example.com;lr>\nRecord-Route: <sip:p2.example.com;lr>"
    tag = response(h.feed(request(body=OFFER, extra=routes)), 200).to.tag or ""
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    (reinvite,) = requests_of(h.advance(2.0), "INVITE")
    assert reinvite.headers.values("Route") == ["<sip:p1.example.com;lr>",
                                                "<sip:p2.example.com;lr>"]
    assert reinvite.uri == "sip:alice@127.0.0.1:5070"
