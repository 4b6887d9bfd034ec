"""Named faults (sipfault/core/faults.py) and how the UAS applies them, on a manual clock."""

from __future__ import annotations

import random

import pytest
from uas_harness import OFFER, TCP, Harness, request, response, statuses

from sipfault.core.endpoint_faults import EndpointFaults
from sipfault.core.events import FaultApplied, MessageSent
from sipfault.core.faults import (
    BYTE_FAULTS,
    HOLDS,
    MAX_DATAGRAM,
    CallOrdinals,
    ExchangeFaults,
    FaultedResponse,
    apply_byte_fault,
)
from sipfault.model.faults import FAULTS, STREAM_FAULTS, Fault
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Response
from sipfault.sip.parser import parse_message

OK = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <sip:b@h>;tag=abc\r\n"
      b"Call-ID: c1\r\nCSeq: 7 INVITE\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi")
TWO_VIAS = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
            b"Via: SIP/2.0/UDP b;branch=z9hG4bK2\r\nContent-Length: 0\r\n\r\n")

# Faults the UAS carries out itself rather than as a transmission of bytes.
_UAS_FAULTS = {"to-tag-changed", "fork", "swallow", "outage", "overload", "slow"}
_TRANSMISSION_FAULTS = {"drop", "drop-first", "no-retransmit", "duplicate", "delay", "raw"}


def test_every_fault_is_documented_and_carried_out_somewhere() -> None:
    assert all(kind.description and kind.scopes for kind in FAULTS.values())
    handled = set(BYTE_FAULTS) | _TRANSMISSION_FAULTS | set(HOLDS) | STREAM_FAULTS | _UAS_FAULTS
    assert handled == set(FAULTS)


