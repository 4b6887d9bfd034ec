"""Tests for the pcap writer: the file structure parsed by hand, then decoded by tshark."""

from __future__ import annotations

import io
import ipaddress
import itertools
import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sipfault.record.pcap import MAX_TCP_SEGMENT, PcapWriter

CLIENT_V4 = ("192.0.2.10", 50123)
SERVER_V4 = ("192.0.2.20", 49170)
CLIENT_V6 = ("2001:db8::10", 50124)
SERVER_V6 = ("2001:db8::20", 49171)

T0 = 1_700_000_000.0


# --- SIP texts --------------------------------------------------------------------------------


def request(method: str, call_id: str, src: tuple[str, int], transport: str = "UDP",
            body: bytes = b"", content_type: str = "application/sdp") -> bytes:
    """Return a minimal RFC 3261 request sent from ``src``."""
    host = f"[{src[0]}]" if ":" in src[0] else src[0]
    lines = [
        f"{method} sip:bob@example.com SIP/2.0",
        f"Via: SIP/2.0/{transport} {host}:{src[1]};branch=z9hG4bK{call_id}",
        "Max-Forwards: 70",
        "From: <sip:alice@example.com>;tag=a1",
        "To: <sip:bob@example.com>",
        f"Call-ID: {call_id}",
        f"CSeq: 1 {method}",
        f"Contact: <sip:alice@{host}:{src[1]}>",
    ]
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def response(code: int, call_id: str, client: tuple[str, int], transport: str = "UDP",
             method: str = "INVITE") -> bytes:
    """Return a minimal RFC 3261 response to a request sent from ``client``."""
    host = f"[{client[0]}]" if ":" in client[0] else client[0]
    lines = [
        f"SIP/2.0 {code} Whatever",
        f"Via: SIP/2.0/{transport} {host}:{client[1]};branch=z9hG4bK{call_id}",
        "From: <sip:alice@example.com>;tag=a1",
        "To: <sip:bob@example.com>;tag=b2",
        f"Call-ID: {call_id}",
        f"CSeq: 1 {method}",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


SDP = (b"v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
       b"m=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


# --- an independent pcap reader ------------------------------------------------------------


def ones_complement_sum(data: bytes) -> int:
    """Fold ``data`` into a 16-bit one's complement sum (RFC 1071); 0xFFFF means valid."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return total


@dataclass
class Packet:
    """One record of the pcap file, taken apart."""

    seconds: int
    micros: int
    version: int
    src: str
    dst: str
    protocol: int
    src_port: int
    dst_port: int
    payload: bytes
    seq: int = 0
    ack: int = 0
    flags: int = 0
    checksum: int = 0


def parse_pcap(data: bytes) -> tuple[tuple[int, ...], list[Packet]]:
    """Parse a classic little-endian pcap of raw IP packets, checking every length and checksum."""
    header = struct.unpack_from("<IHHiIII", data, 0)
    packets: list[Packet] = []
    offset = 24
    while offset < len(data):
        seconds, micros, caplen, origlen = struct.unpack_from("<IIII", data, offset)
        assert caplen == origlen
        assert 0 <= micros < 1_000_000
        raw = data[offset + 16 : offset + 16 + caplen]
        assert len(raw) == caplen, "truncated record"
        offset += 16 + caplen
        packets.append(parse_ip(seconds, micros, raw))
    return header, packets


def parse_ip(seconds: int, micros: int, raw: bytes) -> Packet:
    """Take apart one IPv4/IPv6 packet with a UDP or TCP segment, checking its checksums."""
    version = raw[0] >> 4
    if version == 4:
        ihl = (raw[0] & 0x0F) * 4
        assert ihl == 20
        total_length, _ident, frag, _ttl, protocol = struct.unpack_from("!HHHBB", raw, 2)
        assert total_length == len(raw) <= 0xFFFF
        assert frag == 0x4000, "DF set, no fragmentation"
        assert ones_complement_sum(raw[:20]) == 0xFFFF, "IPv4 header checksum"
        src_b, dst_b = raw[12:16], raw[16:20]
        segment = raw[20:]
        pseudo = src_b + dst_b + struct.pack("!xBH", protocol, len(segment))
    else:
        assert version == 6
        payload_length, protocol, _hops = struct.unpack_from("!HBB", raw, 4)
        src_b, dst_b = raw[8:24], raw[24:40]
        segment = raw[40:]
        assert payload_length == len(segment)
        pseudo = src_b + dst_b + struct.pack("!I3xB", len(segment), protocol)
    assert ones_complement_sum(pseudo + segment) == 0xFFFF, "transport checksum"
    src = str(ipaddress.ip_address(src_b))
    dst = str(ipaddress.ip_address(dst_b))
    if protocol == 17:
        sport, dport, length, checksum = struct.unpack_from("!HHHH", segment)
        assert length == len(segment)
        assert checksum != 0, "checksum present"
        return Packet(seconds, micros, version, src, dst, protocol, sport, dport, segment[8:],
                      checksum=checksum)
    assert protocol == 6
    sport, dport, seq, ack, offset_flags, window, checksum = struct.unpack_from(
        "!HHIIHHH", segment
    )
    assert offset_flags >> 12 == 5
    assert window > 0
    return Packet(seconds, micros, version, src, dst, protocol, sport, dport, segment[20:],
                  seq=seq, ack=ack, flags=offset_flags & 0x3F, checksum=checksum)


def written(build: Callable[[PcapWriter], None]) -> list[Packet]:
    """Run ``build(writer)`` against an in-memory stream and parse the result."""
    stream = io.BytesIO()
    writer = PcapWriter(stream)
    build(writer)
    writer.close()
    return parse_pcap(stream.getvalue())[1]


SYN, ACK, PSH = 0x02, 0x10, 0x08


# --- structure ---------------------------------------------------------------------------------


def test_global_header_is_classic_microsecond_pcap_of_raw_ip() -> None:
    stream = io.BytesIO()
    PcapWriter(stream)
    data = stream.getvalue()
    assert len(data) == 24, "the global header is written at once, alone"
    assert data[:4] == bytes.fromhex("d4c3b2a1")  # a1b2c3d4 in little-endian order
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack("<IHHiIII", data)
    assert (magic, major, minor, zone, sigfigs) == (0xA1B2C3D4, 2, 4, 0, 0)
    assert snaplen >= 65535
    assert linktype == 101


def test_udp_ipv4_record_carries_addresses_ports_timestamp_and_payload() -> None:
    message = request("INVITE", "u1", CLIENT_V4, body=SDP)
    stream = io.BytesIO()
    writer = PcapWriter(stream)
    writer.write(T0 + 0.123456, "udp", CLIENT_V4, SERVER_V4, message)
    writer.write(T0 + 1.5, "UDP", SERVER_V4, CLIENT_V4, response(200, "u1", CLIENT_V4))
    _, packets = parse_pcap(stream.getvalue())

    first, second = packets
    assert (first.seconds, first.micros) == (1_700_000_000, 123456)
    assert (first.version, first.protocol) == (4, 17)
    assert (first.src, first.src_port, first.dst, first.dst_port) == (*CLIENT_V4, *SERVER_V4)
    assert first.payload == message
    assert (second.seconds, second.micros) == (1_700_000_001, 500000)
    assert (second.src, second.src_port, second.dst, second.dst_port) == (*SERVER_V4, *CLIENT_V4)


def test_timestamp_rounding_carries_into_seconds() -> None:
    packets = written(lambda w: w.write(41.9999999, "udp", CLIENT_V4, SERVER_V4, b"x"))
    assert (packets[0].seconds, packets[0].micros) == (42, 0)


def test_udp_checksum_that_computes_to_zero_is_sent_as_all_ones() -> None:
    # Choose the last payload word so that the one's complement sum is 0xFFFF, making the
    # computed checksum zero, which RFC 768 says to transmit as 0xFFFF.
    prefix = b"OPTIONS keepalive\r\n\r\n\x00"  # even length, so the last word is aligned
    length = 8 + len(prefix) + 2
    src_b, dst_b = (ipaddress.ip_address(h).packed for h in (CLIENT_V4[0], SERVER_V4[0]))
    rest = (src_b + dst_b + struct.pack("!xBH", 17, length)
            + struct.pack("!HHHH", CLIENT_V4[1], SERVER_V4[1], length, 0) + prefix)
    last_word = 0xFFFF - ones_complement_sum(rest)
    payload = prefix + struct.pack("!H", last_word)

    packets = written(lambda w: w.write(T0, "udp", CLIENT_V4, SERVER_V4, payload))
    assert packets[0].checksum == 0xFFFF


def test_udp_ipv6_record() -> None:
    message = request("INVITE", "v6", CLIENT_V6)
    packets = written(lambda w: w.write(T0, "udp", CLIENT_V6, SERVER_V6, message))
    (packet,) = packets
    assert (packet.version, packet.protocol) == (6, 17)
    assert (packet.src, packet.src_port, packet.dst, packet.dst_port) == (*CLIENT_V6, *SERVER_V6)
    assert packet.payload == message


def test_tcp_flow_starts_with_handshake_and_keeps_sequence_numbers_per_direction() -> None:
    invite = request("INVITE", "t1", CLIENT_V4, "TCP", SDP)
    trying = response(100, "t1", CLIENT_V4, "TCP")
    ok = response(200, "t1", CLIENT_V4, "TCP")
    ack = request("ACK", "t1", CLIENT_V4, "TCP")

    def build(w: PcapWriter) -> None:
        w.write(T0, "tcp", CLIENT_V4, SERVER_V4, invite[:40])
        w.write(T0 + 0.01, "tcp", CLIENT_V4, SERVER_V4, invite[40:])
        w.write(T0 + 0.02, "tcp", SERVER_V4, CLIENT_V4, trying + ok)
        w.write(T0 + 0.03, "tcp", CLIENT_V4, SERVER_V4, ack)

    syn, syn_ack, hs_ack, part1, part2, answers, last = written(build)
    assert syn.flags == SYN and syn.payload == b""
    assert (syn.src, syn.src_port, syn.dst, syn.dst_port) == (*CLIENT_V4, *SERVER_V4)
    assert syn_ack.flags == SYN | ACK and syn_ack.ack == (syn.seq + 1) & 0xFFFFFFFF
    assert (syn_ack.src, syn_ack.src_port) == SERVER_V4
    assert hs_ack.flags == ACK and hs_ack.ack == (syn_ack.seq + 1) & 0xFFFFFFFF

    client_next = (syn.seq + 1) & 0xFFFFFFFF
    server_next = (syn_ack.seq + 1) & 0xFFFFFFFF
    assert (part1.seq, part1.ack, part1.flags) == (client_next, server_next, PSH | ACK)
    assert part2.seq == (client_next + 40) & 0xFFFFFFFF
    assert part1.payload + part2.payload == invite
    assert (answers.seq, answers.ack) == (server_next, (client_next + len(invite)) & 0xFFFFFFFF)
    assert answers.payload == trying + ok
    assert last.seq == (client_next + len(invite)) & 0xFFFFFFFF
    assert last.ack == (server_next + len(trying + ok)) & 0xFFFFFFFF
    assert all(p.seconds == 1_700_000_000 for p in (syn, syn_ack, hs_ack, part1))


def test_each_tcp_flow_has_its_own_handshake() -> None:
    other_client = (CLIENT_V4[0], CLIENT_V4[1] + 1)

    def build(w: PcapWriter) -> None:
        w.write(T0, "tcp", CLIENT_V4, SERVER_V4, b"a")
        w.write(T0, "tcp", other_client, SERVER_V4, b"b")
        w.write(T0, "tcp", SERVER_V4, CLIENT_V4, b"c")  # known flow, reverse direction

    flags = [p.flags for p in written(build)]
    handshake = [SYN, SYN | ACK, ACK]
    assert flags == [*handshake, PSH | ACK, *handshake, PSH | ACK, PSH | ACK]


def test_long_tcp_payload_is_split_into_contiguous_segments() -> None:
    body = b"x" * 150_000
    message = request("MESSAGE", "big", CLIENT_V4, "TCP", body, "text/plain")
    packets = written(lambda w: w.write(T0, "tcp", CLIENT_V4, SERVER_V4, message))
    segments = packets[3:]
    assert [len(s.payload) for s in segments] == [
        MAX_TCP_SEGMENT, MAX_TCP_SEGMENT, len(message) - 2 * MAX_TCP_SEGMENT
    ]
    assert b"".join(s.payload for s in segments) == message
    for before, after in itertools.pairwise(segments):
        assert after.seq == (before.seq + len(before.payload)) & 0xFFFFFFFF


def test_tls_is_written_as_plaintext_tcp() -> None:
    message = request("OPTIONS", "tls1", CLIENT_V6, "TLS")
    server = (SERVER_V6[0], 5061)
    packets = written(lambda w: w.write(T0, "tls", CLIENT_V6, server, message))
    assert [p.protocol for p in packets] == [6, 6, 6, 6]
    assert packets[-1].payload == message
    assert packets[-1].dst_port == 5061


@pytest.mark.parametrize(
    ("src_host", "dst_host", "src_ip", "dst_ip"),
    [
        ("pbx.example.com", "192.0.2.1", "0.0.0.0", "192.0.2.1"),
        ("pbx.example.com", "localhost", "0.0.0.0", "0.0.0.0"),
        ("[2001:db8::1]", "pbx.example.com", "2001:db8::1", "::"),
        ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "2001:db8::1"),
    ],
)
def test_hosts_are_never_resolved(src_host: str, dst_host: str, src_ip: str,
                                  dst_ip: str) -> None:
    packets = written(lambda w: w.write(T0, "udp", (src_host, 5060), (dst_host, 5060), b"x"))
    got = (ipaddress.ip_address(packets[0].src), ipaddress.ip_address(packets[0].dst))
    assert got == (ipaddress.ip_address(src_ip), ipaddress.ip_address(dst_ip))


@pytest.mark.parametrize(
    ("transport", "src", "payload", "message"),
    [
        ("sctp", CLIENT_V4, b"x", "unknown transport"),
        ("udp", ("192.0.2.1", 70000), b"x", "outside 0-65535"),
        ("udp", CLIENT_V4, b"x" * 65508, "exceeds 65507"),
        ("udp", CLIENT_V6, b"x" * 65528, "exceeds 65527"),
    ],
)
def test_write_rejects_what_cannot_be_a_packet(transport: str, src: tuple[str, int],
                                               payload: bytes, message: str) -> None:
    stream = io.BytesIO()
    writer = PcapWriter(stream)
    dst = SERVER_V6 if ":" in src[0] else SERVER_V4
    with pytest.raises(ValueError, match=message):
        writer.write(T0, transport, src, dst, payload)
    assert len(stream.getvalue()) == 24, "nothing written"


def test_largest_udp_datagram_fits() -> None:
    packets = written(lambda w: w.write(T0, "udp", CLIENT_V4, SERVER_V4, b"x" * 65507))
    assert len(packets[0].payload) == 65507


def test_records_are_on_disk_before_close(tmp_path: Path) -> None:
    path = tmp_path / "run.pcap"
    writer = PcapWriter.open(path)
    assert path.read_bytes()[:4] == bytes.fromhex("d4c3b2a1")
    message = request("REGISTER", "r1", CLIENT_V4)
    writer.write(T0, "udp", CLIENT_V4, SERVER_V4, message)
    _, packets = parse_pcap(path.read_bytes())  # read through another file object
    assert [p.payload for p in packets] == [message]
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(T0, "udp", CLIENT_V4, SERVER_V4, message)


def test_close_leaves_a_borrowed_stream_open() -> None:
    stream = io.BytesIO()
    with PcapWriter(stream) as writer:
        writer.write(T0, "udp", CLIENT_V4, SERVER_V4, b"x")
    assert not stream.closed


# --- tshark -----------------------------------------------------------------------------------


@pytest.fixture
def tshark() -> str:
    """Path to tshark; missing, it fails the test under CI=true and skips it elsewhere."""
    path = shutil.which("tshark") or ("/usr/bin/tshark" if os.path.exists("/usr/bin/tshark")
                                      else None)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tshark is required under CI=true (install the tshark package)")
        pytest.skip("tshark is not installed")
    return path


FIELDS = [
    "frame.number", "sip.Method", "sip.Status-Code", "sip.Call-ID",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport",
]


def run_tshark(tshark: str, path: Path, sip_ports: list[int], display_filter: str,
               fields: list[str]) -> list[dict[str, str]]:
    """Decode ``path`` with SIP forced on ``sip_ports`` and return one dict per shown frame."""
    decode_as: list[str] = []
    for port in sip_ports:
        decode_as += ["-d", f"udp.port=={port},sip", "-d", f"tcp.port=={port},sip"]
    command = [
        tshark, "-n", "-2", "-r", str(path), *decode_as,
        "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
        "-o", "tcp.check_checksum:TRUE",
        "-Y", display_filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
    ]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [dict(zip(fields, line.split("\t"), strict=True))
            for line in result.stdout.splitlines()]


def assert_clean(tshark: str, path: Path, sip_ports: list[int]) -> None:
    """Every checksum verifies and tshark has nothing to note about any frame."""
    bad = run_tshark(
        tshark, path, sip_ports,
        "ip.checksum.status != 1 || udp.checksum.status == 0 || tcp.checksum.status != 1"
        " || _ws.expert.severity >= 0x400000 || _ws.malformed || tcp.analysis.flags",
        ["frame.number", "_ws.expert.message"],
    )
    assert bad == []
    verified = run_tshark(tshark, path, sip_ports,
                          "ip.checksum.status == 1 || udp.checksum.status == 1"
                          " || tcp.checksum.status == 1", ["frame.number"])
    assert verified, "tshark verified no checksum at all"


def sip_rows(tshark: str, path: Path, sip_ports: list[int]) -> list[tuple[str, ...]]:
    """Return (frame, method, status, call-id, src ip, src port, dst ip, dst port) per SIP frame."""
    rows = run_tshark(tshark, path, sip_ports, "sip", FIELDS)
    return [
        (
            row["frame.number"], row["sip.Method"], row["sip.Status-Code"], row["sip.Call-ID"],
            row["ip.src"] or row["ipv6.src"], row["udp.srcport"] or row["tcp.srcport"],
            row["ip.dst"] or row["ipv6.dst"], row["udp.dstport"] or row["tcp.dstport"],
        )
        for row in rows
    ]


def ends(src: tuple[str, int], dst: tuple[str, int]) -> tuple[str, str, str, str]:
    return (src[0], str(src[1]), dst[0], str(dst[1]))


def test_tshark_decodes_udp_messages_over_ipv4_and_ipv6(tshark: str, tmp_path: Path) -> None:
    path = tmp_path / "udp.pcap"
    with PcapWriter.open(path) as w:
        w.write(T0, "udp", CLIENT_V4, SERVER_V4, request("INVITE", "u4", CLIENT_V4, body=SDP))
        w.write(T0 + 0.1, "udp", SERVER_V4, CLIENT_V4, response(180, "u4", CLIENT_V4))
        w.write(T0 + 0.2, "udp", SERVER_V4, CLIENT_V4, response(200, "u4", CLIENT_V4))
        w.write(T0 + 0.3, "udp", CLIENT_V4, SERVER_V4, request("ACK", "u4", CLIENT_V4))
        w.write(T0 + 1, "udp", CLIENT_V6, SERVER_V6, request("INVITE", "u6", CLIENT_V6))
        w.write(T0 + 1.1, "udp", SERVER_V6, CLIENT_V6, response(486, "u6", CLIENT_V6))

    ports = [SERVER_V4[1], SERVER_V6[1]]
    assert sip_rows(tshark, path, ports) == [
        ("1", "INVITE", "", "u4", *ends(CLIENT_V4, SERVER_V4)),
        ("2", "", "180", "u4", *ends(SERVER_V4, CLIENT_V4)),
        ("3", "", "200", "u4", *ends(SERVER_V4, CLIENT_V4)),
        ("4", "ACK", "", "u4", *ends(CLIENT_V4, SERVER_V4)),
        ("5", "INVITE", "", "u6", *ends(CLIENT_V6, SERVER_V6)),
        ("6", "", "486", "u6", *ends(SERVER_V6, CLIENT_V6)),
    ]
    assert_clean(tshark, path, ports)


def write_tcp_dialog(w: PcapWriter, client: tuple[str, int], server: tuple[str, int],
                     transport: str = "tcp") -> None:
    """An INVITE in two segments, 100 and 180 in one segment, a 200, an ACK, a long MESSAGE."""
    via = transport.upper()
    invite = request("INVITE", "t-inv", client, via, SDP)
    w.write(T0, transport, client, server, invite[:60])
    w.write(T0 + 0.01, transport, client, server, invite[60:])
    w.write(T0 + 0.02, transport, server, client,
            response(100, "t-inv", client, via) + response(180, "t-inv", client, via))
    w.write(T0 + 0.03, transport, server, client, response(200, "t-inv", client, via))
    w.write(T0 + 0.04, transport, client, server, request("ACK", "t-inv", client, via))
    long_body = b"".join(b"line %06d of a long instant message\r\n" % i for i in range(2500))
    message = request("MESSAGE", "t-msg", client, via, long_body, "text/plain")
    assert len(message) > MAX_TCP_SEGMENT
    w.write(T0 + 0.05, transport, client, server, message)
    w.write(T0 + 0.06, transport, server, client, response(200, "t-msg", client, via, "MESSAGE"))


def expected_tcp_dialog(client: tuple[str, int], server: tuple[str, int]) -> list[tuple[str, ...]]:
    # Frames 1-3: handshake; 4 holds the first part of the INVITE, decoded with frame 5;
    # 9 holds the first segment of the MESSAGE, decoded with frame 10.
    return [
        ("5", "INVITE", "", "t-inv", *ends(client, server)),
        ("6", "", "100,180", "t-inv,t-inv", *ends(server, client)),
        ("7", "", "200", "t-inv", *ends(server, client)),
        ("8", "ACK", "", "t-inv", *ends(client, server)),
        ("10", "MESSAGE", "", "t-msg", *ends(client, server)),
        ("11", "", "200", "t-msg", *ends(server, client)),
    ]


@pytest.mark.parametrize(("client", "server"), [(CLIENT_V4, SERVER_V4), (CLIENT_V6, SERVER_V6)],
                         ids=["ipv4", "ipv6"])
def test_tshark_reassembles_sip_over_tcp(tshark: str, tmp_path: Path, client: tuple[str, int],
                                         server: tuple[str, int]) -> None:
    path = tmp_path / "tcp.pcap"
    with PcapWriter.open(path) as w:
        write_tcp_dialog(w, client, server)

    assert sip_rows(tshark, path, [server[1]]) == expected_tcp_dialog(client, server)
    assert_clean(tshark, path, [server[1]])
    reassembled = run_tshark(tshark, path, [server[1]], "tcp.reassembled_in",
                             ["frame.number", "tcp.reassembled_in"])
    assert [(r["frame.number"], r["tcp.reassembled_in"]) for r in reassembled] == [
        ("4", "5"), ("9", "10")
    ]


def test_tshark_sees_the_synthesized_handshake(tshark: str, tmp_path: Path) -> None:
    path = tmp_path / "flows.pcap"
    other = (CLIENT_V4[0], CLIENT_V4[1] + 1)
    with PcapWriter.open(path) as w:
        w.write(T0, "tcp", CLIENT_V4, SERVER_V4, request("OPTIONS", "f1", CLIENT_V4, "TCP"))
        w.write(T0, "tcp", other, SERVER_V4, request("OPTIONS", "f2", other, "TCP"))
        w.write(T0, "tcp", SERVER_V4, CLIENT_V4, response(200, "f1", CLIENT_V4, "TCP"))
    rows = run_tshark(tshark, path, [SERVER_V4[1]], "sip",
                      ["tcp.stream", "tcp.completeness", "sip.Call-ID"])
    # tcp.completeness bits: 1 SYN, 2 SYN-ACK, 4 ACK, 8 data.
    assert [(r["tcp.stream"], r["sip.Call-ID"]) for r in rows] == [
        ("0", "f1"), ("1", "f2"), ("0", "f1")
    ]
    assert all(int(r["tcp.completeness"]) & 0b1111 == 0b1111 for r in rows)
    assert_clean(tshark, path, [SERVER_V4[1]])


def test_tshark_decodes_tls_plaintext_on_5061_with_decode_as(tshark: str, tmp_path: Path) -> None:
    path = tmp_path / "tls.pcap"
    server = (SERVER_V4[0], 5061)
    with PcapWriter.open(path) as w:
        write_tcp_dialog(w, CLIENT_V4, server, "tls")
    assert sip_rows(tshark, path, [5061]) == expected_tcp_dialog(CLIENT_V4, server)
    assert_clean(tshark, path, [5061])


def test_tshark_reads_the_file_while_it_is_still_being_written(tshark: str,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "live.pcap"
    writer = PcapWriter.open(path)
    try:
        writer.write(T0, "udp", CLIENT_V4, SERVER_V4, request("INVITE", "live", CLIENT_V4))
        writer.write(T0, "tcp", CLIENT_V4, SERVER_V4, request("OPTIONS", "live2", CLIENT_V4))
        rows = sip_rows(tshark, path, [SERVER_V4[1]])
        assert [(r[0], r[1], r[3]) for r in rows] == [("1", "INVITE", "live"),
                                                       ("5", "OPTIONS", "live2")]
    finally:
        writer.close()


def test_default_port_5060_needs_no_decode_as(tshark: str, tmp_path: Path) -> None:
    path = tmp_path / "default.pcap"
    server = (SERVER_V4[0], 5060)
    with PcapWriter.open(path) as w:
        w.write(T0, "udp", CLIENT_V4, server, request("REGISTER", "d1", CLIENT_V4))
        w.write(T0, "tcp", CLIENT_V4, server, request("REGISTER", "d2", CLIENT_V4, "TCP"))
    rows = sip_rows(tshark, path, [])
    assert [(r[0], r[1], r[3]) for r in rows] == [("1", "REGISTER", "d1"),
                                                   ("5", "REGISTER", "d2")]

