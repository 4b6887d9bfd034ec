"""A raw-socket SIP client for fault tests: writes requests byte for byte, reads what arrives.

It parses nothing it is not asked to: a fault test asserts the bytes on the wire, malformed ones
included. Every read is bounded by a timeout.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

_numbers = itertools.count(1)
TLS_CA = Path(__file__).resolve().parents[1] / "tls" / "cert.pem"


@dataclass(frozen=True)
class Arrival:
    """Bytes that arrived, and when (time.monotonic())."""

    at: float
    data: bytes

    @property
    def status(self) -> int | None:
        """The status code of a response's first line, None when there is none to read."""
        parts = self.data.split(b"\r\n", 1)[0].split(b" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (as written, no compact forms), None if absent."""
        values = self.headers(name)
        return values[0] if values else None

    def headers(self, name: str) -> list[str]:
        """Every value of header ``name``, in order."""
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        found = []
        for line in head.split("\r\n")[1:]:
            key, colon, value = line.partition(":")
            if colon and key.strip().lower() == name.lower():
                found.append(value.strip())
        return found

    @property
    def to_tag(self) -> str | None:
        to = self.header("To") or ""
        return to.split(";tag=", 1)[1].split(";")[0] if ";tag=" in to else None


def request(
    method: str, local: tuple[str, int], target: str, *, transport: str = "UDP",
    call_id: str | None = None, branch: str | None = None, cseq: int = 1,
    cseq_method: str | None = None, from_tag: str = "raw1", to_tag: str | None = None,
    from_uri: str = "sip:raw@127.0.0.1", extra: str = "", body: str = "",
) -> bytes:
    """A well-formed request from ``local`` to the Request-URI ``target``."""
    number = next(_numbers)
    host, port = local
    to = f"<{target}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} {target} SIP/2.0",
        f"Via: SIP/2.0/{transport} {host}:{port};branch={branch or f'z9hG4bKraw{number}'};rport",
        "Max-Forwards: 70",
        f"From: <{from_uri}>;tag={from_tag}",
        f"To: {to}",
        f"Call-ID: {call_id or f'raw-{number}@127.0.0.1'}",
        f"CSeq: {cseq} {cseq_method or method}",
        f"Contact: <sip:raw@{host}:{port}>",
    ]
    lines += [line for line in extra.strip("\r\n").split("\n") if line]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


OFFER = (
    "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


class RawClient:
    """One UDP socket, or one TCP or TLS connection, to a SIP server."""

    def __init__(self, host: str, port: int, transport: str = "udp") -> None:
        self.server = (host, port)
        self.transport = transport
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((host, 0))
        if transport == "udp":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        else:
            self.sock.connect(self.server)
        if transport == "tls":
            context = ssl.create_default_context(cafile=TLS_CA)
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.local: tuple[str, int] = self.sock.getsockname()[:2]

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def uri(self, user: str) -> str:
        host, port = self.server
        suffix = "" if self.transport == "udp" else f";transport={self.transport}"
        return f"sip:{user}@{host}:{port}{suffix}"

    def request(self, method: str, user: str = "bob", **fields: object) -> bytes:
        """Build a request to ``user`` at the server (see :func:`request`)."""
        return request(method, self.local, self.uri(user), transport=self.transport.upper(),
                       **fields)  # type: ignore[arg-type]

    def send(self, data: bytes) -> None:
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def collect(self, window: float, until: int | None = None) -> list[Arrival]:
        """What arrives within ``window`` seconds (stopping early after ``until`` arrivals):
        each datagram over UDP, each read over a stream. EOF ends a stream's collection."""
        arrivals: list[Arrival] = []
        deadline = time.monotonic() + window
        while until is None or len(arrivals) < until:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(1 << 17)
            except TimeoutError:
                break
            if not data:
                self.eof = True
                break
            arrivals.append(Arrival(time.monotonic(), data))
        return arrivals

    eof = False
    """Set when the server closed a stream connection."""

    def stream_bytes(self, window: float) -> bytes:
        """Everything a stream delivers within ``window`` seconds, or until it is closed."""
        return b"".join(arrival.data for arrival in self.collect(window))