def test_byte_faults() -> None:
    assert b"Content-Length" not in apply_byte_fault("no-content-length", OK)
    assert b"Content-Length: 12\r\n" in apply_byte_fault("wrong-content-length", OK)
    assert b"Content-Length: 0\r\n" in apply_byte_fault("short-content-length", OK)
    assert b"To: <sip:b@h>\r\n" in apply_byte_fault("no-to-tag", OK)
    assert apply_byte_fault("truncate", OK) == OK[: len(OK) // 2]
    assert b"\r" not in apply_byte_fault("bare-lf", OK)
    with pytest.raises(SipParseError):
        parse_message(apply_byte_fault("wrong-content-length", OK))
    assert b"Call-ID: c1.wrong\r\n" in apply_byte_fault("wrong-call-id", OK)
    assert b"CSeq: 8 INVITE\r\n" in apply_byte_fault("wrong-cseq-number", OK)
    assert b"CSeq: 7 OPTIONS\r\n" in apply_byte_fault("wrong-cseq-method", OK)
    assert b"branch=z9hG4bKx-wrong" in apply_byte_fault("wrong-via-branch", OK)
    assert b"Via" not in apply_byte_fault("no-via", OK)
    assert apply_byte_fault("bad-sip-version", OK).startswith(b"SIP/3.0 200 OK\r\n")
    assert apply_byte_fault("empty-reason", OK).startswith(b"SIP/2.0 200 \r\n")
    assert b"\r\nX-Broken-Header this line has no colon\r\n" in apply_byte_fault(
        "header-without-colon", OK)
    assert apply_byte_fault("two-to", OK).count(b"To: <sip:b@h>;tag=abc\r\n") == 2
    assert apply_byte_fault("two-call-id", OK).count(b"Call-ID: c1\r\n") == 2
    non_utf8 = apply_byte_fault("non-utf8-header", OK)
    with pytest.raises(UnicodeDecodeError):
        non_utf8.decode("utf-8")
    assert len(apply_byte_fault("over-mtu", OK)) > len(OK) + 4096
    assert len(apply_byte_fault("max-size", OK)) == MAX_DATAGRAM
    compact = apply_byte_fault("compact-form", OK)
    assert b"\r\nv: SIP/2.0/UDP" in compact and b"\r\nt: <sip:b@h>" in compact
    assert b"\r\ni: c1\r\n" in compact and b"\r\nl: 2\r\n" in compact
    folded = apply_byte_fault("line-folded", OK)
    assert b"\r\nTo:\r\n   <sip:b@h>;tag=abc\r\n" in folded


def test_legal_but_unusual_forms_still_parse_the_same() -> None:
    original = parse_message(OK)
    assert isinstance(original, Response)
    for name in ("compact-form", "line-folded", "empty-reason", "over-mtu"):
        changed = parse_message(apply_byte_fault(name, OK))
        assert isinstance(changed, Response), name
        assert changed.call_id == original.call_id and changed.to.tag == "abc", name
        assert changed.body == b"hi", name


def test_vias_reversed() -> None:
    reversed_ = apply_byte_fault("via-reversed", TWO_VIAS)
    assert reversed_.index(b"Via: SIP/2.0/UDP b") < reversed_.index(b"Via: SIP/2.0/UDP a")


def _transmit(fault: Fault, attempt_count: int = 3, stream: bool = False) -> list[list[bytes]]:
    faulted = FaultedResponse(Response(200, "OK"), (fault,))
    dice = random.Random(1)
    return [[item.data for item in faulted.transmit(OK, stream, lambda: dice)[1]]
            for _ in range(attempt_count)]


def test_transmission_faults() -> None:
    assert _transmit(Fault("drop")) == [[], [], []]
    assert _transmit(Fault("drop", count=2)) == [[], [], [OK]]
    assert _transmit(Fault("drop-first")) == [[], [OK], [OK]]
    assert _transmit(Fault("duplicate")) == [[OK, OK]] * 3
    assert _transmit(Fault("duplicate", count=3))[0] == [OK, OK, OK]
    assert _transmit(Fault("no-retransmit")) == [[OK], [], []]


def test_stream_faults_act_on_streams_only() -> None:
    assert _transmit(Fault("close-before"), 1) == [[OK]]  # UDP: unchanged
    faulted = FaultedResponse(Response(200, "OK"), (Fault("close-mid"),))
    _, items, _ = faulted.transmit(OK, True, lambda: random.Random(1))
    assert items[0].data == OK[: len(OK) // 2] and items[0].close_after
    faulted = FaultedResponse(Response(200, "OK"), (Fault("reset"),))
    _, items, _ = faulted.transmit(OK, True, lambda: random.Random(1))
    assert items[0].reset and items[0].data == b""


def test_a_probability_draws_from_the_exchange_generator() -> None:
    def pattern(seed_key: str) -> list[bool]:
        faults = ExchangeFaults(seed_key)
        faulted = faults.add(Response(200, "OK"), (Fault("drop", probability=0.5),))
        return [bool(faulted.transmit(OK, False, faults.dice)[1]) for _ in range(32)]

    assert pattern("7/faults/1/1/INVITE") == pattern("7/faults/1/1/INVITE")
    assert pattern("7/faults/1/1/INVITE") != pattern("7/faults/2/1/INVITE")
    assert 4 < sum(pattern("7/faults/1/1/INVITE")) < 28


def test_call_ordinals_are_bounded() -> None:
    ordinals = CallOrdinals(size=3)
    assert [ordinals.place(c) for c in "abca"] == [1, 2, 3, 1]
    ordinals.place("d")
    assert len(ordinals) == 3 and ordinals.place("a") == 5  # forgotten, placed again


# ------------------------------------------------------------------ through the UAS


def _applied(h: Harness) -> list[tuple[str, int, int]]:
    return [(e.fault, e.attempt, e.emitted) for e in h.events if isinstance(e, FaultApplied)]


def test_dropped_200_arrives_on_retransmission() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer, fault: drop-first}]
""")
    assert statuses(h.feed(request(body=OFFER))) == []
    assert statuses(h.advance(0.5)) == [200]
    assert _applied(h) == [("drop-first", 0, 0)]


def test_drop_with_a_count_loses_the_first_transmissions() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 486, fault: drop, count: 2}]
""")
    assert statuses(h.feed(request())) == []
    assert statuses(h.advance(0.5)) == []  # Timer G's first re-send lost too
    assert statuses(h.advance(1.0)) == [486]
    assert _applied(h) == [("drop", 0, 0), ("drop", 1, 0)]


