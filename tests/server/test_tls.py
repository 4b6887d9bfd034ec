"""SIP over TLS (RFC 3261 §26.2.1, §18.2.2): a port of its own next to UDP and TCP, answers on
the connection the request came in on, Contact and Via that say TLS."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sipfault.endpoint import Endpoint, ListenAddress
from sipfault.record.records import DroppedRecord, MessageRecord, Record
from sipfault.sip.message import Response
from sipfault.sip.params import get_param
from sipfault.sip.parser import parse_message
from sipfault.transport.tls import server_context

TLS_DIR = Path(__file__).resolve().parents[1] / "tls"
CERT = TLS_DIR / "cert.pem"
KEY = TLS_DIR / "key.pem"
BUSY = "scenarios/busy.yaml"
ANSWER = "scenarios/answer.yaml"


def client_context() -> ssl.SSLContext:
    """A client that checks the server's certificate against the test one (no shortcut)."""
    context = ssl.create_default_context(cafile=CERT)
    context.check_hostname = True
    return context


def invite(port: int, branch: str, uri: str = "sip:486@127.0.0.1") -> bytes:
    offer = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
        "m=audio 40000 RTP/AVP 0\r\n"
    return (
        f"INVITE {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/TLS client.invalid:{port};branch=z9hG4bK-{branch};rport\r\n"
        f"From: <sip:alice@127.0.0.1>;tag=f-{branch}\r\nTo: <{uri}>\r\n"
        f"Call-ID: {branch}@test\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:alice@127.0.0.1:{port};transport=tls>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(offer)}\r\n\r\n{offer}"
    ).encode()


