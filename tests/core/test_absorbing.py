"""Transactions past their final response keep a compact record (RFC 3261 §17.2, RFC 6026).

Once a transaction only absorbs retransmissions (Completed with Timer J, Confirmed with Timer
I, Accepted with Timer L), the UAS keeps its key, the response bytes and a deadline in a plain
tuple instead of the transaction, its parsed request and its exchange. These tests show that it
still answers as the full transaction did, that a record stays under 1 KB, and that the garbage
collector does not track it.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc

from uas_harness import OFFER, UDP, Harness, request, response, statuses

from sipfault.core.events import MessageReceived
from sipfault.core.transactions import Absorbing, AbsorbingTable
from sipfault.sip.memo import clear_memos
from sipfault.sip.parser import parse_message

SCENARIO = """
name: absorbing
timers: {t1: 500ms, t2: 4s, t4: 5s}
rules:
  - match: {method: INVITE, user: busy}
    reply: [486]
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
"""

FAULTY = """
name: faulty
timers: {t1: 500ms}
rules:
  - match: {method: OPTIONS}
    reply: [200]
    faults: [duplicate]
"""


def _call(harness: Harness) -> tuple[bytes, str]:
    """INVITE -> 200, ACK, BYE -> 200; the BYE's bytes and our To tag."""
    to_tag = response(harness.feed(request(body=OFFER)), 200).to.tag
    assert to_tag is not None
    harness.feed(request("ACK", branch="z9hG4bK-ack", to_tag=to_tag))
    bye = request("BYE", branch="z9hG4bK-bye", cseq=2, to_tag=to_tag)
    assert statuses(harness.feed(bye)) == [200]
    return bye, to_tag


def test_a_finished_call_leaves_two_records_of_at_most_1_kb_each() -> None:
    """Measured as the memory 500 finished calls hold: the records, their keys, the dict
    slots and the heap entries that end them (the parse memos emptied before and after)."""
    harness = Harness.from_yaml(SCENARIO)
    uas = harness.uas
    calls = 500

    def call(n: int) -> None:
        invite = request(call_id=f"c{n}", branch=f"z9hG4bK-i{n}", from_tag=f"f{n}", body=OFFER)
        uas.receive(invite, UDP, 0.0)
        tag = parse_message(uas.take_outgoing()[-1].data).headers.get("To").split("tag=")[1]
        uas.receive(request("ACK", call_id=f"c{n}", branch=f"z9hG4bK-a{n}", from_tag=f"f{n}",
                            to_tag=tag), UDP, 0.0)
        uas.receive(request("BYE", call_id=f"c{n}", branch=f"z9hG4bK-b{n}", from_tag=f"f{n}",
                            cseq=2, to_tag=tag), UDP, 0.0)
        uas.take_outgoing()
        uas.take_events()

    for n in range(50):  # warm up: first-use allocations are not the records'
        call(n)
    clear_memos()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in range(50, 50 + calls):
            call(n)
        clear_memos()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert uas.counts().transactions == 2 * (50 + calls)
    assert uas.counts().dialogs == 0
    per_record = held / (2 * calls)
    print(f"{per_record:.0f} bytes per record")
    assert per_record <= 1024


def test_records_are_not_tracked_by_the_garbage_collector() -> None:
    harness = Harness.from_yaml(SCENARIO)
    _call(harness)
    # A tuple is untracked once its items are: the records' inner tuples in one pass, the
    # records in the next.
    gc.collect()
    gc.collect()
    assert [gc.is_tracked(record) for _, record in harness.uas.absorbing.footprint()] == [
        False, False]


def test_a_retransmitted_bye_gets_the_same_200_from_the_record() -> None:
    """§17.2.2: in Completed, a retransmission gets the final response again."""
    harness = Harness.from_yaml(SCENARIO)
    bye, _ = _call(harness)
    first = harness.sent[-1]
    harness.now += 0.1
    again = harness.feed(bye)
    assert [item.data for item in again] == [first.data]
    assert again[0].peer == first.peer
    received = [e for e in harness.events if isinstance(e, MessageReceived)]
    assert received[-1].retransmission


