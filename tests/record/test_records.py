"""One record per core event, and every view of a run rendering from it: the console of
``sipfault run``, the journal file, and the Python API's journal and ladder agree."""

from __future__ import annotations

import asyncio
import io
import re

from sipfault import Server
from sipfault.api.journal import Journal, format_ladder
from sipfault.core.events import (
    Event,
    Finding,
    MessageDropped,
    MessageReceived,
    MessageSent,
    RuleMatched,
)
from sipfault.record.records import (
    RECEIVED,
    SENT,
    DroppedRecord,
    FindingRecord,
    MessageRecord,
    Record,
    RuleRecord,
    to_record,
)
from sipfault.reporting import ConsoleReporter
from tests.parsed_messages import PEER, request, response
from tests.testing.sip_client import SipClient


def a_busy_call() -> list[Event]:
    """An INVITE, the rule that took it, a 486 and its retransmission, a finding, a drop."""
    invite, data = request("INVITE", "busy@test")
    busy, out = response(486, "Busy Here", "INVITE", "busy@test")
    return [
        MessageReceived(1.0, PEER, invite, data),
        RuleMatched(1.0, "busy", "INVITE", "busy@test", invite, PEER),
        MessageSent(1.0, PEER, busy, out, request=invite),
        MessageSent(1.5, PEER, busy, out, True, invite),
        Finding(33.0, "no-ack", "no ACK for the 486", "busy@test", PEER),
        MessageDropped(34.0, PEER, b"\xff junk", "unparsable"),
    ]


def test_received_is_left_arrow_sent_is_right_arrow() -> None:
    received, _, sent, *_ = [to_record(event, 1000.0) for event in a_busy_call()]
    assert isinstance(received, MessageRecord) and isinstance(sent, MessageRecord)
    assert (received.direction, received.arrow, RECEIVED) == ("in", "<-", "<-")
    assert (sent.direction, sent.arrow, SENT) == ("out", "->", "->")
    # Both lines name the client, whichever way the message went.
    assert received.line() == "<- udp 127.0.0.1:40000 INVITE sip:alice@127.0.0.1 SIP/2.0 [busy@tes]"
    assert sent.line() == "-> udp 127.0.0.1:40000 SIP/2.0 486 Busy Here [busy@tes]"
    assert received.client == sent.client == ("127.0.0.1", 40000)


def test_the_console_and_the_api_ladder_agree_line_for_line() -> None:
    records = [to_record(event, 1_700_000_000.0 + event.time) for event in a_busy_call()]
    out = io.StringIO()
    console = ConsoleReporter(out)
    journal = Journal()
    for record in records:
        console.on_record(record)
        journal.on_record(record)
    console_lines = [re.sub(r"^\d\d:\d\d:\d\d\.\d{3} ", "", line)
                     for line in out.getvalue().splitlines()]
    ladder_lines = [re.sub(r"^  \+ *\d+\.\d{3}s  ", "", line)
                    for line in journal.ladder().splitlines()]
    # The console leaves rules to the journal; every line it prints is the ladder's line.
    shown = [r for r in records if isinstance(r, MessageRecord | FindingRecord | DroppedRecord)]
    assert console_lines == [record.line() for record in shown]
    assert ladder_lines == [record.line() for record in records]
    assert [line[:2] for line in console_lines] == ["<-", "->", "->", "!!", "!!"]
    assert ladder_lines[1] == "   rule 'busy' took the INVITE [busy@tes]"
    assert format_ladder(records) == journal.ladder()


def test_the_console_stamps_each_line_with_the_records_time() -> None:
    out = io.StringIO()
    ConsoleReporter(out).on_record(to_record(a_busy_call()[0], 0.25))  # 00:00:00.250 UTC
    assert re.match(r"\d\d:\d\d:00\.250 <- udp ", out.getvalue())


