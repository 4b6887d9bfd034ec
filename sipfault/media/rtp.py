"""The RTP fixed header (RFC 3550 §5.1), read without copying the payload.

::

     0                   1                   2                   3
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    |                           timestamp                           |
    |           synchronization source (SSRC) identifier            |
    |            contributing source (CSRC) identifiers             |  CC of them
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RtpHeader", "is_rtcp", "parse_rtp"]

_FIXED = 12


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """The fields of an RTP header that accounting reads."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    header_length: int
    """Octets before the payload: fixed header, CSRCs and extension (RFC 3550 §5.3.1)."""


def parse_rtp(packet: bytes) -> RtpHeader | None:
    """The header of an RTP packet, or None when ``packet`` is not one (version 2, long enough
    for its CSRCs, extension and padding)."""
    if len(packet) < _FIXED or packet[0] >> 6 != 2:
        return None
    count = packet[0] & 0x0F
    length = _FIXED + 4 * count
    if packet[0] & 0x10:  # the extension: a 4-octet header, then its length in words
        if len(packet) < length + 4:
            return None
        length += 4 + 4 * int.from_bytes(packet[length + 2:length + 4], "big")
    if len(packet) < length:
        return None
    if packet[0] & 0x20:  # padding: its count is the last octet, and it must fit
        padding = packet[-1]
        if padding == 0 or length + padding > len(packet):
            return None
    return RtpHeader(
        payload_type=packet[1] & 0x7F,
        sequence=int.from_bytes(packet[2:4], "big"),
        timestamp=int.from_bytes(packet[4:8], "big"),
        ssrc=int.from_bytes(packet[8:12], "big"),
        marker=bool(packet[1] & 0x80),
        header_length=length,
    )


def is_rtcp(packet: bytes) -> bool:
    """RTCP multiplexed on the RTP port (RFC 5761 §4): packet types 200-204 (SR, RR, SDES,
    BYE, APP) where RTP would have its marker bit and payload type."""
    return len(packet) >= 8 and packet[0] >> 6 == 2 and 200 <= packet[1] <= 204
