"""What the UAS core puts on the wire for devices that are not like SIP test tools:
responses routed as RFC 3261 §18.2.2 says to clients without rport, keep-alives, STUN,
control characters never echoed, and connections that end in the middle of a message."""

from __future__ import annotations

import random
import re
import struct

import pytest
from uas_harness import Harness, Sent, request, statuses

from sipfault.core.auth import Authenticator
from sipfault.core.events import (
    KeepAliveReceived,
    MessageDropped,
    MessageSent,
    Outgoing,
    Peer,
)
from sipfault.core.responses import response_peer
from sipfault.core.uas import UserAgentServer
from sipfault.model.scenario import AuthSettings
from sipfault.scenario.loader import load_scenario_text
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message
from sipfault.sip.stun import MAGIC_COOKIE
from sipfault.sip.via import parse_via

DEVICE = Peer("udp", ("127.0.0.1", 40000), ("127.0.0.1", 5060))
"""A device that sends from an ephemeral port (and listens on the port its Via names)."""
STREAM = Peer("tcp", ("127.0.0.1", 40001), ("127.0.0.1", 5060), connection=3)

BUSY = """
timers: {t1: 100ms}
rules:
  - match: {method: INVITE}
    reply: [486]
"""
ANSWER = """
timers: {t1: 100ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
"""


def without_rport(data: bytes, sent_by: str = "127.0.0.1:5070") -> bytes:
    """The harness's request as an older printer sends it: no rport, its own sent-by."""
    return data.replace(b"127.0.0.1:5070;branch=", f"{sent_by};branch=".encode()).replace(
        b";rport", b"")


def destinations(sent: list[Sent]) -> set[tuple[str, int]]:
    return {item.peer.remote for item in sent}


# --- routing (RFC 3261 §18.2.2, RFC 3581 §4) -------------------------------------------------


def test_response_peer_follows_the_via_port_only_without_rport() -> None:
    def via(text: str) -> Peer:
        return response_peer(DEVICE, parse_via(text))

    assert via("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1").remote == ("127.0.0.1", 5070)
    assert via("SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1").remote == ("127.0.0.1", 5060)
    assert via("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport").remote == DEVICE.remote
    # Never another address, a name to resolve, nor a maddr: the port only is taken.
    assert via("SIP/2.0/UDP 192.0.2.1:5062;maddr=198.51.100.7;branch=z9hG4bK1").remote == (
        "127.0.0.1", 5062)
    assert via("SIP/2.0/UDP printer.example.com:5080;branch=z9hG4bK1").remote == (
        "127.0.0.1", 5080)
    assert via("SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1") is DEVICE
    assert response_peer(DEVICE, parse_via("SIP/2.0/UDP h:5070"), force_rport=True) is DEVICE
    assert response_peer(STREAM, parse_via("SIP/2.0/TCP h:5070;branch=z9hG4bK1")) is STREAM
    assert response_peer(DEVICE, None) is DEVICE
    routed = via("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1")
    assert (routed.transport, routed.local, routed.connection) == ("udp", DEVICE.local, None)


def test_every_response_and_retransmission_goes_to_the_via_port_without_rport() -> None:
    h = Harness.from_yaml(BUSY)
    sent = h.feed(without_rport(request("INVITE")), DEVICE)
    sent += h.advance(1.0)  # Timer G re-sends the 486
    assert statuses(sent)[:2] == [486, 486]
    assert destinations(sent) == {("127.0.0.1", 5070)}
    again = h.feed(without_rport(request("INVITE")), DEVICE)  # a retransmitted INVITE
    assert statuses(again) == [486] and destinations(again) == {("127.0.0.1", 5070)}
    out = [e for e in h.events if isinstance(e, MessageSent)]
    assert {e.peer.remote for e in out} == {("127.0.0.1", 5070)}  # the journal says so too
    top = sent[0].message.top_via
    assert ("received", "127.0.0.1") not in top.params and not top.has_rport


def test_with_rport_responses_go_to_the_source_port() -> None:
    h = Harness.from_yaml(BUSY)
    sent = h.feed(request("INVITE"), DEVICE)
    assert statuses(sent) == [486]
    assert destinations(sent) == {DEVICE.remote}
    assert ("rport", "40000") in sent[0].message.top_via.params


def test_force_rport_answers_at_the_source_port_whatever_the_via() -> None:
    scenario = load_scenario_text(BUSY, "busy.yaml")
    h = Harness(UserAgentServer(scenario, seed=1, rng=random.Random(1), force_rport=True))
    sent = h.feed(without_rport(request("INVITE")), DEVICE)
    assert destinations(sent) == {DEVICE.remote}


