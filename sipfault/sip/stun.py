"""STUN on the SIP port: the Binding keep-alive of RFC 5626 §4.4.2, sans-I/O (RFC 8489).

A SIP outbound client (RFC 5626 §4.4.1) sends STUN Binding Requests to the port it sends SIP
to, to keep its NAT binding open and learn its reflexive address. A STUN message is told apart
from SIP by its first byte (0x00 or 0x01: the two top bits are zero, RFC 8489 §6; RFC 7983
§7) and the magic cookie 0x2112A442 at offset 4; :func:`is_stun` does that test and
:func:`stun_size` frames one on a stream by the length in its header (RFC 8489 §6.2.2).

:func:`parse_stun` reads a message (header, attributes, FINGERPRINT checked when present) and
:func:`answer` says what a server sends back: a Binding Success Response with
XOR-MAPPED-ADDRESS (IPv4 or IPv6, §14.2) and the transaction ID echoed, a 420 error for an
unknown comprehension-required attribute or a 400 for a request of another method (§6.3.1),
nothing for an indication (a Binding Indication is a keep-alive too). The answer carries
FINGERPRINT when the request did (§14.7) and SOFTWARE when given one (§14.14).

No authentication: the keep-alive usage has none (RFC 5626 §4.4.2), so USERNAME and
MESSAGE-INTEGRITY are read past, not checked.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BINDING",
    "HEADER_SIZE",
    "MAGIC_COOKIE",
    "StunClass",
    "StunError",
    "StunMessage",
    "answer",
    "encode_stun",
    "is_stun",
    "parse_stun",
    "read_xor_mapped_address",
    "stun_size",
    "xor_mapped_address",
]

MAGIC_COOKIE = 0x2112A442
"""RFC 8489 §5: the fixed value at offset 4 of every STUN message."""
_COOKIE_BYTES = MAGIC_COOKIE.to_bytes(4, "big")
HEADER_SIZE = 20
"""Type (2), length (2), magic cookie (4), transaction ID (12) (RFC 8489 §5)."""
BINDING = 0x001
"""The Binding method (RFC 8489 §18.2)."""

# Attribute types (RFC 8489 §18.3; RFC 8445 §16.1 for the ICE ones).
MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
REALM = 0x0014
NONCE = 0x0015
MESSAGE_INTEGRITY_SHA256 = 0x001C
PASSWORD_ALGORITHM = 0x001D
USERHASH = 0x001E
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
SOFTWARE = 0x8022
FINGERPRINT = 0x8028

_UNDERSTOOD = frozenset({
    MAPPED_ADDRESS, USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, UNKNOWN_ATTRIBUTES, REALM, NONCE,
    MESSAGE_INTEGRITY_SHA256, PASSWORD_ALGORITHM, USERHASH, XOR_MAPPED_ADDRESS, PRIORITY,
    USE_CANDIDATE,
})
"""Comprehension-required attributes (type below 0x8000) a request may carry without a 420."""

_FINGERPRINT_XOR = 0x5354554E
"""RFC 8489 §14.7: the CRC-32 is XORed with this ("STUN")."""
_FAMILY_IPV4 = 0x01
_FAMILY_IPV6 = 0x02


class StunError(ValueError):
    """Bytes that start like STUN but are not a well-formed STUN message."""


class StunClass(enum.IntEnum):
    """The class bits of a message type (RFC 8489 §5)."""

    REQUEST = 0b00
    INDICATION = 0b01
    SUCCESS = 0b10
    ERROR = 0b11


@dataclass(frozen=True, slots=True)
class StunMessage:
    """A STUN message: its method, class, transaction ID and attributes in order."""

    method: int
    kind: StunClass
    transaction_id: bytes
    """The 96-bit transaction ID (12 bytes)."""
    attributes: tuple[tuple[int, bytes], ...] = ()
    """(type, value) pairs, values without padding; FINGERPRINT is not kept here."""
    fingerprint: bool = False
    """Whether the message ended with a (valid) FINGERPRINT."""

    def attribute(self, kind: int) -> bytes | None:
        """The value of the first attribute of type ``kind``, or None."""
        return next((value for key, value in self.attributes if key == kind), None)


def is_stun(data: bytes | bytearray) -> bool:
    """Whether ``data`` starts with a STUN header: first byte 0x00 or 0x01, the magic cookie
    at offset 4, and a length that is a multiple of 4 (RFC 8489 §6.3; RFC 7983 §7)."""
    return (
        len(data) >= HEADER_SIZE
        and data[0] < 2
        and data[4:8] == _COOKIE_BYTES
        and data[3] % 4 == 0
    )


def stun_size(data: bytes | bytearray) -> int | None:
    """The size of the STUN message ``data`` starts with (header included), read from its
    header; None when ``data`` does not start with a STUN header (see :func:`is_stun`)."""
    if not is_stun(data):
        return None
    return HEADER_SIZE + int.from_bytes(data[2:4], "big")


def _message_type(method: int, kind: StunClass) -> int:
    """Interleave the 12 method bits and 2 class bits (RFC 8489 §5, figure 3)."""
    return ((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
            | ((kind & 0b01) << 4) | ((kind & 0b10) << 7))


def _split_type(value: int) -> tuple[int, StunClass]:
    method = (value & 0x000F) | ((value & 0x00E0) >> 1) | ((value & 0x3E00) >> 2)
    kind = StunClass(((value >> 4) & 0b01) | ((value >> 7) & 0b10))
    return method, kind


def _crc(data: bytes) -> int:
    return (zlib.crc32(data) ^ _FINGERPRINT_XOR) & 0xFFFFFFFF


def parse_stun(data: bytes) -> StunMessage:
    """Read one whole STUN message; :class:`StunError` says what is wrong with it."""
    if len(data) < HEADER_SIZE or data[0] & 0xC0 or data[4:8] != _COOKIE_BYTES:
        raise StunError("not a STUN message (no magic cookie)")
    (message_type, length) = struct.unpack_from("!HH", data)
    if length % 4:
        raise StunError(f"STUN length {length} is not a multiple of 4")
    if HEADER_SIZE + length != len(data):
        raise StunError(f"STUN length {length} does not match the {len(data)} bytes received")
    method, kind = _split_type(message_type)
    attributes: list[tuple[int, bytes]] = []
    offset = HEADER_SIZE
    fingerprint = False
    while offset < len(data):
        if fingerprint:
            raise StunError("STUN attribute after FINGERPRINT")
        if offset + 4 > len(data):
            raise StunError("truncated STUN attribute header")
        kind_of, size = struct.unpack_from("!HH", data, offset)
        end = offset + 4 + size
        if end > len(data):
            raise StunError(f"STUN attribute 0x{kind_of:04X} runs past the message")
        value = data[offset + 4:end]
        if kind_of == FINGERPRINT:
            if size != 4 or int.from_bytes(value, "big") != _crc(data[:offset]):
                raise StunError("STUN FINGERPRINT does not match")
            fingerprint = True
        else:
            attributes.append((kind_of, value))
        offset = end + (-size % 4)  # values are padded to a multiple of 4 bytes
    return StunMessage(method, kind, data[8:HEADER_SIZE], tuple(attributes), fingerprint)


def encode_stun(message: StunMessage) -> bytes:
    """The bytes of ``message``, with a FINGERPRINT last when ``message.fingerprint``."""
    body = b"".join(
        struct.pack("!HH", kind, len(value)) + value + b"\x00" * (-len(value) % 4)
        for kind, value in message.attributes
    )
    fingerprint_size = 8 if message.fingerprint else 0
    head = struct.pack("!HHI", _message_type(message.method, message.kind),
                       len(body) + fingerprint_size, MAGIC_COOKIE) + message.transaction_id
    data = head + body
    if message.fingerprint:
        data += struct.pack("!HHI", FINGERPRINT, 4, _crc(data))
    return data


def xor_mapped_address(address: tuple[str, int], transaction_id: bytes) -> bytes:
    """The XOR-MAPPED-ADDRESS value of an IPv4 or IPv6 address and port (RFC 8489 §14.2)."""
    host, port = address
    ip = ipaddress.ip_address(host.split("%", 1)[0])  # a scope id (fe80::1%eth0) is local
    packed = ip.packed
    if ip.version == 4:
        family, key = _FAMILY_IPV4, _COOKIE_BYTES
    else:
        family, key = _FAMILY_IPV6, _COOKIE_BYTES + transaction_id
    masked = bytes(a ^ b for a, b in zip(packed, key, strict=True))
    return struct.pack("!BBH", 0, family, port ^ (MAGIC_COOKIE >> 16)) + masked


def read_xor_mapped_address(value: bytes, transaction_id: bytes) -> tuple[str, int]:
    """The address and port an XOR-MAPPED-ADDRESS value holds (the inverse of
    :func:`xor_mapped_address`)."""
    if len(value) not in (8, 20):
        raise StunError("XOR-MAPPED-ADDRESS of a wrong size")
    _, family, xport = struct.unpack_from("!BBH", value)
    key = _COOKIE_BYTES if family == _FAMILY_IPV4 else _COOKIE_BYTES + transaction_id
    if (family, len(value)) not in ((_FAMILY_IPV4, 8), (_FAMILY_IPV6, 20)):
        raise StunError("XOR-MAPPED-ADDRESS of an unknown family")
    packed = bytes(a ^ b for a, b in zip(value[4:], key, strict=True))
    return str(ipaddress.ip_address(packed)), xport ^ (MAGIC_COOKIE >> 16)


def _error(request: StunMessage, code: int, reason: str,
           extra: Iterable[tuple[int, bytes]] = ()) -> StunMessage:
    """An error response (RFC 8489 §14.8: class in the hundreds, number modulo 100)."""
    value = struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode("utf-8")
    return StunMessage(request.method, StunClass.ERROR, request.transaction_id,
                       ((ERROR_CODE, value), *extra), request.fingerprint)


def answer(request: StunMessage, source: tuple[str, int],
           software: str | None = None) -> bytes | None:
    """What a STUN server sends back to ``request`` from ``source``; None for no answer.

    A Binding Request gets a Binding Success Response whose XOR-MAPPED-ADDRESS is ``source``
    (RFC 8489 §6.3.1.1); a request of another method a 400, one with a comprehension-required
    attribute this server does not know a 420 listing them (§6.3.1). Indications and
    responses get nothing (§6.3.2, §6.3.3).
    """
    if request.kind is not StunClass.REQUEST:
        return None
    extra: tuple[tuple[int, bytes], ...] = (
        ((SOFTWARE, software[:127].encode("utf-8")),) if software else ()  # §14.14
    )
    unknown = sorted({kind for kind, _ in request.attributes
                      if kind < 0x8000 and kind not in _UNDERSTOOD})
    if unknown:
        listed = b"".join(kind.to_bytes(2, "big") for kind in unknown)
        reply = _error(request, 420, "Unknown Attribute", ((UNKNOWN_ATTRIBUTES, listed), *extra))
    elif request.method != BINDING:
        reply = _error(request, 400, "Bad Request", extra)
    else:
        mapped = xor_mapped_address(source, request.transaction_id)
        reply = StunMessage(BINDING, StunClass.SUCCESS, request.transaction_id,
                            ((XOR_MAPPED_ADDRESS, mapped), *extra), request.fingerprint)
    return encode_stun(reply)
