"""The 503 of load shedding built from a request's bytes (``core/refusal.py``): what it reads,
what it gives up on (the parser's path takes those), and the response it writes."""

from __future__ import annotations

from uas_harness import OFFER, TCP, UDP, request

from sipfault.core.events import Peer
from sipfault.core.refusal import read_request, refusal, refusal_peer
from sipfault.sip.message import Response
from sipfault.sip.parser import parse_message


def _refused(data: bytes, peer: Peer = UDP) -> Response:
    raw = read_request(data)
    assert raw is not None
    message = parse_message(refusal(raw, peer, "shed1", [("Retry-After", "2")]))
    assert isinstance(message, Response)
    return message


def test_a_plain_invite_is_read_and_refused_with_the_fields_a_response_copies() -> None:
    data = request(call_id="c-1", branch="z9hG4bK-x", from_tag="ft", body=OFFER)
    raw = read_request(data)
    assert raw is not None
    assert (raw.method, raw.call_id, raw.from_tag, raw.to_tag, raw.branch) == (
        "INVITE", "c-1", "ft", None, "z9hG4bK-x")
    response = _refused(data)
    assert response.status == 503 and response.reason == "Service Unavailable"
    assert response.call_id == "c-1" and response.cseq == (1, "INVITE")
    assert response.from_.tag == "ft" and response.to.tag == "shed1"
    assert response.headers.get("Retry-After") == "2"
    assert response.headers.get("Content-Length") == "0"
    # rport asked for: filled with the source port, and received added (RFC 3581 §4)
    via = response.headers.get("Via") or ""
    assert via.endswith(";branch=z9hG4bK-x;rport=5070;received=127.0.0.1"), via


def test_every_via_is_copied_in_order_and_received_marks_another_host() -> None:
    data = request(extra="Via: SIP/2.0/UDP 192.0.2.7:5080;branch=z9hG4bK-second").replace(
        b";rport", b"").replace(b"127.0.0.1:5070;branch", b"10.1.1.1:5070;branch")
    response = _refused(data)
    vias = response.headers.values("Via")
    assert len(vias) == 2
    assert vias[0].endswith(";received=127.0.0.1") and "10.1.1.1:5070" in vias[0]
    assert vias[1] == "SIP/2.0/UDP 192.0.2.7:5080;branch=z9hG4bK-second"
    raw = read_request(data)
    assert raw is not None
    assert refusal_peer(raw, UDP, False) == UDP  # no rport: the Via's port, here the source's
    assert refusal_peer(raw, TCP, False) == TCP


def test_without_rport_the_refusal_goes_to_the_vias_port() -> None:
    data = request().replace(b"127.0.0.1:5070;branch=z9hG4bK-1;rport",
                             b"127.0.0.1;branch=z9hG4bK-1")
    raw = read_request(data)
    assert raw is not None
    assert refusal_peer(raw, UDP, False).remote == ("127.0.0.1", 5060)
    assert refusal_peer(raw, UDP, True) == UDP


def test_compact_forms_are_read() -> None:
    data = (b"REGISTER sip:127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r\r\n"
            b"f: <sip:a@127.0.0.1>;tag=1\r\nt: <sip:a@127.0.0.1>\r\ni: reg-1\r\n"
            b"CSeq: 1 REGISTER\r\nl: 0\r\n\r\n")
    raw = read_request(data)
    assert raw is not None and raw.method == "REGISTER" and raw.call_id == "reg-1"
    assert _refused(data).to.tag == "shed1"


def test_what_is_not_plain_is_left_to_the_parser() -> None:
    plain = request()
    assert read_request(plain) is not None
    folded = plain.replace(b"Call-ID: call-1", b"Call-ID:\r\n call-1")
    twice = plain.replace(b"Call-ID: call-1", b"Call-ID: call-1\r\nCall-ID: call-2")
    missing = plain.replace(b"CSeq: 1 INVITE\r\n", b"")
    odd_via = plain.replace(b"SIP/2.0/UDP 127.0.0.1:5070", b"SIP/2.0/UDP")
    two_in_one = plain.replace(b";rport", b";rport, SIP/2.0/UDP 192.0.2.1")
    control = plain.replace(b"Call-ID: call-1", b"Call-ID: call\x01-1")
    utf8 = plain.replace(b"\"Alice\"", "\"Alicé\"".encode())
    headless = plain.split(b"\r\n\r\n")[0]
    for data in (folded, twice, missing, odd_via, two_in_one, control, utf8, headless):
        assert read_request(data) is None, data


def test_the_same_request_gives_the_same_bytes() -> None:
    data = request(body=OFFER)
    first, second = read_request(data), read_request(data)
    assert first is not None and second is not None
    assert refusal(first, UDP, "shedx", []) == refusal(second, UDP, "shedx", [])