def test_out_of_range_code_goes_out_as_written() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 701, fault: malformed-status}]
""")
    h.feed(request())
    assert [data.split(b"\r\n")[0] for data in h.unparsable] == [b"SIP/2.0 701 Unknown Status"]


def test_a_fault_follows_a_final_response_through_timer_g_until_its_exchange_ends() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 486, fault: duplicate}]
""")
    assert statuses(h.feed(request())) == [486, 486]
    assert statuses(h.advance(0.5)) == [486, 486]  # Timer G re-sends through the fault
    assert statuses(h.advance(40)) != []
    attempts = [e.attempt for e in h.events if isinstance(e, FaultApplied)]
    assert attempts == list(range(len(attempts))) and len(attempts) > 2
    # A new INVITE on the same branch after the transaction ended is a new exchange.
    assert statuses(h.feed(request())) == [486, 486]
    assert [e.attempt for e in h.events if isinstance(e, FaultApplied)][-1] == 0


def test_the_fault_record_names_the_response_and_the_copies_name_the_fault() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE, user: drop}
    reply: [{code: 200, sdp: answer, fault: drop-first}]
  - match: {method: INVITE, user: cut}
    reply: [{code: 486, fault: truncate}]
  - match: {method: INVITE, user: twice}
    reply: [{code: 486, fault: duplicate}]
""")
    h.feed(request(uri="sip:drop@127.0.0.1", body=OFFER))
    h.advance(0.5)
    h.feed(request(uri="sip:cut@127.0.0.1", branch="z9hG4bK-2", call_id="c2"))
    h.feed(request(uri="sip:twice@127.0.0.1", branch="z9hG4bK-3", call_id="c3"))
    applied = [e for e in h.events if isinstance(e, FaultApplied)]
    # Only transmissions a fault acted on are reported: not the retransmission drop-first
    # let through.
    assert [(e.fault, e.effect, e.withheld, e.retransmission) for e in applied] == [
        ("drop-first", "dropped", True, False),
        ("truncate", "altered", False, False),
        ("duplicate", "duplicated", False, False),
    ]
    dropped = applied[0]
    assert dropped.message is not None and dropped.message.status == 200
    assert dropped.request is not None and dropped.request.method == "INVITE"
    assert dropped.peer is not None and dropped.peer.remote == ("127.0.0.1", 5070)
    sent = [e for e in h.events if isinstance(e, MessageSent)]
    assert [(e.message.first_line(), e.fault, e.fault_effect) for e in sent] == [
        ("SIP/2.0 200 OK", None, None),  # the retransmission drop-first let through as it was
        ("SIP/2.0 486 Busy Here", "truncate", "altered"),
        ("SIP/2.0 486 Busy Here", None, None),
        ("SIP/2.0 486 Busy Here", "duplicate", "duplicated"),
    ]
    assert sent[1].message is applied[1].message  # the copy and the fault name one response


def test_a_fixed_delay_holds_each_transmission_back() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: OPTIONS}
    reply: [{code: 200, fault: delay, by: 1s}]
""")
    assert h.feed(request("OPTIONS")) == []
    assert statuses(h.advance(0.99)) == []
    assert statuses(h.advance(0.02)) == [200]
    sent = [e for e in h.events if isinstance(e, MessageSent)]
    assert [e.time for e in sent] == [1.0]
    details = [e.detail for e in h.events if isinstance(e, FaultApplied)]
    assert details == ["delayed 1.000 s"]


def test_a_random_delay_repeats_with_the_seed() -> None:
    text = """
rules:
  - match: {method: OPTIONS}
    reply: [{code: 200, fault: delay, min: 100ms, max: 2s}]
"""

    def delays(seed: int) -> list[float]:
        h = Harness.from_yaml(text, seed=seed)
        for number in range(5):
            h.feed(request("OPTIONS", branch=f"z9hG4bK-{number}", call_id=f"c{number}"))
        h.advance(3)
        return [round(s.time, 6) for s in h.sent]

    first = delays(3)
    assert first == delays(3)
    assert first != delays(4)
    assert all(0.1 <= at <= 2.0 for at in first) and len(set(first)) == 5


