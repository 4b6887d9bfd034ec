"""Hostile TCP and TLS peers meet the server's stream limits, over real sockets.

Each test runs one hostile behaviour (too many connections from one address or in all, an idle
connection, a header sent a byte at a time, a peer that never reads, a Content-Length of 100
MB) and checks the server's answer to it: the connection closed (or answered 513), one
journal record. Meanwhile a well-behaved client on another connection, and over UDP, sends an
INVITE and measures how long the answer takes (printed; asserted under a generous bound), and
after the behaviour a valid INVITE is still answered.

The limits are set small (0.3 s timeouts, caps of a few connections) so the tests wait for
events, each under a bound, rather than for the defaults.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from sipfault.record.records import DroppedRecord
from sipfault.testing import Controller
from sipfault.transport.limits import StreamLimits
from sipfault.transport.tls import server_context
from tests.integration.raw_sip import request

HOST = "127.0.0.1"
OTHER = "127.0.0.2"
"""A second loopback address: a well-behaved client that the per-source cap leaves alone."""
TLS_DIR = Path(__file__).resolve().parents[1] / "tls"
BOUND = 5.0
"""How long any awaited event may take, generously (the machine is shared)."""
LATENCY_BOUND = 1.0
"""A well-behaved client's request is answered within this while a hostile one runs."""
FINAL = re.compile(rb"(?:^|\r\n)SIP/2\.0 ([2-6]\d\d) ")


# ------------------------------------------------------------------------------ server


@contextmanager
def serving(limits: StreamLimits, tls: bool = False,
            options_padding: int = 0) -> Iterator[Controller]:
    """A server with these limits that answers INVITE 486 (and OPTIONS 200, padded)."""
    extra = {"tls": server_context(TLS_DIR / "cert.pem", TLS_DIR / "key.pem")} if tls else {}
    with Controller(stream_limits=limits, **extra) as sip:  # type: ignore[arg-type]
        sip.on("INVITE").reply(486)
        headers = {"X-Padding": "p" * options_padding} if options_padding else {}
        sip.on("OPTIONS").reply({"code": 200, "headers": headers})
        yield sip


def dropped(sip: Controller, text: str) -> list[DroppedRecord]:
    return [record for record in list(sip.server.journal.records)
            if isinstance(record, DroppedRecord) and text in record.reason]


def wait_dropped(sip: Controller, text: str, timeout: float = BOUND) -> DroppedRecord:
    """The first dropped record whose reason says ``text``, waited for under ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = dropped(sip, text)
        if found:
            return found[0]
        time.sleep(0.01)
    reasons = [r.reason for r in sip.server.journal.records if isinstance(r, DroppedRecord)]
    raise AssertionError(f"no dropped record saying {text!r} within {timeout} s: {reasons}")


# ------------------------------------------------------------------------------ clients


def port_of(sip: Controller, transport: str) -> int:
    return sip.tls_port if transport == "tls" else sip.port


def open_stream(sip: Controller, transport: str, source: str = HOST,
                receive_buffer: int | None = None) -> socket.socket:
    """A TCP connection (TLS after its handshake) from ``source`` to the server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:  # before connect, so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(BOUND)
    sock.bind((source, 0))
    sock.connect((sip.host, port_of(sip, transport)))
    if transport == "tls":
        context = ssl.create_default_context(cafile=TLS_DIR / "cert.pem")
        return context.wrap_socket(sock, server_hostname="localhost")
    return sock


def invite(sock: socket.socket, sip: Controller, transport: str) -> bytes:
    local = sock.getsockname()[:2]
    return request("INVITE", local, f"sip:bob@{sip.host}", transport=transport.upper())


def read_final(sock: socket.socket, timeout: float = BOUND) -> int:
    """The status of the first final response on a stream (pongs and 1xx skipped)."""
    data = b""
    deadline = time.monotonic() + timeout
    while (found := FINAL.search(data)) is None:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no final response within {timeout} s: {data[:200]!r}"
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a final response: {data[:200]!r}"
        data += chunk
    return int(found.group(1))


def stream_latency(sip: Controller, transport: str, source: str = OTHER) -> float:
    """Seconds from an INVITE on a new connection to its final response (486)."""
    with open_stream(sip, transport, source) as sock:
        data = invite(sock, sip, transport)
        start = time.monotonic()
        sock.sendall(data)
        assert read_final(sock) == 486
        return time.monotonic() - start


