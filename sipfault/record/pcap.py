"""Write SIP messages to a classic libpcap file that Wireshark and tshark decode as SIP.

The file uses the classic libpcap format (magic ``a1b2c3d4``, version 2.4, microsecond
timestamps) with link type ``LINKTYPE_RAW`` (101): every record is a bare IPv4 or IPv6 packet,
so one file carries both families. The writer synthesizes the IP header (RFC 791, RFC 8200) and
a UDP (RFC 768) or TCP (RFC 9293) header around each SIP message, using the real addresses and
ports, with correct checksums.

Wireshark and tshark dissect SIP only on its registered ports (5060 for UDP and TCP). For any
other port, ask for SIP explicitly, for example::

    tshark -r run.pcap -d udp.port==40000,sip -d tcp.port==40000,sip -Y sip

SIP over TLS (RFC 3261 §26.2) is recorded as its plaintext over TCP; port 5061 is registered for
TLS, so add ``-d tcp.port==5061,sip`` to read it.
"""

from __future__ import annotations

import ipaddress
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Final

from sipfault.record.stream import GuardedStream

__all__ = ["LINKTYPE_RAW", "MAX_TCP_SEGMENT", "PcapWriter"]

PCAP_MAGIC: Final = 0xA1B2C3D4
"""Classic libpcap magic: microsecond timestamps."""
PCAP_VERSION: Final = (2, 4)
"""Classic libpcap format version (major, minor)."""
SNAPLEN: Final = 262144
"""Largest record the file announces; every IP packet written here fits."""
LINKTYPE_RAW: Final = 101
"""Link type of raw IPv4/IPv6 packets, no link-layer header."""

MAX_TCP_SEGMENT: Final = 65495
"""Most payload bytes per TCP segment: 65535 (IPv4 total length) - 20 (IP) - 20 (TCP)."""
MAX_UDP_PAYLOAD_V4: Final = 65507
"""Most payload bytes in one IPv4 UDP datagram: 65535 - 20 (IP) - 8 (UDP)."""
MAX_UDP_PAYLOAD_V6: Final = 65527
"""Most payload bytes in one IPv6 UDP datagram without jumbograms: 65535 - 8 (UDP)."""

_PROTO_TCP: Final = 6
_PROTO_UDP: Final = 17
_TTL: Final = 64
_TCP_WINDOW: Final = 65535

_TCP_SYN: Final = 0x02
_TCP_PSH: Final = 0x08
_TCP_ACK: Final = 0x10

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Endpoint = tuple[bytes, int]
"""A packed IP address and a port: one end of a flow."""


