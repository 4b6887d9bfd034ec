"""The server on real sockets: UDP and TCP on one port, IPv4 and IPv6, many clients at once,
and clients that send garbage or hang up mid-message (RFC 3261 §18)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from sipfault.endpoint import Endpoint, ListenAddress
from sipfault.sip.message import Response
from sipfault.sip.parser import MAX_MESSAGE_SIZE, parse_message

SCENARIO = "scenarios/busy.yaml"


def options(port: int, transport: str, branch: str, host: str = "127.0.0.1",
            rport: bool = True) -> bytes:
    """An OPTIONS; with ``rport`` (RFC 3581) the answer comes back to the port it left from,
    whatever ``port`` the Via names."""
    via_host = f"[{host}]" if ":" in host else host
    symmetric = ";rport" if rport else ""
    return (
        f"OPTIONS sip:{via_host} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {via_host}:{port};branch=z9hG4bK-{branch}{symmetric}\r\n"
        f"From: <sip:t@{via_host}>;tag={branch}\r\nTo: <sip:{via_host}>\r\n"
        f"Call-ID: {branch}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def udp_exchange(host: str, port: int, data: bytes) -> Response:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    loop = asyncio.get_running_loop()
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind((host, 0))
        await loop.sock_sendto(sock, data, (host, port))
        reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), timeout=5)
    message = parse_message(reply)
    assert isinstance(message, Response)
    return message


async def tcp_exchange(host: str, port: int, data: bytes) -> Response:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    finally:
        writer.close()
    message = parse_message(head, stream=True)
    assert isinstance(message, Response)
    return message


@pytest.fixture
async def server() -> AsyncIterator[Endpoint]:
    async with Endpoint(SCENARIO, listen="127.0.0.1:0") as running:
        yield running


async def test_udp_and_tcp_share_the_port(server: Endpoint) -> None:
    udp = await udp_exchange("127.0.0.1", server.port, options(1, "UDP", "u1"))
    tcp = await tcp_exchange("127.0.0.1", server.port, options(1, "TCP", "t1"))
    assert udp.status == tcp.status == 200


async def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        async with Endpoint(SCENARIO, listen=[ListenAddress("::1", 0)]) as v6:
            assert v6.bound[0][0] == "::1"
            udp = await udp_exchange("::1", v6.port, options(1, "UDP", "v6u", "::1"))
            tcp = await tcp_exchange("::1", v6.port, options(1, "TCP", "v6t", "::1"))
    except OSError as exc:  # a machine with IPv6 compiled in but no ::1 configured
        pytest.skip(f"no IPv6 loopback: {exc}")
    assert udp.status == tcp.status == 200
    assert udp.top_via.host == "[::1]"


async def test_default_listen_is_loopback_both_families() -> None:
    async with Endpoint(SCENARIO, listen=[ListenAddress("127.0.0.1", 0),
                                        ListenAddress("::1", 0, optional=True)]) as both:
        hosts = [host for host, _ in both.bound]
        assert hosts[0] == "127.0.0.1"
        assert all(port == both.port for _, port in both.bound)


async def test_many_concurrent_clients(server: Endpoint) -> None:
    jobs = [udp_exchange("127.0.0.1", server.port, options(1, "UDP", f"c{i}"))
            for i in range(40)]
    jobs += [tcp_exchange("127.0.0.1", server.port, options(1, "TCP", f"d{i}"))
             for i in range(40)]
    answers = await asyncio.gather(*jobs)
    assert [answer.status for answer in answers] == [200] * 80
    assert {answer.call_id for answer in answers} == {f"c{i}" for i in range(40)} | {
        f"d{i}" for i in range(40)}


async def test_garbage_and_half_messages_do_not_disturb_others(server: Endpoint) -> None:
    port = server.port
    _, garbage = await asyncio.open_connection("127.0.0.1", port)
    garbage.write(b"\x00\xff\x13 not SIP at all\r\n\r\n")
    _, half = await asyncio.open_connection("127.0.0.1", port)
    half.write(options(1, "TCP", "half")[:40])  # then hang up in the middle of the message
    await half.drain()
    half.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x01\x02garbage", ("127.0.0.1", port))
    answer = await tcp_exchange("127.0.0.1", port, options(1, "TCP", "after"))
    assert answer.status == 200
    assert (await udp_exchange("127.0.0.1", port, options(1, "UDP", "after-u"))).status == 200
    garbage.close()


async def test_oversized_tcp_head_is_closed_without_buffering(server: Endpoint) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"OPTIONS sip:x SIP/2.0\r\nX-Junk: " + b"a" * (MAX_MESSAGE_SIZE + 10))
    await writer.drain()
    closed = await asyncio.wait_for(reader.read(), timeout=5)
    assert closed == b""  # no head to answer: the connection is closed
    writer.close()


async def test_content_length_beyond_limit_gets_513_and_close(server: Endpoint) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = options(1, "TCP", "big").replace(b"Content-Length: 0",
                                            f"Content-Length: {MAX_MESSAGE_SIZE * 2}".encode())
    writer.write(head + b"x" * 1000)
    answer = await asyncio.wait_for(reader.read(), timeout=5)  # read to EOF: it closes
    writer.close()
    assert answer.startswith(b"SIP/2.0 513 Message Too Large\r\n")
    assert server.uas.take_outgoing() == []


async def test_keepalive_ping_gets_pong(server: Endpoint) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\r\n\r\n")
    pong = await asyncio.wait_for(reader.readexactly(2), timeout=5)
    assert pong == b"\r\n"
    writer.write(options(1, "TCP", "ka"))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    assert head.startswith(b"SIP/2.0 200 OK")
    writer.close()


async def test_answers_go_to_the_packet_source_not_the_via(server: Endpoint) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # no rport: the Via's port is where the answer goes
        lying = options(port, "UDP", "liar", "192.0.2.1", rport=False).replace(
            f"Via: SIP/2.0/UDP 192.0.2.1:{port}".encode(),
            f"Via: SIP/2.0/UDP 192.0.2.1:{port};maddr=255.255.255.255".encode())
        await loop.sock_sendto(sock, lying, ("127.0.0.1", server.port))
        reply = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), timeout=5))
    assert isinstance(reply, Response) and reply.status == 200
    assert "received=127.0.0.1" in (reply.headers.get("Via") or "")


async def test_a_request_pipelined_before_a_framing_error_is_still_answered(
        server: Endpoint) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    good = options(1, "TCP", "first")
    bad = options(1, "TCP", "second").replace(b"Content-Length: 0", b"Content-Length: -999")
    writer.write(good + bad)
    answers = await asyncio.wait_for(reader.read(), timeout=5)  # to EOF: the server closes
    writer.close()
    assert answers.startswith(b"SIP/2.0 200 OK\r\n")
    assert b"SIP/2.0 400 Invalid Content-Length\r\n" in answers