def test_no_retransmit_sends_the_2xx_once() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer, fault: no-retransmit}]
""")
    assert statuses(h.feed(request(body=OFFER))) == [200]
    assert statuses(h.advance(40)) == []  # no 2xx re-sent; then BYE when no ACK came
    assert h.findings("no-ack")


def test_swallow_answers_nothing_not_even_100_trying() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    faults: [swallow]
    reply: [{code: 180, after: 1s}, {code: 200, sdp: answer}]
""")
    assert h.feed(request(body=OFFER)) == []
    assert h.feed(request(body=OFFER)) == []  # a retransmission gets nothing either
    assert h.advance(2) == []
    assert ("swallow", 0, 0) in _applied(h)


def test_swallow_with_a_probability_lets_some_through_to_the_reply() -> None:
    h = Harness.from_yaml("""
seed: 5
rules:
  - match: {method: OPTIONS}
    faults: [{fault: swallow, probability: 50%}]
""")
    answered = 0
    for number in range(40):
        answered += len(h.feed(request("OPTIONS", branch=f"z9hG4bK-{number}",
                                       call_id=f"c{number}")))
    assert 5 < answered < 35  # the rest got the default answer


def test_reorder_sends_a_later_provisional_first() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [100, {code: 180, fault: reorder}, 183, {code: 486, after: 1s}]
""")
    assert statuses(h.feed(request())) == [100, 183, 180]
    assert statuses(h.advance(1)) == [486]


def test_late_100_comes_after_the_final_response() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    faults: [late-100]
    reply: [{code: 180, after: 500ms}, {code: 486, after: 500ms}]
""")
    assert statuses(h.feed(request())) == []
    assert statuses(h.advance(0.5)) == [180]
    assert statuses(h.advance(0.5)) == [486, 100]


def test_to_tag_changed_answers_from_another_fork() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [100, 180, {code: 200, sdp: answer, fault: to-tag-changed}]
""")
    h.feed(request(body=OFFER))
    ringing, ok = response(h.sent, 180), response(h.sent, 200)
    assert ringing.to.tag and ok.to.tag and ringing.to.tag != ok.to.tag
    # The client ACKs the 2xx's tag: that dialog takes it, nothing is reported.
    h.feed(request("ACK", cseq_method="ACK", branch="z9hG4bK-ack", to_tag=ok.to.tag))
    assert statuses(h.advance(40)) == []
    assert [e for e in h.events if type(e).__name__ == "Finding"] == []


def test_raw_sends_the_text_with_placeholders_filled() -> None:
    h = Harness.from_yaml(r"""
rules:
  - match: {method: OPTIONS}
    reply:
      - code: 200
        fault: raw
        bytes: "SIP/2.0 299 Odd\n{via}\nCall-ID: {call_id}\nCSeq: {cseq}\nX-Byte: \xff\n\
          Content-Length: 0\n\n"
""")
    h.feed(request("OPTIONS"))
    sent = h.sent[0].data
    assert sent.startswith(b"SIP/2.0 299 Odd\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1")
    assert b"\r\nCall-ID: call-1\r\nCSeq: 1 OPTIONS\r\nX-Byte: \xff\r\n" in sent


def test_stream_faults_become_connection_instructions() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: OPTIONS}
    reply: [{code: 200, fault: reset}]
  - match: {method: INFO}
    reply: [{code: 200, fault: close-after}]
""")
    h.feed(request("OPTIONS", transport="TCP"), TCP)
    assert [(item.data, item.reset) for item in h.outgoing] == [(b"", True)]
    h.feed(request("INFO", transport="TCP", branch="z9hG4bK-2"), TCP)
    assert h.outgoing[-1].close_after and h.outgoing[-1].data.startswith(b"SIP/2.0 200")
    # Over UDP they do nothing.
    assert statuses(h.feed(request("OPTIONS", branch="z9hG4bK-3"))) == [200]