def test_a_sent_by_naming_another_host_is_answered_at_the_source_address() -> None:
    h = Harness.from_yaml(BUSY)
    sent = h.feed(without_rport(request("OPTIONS"), "192.0.2.1:5062"), DEVICE)
    assert statuses(sent) == [200]
    assert destinations(sent) == {("127.0.0.1", 5062)}
    assert ("received", "127.0.0.1") in sent[0].message.top_via.params


def test_a_stateless_400_follows_the_via_port_too() -> None:
    h = Harness.from_yaml(BUSY)
    bad = without_rport(request("OPTIONS", cseq_method="INVITE"), "127.0.0.1")
    sent = h.feed(bad, DEVICE)
    assert statuses(sent) == [400]
    assert destinations(sent) == {("127.0.0.1", 5060)}
    unreadable_via = request("OPTIONS", cseq_method="INVITE").replace(
        b"SIP/2.0/UDP 127.0.0.1:5070", b"SIP/2.0/UDP 127.0.0.1:5070 junk")
    sent = h.feed(unreadable_via, DEVICE)  # no port to read: the source port
    assert statuses(sent) == [400] and destinations(sent) == {DEVICE.remote}


def test_over_tcp_responses_stay_on_the_connection() -> None:
    h = Harness.from_yaml(BUSY)
    sent = h.feed(without_rport(request("INVITE", transport="TCP")), STREAM)
    assert statuses(sent) == [486]
    assert {item.peer for item in sent} == {STREAM}


OFFER = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio 49170 RTP/AVP 0\r\n")


def test_2xx_retransmissions_and_our_bye_go_where_the_invite_was_answered() -> None:
    h = Harness.from_yaml(ANSWER)
    sent = h.feed(without_rport(request("INVITE", body=OFFER)), DEVICE)
    assert statuses(sent) == [200]
    later = h.advance(7.0)  # no ACK: the 2xx is re-sent, then 64*T1 ends the dialog
    byes = [item for item in later if isinstance(item.message, Request)]
    assert [bye.message.method for bye in byes][:1] == ["BYE"]
    assert destinations(sent + later) == {("127.0.0.1", 5070)}
    with_rport = Harness.from_yaml(ANSWER)
    with_rport.feed(request("INVITE", body=OFFER), DEVICE)
    assert destinations(with_rport.advance(7.0)) == {DEVICE.remote}


# --- keep-alives and STUN (RFC 5626 §4.4) ----------------------------------------------------


def events_of(uas: UserAgentServer) -> list[object]:
    return list(uas.take_events())


def new_uas() -> UserAgentServer:
    return UserAgentServer(load_scenario_text(BUSY, "busy.yaml"), seed=1, rng=random.Random(1))


@pytest.mark.parametrize("data", [b"\r\n\r\n", b"\r\n", b"\n\n\r\n\r\n"])
def test_a_datagram_of_crlfs_is_a_keepalive_not_a_drop(data: bytes) -> None:
    uas = new_uas()
    uas.receive(data, DEVICE, 3.0)
    assert events_of(uas) == [KeepAliveReceived(3.0, DEVICE, "crlf")]
    assert uas.take_outgoing() == []  # nothing to answer over UDP


def test_an_empty_datagram_is_still_dropped() -> None:
    uas = new_uas()
    uas.receive(b"", DEVICE, 0.0)
    assert [type(e) for e in events_of(uas)] == [MessageDropped]


def test_a_stream_ping_is_counted_and_ponged() -> None:
    uas = new_uas()
    uas.keepalive(STREAM, 1.0)
    assert events_of(uas) == [KeepAliveReceived(1.0, STREAM, "crlf")]
    assert uas.take_outgoing() == [Outgoing(b"\r\n", STREAM)]


TRANSACTION = bytes(range(12))
BINDING_REQUEST = struct.pack("!HHI", 0x0001, 0, MAGIC_COOKIE) + TRANSACTION


@pytest.mark.parametrize("peer", [DEVICE, STREAM])
def test_a_stun_binding_request_gets_its_success_response(peer: Peer) -> None:
    uas = new_uas()
    uas.stun(BINDING_REQUEST, peer, 2.0)
    assert events_of(uas) == [KeepAliveReceived(2.0, peer, "stun")]
    (out,) = uas.take_outgoing()
    assert out.peer == peer  # STUN answers the source port, rport or not
    kind, length, cookie = struct.unpack_from("!HHI", out.data)
    assert (kind, length, cookie) == (0x0101, len(out.data) - 20, MAGIC_COOKIE)
    assert out.data[8:20] == TRANSACTION
    port = struct.unpack_from("!H", out.data, 26)[0] ^ (MAGIC_COOKIE >> 16)
    address = bytes(a ^ b for a, b in zip(out.data[28:32], MAGIC_COOKIE.to_bytes(4, "big"),
                                          strict=True))
    assert (".".join(map(str, address)), port) == peer.remote


