"""The Journal fed events directly: what counts as unexpected, and how the ladder reads."""

from __future__ import annotations

from sipfault.api.records import Journal, format_ladder
from sipfault.core.events import (
    BindingExpired,
    Finding,
    MessageDropped,
    MessageReceived,
    MessageSent,
    Peer,
    RequestUnmatched,
    RuleMatched,
)
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message

PEER = Peer("udp", ("127.0.0.1", 40000), ("127.0.0.1", 5060))


def request(method: str, call_id: str = "c1") -> tuple[Request, bytes]:
    data = (
        f"{method} sip:alice@127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1\r\n"
        "From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message, data


def response(status: int, reason: str, method: str = "INVITE") -> tuple[Response, bytes]:
    data = (
        f"SIP/2.0 {status} {reason}\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1\r\n"
        "From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>;tag=2\r\n"
        f"Call-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Response)
    return message, data


def journal() -> Journal:
    return Journal(lambda loop_time: 1000.0 + loop_time)


def test_a_refusal_with_a_finding_is_reported_once() -> None:
    log = journal()
    invite, data = request("INVITE")
    forbidden, out = response(403, "Forbidden")
    log.on_event(MessageReceived(1.0, PEER, invite, data))
    log.on_event(MessageSent(1.0, PEER, forbidden, out, request=invite))
    log.on_event(Finding(1.0, "auth-failed", "403 Forbidden", "c1", PEER))
    assert [item.kind for item in log.unexpected()] == ["auth-failed"]


def test_challenges_and_rule_answers_are_expected() -> None:
    log = journal()
    invite, data = request("INVITE")
    log.on_event(MessageReceived(1.0, PEER, invite, data))
    challenge, out = response(401, "Unauthorized")
    log.on_event(MessageSent(1.0, PEER, challenge, out, request=invite))
    again, data2 = request("INVITE")
    log.on_event(MessageReceived(2.0, PEER, again, data2))
    log.on_event(RuleMatched(2.0, "busy", "INVITE", "c1"))
    busy, out2 = response(486, "Busy Here")
    log.on_event(MessageSent(2.0, PEER, busy, out2, request=again))
    assert log.unexpected() == []


def test_unmatched_refusal_is_reported_once() -> None:
    log = journal()
    subscribe, data = request("SUBSCRIBE")
    refused, out = response(405, "Method Not Allowed", "SUBSCRIBE")
    log.on_event(MessageReceived(1.0, PEER, subscribe, data))
    log.on_event(MessageSent(1.0, PEER, refused, out, request=subscribe))
    log.on_event(RequestUnmatched(1.0, subscribe, PEER, 405))
    (item,) = log.unexpected()
    assert (item.kind, item.status, item.method, item.time) == (
        "unmatched", 405, "SUBSCRIBE", 1001.0)


def test_blank_keepalives_are_not_unexpected_garbage_is() -> None:
    log = journal()
    log.on_event(MessageDropped(1.0, PEER, b"\r\n\r\n", "empty"))
    log.on_event(MessageDropped(2.0, PEER, b"\x16\x03\x01 junk", "not SIP"))
    assert [(item.kind, item.text) for item in log.unexpected()] == [
        ("dropped", "not SIP from udp 127.0.0.1:40000")]


def test_ladder_shows_every_event_kind() -> None:
    log = journal()
    invite, data = request("INVITE")
    busy, out = response(486, "Busy Here")
    log.on_event(MessageReceived(1.0, PEER, invite, data))
    log.on_event(RuleMatched(1.0, "busy", "INVITE", "c1"))
    log.on_event(MessageSent(1.25, PEER, busy, out, True, invite))
    log.on_event(Finding(33.0, "no-ack", "no ACK for the 486", "c1", PEER))
    log.on_event(BindingExpired(40.0, "sip:alice@x", "<sip:alice@127.0.0.1>"))
    assert log.ladder().splitlines() == [
        "  +  0.000s  udp 127.0.0.1:40000 -> INVITE sip:alice@127.0.0.1 SIP/2.0  [c1]",
        "  +  0.000s      rule 'busy' took the INVITE",
        "  +  0.250s  udp 127.0.0.1:40000 <- SIP/2.0 486 Busy Here  [c1] (retransmission)",
        "  + 32.000s  !! finding no-ack: no ACK for the 486",
        "  + 39.000s      binding expired: aor=sip:alice@x contact=<sip:alice@127.0.0.1> "
        "forced=False",
    ]


def test_ladder_keeps_the_last_lines() -> None:
    events = [(float(n), RuleMatched(float(n), "r", "OPTIONS", "c")) for n in range(5)]
    lines = format_ladder(events, limit=2).splitlines()
    assert lines[0] == "  ... 3 earlier lines"
    assert lines[1:] == ["  +  3.000s      rule 'r' took the OPTIONS",
                         "  +  4.000s      rule 'r' took the OPTIONS"]