def test_fork_of_a_2xx_makes_a_second_dialog_to_ack_and_end() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [100, {code: 200, sdp: answer, fault: fork}]
""")
    sent = h.feed(request(body=OFFER))
    tags = [s.message.to.tag for s in sent if isinstance(s.message, Response)
            and s.message.status == 200]
    assert len(tags) == 2 and tags[0] != tags[1]
    assert len(h.uas.dialogs) == 2
    for number, tag in enumerate(tags):
        h.feed(request("ACK", cseq_method="ACK", branch=f"z9hG4bK-a{number}", to_tag=tag))
    assert statuses(h.advance(1)) == []  # both ACKed: no 2xx re-sent
    h.feed(request("BYE", cseq=2, branch="z9hG4bK-bye", to_tag=tags[1]))
    assert len(h.uas.dialogs) == 1
    h.advance(40)
    assert h.findings("fork-not-ended") == [] and h.findings("fork-no-ack") == []


def test_forked_2xx_dialogs_not_acked_or_not_ended_are_findings() -> None:
    h = Harness.from_yaml("""
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer, fault: fork, count: 2}]
""")
    sent = h.feed(request(body=OFFER))
    tags = [s.message.to.tag for s in sent if isinstance(s.message, Response)]
    assert len(set(tags)) == 3
    h.feed(request("ACK", cseq_method="ACK", branch="z9hG4bK-a0", to_tag=tags[0]))
    h.feed(request("ACK", cseq_method="ACK", branch="z9hG4bK-a1", to_tag=tags[1]))
    h.advance(40)
    assert len(h.findings("fork-no-ack")) == 1  # the third fork's 2xx
    assert len(h.findings("fork-not-ended")) == 1  # the two ACKed dialogs both kept
    assert h.findings("no-ack") == []
    assert "RFC 3261 §13.2.2.4" in h.findings("fork-not-ended")[0].text


def test_two_180s_from_two_forks() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 180, fault: fork}, {code: 486, after: 1s}]
""")
    sent = h.feed(request())
    assert statuses(sent) == [180, 180]
    assert sent[0].message.to.tag != sent[1].message.to.tag


# --------------------------------------------------------------------- the endpoint


def test_outage_drops_everything_for_its_time() -> None:
    h = Harness.from_yaml("""
endpoint_faults: [{fault: outage, after: 10s, for: 30s}]
rules: []
""")
    h.uas.start(0.0)
    assert statuses(h.feed(request("OPTIONS"))) == [200]
    h.advance(10)
    assert h.feed(request("OPTIONS", branch="z9hG4bK-2", call_id="c2")) == []
    h.advance(30)
    assert statuses(h.feed(request("OPTIONS", branch="z9hG4bK-3", call_id="c3"))) == [200]
    changes = [(type(e).__name__, e.time) for e in h.events if "Endpoint" in type(e).__name__]
    assert changes == [("EndpointFaultChanged", 10.0), ("EndpointFaultChanged", 40.0)]


def test_overload_answers_503_with_retry_after_until_cleared() -> None:
    h = Harness.from_yaml("rules: []")
    h.uas.set_endpoint_fault("overload", {"retry_after": 60}, h.now)
    sent = h.feed(request("OPTIONS"))
    assert statuses(sent) == [503]
    assert response(sent, 503).headers.get("Retry-After") == "60"
    h.uas.set_endpoint_fault("overload", None, h.now)
    assert statuses(h.feed(request("OPTIONS", branch="z9hG4bK-2"))) == [200]


def test_slow_delays_every_response() -> None:
    h = Harness.from_yaml("rules: []")
    h.uas.set_endpoint_fault("slow", {"by": "300ms"}, h.now)
    assert h.feed(request("OPTIONS")) == []
    assert statuses(h.advance(0.3)) == [200]


def test_endpoint_faults_are_checked_as_a_scenario_file_checks_them() -> None:
    h = Harness.from_yaml("rules: []")
    with pytest.raises(ValueError, match="fault 'drop' cannot be used in 'endpoint_faults'"):
        h.uas.set_endpoint_fault("drop", {}, 0.0)
    with pytest.raises(ValueError, match="fault 'slow' needs 'by'"):
        h.uas.set_endpoint_fault("slow", {}, 0.0)
    with pytest.raises(ValueError, match="fault 'outage' takes no 'by'"):
        h.uas.set_endpoint_fault("outage", {"by": 1}, 0.0)


def test_endpoint_fault_probability_makes_a_lossy_link() -> None:
    from sipfault.core.timers import TimerQueue

    faults = EndpointFaults(TimerQueue(), random.Random(1), lambda fault, on, now: None)
    faults.set(Fault("outage", probability=0.25), 0.0)
    hits = sum(faults.acting("outage") is not None for _ in range(400))
    assert 60 < hits < 140