def test_malformed_stun_and_stray_stun_responses_are_dropped_with_a_reason() -> None:
    uas = new_uas()
    uas.stun(BINDING_REQUEST + b"\0\0\0\0", DEVICE, 0.0)
    uas.stun(b"\x01\x01" + BINDING_REQUEST[2:], DEVICE, 0.0)
    reasons = [e.reason for e in events_of(uas) if isinstance(e, MessageDropped)]
    assert len(reasons) == 2
    assert reasons[0].startswith("malformed STUN: STUN length 0")
    assert reasons[1] == "STUN response matches no request"
    assert uas.take_outgoing() == []


# --- a stream that ends in the middle of a message --------------------------------------------


def test_a_connection_that_ends_with_bytes_held_is_journaled() -> None:
    uas = new_uas()
    held = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia:"
    uas.connection_lost(STREAM, held, False, 5.0)
    uas.connection_lost(STREAM, held, True, 6.0)
    uas.connection_lost(STREAM, b"", False, 7.0)
    assert events_of(uas) == [
        MessageDropped(5.0, STREAM, held, f"connection closed with {len(held)} bytes not parsed"),
        MessageDropped(6.0, STREAM, held, f"connection reset with {len(held)} bytes not parsed"),
    ]


# --- control characters (RFC 3261 §25.1) ------------------------------------------------------

_BAD_BYTE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")


def only_crlf_controls(data: bytes) -> bool:
    return _BAD_BYTE.search(data) is None


@pytest.mark.parametrize(
    ("old", "new", "reason", "copied"),
    [
        (b"Call-ID: call-1", b"Call-ID: call\x00-1", "Control character 0x00 in Call-ID",
         ("Call-ID", "call%00-1")),
        (b'From: "Alice"', b'From: "Al\x07ice"', "Control character 0x07 in From",
         ("From", '"Al%07ice" <sip:alice@127.0.0.1>;tag=ft1')),
        (b";branch=z9hG4bK-1", b";branch=z9hG4bK\r-1", "Control character 0x0D in Via",
         ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK%0D-1;rport")),
        (b"CSeq: 1 OPTIONS", b"CSeq: 1 OPT\x7fIONS", "Control character 0x7F in CSeq",
         ("CSeq", "1 OPT%7FIONS")),
    ],
)
def test_control_characters_get_a_400_naming_them_and_are_not_echoed(
    old: bytes, new: bytes, reason: str, copied: tuple[str, str]
) -> None:
    h = Harness.from_yaml(BUSY)
    data = request("OPTIONS")
    assert old in data
    (answer,) = h.feed(data.replace(old, new), DEVICE)
    assert isinstance(answer.message, Response)
    assert (answer.message.status, answer.message.reason) == (400, reason)
    assert only_crlf_controls(answer.data), answer.data
    assert answer.message.headers.get(copied[0]) == copied[1]


def test_a_malformed_header_line_with_control_characters_elsewhere_is_answered_safely() -> None:
    h = Harness.from_yaml(BUSY)
    data = request("OPTIONS").replace(b"Call-ID: call-1", b"Call-ID: call\x07-1\r\nBad\x00Line")
    (answer,) = h.feed(data, DEVICE)
    assert isinstance(answer.message, Response)
    assert answer.message.status == 400
    assert answer.message.reason.startswith("Malformed header line")
    assert answer.message.reason.isascii() and answer.message.reason.isprintable()
    assert answer.message.headers.get("Call-ID") == "call%07-1"
    assert only_crlf_controls(answer.data)


def test_utf8_in_values_is_answered_and_copied_as_it_came() -> None:
    h = Harness.from_yaml(BUSY)
    name = '"Zoë 李"'.encode()
    (answer,) = h.feed(request("OPTIONS").replace(b'"Alice"', name), DEVICE)
    assert statuses([answer]) == [200]
    assert b"From: " + name + b" <sip:alice@127.0.0.1>" in answer.data


def test_a_digest_defect_quoting_non_ascii_reaches_the_status_line_as_ascii() -> None:
    settings = AuthSettings(users=(("printer", "secret"),), realm="sipfault",
                            methods=frozenset({"REGISTER"}))
    auth = Authenticator(settings, lambda size: b"\1" * size)
    message = request("REGISTER", extra='Authorization: Digest username*="§", realm="sipfault", '
                      'nonce="n", uri="sip:b", response="0"')
    parsed = parse_message(message)
    assert isinstance(parsed, Request)
    outcome = auth.check(parsed, 0.0)
    assert outcome.status == 400 and outcome.reason is not None
    assert "%C2%A7" in outcome.reason
    assert outcome.reason.isascii() and outcome.reason.isprintable()
