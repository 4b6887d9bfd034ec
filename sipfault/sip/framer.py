"""Cutting a byte stream into SIP messages (RFC 3261 §18.3, §7.5; RFC 5626 §4.4.1).

Over TCP and TLS the Content-Length frames each message. The framer accepts any split of the
stream: one byte at a time, several messages in one read, CRLF keep-alives between messages. It
never buffers more than :data:`MAX_MESSAGE_SIZE` of one message: a head that grows past it, or a
Content-Length beyond it, is an error after which the connection must be closed. The
Content-Length is judged as soon as the header ends, before a byte of the body is waited for,
so that a peer announcing 100 MB is answered 513 Message Too Large (RFC 3261 §21.5.10) at once.

A STUN message between SIP messages (the keep-alive of RFC 5626 §4.4.2: first byte 0x00 or
0x01, the magic cookie at offset 4) is framed by the length in its header and handed out as a
:class:`StunPacket` (RFC 8489 §6.2.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sipfault.sip.errors import SipParseError
from sipfault.sip.grammar import HCOLON, bounded_int
from sipfault.sip.parser import MAX_MESSAGE_SIZE
from sipfault.sip.stun import HEADER_SIZE, stun_size

# Content-Length = ( "Content-Length" / "l" ) HCOLON 1*DIGIT (§20.14); read here as any text
# to the end of the line, which bounded_int() then judges.
_CONTENT_LENGTH_RE = re.compile(
    rf"^(?:content-length|l){HCOLON}[ \t]*([^\r\n]*)".encode(), re.I | re.M
)


@dataclass(frozen=True, slots=True)
class KeepAlivePing:
    """A double-CRLF ping; the answer is a single CRLF pong (RFC 5626 §4.4.1)."""


PING = KeepAlivePing()


@dataclass(frozen=True, slots=True)
class StunPacket:
    """A whole STUN message found between SIP messages (RFC 5626 §4.4.2)."""

    data: bytes


StreamItem = bytes | KeepAlivePing | StunPacket
"""What :meth:`StreamFramer.feed` hands out: a SIP message's bytes, a ping, a STUN message."""


class StreamFramer:
    """Feed it bytes; take whole messages (as bytes) and pings out."""

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buffer = bytearray()
        self.completed_before_error: list[StreamItem] = []
        """Messages and pings a failing feed() completed before its defect (pipelining)."""
        self._max_size = max_size
        self._scanned = 0  # how far the search for the end of the head has got
        self._crlf_run = 0  # CRLFs seen between messages, for ping detection
        self._framed = 0  # length of the message whose head is complete, 0 while unknown

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message."""
        return len(self._buffer)

    @property
    def awaiting_head(self) -> bool:
        """Whether bytes of a message are held and the end of its header is not yet seen
        (what a header deadline times)."""
        return not self._framed and bool(self._buffer)

    def feed(self, data: bytes) -> list[StreamItem]:
        """Add bytes; return every message (and ping) completed by them.

        Raises :class:`SipParseError` on a stream that cannot be framed (an oversized head or
        body: 513; a missing, malformed or conflicting Content-Length in a head: 400). What was
        completed before the defect in the same feed is then in :attr:`completed_before_error`,
        for the caller to handle before it answers the defect and closes the connection.
        """
        self._buffer += data
        out: list[StreamItem] = []
        self.completed_before_error = out
        while True:
            if not self._framed:
                self._skip_keepalives(out)
                if not self._buffer:
                    return out
                if self._buffer[0] < 2:  # a STUN message, or bytes no SIP message starts with
                    if len(self._buffer) < HEADER_SIZE:
                        return out
                    size = stun_size(self._buffer)
                    if size is not None:
                        if len(self._buffer) < size:
                            return out
                        out.append(StunPacket(bytes(self._buffer[:size])))
                        del self._buffer[:size]
                        continue
                end = self._buffer.find(b"\r\n\r\n", max(0, self._scanned - 3))
                if end < 0:
                    if len(self._buffer) > self._max_size:
                        raise SipParseError("Message Too Large", 513)
                    self._scanned = len(self._buffer)
                    return out
                # Read the head once: re-reading it on every byte of a slow body is quadratic.
                size = end + 4 + self._content_length(bytes(self._buffer[:end]))
                if size > self._max_size:
                    raise SipParseError("Message Too Large", 513)
                self._framed = size
            if len(self._buffer) < self._framed:
                return out  # the head is complete; wait for the body
            out.append(bytes(self._buffer[: self._framed]))
            del self._buffer[: self._framed]
            self._framed = 0
            self._scanned = 0

    def unparsed(self) -> bytes:
        """The bytes held for a message not yet complete (to journal a connection that ends
        in the middle of one)."""
        return bytes(self._buffer)

    def pending_head(self) -> bytes:
        """The head of the message being framed, when its end has been seen (for answering
        a framing error); otherwise b""."""
        end = self._buffer.find(b"\r\n\r\n")
        return bytes(self._buffer[:end]) if end >= 0 else b""

    def _skip_keepalives(self, out: list[StreamItem]) -> None:
        index = 0
        buffer = self._buffer
        while index < len(buffer) and buffer[index] in (0x0D, 0x0A):
            if buffer[index] == 0x0A:
                self._crlf_run += 1
                if self._crlf_run == 2:  # each CRLFCRLF is a ping of its own: count afresh
                    out.append(PING)
                    self._crlf_run = 0
            index += 1
        if index:
            del buffer[:index]
            self._scanned = 0
        if buffer:
            self._crlf_run = 0

    @staticmethod
    def _content_length(head: bytes) -> int:
        """Content-Length of a head; a stream message without one has no body (lenient)."""
        values = {match.group(1).strip() for match in _CONTENT_LENGTH_RE.finditer(head)}
        if not values:
            return 0
        if len(values) > 1:
            raise SipParseError("Conflicting Content-Length")
        length = bounded_int(values.pop().decode("latin-1"), MAX_MESSAGE_SIZE)
        if length is None:
            raise SipParseError("Invalid Content-Length")
        return length