def internet_checksum(data: bytes) -> int:
    """Return the 16-bit one's complement of the one's complement sum of ``data`` (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _parse_host(host: str) -> _IPAddress | None:
    """Return the IP literal ``host`` (brackets allowed around IPv6), or None; never resolves."""
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(literal)
    except ValueError:
        return None


def _packed_pair(src_host: str, dst_host: str) -> tuple[bytes, bytes]:
    """Pack both addresses in one family; stand-ins for names, v4-mapped IPv6 for a mixed pair."""
    src, dst = _parse_host(src_host), _parse_host(dst_host)
    any_v6 = any(a is not None and a.version == 6 for a in (src, dst))
    unspecified: _IPAddress = ipaddress.IPv6Address(0) if any_v6 else ipaddress.IPv4Address(0)
    src = unspecified if src is None else src
    dst = unspecified if dst is None else dst
    if src.version != dst.version:
        src, dst = _as_ipv6(src), _as_ipv6(dst)
    return src.packed, dst.packed


def _as_ipv6(address: _IPAddress) -> ipaddress.IPv6Address:
    """Return ``address`` as IPv6, mapping IPv4 into ``::ffff:0:0/96`` (RFC 4291 §2.5.5.2)."""
    if isinstance(address, ipaddress.IPv6Address):
        return address
    return ipaddress.IPv6Address(b"\x00" * 10 + b"\xff\xff" + address.packed)


@dataclass
class _TcpDirection:
    """Sequence state of one direction of a synthesized TCP connection."""

    next_seq: int
    """Sequence number of the next byte this side sends."""


class PcapWriter(GuardedStream):
    """Append SIP messages to a libpcap stream as IPv4/IPv6 packets with UDP or TCP headers.

    Each :meth:`write` adds one record (or several, for a long TCP message) and flushes, so a
    process killed mid-run leaves a readable file holding every message written so far.

    For TCP the writer keeps a sequence number per direction of each flow, so Wireshark's
    reassembly of SIP over TCP (RFC 3261 §18.3, framing by Content-Length) lines up. The first
    segment of a flow is preceded by a synthesized three-way handshake (SYN, SYN-ACK, ACK) from
    the sender of that segment, which lets Wireshark see the conversation from its start. A
    payload longer than :data:`MAX_TCP_SEGMENT` bytes is split into several segments.

    ``transport`` "tls" is recorded as its plaintext over TCP: the file never holds TLS records.

    Hosts must be IP literals (IPv4, or IPv6 with or without brackets). The writer never
    resolves names: a host that is not an IP literal is written as ``0.0.0.0`` (or ``::`` beside
    an IPv6 peer). An IPv4 host beside an IPv6 peer is written as an IPv4-mapped IPv6 address.

    Read the file with ``-d udp.port==PORT,sip -d tcp.port==PORT,sip`` for any SIP port other
    than 5060 (see the module docstring).
    """

    def __init__(self, stream: BinaryIO) -> None:
        """Wrap a binary ``stream`` and write the pcap global header to it at once.

        The writer does not own ``stream``: :meth:`close` flushes it and leaves it open.
        """
        super().__init__(stream)
        self._stream: BinaryIO = stream
        self._ipv4_id = 0
        self._tcp: dict[tuple[_Endpoint, _Endpoint], _TcpDirection] = {}
        major, minor = PCAP_VERSION
        self._stream.write(
            struct.pack("<IHHiIII", PCAP_MAGIC, major, minor, 0, 0, SNAPLEN, LINKTYPE_RAW)
        )
        self._stream.flush()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> PcapWriter:
        """Create (or truncate) the file at ``path`` and return a writer that owns it."""
        stream = open(path, "wb")  # noqa: SIM115 - the writer owns the file until close()
        try:
            writer = cls(stream)
        except BaseException:
            stream.close()
            raise
        writer._owns_stream = True
        return writer

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(
        self,
        timestamp: float,
        transport: str,
        src: tuple[str, int],
        dst: tuple[str, int],
        payload: bytes,
    ) -> None:
        """Record ``payload`` sent from ``src`` to ``dst`` at ``timestamp``, then flush.

        ``timestamp`` is wall-clock time in seconds since the Unix epoch (``time.time()``,
        not a monotonic clock). ``transport`` is "udp", "tcp" or "tls" (case-insensitive).
        ``src`` and ``dst`` are ``(host, port)`` pairs. On a stream transport, ``payload`` is
        the bytes of one send: part of a message, one message or several.

        Raises ValueError for an unknown transport, a port outside 0-65535, a negative
        timestamp, a UDP payload too long for one datagram, or a closed writer.
        """
        kind = transport.lower()
        if kind not in ("udp", "tcp", "tls"):
            raise ValueError(f"unknown transport {transport!r} (expected udp, tcp or tls)")
        for _, port in (src, dst):
            if not 0 <= port <= 0xFFFF:
                raise ValueError(f"port {port} is outside 0-65535")
        if timestamp < 0:
            raise ValueError(f"timestamp {timestamp} is before the Unix epoch")
        src_ip, dst_ip = _packed_pair(src[0], dst[0])
        a, b = (src_ip, src[1]), (dst_ip, dst[1])
        with self._lock:
            if self._closed:
                raise ValueError("write to a closed PcapWriter")
            if kind == "udp":
                packets = [self._udp_packet(a, b, payload)]
            else:
                packets = self._tcp_packets(a, b, payload)
            self._stream.write(b"".join(_record(timestamp, packet) for packet in packets))
            self._stream.flush()

    def _udp_packet(self, src: _Endpoint, dst: _Endpoint, payload: bytes) -> bytes:
        """Build one IP packet holding a UDP datagram (RFC 768)."""
        limit = MAX_UDP_PAYLOAD_V4 if len(src[0]) == 4 else MAX_UDP_PAYLOAD_V6
        if len(payload) > limit:
            raise ValueError(f"UDP payload of {len(payload)} bytes exceeds {limit}")
        length = 8 + len(payload)
        header = struct.pack("!HHHH", src[1], dst[1], length, 0)
        checksum = internet_checksum(_pseudo_header(src[0], dst[0], _PROTO_UDP, length) + header
                                     + payload)
        # RFC 768: a computed checksum of zero is sent as all ones (zero means "none").
        header = header[:6] + struct.pack("!H", checksum or 0xFFFF)
        return self._ip_packet(src[0], dst[0], _PROTO_UDP, header + payload)

    def _tcp_packets(self, src: _Endpoint, dst: _Endpoint, payload: bytes) -> list[bytes]:
        """Build the TCP segments carrying ``payload``, after a handshake on a new flow."""
        packets: list[bytes] = []
        forward = self._tcp.get((src, dst))
        if forward is None:
            forward, packets = self._open_flow(src, dst)
        backward = self._tcp[(dst, src)]
        for start in range(0, len(payload), MAX_TCP_SEGMENT):
            chunk = payload[start : start + MAX_TCP_SEGMENT]
            packets.append(self._tcp_packet(src, dst, forward.next_seq, backward.next_seq,
                                            _TCP_PSH | _TCP_ACK, chunk))
            forward.next_seq = (forward.next_seq + len(chunk)) & 0xFFFFFFFF
        return packets

    def _open_flow(self, client: _Endpoint, server: _Endpoint) -> tuple[_TcpDirection, list[bytes]]:
        """Start sequence state for both directions and return the three-way handshake."""
        client_isn, server_isn = _isn(client, server), _isn(server, client)
        handshake = [
            self._tcp_packet(client, server, client_isn, 0, _TCP_SYN, b""),
            self._tcp_packet(server, client, server_isn, client_isn + 1,
                             _TCP_SYN | _TCP_ACK, b""),
            self._tcp_packet(client, server, client_isn + 1, server_isn + 1, _TCP_ACK, b""),
        ]
        forward = _TcpDirection((client_isn + 1) & 0xFFFFFFFF)
        self._tcp[(client, server)] = forward
        self._tcp[(server, client)] = _TcpDirection((server_isn + 1) & 0xFFFFFFFF)
        return forward, handshake

    def _tcp_packet(self, src: _Endpoint, dst: _Endpoint, seq: int, ack: int, flags: int,
                    payload: bytes) -> bytes:
        """Build one IP packet holding a 20-byte-header TCP segment (RFC 9293 §3.1)."""
        data_offset = 5 << 12
        header = struct.pack("!HHIIHHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                             data_offset | flags, _TCP_WINDOW, 0, 0)
        length = len(header) + len(payload)
        checksum = internet_checksum(_pseudo_header(src[0], dst[0], _PROTO_TCP, length) + header
                                     + payload)
        header = header[:16] + struct.pack("!H", checksum) + header[18:]
        return self._ip_packet(src[0], dst[0], _PROTO_TCP, header + payload)

    def _ip_packet(self, src: bytes, dst: bytes, protocol: int, segment: bytes) -> bytes:
        """Prefix ``segment`` with an IPv4 (RFC 791) or IPv6 (RFC 8200 §3) header."""
        if len(src) == 16:
            first_word = 6 << 28  # version 6, traffic class 0, flow label 0
            header = struct.pack("!IHBB16s16s", first_word, len(segment), protocol, _TTL, src, dst)
            return header + segment
        self._ipv4_id = (self._ipv4_id + 1) & 0xFFFF
        dont_fragment = 0x4000
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), self._ipv4_id,
                             dont_fragment, _TTL, protocol, 0, src, dst)
        header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
        return header + segment


def _pseudo_header(src: bytes, dst: bytes, protocol: int, length: int) -> bytes:
    """Return the checksum pseudo-header: RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6."""
    if len(src) == 16:
        return src + dst + struct.pack("!I3xB", length, protocol)
    return src + dst + struct.pack("!xBH", protocol, length)


def _isn(src: _Endpoint, dst: _Endpoint) -> int:
    """Return a deterministic initial sequence number for one direction of a flow."""
    return zlib.crc32(src[0] + struct.pack("!H", src[1]) + dst[0] + struct.pack("!H", dst[1]))


def _record(timestamp: float, packet: bytes) -> bytes:
    """Return a pcap record header (microsecond timestamp) followed by ``packet``."""
    micros = round(timestamp * 1_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    return struct.pack("<IIII", seconds & 0xFFFFFFFF, micros, len(packet), len(packet)) + packet
