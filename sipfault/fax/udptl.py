"""UDPTL: IFP packets over UDP with sequence numbers and error recovery (ITU-T T.38 §9.1).

``UDPTLPacket`` (ITU-T T.38 Annex A) in PER aligned encoding::

    seq-number          INTEGER (0..65535)                  two octets
    primary-ifp-packet  open type                           length determinant + octets
    error-recovery      CHOICE {                            one bit, padded to an octet
        secondary-ifp-packets  SEQUENCE OF open type,       newest (seq - 1) first
        fec-info  SEQUENCE { fec-npackets INTEGER, fec-data SEQUENCE OF OCTET STRING } }

:class:`UDPTLReceiver` turns datagrams into IFP packets delivered once and in order, filling
gaps from the redundant copies or from FEC parity and reporting what it could not recover.
:class:`UDPTLSender` numbers packets and adds as many redundant copies as the far end's
``T38FaxMaxDatagram`` allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sipfault.fax.t38 import T38Error, decode_ifp_prefix, decode_length, encode_length

SEQ_MODULO = 65536
HISTORY = 64
"""Packets kept by both ends for redundancy and FEC."""


class UDPTLError(ValueError):
    """The only error :func:`decode_udptl` (and an impossible :func:`encode_udptl`) raises."""


@dataclass(frozen=True, slots=True)
class FecInfo:
    """``fec-info``: each entry is the XOR of ``npackets`` earlier IFP packets."""

    npackets: int
    data: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class UDPTLPacket:
    seq: int
    primary: bytes
    secondary: tuple[bytes, ...] = ()
    fec: FecInfo | None = None


def _open_type(data: bytes) -> bytes:
    """An open type: its octets after a length determinant (one zero octet if empty)."""
    if not data:
        data = b"\x00"
    out = bytearray()
    done = 0
    while True:
        determinant, covered = encode_length(len(data) - done)
        out += determinant
        out += data[done:done + covered]
        done += covered
        if done == len(data) and covered < 16384:
            return bytes(out)


def _read_open_type(data: bytes, offset: int) -> tuple[bytes, int]:
    parts = []
    more = True
    while more:
        size, offset, more = decode_length(data, offset)
        if offset + size > len(data):
            raise UDPTLError(f"open type of {size} octets cut short")
        parts.append(data[offset:offset + size])
        offset += size
    return b"".join(parts), offset


def _sequence_of(items: Sequence[bytes]) -> bytes:
    out = bytearray()
    done = 0
    while True:
        determinant, covered = encode_length(len(items) - done)
        out += determinant
        for item in items[done:done + covered]:
            out += _open_type(item)
        done += covered
        if done == len(items) and covered < 16384:
            return bytes(out)


def _read_sequence_of(data: bytes, offset: int) -> tuple[list[bytes], int]:
    items: list[bytes] = []
    more = True
    while more:
        count, offset, more = decode_length(data, offset)
        for _ in range(count):
            item, offset = _read_open_type(data, offset)
            items.append(item)
    return items, offset


def _unconstrained_integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return bytes((size,)) + value.to_bytes(size, "big", signed=True)


def encode_udptl(packet: UDPTLPacket) -> bytes:
    if not 0 <= packet.seq < SEQ_MODULO:
        raise UDPTLError(f"sequence number {packet.seq} out of range")
    out = bytearray(packet.seq.to_bytes(2, "big"))
    out += _open_type(packet.primary)
    if packet.fec is None:
        out.append(0x00)
        out += _sequence_of(packet.secondary)
    else:
        if packet.secondary:
            raise UDPTLError("a packet carries redundancy or FEC, not both")
        out.append(0x80)
        out += _unconstrained_integer(packet.fec.npackets)
        out += _sequence_of(packet.fec.data)
    return bytes(out)


def decode_udptl(datagram: bytes) -> UDPTLPacket:
    """Decode one datagram; raises only :class:`UDPTLError`."""
    data = bytes(datagram)
    try:
        if len(data) < 2:
            raise UDPTLError("datagram shorter than a sequence number")
        seq = int.from_bytes(data[:2], "big")
        primary, offset = _read_open_type(data, 2)
        if offset >= len(data):
            raise UDPTLError("error-recovery missing")
        choice = data[offset]
        offset += 1
        if choice & 0x7F:
            raise UDPTLError("error-recovery padding bits set")
        if choice & 0x80:
            if offset >= len(data):
                raise UDPTLError("fec-npackets missing")
            size = data[offset]
            if not 1 <= size <= 4 or offset + 1 + size > len(data):
                raise UDPTLError("fec-npackets malformed")
            npackets = int.from_bytes(data[offset + 1:offset + 1 + size], "big", signed=True)
            if npackets < 0:
                raise UDPTLError("fec-npackets negative")
            offset += 1 + size
            entries, offset = _read_sequence_of(data, offset)
            result = UDPTLPacket(seq, primary, fec=FecInfo(npackets, tuple(entries)))
        else:
            secondary, offset = _read_sequence_of(data, offset)
            result = UDPTLPacket(seq, primary, tuple(secondary))
        if offset != len(data):
            raise UDPTLError(f"{len(data) - offset} octets after the UDPTL packet")
        return result
    except T38Error as exc:
        raise UDPTLError(str(exc)) from None


@dataclass(slots=True)
class ReceiverStats:
    received: int = 0
    delivered: int = 0
    recovered: int = 0
    duplicates: int = 0
    late: int = 0
    lost: int = 0
    malformed: int = 0


@dataclass(frozen=True, slots=True)
class Delivery:
    """An IFP packet in sequence, or (``ifp`` None) a packet lost for good."""

    seq: int
    ifp: bytes | None
    recovered: bool = False


def _xor(parts: Sequence[bytes]) -> bytes:
    size = max((len(part) for part in parts), default=0)
    out = bytearray(size)
    for part in parts:
        for index, octet in enumerate(part):
            out[index] ^= octet
    return bytes(out)


def _trim_to_ifp(candidate: bytes, version: int) -> bytes | None:
    """FEC parity is as long as the longest packet: keep the IFP prefix if zeros follow."""
    try:
        _, end = decode_ifp_prefix(candidate, version)
    except T38Error:
        return None
    return candidate[:end] if not any(candidate[end:]) else None


@dataclass
class UDPTLReceiver:
    """Delivers each IFP packet once, in sequence order, recovering gaps where it can.

    A packet newer than expected is delivered at once: the gap before it is filled from its
    redundant copies or FEC parity, and whatever stays missing is reported as lost. Packets
    older than expected are late or duplicates and are dropped.
    """

    version: int = 3
    stats: ReceiverStats = field(default_factory=ReceiverStats)
    _expected: int | None = None
    _history: dict[int, bytes] = field(default_factory=dict)

    def receive(self, datagram: bytes) -> list[Delivery]:
        try:
            packet = decode_udptl(datagram)
        except UDPTLError:
            self.stats.malformed += 1
            return []
        return self.receive_packet(packet)

    def receive_packet(self, packet: UDPTLPacket) -> list[Delivery]:
        self.stats.received += 1
        if self._expected is None:
            self._expected = packet.seq
        ahead = (packet.seq - self._expected) % SEQ_MODULO
        if ahead >= SEQ_MODULO // 2:
            if packet.seq in self._history or ahead == SEQ_MODULO - 1:
                self.stats.duplicates += 1
            else:
                self.stats.late += 1
            return []
        out: list[Delivery] = []
        if ahead > HISTORY:
            # A jump this far is a restart of the far end's numbering, not a burst of loss.
            self.stats.lost += ahead
            out.append(Delivery((packet.seq - 1) % SEQ_MODULO, None))
            ahead = 0
        for offset in range(ahead, 0, -1):
            seq = (packet.seq - offset) % SEQ_MODULO
            recovered = self._recover(packet, offset, seq)
            if recovered is None:
                self.stats.lost += 1
                out.append(Delivery(seq, None))
            else:
                self.stats.recovered += 1
                self._remember(seq, recovered)
                out.append(Delivery(seq, recovered, recovered=True))
        self._remember(packet.seq, packet.primary)
        out.append(Delivery(packet.seq, packet.primary))
        self.stats.delivered += sum(1 for item in out if item.ifp is not None)
        self._expected = (packet.seq + 1) % SEQ_MODULO
        return out

    def _remember(self, seq: int, ifp: bytes) -> None:
        self._history[seq] = ifp
        if len(self._history) > 2 * HISTORY:
            self._history = {kept: data for kept, data in self._history.items()
                             if (seq - kept) % SEQ_MODULO < HISTORY}

    def _recover(self, packet: UDPTLPacket, offset: int, seq: int) -> bytes | None:
        if offset <= len(packet.secondary):
            return packet.secondary[offset - 1]
        if packet.fec is None or not packet.fec.data or packet.fec.npackets < 1:
            return None
        span, entries = packet.fec.npackets, len(packet.fec.data)
        for index, parity in enumerate(packet.fec.data):
            # Entry ``index`` covers seq + index - span * entries, stepping by ``entries``.
            covered = [(packet.seq + index - span * entries + step * entries) % SEQ_MODULO
                       for step in range(span)]
            if seq not in covered:
                continue
            others = [self._history.get(other) for other in covered if other != seq]
            if any(other is None for other in others):
                return None
            parts = [parity, *(other for other in others if other is not None)]
            return _trim_to_ifp(_xor(parts), self.version)
        return None


@dataclass
class UDPTLSender:
    """Numbers IFP packets and adds up to ``redundancy`` earlier ones (ITU-T T.38 §9.1).

    Redundant copies are added newest first while the datagram stays within
    ``max_datagram`` octets (the far end's ``T38FaxMaxDatagram``).
    """

    redundancy: int = 3
    max_datagram: int = 400
    seq: int = 0
    _sent: list[bytes] = field(default_factory=list)

    @property
    def max_ifp(self) -> int:
        """The largest IFP packet that still fits in a datagram on its own."""
        return self.max_datagram - 6

    def wrap(self, ifp: bytes) -> bytes:
        primary = _open_type(ifp)
        size = 2 + len(primary) + 2
        if size > self.max_datagram:
            raise UDPTLError(f"IFP packet of {len(ifp)} octets does not fit"
                             f" a {self.max_datagram}-octet datagram")
        secondary: list[bytes] = []
        for earlier in reversed(self._sent[-self.redundancy:] if self.redundancy else []):
            grown = size + len(_open_type(earlier))
            if grown > self.max_datagram:
                break
            secondary.append(earlier)
            size = grown
        datagram = encode_udptl(UDPTLPacket(self.seq, ifp, tuple(secondary)))
        self.seq = (self.seq + 1) % SEQ_MODULO
        self._sent.append(ifp)
        del self._sent[:-max(self.redundancy, 1)]
        return datagram
