"""Every RFC 4475 torture message sent to a running server over UDP and over TCP.

The server (``scenarios/answer.yaml`` on an ephemeral 127.0.0.1 port) must answer each vector as
:data:`ANSWERS` says — drawn from the vectors' ``MANIFEST.tsv`` — or stay silent where the RFC
says to discard, close a TCP connection after a framing error, and keep serving: after every
vector an OPTIONS from the same client gets its 200.

No sleeps: "no answer" is proved by ordering. The server handles the input of one socket in
order, so when the OPTIONS sent after a vector is answered, every answer to the vector has
already arrived. Over TCP, a connection the server closes or leaves waiting is read to its end.

Every UDP datagram the server sends is recorded: the vectors name hosts such as 192.0.2.1,
255.255.255.255 and example.com in their Via and Contact fields, and every answer must still go
to the packet's source, the test's client socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sipfault.core.events import Event, MessageSent
from sipfault.endpoint import Endpoint
from sipfault.sip.errors import SipParseError
from sipfault.sip.framer import KeepAlivePing, StreamFramer
from sipfault.sip.message import Message, Response
from sipfault.sip.parser import parse_message
from sipfault.transport.udp import UdpEndpoint

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "answer.yaml"
LOCALHOST = "127.0.0.1"
TIMEOUT = 5.0
"""Longest wait for any one answer; answer.yaml's 200 to an INVITE comes after 1.1 s."""

_CANDIDATES = (
    os.environ.get("SIPFAULT_RFC4475_DIR", ""),
    str(ROOT / "tests" / "vectors" / "rfc4475"),
    "/work/shared/vectors/rfc4475",
)


def _vector_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate and (Path(candidate) / "MANIFEST.tsv").is_file():
            return Path(candidate)
    pytest.skip("RFC 4475 vectors not found (set SIPFAULT_RFC4475_DIR)")


def vector(name: str) -> bytes:
    return (_vector_dir() / f"{name}.dat").read_bytes()


# --- what the server must answer ---------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """The distinct responses (retransmissions folded) the server sends for one vector."""

    udp: tuple[int, ...]
    """Status codes in order over UDP; () when the vector must be discarded silently."""
    tcp: tuple[int, ...] | None = None
    """Over TCP when it differs from UDP."""
    tcp_end: str = "open"
    """What becomes of the TCP connection: "open", "closed" by the server after its answer
    (framing errors), or "waits" for the rest of an incomplete message until the client closes."""
    also: tuple[tuple[int, ...], ...] = ()
    """Other answers the manifest allows."""

    def expected(self, transport: str) -> tuple[int, ...]:
        return self.tcp if transport == "tcp" and self.tcp is not None else self.udp


SILENT = Answer(())
CALL = (100, 180, 200)  # answer.yaml: 100, 180 after 100 ms, 200 with an SDP answer after 1 s

# Derived from MANIFEST.tsv's expected_uas_behaviour, for a UAS whose scenario answers INVITE
# and leaves the other methods to the RFC defaults (OPTIONS 200, REGISTER 200, MESSAGE 405,
# unknown methods 501).
ANSWERS: dict[str, Answer] = {
    # The To carries a tag, so this is a request inside a dialog the server does not have:
    # processing it normally is a 481 (RFC 3261 §12.2.2).
    "wsinv": Answer((481,)),
    "intmeth": Answer((501,)),
    "esc01": Answer(CALL),
    "escnull": Answer((200,)),
    "esc02": Answer((501,)),
    "lwsdisp": Answer((200,)),
    "longreq": Answer(CALL),
    # UDP: the INVITE after Content-Length 0 is noise (RFC 3261 §18.3). TCP: it is the next
    # message of the stream and is answered as one.
    "dblreq": Answer((200,), tcp=(200, *CALL)),
    "semiuri": Answer((200,)),
    "transports": Answer((200,)),
    "mpart01": Answer((405,)),  # processed normally: this UAS does not take MESSAGE
    "unreason": SILENT,  # responses without a transaction are discarded
    "noreason": SILENT,
    "badinv01": Answer((400,)),
    "clerr": Answer((400,), tcp=(), tcp_end="waits"),
    "ncl": Answer((400,), tcp_end="closed"),
    "scalar02": Answer((400,)),
    "scalarlg": SILENT,
    "quotbal": Answer((400,)),
    "ltgtruri": Answer((400,)),
    "lwsruri": Answer((400,)),
    "lwsstart": Answer(CALL, also=((400,),)),
    "trws": Answer((200,), also=((400,),)),
    "escruri": Answer((400,)),
    "baddate": Answer(CALL, also=((400,),)),
    "regbadct": Answer((400,)),
    "badaspec": Answer((400,)),
    # The vector's head ends without an empty line: complete as a datagram, not on a stream.
    "baddn": Answer((400,), tcp=(), tcp_end="waits"),
    "badvers": Answer((505,)),
    "mismatch01": Answer((400,)),
    "mismatch02": Answer((501,), also=((400,),)),
    "bigcode": SILENT,
    "badbranch": Answer((200,), also=((400,),)),
    "insuf": Answer((400,)),
    "unkscm": Answer((416,)),
    "novelsc": Answer((416,), also=((404,),)),
    "unksm2": Answer((400,)),  # the default REGISTER handling is a registrar's
    "bext01": Answer((420,)),
    "invut": Answer((415,)),
    "regaut01": Answer((200,), also=((401,),)),
    "multi01": Answer((400,)),
    "mcl01": Answer((400,), tcp_end="closed"),
    "bcast": SILENT,
    "zeromf": Answer((200,)),
    "cparam01": Answer((200,)),
    "cparam02": Answer((200,)),
    "regescrt": Answer((200,)),
    "sdp01": Answer((406,), also=((400,),)),
    "inv2543": Answer(CALL),
}

