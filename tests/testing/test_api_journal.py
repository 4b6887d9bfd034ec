"""The Journal fed records directly: what counts as unexpected, and how the ladder reads."""

from __future__ import annotations

from sipfault.api.journal import Journal, format_ladder
from sipfault.core.events import (
    BindingExpired,
    Event,
    Finding,
    MessageDropped,
    MessageReceived,
    MessageSent,
    RequestUnmatched,
    RuleMatched,
)
from sipfault.record.records import to_record
from sipfault.sip.message import Request
from tests.parsed_messages import PEER, request, response


def journal() -> Journal:
    return Journal()


def feed(log: Journal, event: Event) -> None:
    """Hand the journal an event as the server records it (wall clock = 1000 + loop time)."""
    log.on_record(to_record(event, 1000.0 + event.time))


def rule(time: float, name: str, request: Request) -> RuleMatched:
    return RuleMatched(time, name, request.method, request.call_id, request, PEER)


def test_a_refusal_with_a_finding_is_reported_once() -> None:
    log = journal()
    invite, data = request("INVITE")
    forbidden, out = response(403, "Forbidden")
    feed(log, MessageReceived(1.0, PEER, invite, data))
    feed(log, MessageSent(1.0, PEER, forbidden, out, request=invite))
    feed(log, Finding(1.0, "auth-failed", "403 Forbidden", "c1", PEER))
    assert [item.kind for item in log.unexpected()] == ["auth-failed"]


def test_challenges_and_rule_answers_are_expected() -> None:
    log = journal()
    invite, data = request("INVITE")
    feed(log, MessageReceived(1.0, PEER, invite, data))
    challenge, out = response(401, "Unauthorized")
    feed(log, MessageSent(1.0, PEER, challenge, out, request=invite))
    again, data2 = request("INVITE")
    feed(log, MessageReceived(2.0, PEER, again, data2))
    feed(log, rule(2.0, "busy", again))
    busy, out2 = response(486, "Busy Here")
    feed(log, MessageSent(2.0, PEER, busy, out2, request=again))
    assert log.unexpected() == []


def test_unmatched_refusal_is_reported_once() -> None:
    log = journal()
    subscribe, data = request("SUBSCRIBE")
    refused, out = response(405, "Method Not Allowed", "SUBSCRIBE")
    feed(log, MessageReceived(1.0, PEER, subscribe, data))
    feed(log, MessageSent(1.0, PEER, refused, out, request=subscribe))
    feed(log, RequestUnmatched(1.0, subscribe, PEER, 405))
    (item,) = log.unexpected()
    assert (item.kind, item.status, item.method, item.time) == (
        "unmatched", 405, "SUBSCRIBE", 1001.0)


def test_blank_keepalives_are_not_unexpected_garbage_is() -> None:
    log = journal()
    feed(log, MessageDropped(1.0, PEER, b"\r\n\r\n", "empty"))
    feed(log, MessageDropped(2.0, PEER, b"\x16\x03\x01 junk", "not SIP"))
    assert [(item.kind, item.text) for item in log.unexpected()] == [
        ("dropped", "not SIP from udp 127.0.0.1:40000")]


def test_ladder_shows_every_event_kind() -> None:
    log = journal()
    invite, data = request("INVITE")
    busy, out = response(486, "Busy Here")
    feed(log, MessageReceived(1.0, PEER, invite, data))
    feed(log, rule(1.0, "busy", invite))
    feed(log, MessageSent(1.25, PEER, busy, out, True, invite))
    feed(log, Finding(33.0, "no-ack", "no ACK for the 486", "c1", PEER))
    feed(log, BindingExpired(40.0, "sip:alice@x", "<sip:alice@127.0.0.1>"))
    assert log.ladder().splitlines() == [
        "  +  0.000s  <- udp 127.0.0.1:40000 INVITE sip:alice@127.0.0.1 SIP/2.0 [c1]",
        "  +  0.000s     rule 'busy' took the INVITE [c1]",
        "  +  0.250s  -> udp 127.0.0.1:40000 SIP/2.0 486 Busy Here [c1] (retransmission)",
        "  + 32.000s  !! finding no-ack: no ACK for the 486 [c1]",
        "  + 39.000s     binding expired: aor=sip:alice@x contact=<sip:alice@127.0.0.1> "
        "forced=False",
    ]


def test_ladder_keeps_the_last_lines() -> None:
    options, _ = request("OPTIONS", "c")
    records = [to_record(rule(float(n), "r", options), float(n)) for n in range(5)]
    lines = format_ladder(records, limit=2).splitlines()
    assert lines[0] == "  ... 3 earlier lines"
    assert lines[1:] == ["  +  3.000s     rule 'r' took the OPTIONS [c]",
                         "  +  4.000s     rule 'r' took the OPTIONS [c]"]
