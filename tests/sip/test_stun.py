"""The STUN codec (RFC 8489) that answers keep-alives on the SIP port (RFC 5626 §4.4.2).

The samples are the test vectors of RFC 5769.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from sipfault.sip.framer import PING, StreamFramer, StunPacket
from sipfault.sip.stun import (
    BINDING,
    MAGIC_COOKIE,
    StunClass,
    StunError,
    StunMessage,
    answer,
    encode_stun,
    is_stun,
    parse_stun,
    read_xor_mapped_address,
    stun_size,
    xor_mapped_address,
)

TRANSACTION = bytes.fromhex("b7e7a701bc34d686fa87dfae")

# RFC 5769 §2.1: a Binding Request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
# MESSAGE-INTEGRITY and FINGERPRINT (its USERNAME is padded with spaces).
SAMPLE_REQUEST = bytes.fromhex(
    "000100582112a442b7e7a701bc34d686fa87dfae"
    "80220010" "5354554e207465737420636c69656e74"
    "00240004" "6e0001ff"
    "80290008" "932ff9b151263b36"
    "00060009" "6576746a3a68367659202020"
    "00080014" "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004" "e57a3bcf"
)
# RFC 5769 §2.2 and §2.3: the Binding Success Responses for 192.0.2.1 and
# 2001:db8:1234:5678:11:2233:4455:6677, port 32853.
SAMPLE_IPV4_RESPONSE = bytes.fromhex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b" "7465737420766563746f7220"
    "00200008" "0001a147e112a643"
    "00080014" "2b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004" "c07d4c96"
)
XOR_IPV6 = bytes.fromhex("0002a1470113a9faa5d3f179bc25f4b5bed2b9d9")


def binding_request(transaction: bytes = TRANSACTION, *attributes: tuple[int, bytes]) -> bytes:
    """A Binding Request as a phone sends it, built by hand (RFC 8489 §5, §14)."""
    body = b"".join(struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)
                    for kind, value in attributes)
    return struct.pack("!HHI", 0x0001, len(body), MAGIC_COOKIE) + transaction + body


def test_the_rfc_5769_request_is_read_and_its_fingerprint_checked() -> None:
    message = parse_stun(SAMPLE_REQUEST)
    assert (message.method, message.kind) == (BINDING, StunClass.REQUEST)
    assert message.transaction_id == TRANSACTION
    assert message.fingerprint
    assert [kind for kind, _ in message.attributes] == [0x8022, 0x0024, 0x8029, 0x0006, 0x0008]
    assert message.attribute(0x8022) == b"STUN test client"
    assert message.attribute(0x0006) == b"evtj:h6vY"


def test_the_rfc_5769_response_carries_the_mapped_address() -> None:
    response = parse_stun(SAMPLE_IPV4_RESPONSE)
    assert response.kind is StunClass.SUCCESS and response.fingerprint
    mapped = response.attribute(0x0020)
    assert mapped is not None
    assert read_xor_mapped_address(mapped, TRANSACTION) == ("192.0.2.1", 32853)


def test_xor_mapped_address_matches_rfc_5769_for_both_families() -> None:
    assert xor_mapped_address(("192.0.2.1", 32853), TRANSACTION) == bytes.fromhex(
        "0001a147e112a643")
    assert xor_mapped_address(("2001:db8:1234:5678:11:2233:4455:6677", 32853),
                              TRANSACTION) == XOR_IPV6
    assert read_xor_mapped_address(XOR_IPV6, TRANSACTION) == (
        "2001:db8:1234:5678:11:2233:4455:6677", 32853)


def test_a_binding_request_gets_a_success_response_echoing_the_transaction() -> None:
    reply = answer(parse_stun(binding_request()), ("192.0.2.1", 32853))
    assert reply is not None
    kind, length, cookie = struct.unpack_from("!HHI", reply)
    assert (kind, cookie) == (0x0101, MAGIC_COOKIE)
    assert length == len(reply) - 20
    assert reply[8:20] == TRANSACTION
    assert reply[20:24] == bytes.fromhex("00200008")  # XOR-MAPPED-ADDRESS first
    assert reply[24:32] == bytes.fromhex("0001a147e112a643")


def test_the_answer_has_a_fingerprint_when_the_request_had_one() -> None:
    reply = answer(parse_stun(SAMPLE_REQUEST), ("2001:db8:1234:5678:11:2233:4455:6677", 32853),
                   software="sipfault/test")
    assert reply is not None
    response = parse_stun(reply)  # checks the FINGERPRINT
    assert response.fingerprint and response.kind is StunClass.SUCCESS
    assert response.attribute(0x0020) == XOR_IPV6
    assert response.attribute(0x8022) == b"sipfault/test"
    crc = (zlib.crc32(reply[:-8]) ^ 0x5354554E).to_bytes(4, "big")
    assert reply[-8:] == bytes.fromhex("80280004") + crc
    without = answer(parse_stun(binding_request()), ("127.0.0.1", 5060))
    assert without is not None and not parse_stun(without).fingerprint


def test_an_unknown_comprehension_required_attribute_gets_420() -> None:
    request = parse_stun(binding_request(TRANSACTION, (0x0003, b"\0\0\0\4"), (0x8123, b"x")))
    reply = answer(request, ("127.0.0.1", 5060))
    assert reply is not None
    error = parse_stun(reply)
    assert (error.method, error.kind) == (BINDING, StunClass.ERROR)
    assert struct.unpack_from("!HH", reply) == (0x0111, len(reply) - 20)
    assert error.attribute(0x0009) == b"\0\0\x04\x14Unknown Attribute"
    assert error.attribute(0x000A) == b"\x00\x03"  # the optional 0x8123 is not listed


def test_another_method_gets_400_and_an_indication_nothing() -> None:
    allocate = parse_stun(struct.pack("!HHI", 0x0003, 0, MAGIC_COOKIE) + TRANSACTION)
    assert allocate.method == 0x003
    reply = answer(allocate, ("127.0.0.1", 5060))
    assert reply is not None
    assert parse_stun(reply).attribute(0x0009) == b"\0\0\x04\x00Bad Request"
    indication = parse_stun(struct.pack("!HHI", 0x0011, 0, MAGIC_COOKIE) + TRANSACTION)
    assert (indication.method, indication.kind) == (BINDING, StunClass.INDICATION)
    assert answer(indication, ("127.0.0.1", 5060)) is None


def test_message_types_interleave_method_and_class_bits() -> None:
    for method, kind, wire in [(BINDING, StunClass.REQUEST, 0x0001),
                               (BINDING, StunClass.INDICATION, 0x0011),
                               (BINDING, StunClass.SUCCESS, 0x0101),
                               (BINDING, StunClass.ERROR, 0x0111),
                               (0x0ABC, StunClass.SUCCESS, 0x2B6C)]:
        data = encode_stun(StunMessage(method, kind, TRANSACTION))
        assert struct.unpack_from("!H", data)[0] == wire
        assert parse_stun(data) == StunMessage(method, kind, TRANSACTION)


def test_is_stun_tells_stun_from_sip_and_from_other_bytes() -> None:
    assert is_stun(SAMPLE_REQUEST) and is_stun(binding_request())
    assert stun_size(SAMPLE_REQUEST + b"OPTIONS") == len(SAMPLE_REQUEST)
    assert not is_stun(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n")
    assert not is_stun(binding_request()[:19])  # shorter than a header
    assert not is_stun(b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x43" + TRANSACTION)  # cookie
    assert not is_stun(b"\x40" + binding_request()[1:])  # top bits set
    assert not is_stun(b"\x00\x01\x00\x03" + binding_request()[4:])  # length not 4-aligned
    assert stun_size(b"\r\n\r\n") is None


_HEAD = struct.pack("!HHI", 0x0001, 12, MAGIC_COOKIE) + TRANSACTION
AFTER_FINGERPRINT = (_HEAD + struct.pack("!HHI", 0x8028, 4, zlib.crc32(_HEAD) ^ 0x5354554E)
                     + bytes.fromhex("80220000"))


@pytest.mark.parametrize(
    ("data", "defect"),
    [
        (binding_request() + b"\0\0\0\0", "length"),
        (b"\x00\x01\x00\x02" + binding_request()[4:] + b"\0\0", "multiple of 4"),
        (SAMPLE_REQUEST[:-1] + b"\0", "FINGERPRINT"),
        (binding_request(TRANSACTION, (0x8022, b"abcd"))[:-4]
         .replace(b"\x00\x08", b"\x00\x04", 1), "runs past"),
        (struct.pack("!HHI", 1, 4, MAGIC_COOKIE) + TRANSACTION + b"\x80\x22\x00\x10", "runs past"),
        (AFTER_FINGERPRINT, "after FINGERPRINT"),
        (b"OPTIONS sip:x SIP/2.0\r\n\r\n", "magic cookie"),
    ],
)
def test_malformed_stun_is_refused_naming_the_defect(data: bytes, defect: str) -> None:
    with pytest.raises(StunError, match=defect):
        parse_stun(data)


# --- framing on a stream (RFC 8489 §6.2.2) ------------------------------------------------------

OPTIONS = (b"OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
           b"Content-Length: 0\r\n\r\n")


def test_the_framer_cuts_stun_between_sip_messages_by_its_header_length() -> None:
    framer = StreamFramer()
    stream = OPTIONS + SAMPLE_REQUEST + b"\r\n\r\n" + binding_request() + OPTIONS
    assert framer.feed(stream) == [OPTIONS, StunPacket(SAMPLE_REQUEST), PING,
                                   StunPacket(binding_request()), OPTIONS]
    one_by_one = StreamFramer()
    items = [item for byte in stream for item in one_by_one.feed(bytes([byte]))]
    assert items == [OPTIONS, StunPacket(SAMPLE_REQUEST), PING, StunPacket(binding_request()),
                     OPTIONS]
    assert one_by_one.unparsed() == b""


def test_bytes_that_only_start_like_stun_are_framed_as_sip() -> None:
    framer = StreamFramer()
    garbage = b"\x00\xff\x13 not SIP at all\r\n\r\n"
    assert framer.feed(garbage) == [garbage]  # the UAS drops it as unparsable
    waiting = StreamFramer()
    assert waiting.feed(SAMPLE_REQUEST[:30]) == []
    assert waiting.unparsed() == SAMPLE_REQUEST[:30]
