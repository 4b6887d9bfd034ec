"""Raw-socket clients that behave as field devices do, against a server on real sockets.

Older printers and ATAs send from an ephemeral port and listen on 5060 without ``rport``
(RFC 3261 §18.2.2); phones send CRLF keep-alives and STUN Binding Requests on the SIP port
(RFC 5626 §4.4); broken stacks put control characters in header fields; clients hang up in
the middle of a message. Every client here is a plain socket bound to 127.0.0.1, port 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import struct
from collections.abc import AsyncIterator, Iterator

import pytest

from sipfault.endpoint import Endpoint
from sipfault.record.records import DroppedRecord, KeepAliveRecord, Record
from sipfault.reporting import ConsoleReporter
from sipfault.scenario.loader import load_scenario_text
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message

TIMEOUT = 5.0
MAGIC_COOKIE = 0x2112A442
SCENARIO = load_scenario_text("""
name: devices
timers: {t1: 20ms}
rules:
  - match: {method: INVITE, user: busy}
    reply: [486]
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""", "devices.yaml")


@contextlib.contextmanager
def udp_socket(port: int = 0, host: str = "127.0.0.1") -> Iterator[socket.socket]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, port))
        sock.setblocking(False)
        yield sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def receive(sock: socket.socket, timeout: float = TIMEOUT) -> bytes:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.sock_recv(sock, 65535), timeout)


def nothing_waiting(sock: socket.socket) -> bool:
    try:
        sock.recv(65535)
    except BlockingIOError:
        return True
    return False


def sip_request(method: str, sent_by: str, *, rport: bool, user: str = "busy",
                call_id: str = "dev-1", cseq_method: str | None = None,
                body: str = "") -> bytes:
    symmetric = ";rport" if rport else ""
    return (
        f"{method} sip:{user}@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {sent_by};branch=z9hG4bK-{call_id}{symmetric}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:printer@127.0.0.1>;tag={call_id}\r\n"
        f"To: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: 1 {cseq_method or method}\r\n"
        + ("Content-Type: application/sdp\r\n" if body else "")
        + f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def parsed(data: bytes) -> Request | Response:
    message = parse_message(data)
    assert isinstance(message, Request | Response)
    return message


@pytest.fixture
async def server() -> AsyncIterator[Endpoint]:
    async with Endpoint(SCENARIO, listen="127.0.0.1:0") as running:
        yield running


@pytest.fixture
def records(server: Endpoint) -> list[Record]:
    seen: list[Record] = []
    server.add_listener(seen.append)
    return seen


# --- 1. responses reach devices that do not use rport (RFC 3261 §18.2.2) -----------------------


async def test_without_rport_the_answers_go_to_the_via_port(server: Endpoint) -> None:
    with udp_socket() as sender, udp_socket() as listener:
        invite = sip_request("INVITE", f"127.0.0.1:{port_of(listener)}", rport=False)
        await asyncio.get_running_loop().sock_sendto(sender, invite, ("127.0.0.1", server.port))
        first = parsed(await receive(listener))
        again = parsed(await receive(listener))  # Timer G: the retransmission goes there too
        assert isinstance(first, Response) and first.status == 486
        assert isinstance(again, Response) and again.status == 486
        assert nothing_waiting(sender)


async def test_with_rport_the_answers_go_to_the_source_port(server: Endpoint) -> None:
    with udp_socket() as sender, udp_socket() as listener:
        invite = sip_request("INVITE", f"127.0.0.1:{port_of(listener)}", rport=True)
        await asyncio.get_running_loop().sock_sendto(sender, invite, ("127.0.0.1", server.port))
        answer = parsed(await receive(sender))
        assert isinstance(answer, Response) and answer.status == 486
        assert ("rport", str(port_of(sender))) in answer.top_via.params
        assert nothing_waiting(listener)


async def test_a_sent_by_of_another_host_gets_its_port_at_the_source_address(
        server: Endpoint) -> None:
    try:
        with udp_socket(5062) as at_5062, udp_socket() as sender:
            options = sip_request("OPTIONS", "192.0.2.1:5062", rport=False, call_id="dev-5062")
            await asyncio.get_running_loop().sock_sendto(sender, options,
                                                         ("127.0.0.1", server.port))
            answer = parsed(await receive(at_5062))
            assert isinstance(answer, Response) and answer.status == 200
            assert ("received", "127.0.0.1") in answer.top_via.params
            assert nothing_waiting(sender)
    except OSError as exc:  # only this case needs that port
        if exc.errno == 98:
            pytest.skip("port 5062 is taken on this machine")
        raise


async def test_a_stateless_400_goes_to_the_via_port(server: Endpoint) -> None:
    with udp_socket() as sender, udp_socket() as listener:
        bad = sip_request("OPTIONS", f"127.0.0.1:{port_of(listener)}", rport=False,
                          call_id="dev-400", cseq_method="INVITE")
        await asyncio.get_running_loop().sock_sendto(sender, bad, ("127.0.0.1", server.port))
        answer = parsed(await receive(listener))
        assert isinstance(answer, Response) and answer.status == 400
        assert nothing_waiting(sender)


OFFER = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio 49170 RTP/AVP 0\r\n")


async def test_the_2xx_and_our_bye_go_to_the_via_port_of_the_invite(server: Endpoint) -> None:
    with udp_socket() as sender, udp_socket() as listener:
        invite = sip_request("INVITE", f"127.0.0.1:{port_of(listener)}", rport=False,
                             user="answer", call_id="dev-bye", body=OFFER)
        await asyncio.get_running_loop().sock_sendto(sender, invite, ("127.0.0.1", server.port))
        seen: list[str] = []
        while "BYE" not in seen:  # no ACK: the 2xx is re-sent, then 64*T1 brings a BYE
            message = parsed(await receive(listener))
            seen.append(message.method if isinstance(message, Request) else str(message.status))
        assert seen[0] == "200" and seen.count("200") >= 2
        assert nothing_waiting(sender)


# --- 2. keep-alives are keep-alives (RFC 5626 §4.4) ---------------------------------------------


async def test_a_crlf_datagram_is_a_keepalive_in_the_summary(
        server: Endpoint, records: list[Record]) -> None:
    console = io.StringIO()
    reporter = ConsoleReporter(console)
    server.add_listener(reporter.on_record)
    with udp_socket() as phone:
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(phone, b"\r\n\r\n", ("127.0.0.1", server.port))
        await loop.sock_sendto(phone, sip_request("OPTIONS", f"127.0.0.1:{port_of(phone)}",
                                                  rport=True, call_id="dev-ka"),
                               ("127.0.0.1", server.port))
        await receive(phone)  # the OPTIONS came after: the keep-alive has been handled
    keepalives = [r for r in records if isinstance(r, KeepAliveRecord)]
    assert [(r.kind, r.transport) for r in keepalives] == [("crlf", "udp")]
    assert not [r for r in records if isinstance(r, DroppedRecord)]
    reporter.print_summary(server)
    summary = console.getvalue().splitlines()
    assert "keepalives: 1" in summary and "dropped: 0" in summary
    assert "Empty message" not in console.getvalue()


def binding_request(transaction: bytes) -> bytes:
    """A STUN Binding Request without attributes, as a SIP outbound client sends it."""
    return struct.pack("!HHI", 0x0001, 0, MAGIC_COOKIE) + transaction


def mapped_address(response: bytes, transaction: bytes) -> tuple[str, int]:
    """Check a Binding Success Response byte by byte; return its XOR-MAPPED-ADDRESS."""
    kind, length, cookie = struct.unpack_from("!HHI", response)
    assert (kind, cookie) == (0x0101, MAGIC_COOKIE)
    assert length == len(response) - 20
    assert response[8:20] == transaction
    offset = 20
    while offset < len(response):
        attribute, size = struct.unpack_from("!HH", response, offset)
        value = response[offset + 4:offset + 4 + size]
        if attribute == 0x0020:
            _, family, port = struct.unpack_from("!BBH", value)
            key = MAGIC_COOKIE.to_bytes(4, "big") + (transaction if family == 2 else b"")
            address = bytes(a ^ b for a, b in zip(value[4:], key, strict=True))
            family_name = socket.AF_INET if family == 1 else socket.AF_INET6
            return socket.inet_ntop(family_name, address), port ^ (MAGIC_COOKIE >> 16)
        offset += 4 + size + (-size % 4)
    raise AssertionError("no XOR-MAPPED-ADDRESS")


async def test_a_stun_binding_request_over_udp_gets_its_mapped_address(
        server: Endpoint, records: list[Record]) -> None:
    transaction = bytes(range(1, 13))
    with udp_socket() as phone:
        await asyncio.get_running_loop().sock_sendto(phone, binding_request(transaction),
                                                     ("127.0.0.1", server.port))
        answer = await receive(phone)
        assert mapped_address(answer, transaction) == ("127.0.0.1", port_of(phone))
    assert [(r.kind, r.transport) for r in records if isinstance(r, KeepAliveRecord)] == [
        ("stun", "udp")]
    assert not [r for r in records if isinstance(r, DroppedRecord)]


async def test_a_stun_binding_request_over_ipv6_maps_the_ipv6_address() -> None:
    transaction = bytes(range(20, 32))
    v6 = Endpoint(SCENARIO, listen="[::1]:0")
    try:
        await v6.start()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    try:
        with udp_socket(host="::1") as phone:
            await asyncio.get_running_loop().sock_sendto(
                phone, binding_request(transaction), ("::1", v6.port))
            answer = await receive(phone)
            assert mapped_address(answer, transaction) == ("::1", port_of(phone))
    finally:
        await v6.stop()


async def test_a_stun_binding_request_over_tcp_is_framed_by_its_length(
        server: Endpoint, records: list[Record]) -> None:
    transaction = bytes(range(40, 52))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port,
                                                   local_addr=("127.0.0.1", 0))
    try:
        request = binding_request(transaction)
        writer.write(request[:7])  # split: the server waits for the whole header
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(request[7:] + sip_request("OPTIONS", "127.0.0.1:1", rport=True,
                                               call_id="dev-tcp").replace(b"UDP", b"TCP"))
        head = await asyncio.wait_for(reader.readexactly(20), TIMEOUT)
        body = await asyncio.wait_for(reader.readexactly(struct.unpack_from("!H", head, 2)[0]),
                                      TIMEOUT)
        local = writer.get_extra_info("sockname")
        assert mapped_address(head + body, transaction) == ("127.0.0.1", local[1])
        after = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert after.startswith(b"SIP/2.0 200 OK\r\n")  # SIP goes on after the STUN
    finally:
        writer.close()
    assert [(r.kind, r.transport) for r in records if isinstance(r, KeepAliveRecord)] == [
        ("stun", "tcp")]


# --- 3. nothing invalid goes out ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "status", "reason"),
    [
        (b"Call-ID: dev-ctl", b"Call-ID: dev\x00-ctl", 400, b"Control character 0x00 in Call-ID"),
        (b"From: <sip:printer", b"From: \"P\x07\" <sip:printer", 400,
         b"Control character 0x07 in From"),
        (b"To: <sip:busy@127.0.0.1>", b"To: <sip:busy@127.0.0.1>;x=a\rb", 400,
         b"Control character 0x0D in To"),
        (b"From: <sip:printer", 'From: "Imprimante Zoë" <sip:printer'.encode(), 200, b"OK"),
    ],
    ids=["nul", "bel", "lone-cr", "utf8"],
)
async def test_control_characters_are_never_echoed(
        server: Endpoint, old: bytes, new: bytes, status: int, reason: bytes) -> None:
    with udp_socket() as device:
        data = sip_request("OPTIONS", f"127.0.0.1:{port_of(device)}", rport=True,
                           call_id="dev-ctl")
        assert old in data
        await asyncio.get_running_loop().sock_sendto(device, data.replace(old, new),
                                                     ("127.0.0.1", server.port))
        answer = await receive(device)
    assert answer.startswith(b"SIP/2.0 %d %s\r\n" % (status, reason))
    head = answer.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert not any(byte < 0x20 or byte == 0x7F for byte in line), line
    if status == 200:
        assert new in answer  # UTF-8 is legal in a value and is copied as it came


# --- 4. a connection that ends in the middle of a message ---------------------------------------


async def wait_for_drop(records: list[Record]) -> DroppedRecord:
    for _ in range(int(TIMEOUT / 0.01)):
        drops = [r for r in records if isinstance(r, DroppedRecord)]
        if drops:
            return drops[0]
        await asyncio.sleep(0.01)
    raise AssertionError("nothing was journaled")


async def test_a_connection_closed_mid_message_is_journaled(
        server: Endpoint, records: list[Record]) -> None:
    partial = b"OPTIONS sip:busy@127.0.0.1 SIP/2.0\r\nV"
    assert len(partial) == 37
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(partial)
    await writer.drain()
    writer.close()
    dropped = await wait_for_drop(records)
    assert dropped.reason == "connection closed with 37 bytes not parsed"
    assert dropped.raw == partial and dropped.transport == "tcp"
    assert dropped.to_json()["reason"] == "connection closed with 37 bytes not parsed"
    line = ConsoleReporter(io.StringIO()).format(dropped)
    assert line is not None
    assert line.endswith("dropped: connection closed with 37 bytes not parsed")


async def test_a_connection_reset_mid_message_is_journaled(
        server: Endpoint, records: list[Record]) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", server.port))
        await loop.sock_sendall(sock, b"INVITE sip:x SIP/2.0\r\n")
        await asyncio.sleep(0.05)  # let the server read it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    dropped = await wait_for_drop(records)
    assert dropped.reason == "connection reset with 22 bytes not parsed"