def udp_latency(sip: Controller) -> float:
    """Seconds from an INVITE over UDP to its final response (486)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((OTHER, 0))
        data = request("INVITE", sock.getsockname(), f"sip:bob@{sip.host}")
        start = time.monotonic()
        sock.sendto(data, (sip.host, sip.port))
        deadline = start + BOUND
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            found = FINAL.search(sock.recv(65536))
            if found:
                assert int(found.group(1)) == 486
                return time.monotonic() - start


def well_behaved(sip: Controller, during: str, transports: tuple[str, ...] = ("tcp",)) -> None:
    """A client on another connection, and over UDP, is answered promptly: print how fast."""
    figures = [(name, stream_latency(sip, name)) for name in transports]
    figures.append(("udp", udp_latency(sip)))
    print(f"{during}: INVITE answered in " + ", ".join(
        f"{name} {latency * 1000:.1f} ms" for name, latency in figures))
    for name, latency in figures:
        assert latency < LATENCY_BOUND, f"{name} answer took {latency:.3f} s {during}"


def closed_by_server(sock: socket.socket, timeout: float = BOUND) -> bool:
    """Whether the server ends the connection (EOF or reset) within ``timeout``."""
    deadline = time.monotonic() + timeout
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            if not sock.recv(65536):
                return True
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False
    return False


def refused(sip: Controller, transport: str, source: str) -> bool:
    """Whether a new connection from ``source`` is closed before it carries anything."""
    try:
        sock = open_stream(sip, transport, source)
    except (ConnectionError, ssl.SSLError):
        return True  # TLS: the server closed before the handshake
    with sock:
        return closed_by_server(sock)


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait, under the bound, for ``condition`` (the hostile client's progress)."""
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {BOUND} s"
        time.sleep(0.005)


