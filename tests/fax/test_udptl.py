"""UDPTL (ITU-T T.38 §9.1): framing, redundancy, FEC, and the receiver's in-order delivery."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sipfault.fax.t38 import DataType, Field, FieldType, IFPPacket, encode_ifp
from sipfault.fax.udptl import (
    FecInfo,
    UDPTLError,
    UDPTLPacket,
    UDPTLReceiver,
    UDPTLSender,
    decode_udptl,
    encode_udptl,
)

udptl_packets = st.one_of(
    st.builds(UDPTLPacket, st.integers(0, 65535), st.binary(min_size=1, max_size=200),
              st.lists(st.binary(min_size=1, max_size=50), max_size=5).map(tuple)),
    st.builds(lambda seq, primary, span, data: UDPTLPacket(seq, primary,
                                                          fec=FecInfo(span, tuple(data))),
              st.integers(0, 65535), st.binary(min_size=1, max_size=200),
              st.integers(0, 300), st.lists(st.binary(min_size=1, max_size=50), max_size=4)),
)


def ifp(number: int) -> bytes:
    return encode_ifp(IFPPacket.data(DataType.V17_14400,
                                     Field(FieldType.T4_NON_ECM_DATA, bytes([number % 256]) * 5)))


def test_known_encoding() -> None:
    packet = UDPTLPacket(0x1234, b"\x04", (b"\x02", b"\x00"))
    assert encode_udptl(packet).hex() == "1234" + "0104" + "00" + "02" + "0102" + "0100"
    fec = UDPTLPacket(7, b"\x06", fec=FecInfo(3, (b"\xaa\xbb",)))
    assert encode_udptl(fec).hex() == "0007" + "0106" + "80" + "0103" + "01" + "02aabb"
    assert decode_udptl(encode_udptl(fec)) == fec


@given(udptl_packets)
def test_round_trip(packet: UDPTLPacket) -> None:
    assert decode_udptl(encode_udptl(packet)) == packet


@given(st.binary(max_size=80))
@settings(max_examples=800)
def test_decode_raises_only_udptl_error(blob: bytes) -> None:
    try:
        packet = decode_udptl(blob)
    except UDPTLError:
        return
    assert isinstance(packet.primary, bytes)


def test_large_primary_uses_two_octet_length() -> None:
    packet = UDPTLPacket(1, b"x" * 300)
    encoded = encode_udptl(packet)
    assert encoded[2:4] == bytes((0x81, 0x2C))
    assert decode_udptl(encoded) == packet


def test_sender_adds_newest_first_redundancy_within_the_datagram_limit() -> None:
    sender = UDPTLSender(redundancy=2, max_datagram=400)
    datagrams = [decode_udptl(sender.wrap(ifp(n))) for n in range(4)]
    assert [d.seq for d in datagrams] == [0, 1, 2, 3]
    assert datagrams[0].secondary == ()
    assert datagrams[1].secondary == (ifp(0),)
    assert datagrams[3].secondary == (ifp(2), ifp(1))
    small = UDPTLSender(redundancy=5, max_datagram=30)
    for n in range(6):
        assert len(small.wrap(ifp(n))) <= 30
    with pytest.raises(UDPTLError):
        small.wrap(b"x" * 40)


def test_receiver_recovers_from_redundancy_and_drops_duplicates() -> None:
    sender = UDPTLSender(redundancy=2)
    wire = [sender.wrap(ifp(n)) for n in range(6)]
    receiver = UDPTLReceiver()
    got = []
    for index in (0, 1, 1, 4, 5, 3):  # 2 and 3 lost, 1 duplicated, 3 arrives late
        got += receiver.receive(wire[index])
    assert [(d.seq, d.ifp == ifp(d.seq), d.recovered) for d in got] == [
        (0, True, False), (1, True, False), (2, True, True), (3, True, True), (4, True, False),
        (5, True, False)]
    assert receiver.stats.duplicates == 2 and receiver.stats.recovered == 2
    assert receiver.stats.lost == 0


def test_receiver_reports_what_it_cannot_recover() -> None:
    sender = UDPTLSender(redundancy=1)
    wire = [sender.wrap(ifp(n)) for n in range(5)]
    receiver = UDPTLReceiver()
    got = [d for index in (0, 4) for d in receiver.receive(wire[index])]
    assert [(d.seq, d.ifp is None) for d in got] == [
        (0, False), (1, True), (2, True), (3, False), (4, False)]
    assert receiver.stats.lost == 2
    assert receiver.receive(b"\x00") == [] and receiver.stats.malformed == 1


def _xor(*parts: bytes) -> bytes:
    out = bytearray(max(len(p) for p in parts))
    for part in parts:
        for i, octet in enumerate(part):
            out[i] ^= octet
    return bytes(out)


def test_receiver_recovers_from_fec_parity() -> None:
    # fec-npackets (span) 2 and 2 entries: entry m of packet s covers s+m-4 and s+m-2.
    short = encode_ifp(IFPPacket.data(DataType.V21, Field(FieldType.HDLC_SIG_END)))
    packets = [ifp(0), ifp(1), short, ifp(3), ifp(4)]
    fec = FecInfo(2, (_xor(packets[0], packets[2]), _xor(packets[1], packets[3])))
    receiver = UDPTLReceiver()
    for seq in (0, 1):
        receiver.receive(encode_udptl(UDPTLPacket(seq, packets[seq])))
    got = receiver.receive(encode_udptl(UDPTLPacket(4, packets[4], fec=fec)))
    # The parity is as long as the longer packet: the short one comes back trimmed.
    assert [(d.seq, d.ifp, d.recovered) for d in got] == [
        (2, short, True), (3, packets[3], True), (4, packets[4], False)]
    # Without packet 1 the second entry cannot rebuild packet 3.
    receiver = UDPTLReceiver()
    receiver.receive(encode_udptl(UDPTLPacket(0, packets[0])))
    got = receiver.receive(encode_udptl(UDPTLPacket(4, packets[4], fec=fec)))
    assert [(d.seq, d.ifp) for d in got] == [(1, None), (2, short), (3, None), (4, packets[4])]


@given(redundancy=st.integers(0, 4), fate=st.lists(st.sampled_from("kdx2"), min_size=1,
                                                   max_size=60))
def test_delivery_is_in_order_once_and_complete_when_losses_are_short(
        redundancy: int, fate: list[str]) -> None:
    """k: kept, d: dropped, x: dropped, 2: sent twice; any run of drops up to the redundancy
    is recovered."""
    sender = UDPTLSender(redundancy=redundancy)
    receiver = UDPTLReceiver()
    delivered = []
    for number, what in enumerate(fate):
        datagram = sender.wrap(ifp(number))
        for _ in range({"k": 1, "d": 0, "x": 0, "2": 2}[what]):
            delivered += receiver.receive(datagram)
    seqs = [d.seq for d in delivered]
    assert seqs == sorted(set(seqs))
    assert all(d.ifp == ifp(d.seq) for d in delivered if d.ifp is not None)
    last_sent = max((n for n, what in enumerate(fate) if what in "k2"), default=None)
    if last_sent is None:
        assert delivered == []
        return
    assert seqs == list(range(min(seqs), last_sent + 1))
    runs, run = [], 0
    for what in fate[:last_sent + 1]:
        run = run + 1 if what in "dx" else 0
        runs.append(run)
    if max(runs) <= redundancy and fate[0] in "k2":
        assert all(d.ifp is not None for d in delivered)
