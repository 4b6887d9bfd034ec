"""Named faults (sipfault/core/faults.py) and how the UAS applies them to transmissions."""

from __future__ import annotations

import pytest
from uas_harness import OFFER, Harness, request, statuses

from sipfault.core.events import FaultApplied, MessageSent
from sipfault.core.faults import FAULT_FUNCTIONS, apply_fault
from sipfault.model.faults import FAULTS
from sipfault.sip.errors import SipParseError
from sipfault.sip.parser import parse_message

OK = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <sip:b@h>;tag=abc\r\n"
      b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi")


def test_every_fault_is_documented() -> None:
    assert all(description for description in FAULTS.values())


def test_every_named_fault_has_a_function_and_every_function_a_name() -> None:
    assert list(FAULT_FUNCTIONS) == list(FAULTS)


def test_byte_faults() -> None:
    assert apply_fault("drop", OK, 0) == []
    assert apply_fault("drop-first", OK, 0) == []
    assert apply_fault("drop-first", OK, 1) == [OK]
    assert apply_fault("duplicate", OK, 0) == [OK, OK]
    assert b"Content-Length" not in apply_fault("no-content-length", OK, 0)[0]
    assert b"Content-Length: 12\r\n" in apply_fault("wrong-content-length", OK, 0)[0]
    assert b"To: <sip:b@h>\r\n" in apply_fault("no-to-tag", OK, 0)[0]
    assert apply_fault("truncate", OK, 0)[0] == OK[: len(OK) // 2]
    assert b"\r" not in apply_fault("bare-lf", OK, 0)[0]
    with pytest.raises(SipParseError):
        parse_message(apply_fault("wrong-content-length", OK, 0)[0])


def test_dropped_200_arrives_on_retransmission() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer, fault: drop-first}]
""")
    assert statuses(h.feed(request(body=OFFER))) == []
    assert statuses(h.advance(0.5)) == [200]
    applied = [e for e in h.events if isinstance(e, FaultApplied)]
    assert [(e.fault, e.attempt, e.emitted) for e in applied] == [("drop-first", 0, 0),
                                                                   ("drop-first", 1, 1)]


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
    assert [(e.fault, e.effect, e.withheld, e.retransmission) for e in applied] == [
        ("drop-first", "dropped", True, False),
        ("drop-first", "passed", False, True),
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
    assert sent[1].message is applied[2].message  # the copy and the fault name one response