@contextmanager
def running(hostile: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    """Run ``hostile(stop)`` on a thread for the body of the block, then stop it."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            hostile(stop)
        except BaseException as exc:  # reported on the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(BOUND)
    assert not thread.is_alive(), "the hostile client did not stop"
    if errors:
        raise errors[0]


# ------------------------------------------------------------------------------ caps


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_connections_past_the_cap_per_source_are_closed_unread(transport: str) -> None:
    with serving(StreamLimits(max_per_source=3), tls=transport == "tls") as sip:
        held = [open_stream(sip, transport) for _ in range(3)]
        outcomes: list[bool] = []

        def flood(stop: threading.Event) -> None:
            while not stop.is_set() and len(outcomes) < 100:
                outcomes.append(refused(sip, transport, HOST))

        with running(flood):
            until(lambda: len(outcomes) >= 2, "the flood")
            well_behaved(sip, f"during a {transport} connection flood from one address",
                         (transport,))
            until(lambda: len(outcomes) >= 5, "five refusals")
        assert len(outcomes) >= 5 and all(outcomes), outcomes
        # One record for the whole episode, however many were refused.
        records = dropped(sip, "connection refused")
        assert len(records) == 1, [r.reason for r in records]
        assert "3 connections open from 127.0.0.1" in records[0].reason
        assert records[0].transport == transport
        # The connections within the cap are served as before.
        for sock in held:
            sock.sendall(invite(sock, sip, transport))
            assert read_final(sock) == 486
            sock.close()
        # Once they have closed, the address connects again (the server sees the closes
        # a moment later: try until one is served, under a bound).
        deadline = time.monotonic() + BOUND
        while True:
            try:
                stream_latency(sip, transport, HOST)
                break
            except (AssertionError, ConnectionError, ssl.SSLError):
                assert time.monotonic() < deadline, "127.0.0.1 stayed refused after closing"
                time.sleep(0.05)
        well_behaved(sip, "after the flood", (transport,))


def test_connections_past_the_cap_per_server_are_closed_unread() -> None:
    with serving(StreamLimits(max_connections=4)) as sip:
        held = [open_stream(sip, "tcp", source) for source in (HOST, HOST, OTHER, OTHER)]
        for sock in held:  # each admitted and served
            sock.sendall(invite(sock, sip, "tcp"))
            assert read_final(sock) == 486
        outcomes: list[bool] = []

        def flood(stop: threading.Event) -> None:
            while not stop.is_set() and len(outcomes) < 100:
                outcomes.append(refused(sip, "tcp", "127.0.0.3"))

        with running(flood):
            until(lambda: len(outcomes) >= 2, "the flood")
            start = time.monotonic()
            held[0].sendall(invite(held[0], sip, "tcp"))
            assert read_final(held[0]) == 486
            latency = time.monotonic() - start
            udp = udp_latency(sip)
            print(f"during a flood past the server's cap: INVITE answered in tcp "
                  f"{latency * 1000:.1f} ms (a connection held), udp {udp * 1000:.1f} ms")
            assert latency < LATENCY_BOUND and udp < LATENCY_BOUND
            until(lambda: len(outcomes) >= 5, "five refusals")
        assert len(outcomes) >= 5 and all(outcomes), outcomes
        records = dropped(sip, "connection refused")
        assert len(records) == 1, [r.reason for r in records]
        assert "4 connections open, the most this server takes" in records[0].reason
        for sock in held:
            sock.close()
        deadline = time.monotonic() + BOUND
        while True:
            try:
                well_behaved(sip, "after the flood")
                break
            except (AssertionError, ConnectionError):
                assert time.monotonic() < deadline, "new connections stayed refused"
                time.sleep(0.05)


# ------------------------------------------------------------------------------ timeouts


def test_an_idle_connection_is_closed_and_crlf_pings_keep_one_open() -> None:
    with serving(StreamLimits(idle_timeout=0.3)) as sip:
        quiet = open_stream(sip, "tcp")
        pinging = open_stream(sip, "tcp")
        opened = time.monotonic()

        def ping(stop: threading.Event) -> None:  # RFC 5626 §4.4.1, every 0.1 s
            while not stop.wait(0.1):
                pinging.sendall(b"\r\n\r\n")

        with running(ping):
            well_behaved(sip, "while an idle connection waits")
            assert closed_by_server(quiet)
            idle_for = time.monotonic() - opened
            record = wait_dropped(sip, "idle for 0.3 s")
            print(f"idle connection closed after {idle_for:.2f} s")
            assert idle_for >= 0.29
            assert record.source == quiet.getsockname()[:2]
            while time.monotonic() - opened < 0.9:  # three idle timeouts, pinging all along
                time.sleep(0.05)
        pinging.sendall(invite(pinging, sip, "tcp"))
        assert read_final(pinging) == 486, "the pinging connection was closed"
        assert len(dropped(sip, "idle")) == 1
        quiet.close()
        pinging.close()
        well_behaved(sip, "after the idle close")


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_a_header_sent_a_byte_at_a_time_is_cut_off_at_its_deadline(transport: str) -> None:
    with serving(StreamLimits(header_timeout=0.3), tls=transport == "tls") as sip:
        slow = open_stream(sip, transport)
        message = invite(slow, sip, transport)
        progress = {"sent": 0, "closed_after": 0.0}

        def dribble(stop: threading.Event) -> None:  # one byte every 20 ms, on one thread
            started = time.monotonic()
            for index in range(len(message)):
                if stop.is_set():
                    return
                try:
                    slow.sendall(message[index : index + 1])
                except (ConnectionError, ssl.SSLError):
                    break
                progress["sent"] = index + 1
                if closed_by_server(slow, 0.02):
                    break
            progress["closed_after"] = time.monotonic() - started

        with running(dribble):
            until(lambda: progress["sent"] >= 3, "the first bytes")
            well_behaved(sip, f"during a {transport} byte-at-a-time header", (transport,))
            record = wait_dropped(sip, "message header not complete within 0.3 s")
        slow.close()
        print(f"slow header closed after {progress['closed_after']:.2f} s, "
              f"{progress['sent']} of {len(message)} bytes sent")
        assert 0.29 <= progress["closed_after"] < BOUND
        assert progress["sent"] < len(message)
        held = int(re.search(r"with (\d+) bytes", record.reason).group(1))  # type: ignore[union-attr]
        assert 0 < held <= progress["sent"]
        assert record.raw == message[:held]
        well_behaved(sip, "after the slow header", (transport,))


def test_the_header_deadline_runs_from_a_message_s_first_byte_not_the_connection() -> None:
    with serving(StreamLimits(header_timeout=0.3)) as sip, \
            open_stream(sip, "tcp") as sock:
        time.sleep(0.6)  # two header timeouts with nothing sent: no message has begun
        for _ in range(3):  # and each message that follows has its own deadline
            sock.sendall(invite(sock, sip, "tcp"))
            assert read_final(sock) == 486
            time.sleep(0.2)
        assert not dropped(sip, "header")


# ------------------------------------------------------------------------------ writing


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_a_peer_that_never_reads_is_aborted_with_a_bounded_write_buffer(transport: str) -> None:
    limit = 64 * 1024
    with serving(StreamLimits(write_buffer=limit), tls=transport == "tls",
                 options_padding=8000) as sip:
        deaf = open_stream(sip, transport, receive_buffer=4096)
        local = deaf.getsockname()[:2]
        batch = b"".join(request("OPTIONS", local, f"sip:bob@{sip.host}",
                                 transport=transport.upper()) for _ in range(50))
        sent = {"requests": 0, "aborted": 0}

        def pipeline(stop: threading.Event) -> None:  # each answer is 8 kB, none is read
            while not stop.is_set() and sent["requests"] < 20_000:
                try:
                    deaf.sendall(batch)
                except (ConnectionError, ssl.SSLError, TimeoutError):
                    sent["aborted"] = 1
                    return
                sent["requests"] += 50

        with running(pipeline):
            # The server may abort before 500 are sent when the kernel's send buffer is small.
            until(lambda: sent["requests"] >= 500 or bool(sent["aborted"]), "the pipelining")
            well_behaved(sip, f"while a {transport} peer never reads", (transport,))
            record = wait_dropped(sip, "peer reads nothing", timeout=3 * BOUND)
        waiting = int(re.search(r"(\d+) bytes waiting", record.reason).group(1))  # type: ignore[union-attr]
        print(f"peer that never reads aborted after {sent['requests']} requests, "
              f"{waiting} bytes waiting to be sent")
        assert limit < waiting <= limit + 64 * 1024  # past the bound by one answer at most
        assert closed_by_server(deaf)
        deaf.close()
        well_behaved(sip, "after the peer that never reads", (transport,))


# ------------------------------------------------------------------------------ size


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_a_content_length_beyond_the_limit_is_answered_513_before_the_body(
    transport: str,
) -> None:
    with serving(StreamLimits(), tls=transport == "tls") as sip, \
            open_stream(sip, transport) as sock:
        head = request("INVITE", sock.getsockname()[:2], f"sip:bob@{sip.host}",
                       transport=transport.upper(), call_id="huge@127.0.0.1", cseq=7)
        head = head.replace(b"Content-Length: 0", b"Content-Length: 100000000")
        start = time.monotonic()
        sock.sendall(head)  # and not a byte of the body
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, "closed without an answer"
            data += chunk
        latency = time.monotonic() - start
        print(f"513 to a 100 MB Content-Length after {latency * 1000:.1f} ms")
        assert latency < LATENCY_BOUND
        assert data.startswith(b"SIP/2.0 513 ")
        assert b"\r\nCall-ID: huge@127.0.0.1\r\n" in data
        assert b"\r\nCSeq: 7 INVITE\r\n" in data
        assert closed_by_server(sock), "the connection stays open after 513"
        with suppress(OSError):
            sock.sendall(b"x" * 1000)  # a body nobody waits for any more
        well_behaved(sip, "after the 513", (transport,))


def test_failed_tls_handshakes_give_their_places_back() -> None:
    with serving(StreamLimits(max_per_source=2, idle_timeout=0.3), tls=True) as sip:
        for _ in range(3):  # bytes that are no TLS: the handshake fails
            with socket.create_connection((sip.host, sip.tls_port), timeout=BOUND) as sock:
                sock.sendall(b"OPTIONS sip:x SIP/2.0\r\n\r\n")
                assert closed_by_server(sock)
        for _ in range(3):  # no handshake at all: the idle timeout ends it
            with socket.create_connection((sip.host, sip.tls_port), timeout=BOUND) as sock:
                assert closed_by_server(sock)
        assert not dropped(sip, "connection refused")
        well_behaved(sip, "after failed handshakes", ("tls",))
        assert stream_latency(sip, "tls", HOST) < LATENCY_BOUND