class TlsClient:
    """One TLS connection that reads whole messages (head, then Content-Length of body)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "localhost") -> TlsClient:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(), server_hostname=host
        )
        return cls(reader, writer)

    @property
    def local_port(self) -> int:
        return int(self.writer.get_extra_info("sockname")[1])

    async def read(self) -> Response:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout=5)
        found = re.search(rb"\r\n(?:Content-Length|l)[ \t]*:[ \t]*(\d+)", head, re.I)
        length = int(found.group(1)) if found else 0
        body = await asyncio.wait_for(self.reader.readexactly(length), timeout=5)
        message = parse_message(head + body, stream=True)
        assert isinstance(message, Response)
        return message

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


@pytest.fixture
async def busy() -> AsyncIterator[Endpoint]:
    server = Endpoint(BUSY, listen="127.0.0.1:0", transports=("udp", "tcp", "tls"),
                    tls=server_context(CERT, KEY), t1=0.05)
    async with server:
        yield server


async def test_tls_listens_on_a_port_of_its_own(busy: Endpoint) -> None:
    assert busy.tls_port not in (0, busy.port)
    assert busy.bound_tls == [("127.0.0.1", busy.tls_port)]
    assert busy.uri("bob", transport="tls") == f"sip:bob@127.0.0.1:{busy.tls_port};transport=tls"


async def test_busy_call_over_tls_is_answered_on_its_connection(busy: Endpoint) -> None:
    records: list[Record] = []
    busy.add_listener(records.append)
    client = await TlsClient.connect(busy.tls_port)
    try:
        client.writer.write(invite(client.local_port, "tls1"))
        statuses = [(await client.read()).status for _ in range(3)]
    finally:
        await client.close()
    assert statuses == [100, 180, 486]
    received = [r for r in records if isinstance(r, MessageRecord) and r.received]
    assert received and all(r.transport == "tls" for r in received)


async def test_via_and_retry_after_over_tls(busy: Endpoint) -> None:
    client = await TlsClient.connect(busy.tls_port)
    source_port = client.local_port
    try:
        client.writer.write(invite(source_port, "tls2"))
        responses = [await client.read() for _ in range(3)]
    finally:
        await client.close()
    final = responses[-1]
    assert final.headers.get("Retry-After") == "30"
    via = final.top_via
    assert via.transport == "TLS"
    assert get_param(via.params, "received") == "127.0.0.1"  # RFC 3581 §4: the source
    assert get_param(via.params, "rport") == str(source_port)
    assert final.to.tag and responses[1].to.tag == final.to.tag


async def test_contact_of_a_2xx_over_tls_says_tls() -> None:
    server = Endpoint(ANSWER, listen="127.0.0.1:0", transports=("tls",),
                    tls=server_context(CERT, KEY))
    async with server:
        assert server.bound == [] and server.tls_port
        for uri, expected in (
            ("sip:bob@127.0.0.1", f"<sip:bob@127.0.0.1:{server.tls_port};transport=tls>"),
            ("sips:bob@127.0.0.1", f"<sips:bob@127.0.0.1:{server.tls_port}>"),  # §12.1.1
        ):
            client = await TlsClient.connect(server.tls_port)
            try:
                client.writer.write(invite(client.local_port, uri.split(":")[0], uri))
                response = await client.read()
                while response.status < 200:
                    response = await client.read()
            finally:
                await client.close()
            assert response.status == 200
            assert response.headers.get("Contact") == expected
            assert response.body.startswith(b"v=0")


async def test_garbage_over_tls_is_refused_and_others_are_served(busy: Endpoint) -> None:
    bad = await TlsClient.connect(busy.tls_port)
    good = await TlsClient.connect(busy.tls_port)
    try:
        bad.writer.write(b"INVITE sip:x@127.0.0.1 SIP/2.0\r\n"
                         b"Via: SIP/2.0/TLS h;branch=z9hG4bK-g\r\n"
                         b"this is not a header line\r\n\r\n")
        refused = await bad.read()
        assert refused.status == 400
        good.writer.write(invite(good.local_port, "tls3"))
        assert (await good.read()).status == 100
    finally:
        await bad.close()
        await good.close()


async def test_a_failed_handshake_is_journaled_and_the_server_keeps_serving(
    busy: Endpoint,
) -> None:
    records: list[Record] = []
    busy.add_listener(records.append)
    reader, writer = await asyncio.open_connection("127.0.0.1", busy.tls_port)
    source = writer.get_extra_info("sockname")[:2]
    writer.write(invite(1, "plain"))  # SIP in the clear where a ClientHello should be
    assert await asyncio.wait_for(reader.read(), timeout=5) == b""  # closed
    writer.close()
    (dropped,) = [r for r in records if isinstance(r, DroppedRecord)]
    assert dropped.reason.startswith("TLS handshake failed: [SSL: ")
    assert dropped.transport == "tls" and dropped.source == source
    client = await TlsClient.connect(busy.tls_port)
    try:
        client.writer.write(invite(client.local_port, "tls4"))
        assert (await client.read()).status == 100
    finally:
        await client.close()


async def test_tls_alone_listens_on_the_port_given() -> None:
    probe = Endpoint(BUSY, listen="127.0.0.1:0", transports=("tls",), tls=server_context(CERT, KEY))
    async with probe:
        port = probe.tls_port
    server = Endpoint(BUSY, listen=[ListenAddress("127.0.0.1", port)], transports=("tls",),
                    tls=server_context(CERT, KEY))
    async with server:
        assert server.bound == [] and server.bound_tls == [("127.0.0.1", port)]


def test_tls_needs_a_context() -> None:
    with pytest.raises(ValueError, match="certificate"):
        Endpoint(BUSY, listen="127.0.0.1:0", transports=("tls",))


async def test_a_fixed_port_puts_tls_on_the_next_one() -> None:
    probe = Endpoint(BUSY, listen="127.0.0.1:0", transports=("udp", "tcp", "tls"),
                   tls=server_context(CERT, KEY))
    async with probe:  # find two free neighbouring ports: take the ones the kernel gave
        port = probe.port
    for candidate in range(port, port + 20):
        server = Endpoint(BUSY, listen=[ListenAddress("127.0.0.1", candidate)],
                        transports=("udp", "tcp", "tls"), tls=server_context(CERT, KEY))
        try:
            async with server:
                assert server.port == candidate
                assert server.tls_port == candidate + 1  # 5060 and 5061 (RFC 3261 §19.1.2)
                return
        except OSError:
            continue  # something else holds one of the two: try the next pair
    pytest.fail("no two neighbouring free ports found")


def test_an_unreadable_key_is_named_even_when_running_as_root(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sipfault.transport import tls

    real_open = open

    def refusing(path: str, *args: object, **kwargs: object) -> object:
        if str(path) == str(KEY):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(tls, "open", refusing, raising=False)
    with pytest.raises(tls.CertificateFileError) as caught:
        server_context(CERT, KEY)
    assert str(caught.value) == f"private key {KEY}: cannot be read (permission denied)"
    assert (caught.value.role, caught.value.path) == ("private key", str(KEY))
    assert isinstance(caught.value, OSError)  # what callers caught before
