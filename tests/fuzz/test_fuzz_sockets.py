"""Mutated INVITEs over real sockets: the server answers a valid call after every batch, and
never needs its safety net (no ``internal-error`` finding).

A :class:`sipfault.Controller` listens on 127.0.0.1 (a free port, UDP and TCP). Batches of
mutants of real INVITEs (the SIPp and PJSUA2 captures and the RFC 4475 INVITEs) go out over UDP,
then over TCP streams several mutants long; after each batch a well-formed INVITE, from a
socket of its own, must get its 200. Everything is bounded: the number of mutants, every socket
read (a timeout), and the whole test (a deadline).
"""

from __future__ import annotations

import contextlib
import itertools
import random
import socket
import time

from sipfault import Controller
from tests.fuzz.mutator import SIP_TOKENS, Mutator
from tests.fuzz.targets import sip_seeds

SEED = 4475
UDP_BATCHES = 30
UDP_BATCH = 200
"""Mutants sent before each probe. The probe is answered only once the server has read every
datagram queued before it, so small batches keep the kernel from dropping mutants."""
TCP_BATCHES = 3
TCP_CONNECTIONS = 20
TCP_STREAM = 8
"""Mutants written back to back on one connection (the framer cuts them, or gives up)."""
DEADLINE = 120.0

_calls = itertools.count(1)


def _invites() -> list[bytes]:
    return [seed for seed in sip_seeds() if seed.lstrip(b"\r\n").startswith(b"INVITE ")]


def _valid_invite(host: str, port: int, local: tuple[str, int], transport: str) -> bytes:
    n = next(_calls)
    body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
           b"m=audio 4000 RTP/AVP 0\r\n"
    head = (
        f"INVITE sip:alice@{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {local[0]}:{local[1]};branch=z9hG4bK-probe{n};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@{local[0]}>;tag=probe{n}\r\n"
        f"To: <sip:alice@{host}>\r\n"
        f"Call-ID: probe-{n}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:probe@{local[0]}:{local[1]}>\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _answered_over_udp(host: str, port: int) -> int:
    """Send a valid INVITE (re-sent every 0.5 s, RFC 3261 Timer A) and return its final
    status; 0 when none came within 5 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        invite = _valid_invite(host, port, probe.getsockname(), "UDP")
        call_id = invite.split(b"Call-ID: ", 1)[1].split(b"\r\n", 1)[0]
        give_up = time.monotonic() + 5.0
        while time.monotonic() < give_up:
            probe.sendto(invite, (host, port))
            probe.settimeout(0.5)
            try:
                while True:
                    data = probe.recv(65535)
                    status = int(data[8:11])
                    if status >= 200 and b"Call-ID: " + call_id in data:
                        return status
            except (TimeoutError, ValueError):
                continue
    return 0


def _answered_over_tcp(host: str, port: int) -> int:
    with socket.create_connection((host, port), timeout=5.0) as probe:
        probe.sendall(_valid_invite(host, port, probe.getsockname(), "TCP"))
        received = b""
        give_up = time.monotonic() + 5.0
        while time.monotonic() < give_up:
            received += probe.recv(65535)
            for line in received.split(b"\r\n"):
                if line.startswith(b"SIP/2.0 ") and int(line[8:11]) >= 200:
                    return int(line[8:11])
    return 0


def test_mutated_invites_never_stop_the_server() -> None:
    began = time.monotonic()
    seeds = _invites()
    assert len(seeds) >= 5
    mutator = Mutator(random.Random(SEED), SIP_TOKENS, seeds)
    rng = random.Random(SEED)
    sent = 0
    with Controller(t1=0.05) as sip:
        sip.on("INVITE").reply(100, {"code": 200, "sdp": "answer"})
        host, port = sip.host, sip.port
        for batch in range(UDP_BATCHES):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as fuzzer:
                fuzzer.bind(("127.0.0.1", 0))
                for _ in range(UDP_BATCH):
                    data = mutator.mutate(rng.choice(seeds))[:65000]
                    fuzzer.sendto(data, (host, port))
                    sent += 1
            assert _answered_over_udp(host, port) == 200, f"UDP batch {batch}"
            assert time.monotonic() - began < DEADLINE
        for batch in range(TCP_BATCHES):
            for _ in range(TCP_CONNECTIONS):
                stream = b"".join(mutator.mutate(rng.choice(seeds)) for _ in range(TCP_STREAM))
                with (socket.create_connection((host, port), timeout=5.0) as fuzzer,
                      contextlib.suppress(OSError)):  # closed by the server at a framing error
                    fuzzer.sendall(stream)
                sent += TCP_STREAM
            assert _answered_over_tcp(host, port) == 200, f"TCP batch {batch}"
            assert time.monotonic() - began < DEADLINE
        crashes = [item for item in sip.unexpected() if item.kind == "internal-error"]
        # What the server reacted to: requests (retransmissions too: many mutants keep their
        # seed's branch), malformed ones it refused, and what it could not read at all. (A
        # request refused after it was read counts twice: a lower bound is all this gives.)
        received = len(sip.requests(retransmissions=True)) + len(
            [item for item in sip.unexpected() if item.kind in ("dropped", "bad-request")])
    print(f"{sent} mutated INVITEs sent, {received} reactions of the server, "
          f"{time.monotonic() - began:.1f} s")
    assert not crashes, crashes[:5]
    assert received > sent * 3 // 4  # most mutants reached the parser (UDP may drop some)
