"""A tiny SIP client over plain sockets for tests: writes requests, reads responses.

Only for loopback servers on ephemeral ports. Every read has a timeout, so a missing
response fails the test instead of hanging it.
"""

from __future__ import annotations

import itertools
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

_counter = itertools.count(1)


@dataclass(frozen=True)
class Reply:
    """A response as read from the socket."""

    status: int
    reason: str
    headers: dict[str, str]
    """Lower-case name to the first value."""
    raw: bytes


def parse_reply(data: bytes) -> Reply:
    """Split a response into status, reason and headers (first value of each name)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\r\n")
    _, status, reason = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return Reply(int(status), reason, headers, data)


TLS_CA = Path(__file__).resolve().parents[1] / "tls" / "cert.pem"
"""The test certificate (tests/tls/): the client trusts it and checks the server against it."""


class SipClient:
    """One socket to a SIP server: UDP, or one TCP or TLS connection."""

    def __init__(self, host: str, port: int, transport: str = "udp", timeout: float = 5.0):
        self.server = (host, port)
        self.transport = transport
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(family, kind)
        self.sock.settimeout(timeout)
        self.sock.bind((host, 0))
        if transport != "udp":
            self.sock.connect(self.server)
        if transport == "tls":
            context = ssl.create_default_context(cafile=TLS_CA)
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.local: tuple[str, int] = self.sock.getsockname()[:2]
        self._buffer = b""

    def __enter__(self) -> SipClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def request(
        self,
        method: str,
        user: str = "alice",
        *,
        call_id: str | None = None,
        branch: str | None = None,
        cseq: int = 1,
        cseq_method: str | None = None,
        from_tag: str = "client1",
        to_tag: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
    ) -> bytes:
        """A well-formed request to ``user`` at the server (RFC 3261 §8.1.1)."""
        host, port = self.server
        host_text = f"[{host}]" if ":" in host else host
        local_host, local_port = self.local
        local_text = f"[{local_host}]" if ":" in local_host else local_host
        number = next(_counter)
        branch = branch or f"z9hG4bKtest{number}"
        call_id = call_id or f"call{number}@test"
        to = f"<sip:{user}@{host_text}>" + (f";tag={to_tag}" if to_tag else "")
        lines = [
            f"{method} sip:{user}@{host_text}:{port} SIP/2.0",
            f"Via: SIP/2.0/{self.transport.upper()} {local_text}:{local_port};branch={branch}",
            "Max-Forwards: 70",
            f"From: <sip:tester@{local_text}>;tag={from_tag}",
            f"To: {to}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {cseq_method or method}",
            f"Contact: <sip:tester@{local_text}:{local_port}>",
            *(f"{name}: {value}" for name, value in headers),
            f"Content-Length: {len(body)}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def send(self, data: bytes) -> None:
        """Send one message."""
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def receive(self) -> Reply:
        """The next message from the server (raises socket.timeout if none comes)."""
        if self.transport == "udp":
            data, _ = self.sock.recvfrom(65535)
            return parse_reply(data)
        while b"\r\n\r\n" not in self._buffer:
            self._read()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"content-length", b"l"):
                length = int(value.strip())
        while len(rest) < length:
            self._read()
            head, _, rest = self._buffer.partition(b"\r\n\r\n")
        message = head + b"\r\n\r\n" + rest[:length]
        self._buffer = rest[length:]
        return parse_reply(message)

    def _read(self) -> None:
        chunk = self.sock.recv(65535)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    def until_final(self) -> list[Reply]:
        """Responses up to and including the first final one (2xx-6xx)."""
        replies = [self.receive()]
        while replies[-1].status < 200:
            replies.append(self.receive())
        return replies

    def ack_for(self, invite: bytes, final: Reply) -> bytes:
        """The ACK for a non-2xx final response to ``invite`` (RFC 3261 §17.1.1.3)."""
        head = invite.split(b"\r\n\r\n", 1)[0].decode()
        lines = head.split("\r\n")
        method_line = lines[0].replace("INVITE ", "ACK ", 1)
        keep = [line for line in lines[1:] if line.split(":", 1)[0] in
                ("Via", "From", "Call-ID", "Max-Forwards")]
        to = final.headers["to"]
        cseq = next(line for line in lines if line.startswith("CSeq:")).split()[1]
        out = [method_line, *keep, f"To: {to}", f"CSeq: {cseq} ACK", "Content-Length: 0"]
        return ("\r\n".join(out) + "\r\n\r\n").encode()