def test_a_retransmitted_invite_in_accepted_is_absorbed_and_a_late_one_reported_once() -> None:
    """RFC 6026 §7.1: Accepted absorbs the INVITE; one re-sent more than T1/2 after the
    final response is ``retransmission-after-final``, reported once per transaction."""
    harness = Harness.from_yaml(SCENARIO)
    _call(harness)
    harness.now += 0.1
    assert harness.feed(request(body=OFFER)) == []
    assert harness.findings("retransmission-after-final") == []
    harness.now += 2.0
    assert harness.feed(request(body=OFFER)) == []
    harness.now += 2.0
    assert harness.feed(request(body=OFFER)) == []
    assert len(harness.findings("retransmission-after-final")) == 1


def test_a_cancel_after_the_2xx_gets_200_with_our_tag_and_no_487() -> None:
    """§9.2: a CANCEL matching a transaction gets 200 even when the final response went."""
    harness = Harness.from_yaml(SCENARIO)
    _, to_tag = _call(harness)
    sent = harness.feed(request("CANCEL", branch="z9hG4bK-1"))
    assert statuses(sent) == [200]
    assert response(sent, 200).to.tag == to_tag


def test_an_ack_retransmitted_in_confirmed_is_absorbed() -> None:
    """§17.2.1: Confirmed absorbs ACKs until Timer I; no stray-ack finding."""
    harness = Harness.from_yaml(SCENARIO)
    busy = "sip:busy@127.0.0.1:5060"
    to_tag = response(harness.feed(request(uri=busy)), 486).to.tag
    ack = request("ACK", uri=busy, to_tag=to_tag)
    harness.feed(ack)
    assert len(harness.uas.absorbing) == 1
    assert harness.feed(ack) == []
    assert harness.findings("stray-ack") == []
    harness.advance(5.01)
    assert len(harness.uas.absorbing) == 0


def test_a_reused_branch_on_a_record_is_reported() -> None:
    """§8.1.1.7: a new request with an answered one's branch is absorbed and reported."""
    harness = Harness.from_yaml(SCENARIO)
    bye, _ = _call(harness)
    harness.feed(bye.replace(b"CSeq: 2 BYE", b"CSeq: 3 BYE"))
    [found] = harness.findings("branch-reused")
    assert "CSeq 3 instead of 2" in found.text


def test_timer_j_and_l_end_the_records_and_are_journaled() -> None:
    harness = Harness.from_yaml(SCENARIO)
    _call(harness)
    harness.advance(64 * 0.5 + 0.01)
    assert len(harness.uas.absorbing) == 0
    fired = sorted(getattr(e, "timer", "") for e in harness.events
                   if type(e).__name__ == "TimerFired")
    assert fired == ["J", "L"]


def test_a_faulted_exchange_keeps_its_full_transaction() -> None:
    """Faults need the full state (their copies and findings): no record is made."""
    harness = Harness.from_yaml(FAULTY)
    assert statuses(harness.feed(request("OPTIONS", branch="z9hG4bK-o"))) == [200, 200]
    assert len(harness.uas.absorbing) == 0
    assert harness.uas.counts().transactions == 1


def test_release_memory_once_idle_lets_go_of_the_tables_slots() -> None:
    """After a load, what the busiest moment left goes: a dict keeps its largest table."""
    harness = Harness.from_yaml(SCENARIO)
    uas = harness.uas
    for n in range(300):
        harness.feed(request("OPTIONS", call_id=f"o{n}", branch=f"z9hG4bK-o{n}"))
    uas.release_memory()  # not idle yet: the records still absorb
    assert len(uas.absorbing) == 300
    harness.advance(64 * 0.5 + 0.01)
    assert uas.idle()
    table = uas.absorbing._records
    busy_size = sys.getsizeof(table)
    uas.release_memory()
    assert sys.getsizeof(table) < busy_size / 10
    harness.feed(request("OPTIONS", branch="z9hG4bK-after"))  # and it serves on
    assert statuses(harness.sent[-1:]) == [200]


