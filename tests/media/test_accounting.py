"""RTP headers (RFC 3550 §5.1) and the counts of a stream: kinds, bytes, sequence gaps per SSRC
(RTP) and per stream (UDPTL, ITU-T T.38 §9.1), and when a kind is reported."""

from __future__ import annotations

import pytest

from sipfault.core.events import MediaTotals
from sipfault.fax.udptl import FecInfo, UDPTLPacket, encode_udptl
from sipfault.media.accounting import StreamAccount, classify
from sipfault.media.rtp import is_rtcp, parse_rtp


def rtp(sequence: int, ssrc: int = 7, payload_type: int = 0, first: int = 0x80,
        extra: bytes = b"", payload: bytes = b"\xd5" * 160) -> bytes:
    return (bytes((first, payload_type)) + sequence.to_bytes(2, "big") + b"\x00\x00\x00\xa0"
            + ssrc.to_bytes(4, "big") + extra + payload)


def udptl(sequence: int) -> bytes:
    return encode_udptl(UDPTLPacket(sequence, b"\x06\x08", (b"\x06\x07",)))


def test_the_fixed_header() -> None:
    header = parse_rtp(rtp(513, ssrc=0xDEADBEEF, payload_type=8, first=0x80))
    assert header is not None
    assert (header.payload_type, header.sequence, header.ssrc, header.marker) == (
        8, 513, 0xDEADBEEF, False)
    assert header.header_length == 12
    marked = parse_rtp(bytes((0x80, 0x80 | 101)) + rtp(1)[2:])
    assert marked is not None and marked.marker and marked.payload_type == 101


def test_csrcs_and_an_extension_are_skipped() -> None:
    with_csrc = rtp(1, first=0x82, extra=b"\x00\x00\x00\x01\x00\x00\x00\x02")
    assert parse_rtp(with_csrc).header_length == 20  # type: ignore[union-attr]
    extension = b"\xbe\xde\x00\x01" + b"\x10\x00\x00\x00"
    assert parse_rtp(rtp(1, first=0x90, extra=extension)).header_length == 20  # type: ignore[union-attr]


@pytest.mark.parametrize("packet", [
    b"", b"\x80\x00\x00", rtp(1, first=0x40), rtp(1, first=0x00),
    rtp(1, first=0x8F, payload=b"\x00" * 20),           # 15 CSRCs that are not there
    rtp(1, first=0x90, payload=b""),                     # an extension cut short
    rtp(1, first=0xA0, payload=b"\x00\x00\x00\x00"),     # padding count 0
    rtp(1, first=0xA0, payload=b"\x00\x00\x00\xff"),     # more padding than packet
])  # fmt: skip
def test_what_is_not_rtp(packet: bytes) -> None:
    assert parse_rtp(packet) is None


def test_rtcp_on_the_rtp_port_is_not_rtp() -> None:
    receiver_report = bytes((0x81, 201)) + b"\x00\x07" + b"\x00" * 28
    assert is_rtcp(receiver_report)
    assert classify(receiver_report, "audio")[0] == "other"
    assert not is_rtcp(rtp(1))


def test_udptl_is_told_from_rtp_by_the_stream_type() -> None:
    high = udptl(0x8123)  # its first octet reads as RTP version 2
    assert classify(high, "image") == ("udptl", 0x8123, None, 1)  # with a redundant copy
    assert classify(udptl(3), "audio") == ("udptl", 3, None, 1)
    fec = encode_udptl(UDPTLPacket(4, b"\x06\x08", fec=FecInfo(3, (b"\x01",))))
    assert classify(fec, "image") == ("udptl", 4, None, 2)
    bare = encode_udptl(UDPTLPacket(5, b"\x06\x08"))
    assert classify(bare, "image") == ("udptl", 5, None, 0)
    assert classify(rtp(9), "image")[0] == "rtp"
    assert classify(b"hello", "audio")[0] == "other"


def test_gaps_are_counted_per_ssrc_across_wraparound_and_late_packets_are_not() -> None:
    account = StreamAccount("audio")
    for sequence in (65534, 65535, 1, 2, 0, 2):  # 0 skipped then late; 2 repeated
        account.feed(rtp(sequence))
    for sequence in (100, 104):  # another source: three lost
        account.feed(rtp(sequence, ssrc=8, payload_type=101))
    totals = account.totals()
    assert (totals.packets, totals.rtp, totals.lost, totals.ssrcs) == (8, 8, 4, 2)
    assert totals.payload_types == (0, 101)
    assert totals.bytes == 8 * 172


def test_udptl_gaps_and_kinds_reported_once_until_watched() -> None:
    account = StreamAccount("image")
    assert [account.feed(udptl(n)) for n in (0, 1, 4)] == ["udptl", None, None]
    assert account.feed(rtp(1)) == "rtp"
    assert account.feed(b"junk") == "other"
    assert account.feed(rtp(2)) is None
    account.watch()
    assert account.feed(rtp(3)) == "rtp"
    totals = account.totals()
    assert (totals.udptl, totals.rtp, totals.other, totals.lost) == (3, 3, 1, 2)
    assert (totals.udptl_redundancy, totals.udptl_fec) == (3, 0)
    assert totals.payload_types == (0,)  # error recovery is not an RTP payload type


def test_restart_returns_the_phase_and_counts_afresh() -> None:
    account = StreamAccount("audio")
    account.feed(rtp(1))
    account.echoed()
    before = account.restart("image")
    assert (before.packets, before.echoed) == (1, 1)
    assert account.totals() == MediaTotals()
    assert account.feed(rtp(2)) == "rtp" and account.media == "image"