def test_a_rule_record_names_its_request_from_the_event() -> None:
    invite, invite_data = request("INVITE", "first@test")
    options, options_data = request("OPTIONS", "second@test")
    busy, busy_data = response(486, "Busy Here", "INVITE", "first@test")
    # The OPTIONS arrives before the rule takes the INVITE: the record must not guess from
    # the latest request, it reads the request the event names.
    events: list[Event] = [
        MessageReceived(1.0, PEER, invite, invite_data),
        MessageReceived(1.1, PEER, options, options_data),
        RuleMatched(1.2, "busy", "INVITE", "first@test", invite, PEER),
        MessageSent(1.2, PEER, busy, busy_data, request=invite),
    ]
    records = [to_record(event, event.time) for event in events]
    rule = records[2]
    assert isinstance(rule, RuleRecord)
    assert (rule.rule, rule.method, rule.call_id) == ("busy", "INVITE", "first@test")
    assert rule.request is invite
    assert (rule.transport, rule.source, rule.destination) == (
        "udp", ("127.0.0.1", 40000), ("127.0.0.1", 5060))
    journal = Journal()
    for record in records:
        journal.on_record(record)
    assert journal.unexpected() == []  # the 486 answered a request a rule took


def test_a_refusal_of_a_request_no_rule_took_is_still_unexpected() -> None:
    invite, invite_data = request("INVITE", "first@test")
    options, options_data = request("OPTIONS", "second@test")
    refused, refused_data = response(403, "Forbidden", "OPTIONS", "second@test")
    journal = Journal()
    for event in (
        MessageReceived(1.0, PEER, invite, invite_data),
        RuleMatched(1.0, "busy", "INVITE", "first@test", invite, PEER),
        MessageReceived(1.1, PEER, options, options_data),
        MessageSent(1.1, PEER, refused, refused_data, request=options),
    ):
        journal.on_record(to_record(event, event.time))
    (item,) = journal.unexpected()
    assert (item.kind, item.method, item.status, item.call_id) == (
        "unmatched", "OPTIONS", 403, "second@test")


async def test_a_real_run_gives_each_listener_the_same_records() -> None:
    seen: list[Record] = []
    async with Server() as server:
        server.add_listener(seen.append)
        server.on("INVITE").named("busy").reply(486)
        with SipClient(server.host, server.port) as client:
            client.send(client.request("INVITE", call_id="same@test"))
            await asyncio.to_thread(client.until_final)
        await server.wait_for("INVITE")
    assert len(seen) == len(server.journal.records) > 0
    assert all(mine is theirs for mine, theirs in zip(seen, server.journal.records, strict=True))
    rule = next(record for record in seen if isinstance(record, RuleRecord))
    (invite,) = server.requests("INVITE")
    assert (rule.call_id, rule.method) == ("same@test", "INVITE")
    assert rule.request is invite.message
    assert rule.source == invite.source == client.local


def test_an_event_of_a_derived_class_becomes_the_record_of_its_base_and_is_counted() -> None:
    """Records are looked up by the event's exact class; a derived class goes by its nearest
    base in the same table, and an event of no known kind becomes an OtherRecord."""
    from dataclasses import dataclass

    @dataclass(frozen=True, slots=True)
    class LateFinding(Finding):
        pass

    @dataclass(frozen=True, slots=True)
    class SomethingElse:
        time: float
        what: str

    record = to_record(LateFinding(1.0, "no-ack", "no ACK", "c@h"), 5.0)
    assert isinstance(record, FindingRecord)
    assert (record.time, record.kind, record.call_id) == (5.0, "no-ack", "c@h")
    other = to_record(SomethingElse(1.0, "x"), 5.0)  # type: ignore[arg-type]
    assert other.type == "something_else" and other.to_json()["what"] == "x"

    class LateFindingRecord(FindingRecord):
        pass

    counts = ConsoleReporter(io.StringIO(), quiet=True).counts
    counts.on_record(LateFindingRecord(5.0, "no-ack", "no ACK", "c@h", {}, None, None, None))
    assert counts.findings == {"no-ack": 1}