def test_a_record_with_a_nul_in_a_field_is_not_packed_and_the_transaction_stays() -> None:
    """The packing separates fields with NUL; a field holding one (the fuzzer found a
    Request-URI that does) keeps its full transaction instead of a garbled record."""
    record = Absorbing("Completed", "OPTIONS", b"SIP/2.0 200 OK\r\n\r\n",
                       ("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060), None), 32.0, "J",
                       "tag", ("call", "ft", 1, "sip:a\x00b@example.com"), 0.0)
    table = AbsorbingTable()
    assert not table.add(("3261", "z9hG4bK-1", "h:5070", "OPTIONS"), record, 0.0)
    assert not table.add(("3261", "z9hG4bK\x00-1", "h:5070", "OPTIONS"),
                         record._replace(identity=("call", "ft", 1, "sip:a@b")), 0.0)
    assert len(table) == 0
    clean = record._replace(identity=("call", "ft", 1, "sip:a@b"))
    assert table.add(("3261", "z9hG4bK-1", "h:5070", "OPTIONS"), clean, 0.0)
    assert table.get(("3261", "z9hG4bK-1", "h:5070", "OPTIONS")) == clean


OMITTING = """
name: omitting
timers: {t1: 500ms}
rules:
  - match: {method: OPTIONS}
    reply: [{code: 200, omit: [Call-ID, CSeq]}]
"""


def test_a_response_the_scenario_reshaped_is_re_sent_by_its_full_transaction() -> None:
    """Without Call-ID and CSeq the 200 would not parse again from a record's bytes: its
    transaction stays whole and re-sends it as it went."""
    harness = Harness.from_yaml(OMITTING)
    options = request("OPTIONS", branch="z9hG4bK-omit")
    harness.uas.receive(options, UDP, 0.0)
    first = harness.uas.take_outgoing()
    assert len(first) == 1 and b"Call-ID" not in first[0].data
    assert len(harness.uas.absorbing) == 0
    harness.uas.receive(options, UDP, 0.1)
    assert [item.data for item in harness.uas.take_outgoing()] == [first[0].data]
    assert not [e for e in harness.uas.take_events() if type(e).__name__ == "Finding"
                and e.kind == "internal-error"]


def test_a_record_re_sends_under_the_endpoint_faults_begun_since() -> None:
    """A ``slow`` endpoint begun after the answer delays the record's copy as it would the
    full transaction's."""
    harness = Harness.from_yaml(SCENARIO)
    bye, _ = _call(harness)
    first = harness.sent[-1].data
    harness.uas.set_endpoint_fault("slow", {"by": "300ms"}, harness.now)
    assert harness.feed(bye) == []
    assert [item.data for item in harness.advance(0.3)] == [first]


def test_the_table_ends_records_of_two_lifetimes_in_deadline_order() -> None:
    """Timer I (T4) and Timer J (64*T1) records interleaved: each ends at its deadline, and
    the next deadline is always the earliest left."""
    base = Absorbing("Completed", "OPTIONS", b"", ("udp", ("h", 1), ("h", 2), None), 0.0, "J",
                     "t", ("c", "f", 1, "sip:a@b"), 0.0)
    table = AbsorbingTable()
    assert table.next_deadline() is None
    for n, (now, lifetime) in enumerate([(0.0, 32.0), (1.0, 5.0), (2.0, 32.0), (3.0, 5.0)]):
        record = base._replace(deadline=now + lifetime, timer="J" if lifetime == 32.0 else "I",
                               identity=(f"c{n}", "f", 1, "sip:a@b"))
        assert table.add(("3261", f"z9hG4bK-{n}", "h:1", "OPTIONS"), record, now)
    assert table.next_deadline() == 6.0
    assert table.expire_timers(5.9) == []
    assert table.expire_timers(6.0) == [("I", "c1")]
    assert table.next_deadline() == 8.0
    assert table.expire_timers(33.0) == [("J", "c0"), ("I", "c3")]
    assert table.next_deadline() == 34.0
    assert table.expire_timers(40.0) == [("J", "c2")]
    assert table.next_deadline() is None and len(table) == 0


def test_expire_timers_names_the_timer_and_call_of_each_record_ended() -> None:
    """What the journal's TimerFired needs, read from the packed records alone."""
    base = Absorbing("Completed", "OPTIONS", b"SIP/2.0 200 OK\r\n\r\n",
                     ("udp", ("h", 1), ("h", 2), None), 0.0, "J", "t",
                     ("c1@h", "f", 1, "sip:a@b"), 0.0)
    table = AbsorbingTable()
    table.add(("3261", "z9hG4bK-1", "h:1", "OPTIONS"), base._replace(deadline=32.0), 0.0)
    table.add(("3261", "z9hG4bK-2", "h:1", "INVITE"),
              base._replace(deadline=5.0, timer="I", identity=("c2@h", "f", 1, "sip:a@b")),
              0.0)
    assert table.expire_timers(4.0) == []
    assert table.expire_timers(5.0) == [("I", "c2@h")]
    assert table.expire_timers(40.0) == [("J", "c1@h")]
    assert len(table) == 0 and table.next_deadline() is None
