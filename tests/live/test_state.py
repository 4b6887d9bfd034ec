"""The live state: calls through their transition table, bounded memory, journal followers."""

from __future__ import annotations

import asyncio

from sipfault.core.events import (
    FaultApplied,
    Finding,
    MessageReceived,
    MessageSent,
    Peer,
    TimerFired,
)
from sipfault.live.calls import ENDED, TRANSITIONS
from sipfault.live.state import LiveState
from sipfault.record.records import Record, to_record
from sipfault.sip.parser import parse_message

PEER = Peer("udp", ("127.0.0.1", 40000), ("127.0.0.1", 5060))


def _request(method: str, call_id: str, cseq: int = 1, user: str = "bob") -> bytes:
    return (f"{method} sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;"
            f"branch=z9hG4bK{call_id}{cseq}{method}\r\nFrom: <sip:alice@h>;tag=1\r\n"
            f"To: <sip:{user}@h>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()


def _response(status: int, method: str, call_id: str, cseq: int = 1) -> bytes:
    return (f"SIP/2.0 {status} Reason\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKx\r\n"
            f"From: <sip:alice@h>;tag=1\r\nTo: <sip:bob@h>;tag=2\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n").encode()


def received(data: bytes, time: float = 1.0, again: bool = False) -> Record:
    return to_record(MessageReceived(time, PEER, parse_message(data), data, again), time)


def sent(data: bytes, time: float = 1.0, again: bool = False) -> Record:
    return to_record(MessageSent(time, PEER, parse_message(data), data, again), time)


def test_an_answered_call_goes_through_its_states() -> None:
    state = LiveState()
    steps = [
        (received(_request("INVITE", "c1")), "trying"),
        (sent(_response(100, "INVITE", "c1")), "trying"),
        (sent(_response(180, "INVITE", "c1")), "ringing"),
        (sent(_response(200, "INVITE", "c1")), "answered"),
        (sent(_response(200, "INVITE", "c1"), again=True), "answered"),
        (received(_request("ACK", "c1")), "confirmed"),
        (received(_request("BYE", "c1", 2)), "confirmed"),
        (sent(_response(200, "BYE", "c1", 2), time=5.0), ENDED),
    ]
    for record, expected in steps:
        state.on_record(record)
        assert state.calls["c1"].state == expected
    call = state.calls["c1"]
    assert (call.method, call.user, call.from_user, call.ended_at) == ("INVITE", "bob",
                                                                       "alice", 5.0)
    assert call.statuses == [100, 180, 200, 200] and call.outcome == "INVITE 200"
    assert len(call.entries) == len(steps)
    assert [item.call_id for item in state.finished_calls] == ["c1"]
    assert state.live_calls == [] and state.calls_by_method == {"INVITE": 1}
    assert state.pending_requests == 0


def test_refusals_non_invite_requests_and_give_ups_end_calls() -> None:
    state = LiveState()
    for record in (received(_request("INVITE", "busy")), sent(_response(486, "INVITE", "busy")),
                   received(_request("REGISTER", "reg")), sent(_response(200, "REGISTER", "reg")),
                   received(_request("INVITE", "lost")), sent(_response(200, "INVITE", "lost"))):
        state.on_record(record)
    assert state.calls["busy"].state == ENDED and state.calls["reg"].state == ENDED
    assert state.calls["lost"].state == "answered"
    state.on_record(to_record(Finding(9.0, "no-ack", "no ACK for the 2xx", "lost", PEER), 9.0))
    assert state.calls["lost"].state == ENDED and state.calls["lost"].findings == 1
    assert state.findings[-1]["rfc"] == ["RFC 3261 §13.3.1.4"]


def test_the_table_never_leaves_ended() -> None:
    assert not any(state == ENDED for state, _ in TRANSITIONS)
    states = {state for state, _ in TRANSITIONS} | set(TRANSITIONS.values())
    assert states == {"trying", "ringing", "answered", "confirmed", ENDED}


def test_faults_timers_and_unanswered_requests() -> None:
    state = LiveState()
    state.on_record(received(_request("INVITE", "d")))
    state.on_record(to_record(FaultApplied(1.0, "drop", "d", 0, 0), 1.0))
    state.on_record(to_record(TimerFired(1.5, "2xx", "d"), 1.5))
    state.on_record(to_record(FaultApplied(1.5, "drop", "d", 1, 0), 1.5))
    assert state.faults == {"drop": 2} and state.fault_drops == {"drop": 2}
    assert state.timers == {"2xx": 1}
    assert state.pending_requests == 1
    assert [entry["type"] for entry in state.calls["d"].entries] == [
        "message", "fault_applied", "timer_fired", "fault_applied"]


def test_finished_calls_are_let_go_beyond_the_bound() -> None:
    state = LiveState(keep_finished=3, max_live=2, journal_lines=10)
    for number in range(6):
        call_id = f"r{number}"
        state.on_record(received(_request("OPTIONS", call_id)))
        state.on_record(sent(_response(200, "OPTIONS", call_id)))
    assert list(state.calls) == ["r3", "r4", "r5"]
    assert len(state.journal) == 10
    for number in range(4):
        state.on_record(received(_request("INVITE", f"live{number}")))
    assert [call.call_id for call in state.live_calls] == ["live3", "live2"]
    # A record of a call let go does not bring it back.
    state.on_record(sent(_response(200, "OPTIONS", "r0")))
    assert "r0" not in state.calls


async def test_waiting_for_records_and_following_the_journal() -> None:
    state = LiveState()
    assert await state.changed(0.01) is False
    queue = state.follow()
    waiter = asyncio.create_task(state.changed(2))
    await asyncio.sleep(0)
    state.on_record(received(_request("OPTIONS", "w")))
    assert await waiter is True
    line = queue.get_nowait()
    assert line is not None and '"call_id":"w"' in line
    state.unfollow(queue)
    state.on_record(received(_request("OPTIONS", "w2")))
    assert queue.empty()