# Vectors whose expected answer the server does not give yet (the UAS core's part).
CORE_GAPS: dict[str, str] = {}

NAMES = sorted(ANSWERS)


def test_the_table_covers_the_manifest() -> None:
    with (_vector_dir() / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        manifest = {row["name"]: row for row in csv.DictReader(handle, delimiter="\t")}
    assert set(manifest) == set(ANSWERS)
    for name, row in manifest.items():
        is_response = row["method_or_response"].startswith("response")
        assert (ANSWERS[name] == SILENT) == is_response, name


# --- clients -----------------------------------------------------------------------------------

_counter = itertools.count(1)


def options(transport: str, client_port: int) -> tuple[bytes, str]:
    """An OPTIONS that must be answered 200, and its Call-ID."""
    n = next(_counter)
    call_id = f"probe-{n}-{time.monotonic_ns()}@{LOCALHOST}"
    data = (
        f"OPTIONS sip:probe@{LOCALHOST} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport.upper()} {LOCALHOST}:{client_port}"
        f";branch=z9hG4bKprobe{n};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@{LOCALHOST}>;tag=probe{n}\r\n"
        f"To: <sip:probe@{LOCALHOST}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n"
        "\r\n"
    ).encode()
    return data, call_id


class Client:
    """A UDP socket or a TCP connection from 127.0.0.1 that reads SIP messages."""

    transport: str
    address: tuple[str, int]

    async def send(self, data: bytes) -> None:
        raise NotImplementedError

    async def receive(self, deadline: float) -> bytes | None:
        """The next message, or None at EOF; TimeoutError past the deadline."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class UdpClient(Client):
    def __init__(self, server_port: int) -> None:
        self.transport = "udp"
        self._server = (LOCALHOST, server_port)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((LOCALHOST, 0))
        self._socket.setblocking(False)
        self.address = self._socket.getsockname()

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendto(self._socket, data, self._server)

    async def receive(self, deadline: float) -> bytes | None:
        loop = asyncio.get_running_loop()
        data, source = await asyncio.wait_for(
            loop.sock_recvfrom(self._socket, 70000), max(0.0, deadline - loop.time())
        )
        assert source == self._server  # answers come from the port requests went to
        return bytes(data)

    async def close(self) -> None:
        self._socket.close()


class TcpClient(Client):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.transport = "tcp"
        self._reader = reader
        self._writer = writer
        self._framer = StreamFramer()
        self._ready: list[bytes] = []
        self.address = writer.get_extra_info("sockname")[:2]

    @classmethod
    async def connect(cls, server_port: int) -> TcpClient:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(LOCALHOST, server_port, local_addr=(LOCALHOST, 0)), TIMEOUT
        )
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await asyncio.wait_for(self._writer.drain(), TIMEOUT)

    def half_close(self) -> None:
        self._writer.write_eof()

    async def receive(self, deadline: float) -> bytes | None:
        loop = asyncio.get_running_loop()
        while not self._ready:
            try:
                chunk = await asyncio.wait_for(
                    self._reader.read(65536), max(0.0, deadline - loop.time())
                )
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self._ready += [m for m in self._framer.feed(chunk) if not isinstance(m, KeepAlivePing)]
        return self._ready.pop(0)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), TIMEOUT)


# --- the server under test -----------------------------------------------------------------------


@dataclass
class Harness:
    """A running server and everything it sent."""

    server: Endpoint
    udp_sent: list[tuple[bytes, tuple[str, int]]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    async def client(self, transport: str) -> Client:
        client: Client
        if transport == "udp":
            client = UdpClient(self.port)
        else:
            client = await TcpClient.connect(self.port)
        self.clients.append(client)
        return client

    def check_destinations(self) -> None:
        """Everything went back to a client of this test, never to an address in a vector."""
        ours = {client.address for client in self.clients}
        for _, remote in self.udp_sent:
            assert remote in ours, f"the server sent a datagram to {remote}"
        for event in self.events:
            if isinstance(event, MessageSent):
                assert event.peer.remote in ours, f"the server answered {event.peer.remote}"


@pytest.fixture
async def harness(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    sent: list[tuple[bytes, tuple[str, int]]] = []
    original = UdpEndpoint.send

    def recording_send(self: UdpEndpoint, data: bytes, remote: tuple[str, int]) -> None:
        sent.append((data, remote))
        original(self, data, remote)

    monkeypatch.setattr(UdpEndpoint, "send", recording_send)
    # The vectors' Vias name ports without rport, where RFC 3261 §18.2.2 sends the answers;
    # this client listens on its own port only, so answers come to the source port.
    async with Endpoint(SCENARIO, listen=f"{LOCALHOST}:0", force_rport=True) as server:
        state = Harness(server, sent)
        server.add_listener(state.events.append)
        try:
            yield state
            state.check_destinations()
        finally:
            for client in state.clients:
                await client.close()


# --- the exchange ------------------------------------------------------------------------------


def responses(raw: list[bytes]) -> list[Response]:
    """Parse what arrived; fold retransmissions (same status, CSeq and Call-ID)."""
    seen: set[tuple[int, str, str]] = set()
    out: list[Response] = []
    for data in raw:
        message = parse_message(data, stream=True)
        assert isinstance(message, Response), data[:80]
        headers = message.headers
        key = (message.status, headers.get("CSeq") or "", headers.get("Call-ID") or "")
        if key not in seen:
            seen.add(key)
            out.append(message)
    return out


async def read_until(
    client: Client, done: Callable[[list[bytes]], bool], timeout: float = TIMEOUT
) -> tuple[list[bytes], bool]:
    """Messages until ``done(messages)``, EOF (second value True) or the timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    got: list[bytes] = []
    while not done(got):
        try:
            message = await client.receive(deadline)
        except TimeoutError:
            break
        if message is None:
            return got, True
        got.append(message)
    return got, False


async def probe(harness: Harness, client: Client) -> list[bytes]:
    """Send an OPTIONS; return what arrived before its 200 (which must arrive)."""
    data, call_id = options(client.transport, client.address[1])
    await client.send(data)
    marker = f"Call-ID: {call_id}".encode()
    got, eof = await read_until(client, lambda got: bool(got) and marker in got[-1])
    assert not eof, "the server closed the connection instead of answering OPTIONS"
    assert got and marker in got[-1], "no answer to OPTIONS: the server stopped serving"
    answer = parse_message(got[-1], stream=True)
    assert isinstance(answer, Response)
    assert answer.status == 200
    return got[:-1]


async def answers_to(harness: Harness, name: str, transport: str) -> tuple[list[Response], str]:
    """Send one vector; return the distinct responses and what became of the connection."""
    expected = ANSWERS[name]
    wanted = len(expected.expected(transport))
    client = await harness.client(transport)
    await client.send(vector(name))
    end = "open"
    if isinstance(client, TcpClient) and expected.tcp_end != "open":
        if expected.tcp_end == "waits":
            client.half_close()  # the server has all there is: it may answer, then must close
        got, eof = await read_until(client, lambda got: False)
        end = "closed" if eof else "still open"
        prober = await harness.client(transport)
        got += await probe(harness, prober)
        return responses(got), end
    got, eof = await read_until(client, lambda got: len(responses(got)) >= wanted)
    assert not eof, "the server closed the connection"
    if isinstance(client, TcpClient) and name == "inv2543":
        # Without Content-Length its SDP stays in the stream as the start of a next message.
        got += await probe(harness, await harness.client(transport))
    else:
        got += await probe(harness, client)
    return responses(got), end


def vector_request(name: str) -> Message | None:
    """The vector as parsed, or what could be read of it."""
    try:
        return parse_message(vector(name))
    except SipParseError as error:
        return error.partial


def check_answer_fields(name: str, response: Response) -> None:
    """What every answer carries: the Call-ID copied, a To-tag, the top Via marked with the
    packet's source (RFC 3261 §8.2.6.2, §18.2.1), a reason phrase."""
    request = vector_request(name)
    assert request is not None
    call_id = response.headers.get("Call-ID")
    if request.headers.count("Call-ID") == 1:
        assert call_id
    if call_id is not None:
        assert call_id.encode() in vector(name)  # copied from the request it answers
    if response.status != 100 and "To" in request.headers:
        assert ";tag=" in (response.headers.get("To") or "").replace(" ", "")
    assert response.reason
    try:
        top = response.top_via
    except SipParseError:
        return  # a malformed Via is copied as it stands (RFC 4475 §3.1.2.1 badinv01)
    received = {key.lower(): value for key, value in top.params}.get("received")
    assert top.host == LOCALHOST or received == LOCALHOST, str(top)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("name", NAMES)
async def test_vector_answered_as_the_manifest_says(
    harness: Harness, name: str, transport: str, request: pytest.FixtureRequest
) -> None:
    if name in CORE_GAPS:  # strict: the day the core answers as expected, this says so
        request.applymarker(pytest.mark.xfail(reason=CORE_GAPS[name], strict=True))
    expected = ANSWERS[name]
    got, end = await answers_to(harness, name, transport)
    statuses = tuple(response.status for response in got)
    assert statuses in (expected.expected(transport), *expected.also), [
        f"{r.status} {r.reason}" for r in got
    ]
    if transport == "tcp":
        assert end == (expected.tcp_end if expected.tcp_end != "waits" else "closed")
    for response in got:
        check_answer_fields(name, response)
    if transport == "tcp":
        assert harness.udp_sent == []  # nothing leaves over UDP for a TCP request


# --- what particular answers hold ----------------------------------------------------------------


async def _answer(harness: Harness, name: str, transport: str = "udp") -> list[Response]:
    got, _ = await answers_to(harness, name, transport)
    return got


async def test_escnull_registers_two_distinct_contacts(harness: Harness) -> None:
    (ok,) = await _answer(harness, "escnull")
    contacts = ok.headers.values("Contact")
    assert len(contacts) == 2
    assert "sip:%00@host5.example.com" in contacts[0]
    assert "sip:%00%00@host5.example.com" in contacts[1]


async def test_bext01_names_both_unsupported_extensions(harness: Harness) -> None:
    (bad,) = await _answer(harness, "bext01")
    assert bad.headers.values("Unsupported") == ["nothingSupportsThis", "nothingSupportsThisEither"]


@pytest.mark.parametrize("name", ["intmeth", "esc02", "mpart01"])
async def test_refused_methods_come_with_allow(harness: Harness, name: str) -> None:
    (refusal,) = await _answer(harness, name)
    assert "INVITE" in refusal.headers.values("Allow")
    assert "MESSAGE" not in refusal.headers.values("Allow")


async def test_invut_415_says_what_is_accepted(harness: Harness) -> None:
    (refusal,) = await _answer(harness, "invut")
    assert refusal.headers.values("Accept") == ["application/sdp"]


@pytest.mark.parametrize("name", ["esc01", "longreq", "inv2543"])
async def test_answered_calls_carry_an_sdp_answer_and_a_contact(
    harness: Harness, name: str
) -> None:
    *_, ok = await _answer(harness, name)
    assert ok.status == 200
    assert ok.content_type == "application/sdp"
    assert b"m=audio" in ok.body
    assert ok.headers.values("Contact")


async def test_bad_requests_name_the_defect(harness: Harness) -> None:
    (bad,) = await _answer(harness, "lwsruri")
    assert bad.status == 400
    assert bad.reason.startswith("Malformed")


# --- beyond the vectors: limits and hostile values ------------------------------------------------

REQUEST = (
    "OPTIONS sip:limits@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/{transport} 192.0.2.77:5060;branch=z9hG4bK{branch}\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:limits@192.0.2.77>;tag=l1\r\n"
    "To: <sip:limits@127.0.0.1>\r\n"
    "Call-ID: limits-{branch}@192.0.2.77\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "{extra}"
    "Content-Length: {length}\r\n"
    "\r\n"
)


def hostile(transport: str, extra: str = "", length: str = "0") -> bytes:
    branch = next(_counter)
    return REQUEST.format(
        transport=transport.upper(), branch=branch, extra=extra, length=length
    ).encode()


async def _single(harness: Harness, transport: str, data: bytes) -> tuple[list[Response], bool]:
    client = await harness.client(transport)
    await client.send(data)
    got, eof = await read_until(client, lambda got: len(got) >= 1)
    if not eof and transport == "tcp":
        more, eof = await read_until(client, lambda got: False, timeout=TIMEOUT)
        got += more
    if transport == "udp":
        got += await probe(harness, client)
    else:
        got += await probe(harness, await harness.client("tcp"))
    return responses(got), eof


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_content_length_beyond_64_kib_is_513(harness: Harness, transport: str) -> None:
    got, closed = await _single(harness, transport, hostile(transport, length="70000"))
    assert [r.status for r in got] == [513]
    assert closed or transport == "udp"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_content_length_of_5000_digits_is_513(harness: Harness, transport: str) -> None:
    got, closed = await _single(harness, transport, hostile(transport, length="9" * 5000))
    assert [r.status for r in got] == [513]
    assert closed or transport == "udp"


async def test_a_tcp_head_beyond_64_kib_is_closed_without_buffering_it(harness: Harness) -> None:
    client = await harness.client("tcp")
    assert isinstance(client, TcpClient)
    padding = b"X-Pad: " + b"p" * 1000 + b"\r\n"
    closed = False
    try:
        for _ in range(80):  # 80 KB of a head that never ends
            await client.send(padding)
    except (ConnectionError, TimeoutError):
        closed = True
    if not closed:
        _, closed = await read_until(client, lambda got: False)
    assert closed
    await probe(harness, await harness.client("tcp"))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("Max-Forwards: 70", "Max-Forwards: " + "9" * 5000, id="max-forwards"),
        pytest.param("Max-Forwards: 70", "Expires: " + "9" * 5000, id="expires"),
        pytest.param("CSeq: 1 OPTIONS", "CSeq: " + "9" * 5000 + " OPTIONS", id="cseq"),
        pytest.param("Max-Forwards: 70", 'Require: "100rel, timer', id="require-quote"),
        pytest.param("Max-Forwards: 70", 'Supported: "x, y', id="supported-quote"),
    ],
)
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_hostile_values_are_answered_400(
    harness: Harness, transport: str, old: str, new: str
) -> None:
    """Numbers int() cannot convert and lists that cannot be split are a 400, not a crash."""
    data = hostile(transport).replace(old.encode(), new.encode())
    client = await harness.client(transport)
    await client.send(data)
    (bad,) = responses(await probe(harness, client))
    assert bad.status == 400
    assert new.partition(":")[0] in bad.reason or "CSeq" in bad.reason


async def test_baddn_with_its_missing_empty_line_is_answered_over_tcp(harness: Harness) -> None:
    client = await harness.client("tcp")
    await client.send(vector("baddn") + b"\r\n")
    (bad,) = responses(await probe(harness, client))
    assert bad.status == 400


async def test_every_keepalive_ping_gets_a_pong(harness: Harness) -> None:
    """RFC 5626 §4.4.1 over a real connection: each CRLFCRLF is answered with a CRLF."""
    client = await harness.client("tcp")
    assert isinstance(client, TcpClient)
    for _ in range(3):
        await client.send(b"\r\n\r\n")
        pong = await asyncio.wait_for(client._reader.readexactly(2), TIMEOUT)
        assert pong == b"\r\n"
    await probe(harness, client)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_one_server_survives_every_vector_in_a_row(harness: Harness, transport: str) -> None:
    """All 49 vectors at one server, each from a fresh client; it still answers OPTIONS."""
    for name in NAMES:
        client = await harness.client(transport)
        await client.send(vector(name))
        if isinstance(client, TcpClient):
            client.half_close()  # the server answers what it can, then closes
            _, closed = await read_until(client, lambda got: False)
            assert closed, name
    await probe(harness, await harness.client(transport))
