"""Stream endpoints, TCP and TLS (RFC 3261 §18.1.1, §18.3): the framer cuts messages.

Between messages, the framer also hands out CRLF pings (RFC 5626 §4.4.1) and STUN messages
(§4.4.2). A connection that ends with part of a message held is reported with those bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import ssl
import struct
from collections.abc import Callable
from typing import cast

from sipfault.core.events import Peer
from sipfault.sip.errors import SipParseError
from sipfault.sip.framer import KeepAlivePing, StreamFramer, StreamItem, StunPacket

_connection_ids = itertools.count(1)

TLS_HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client has to finish the TLS handshake before the connection is dropped."""


class StreamHandler:
    """What a stream connection reports to the server."""

    def __init__(
        self,
        on_message: Callable[[bytes, Peer], None],
        on_ping: Callable[[Peer], None],
        on_error: Callable[[SipParseError, bytes, Peer], None],
        on_open: Callable[[StreamConnection], None],
        on_close: Callable[[StreamConnection], None],
        on_refused: Callable[[Peer, str], None] = lambda peer, reason: None,
        on_stun: Callable[[bytes, Peer], None] = lambda data, peer: None,
        on_unparsed: Callable[[Peer, bytes, bool], None] = lambda peer, data, reset: None,
    ) -> None:
        self.on_message = on_message
        self.on_ping = on_ping
        self.on_error = on_error
        self.on_open = on_open
        self.on_close = on_close
        self.on_refused = on_refused
        """A connection ended before it could carry a message (a failed TLS handshake)."""
        self.on_stun = on_stun
        """A STUN message arrived between SIP messages (RFC 5626 §4.4.2)."""
        self.on_unparsed = on_unparsed
        """A connection ended (closed, or reset when the flag says so) holding these bytes
        of a message not yet complete."""


class StreamConnection(asyncio.Protocol):
    """One accepted TCP or TLS connection.

    With ``tls`` the connection is accepted as TCP and the handshake is run here (rather than
    by the listening socket), so that a client whose handshake fails is reported through
    ``on_refused`` instead of vanishing silently.
    """

    def __init__(
        self, transport_name: str, handler: StreamHandler, tls: ssl.SSLContext | None = None
    ) -> None:
        self.id = next(_connection_ids)
        self._name = transport_name
        self._handler = handler
        self._tls = tls
        self._framer = StreamFramer()
        self._transport: asyncio.Transport | None = None
        self.peer = Peer(transport_name, ("", 0), ("", 0), self.id)
        self._failed = False
        self._handshake: asyncio.Task[None] | None = None
        self._tcp: asyncio.Transport | None = None  # under TLS, until the handshake ends
        # Data the TLS layer hands over in the loop turn that ends the handshake, before
        # start_tls() has returned the transport the answers must go out on.
        self._early = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        remote = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.peer = Peer(self._name, (remote[0], remote[1]), (local[0], local[1]), self.id)
        self._handler.on_open(self)
        if self._tls is None:
            self._transport = cast(asyncio.Transport, transport)
            return
        self._tcp = cast(asyncio.Transport, transport)
        self._handshake = asyncio.ensure_future(self._start_tls(self._tcp, self._tls))

    async def _start_tls(self, tcp: asyncio.Transport, context: ssl.SSLContext) -> None:
        """RFC 3261 §26.2.1: the server side of the handshake, then SIP over it."""
        try:
            secure = await asyncio.get_running_loop().start_tls(
                tcp, self, context, server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except (TimeoutError, OSError) as exc:
            tcp.close()
            self._handler.on_refused(self.peer, f"TLS handshake failed: {_describe(exc)}")
            return
        self._tcp = None
        self._transport = secure  # None when the loop closed the connection meanwhile
        early, self._early = self._early, b""
        if early and secure is not None:
            self.data_received(early)

    def data_received(self, data: bytes) -> None:
        if self._failed:
            return
        if self._transport is None and self._handshake is not None:
            self._early += data
            return
        try:
            items = self._framer.feed(data)
        except SipParseError as exc:
            self._failed = True
            self._deliver(self._framer.completed_before_error)  # pipelined before the defect
            self._handler.on_error(exc, self._framer.pending_head(), self.peer)
            return
        self._deliver(items)

    def _deliver(self, items: list[StreamItem]) -> None:
        for item in items:
            if isinstance(item, KeepAlivePing):
                self._handler.on_ping(self.peer)
            elif isinstance(item, StunPacket):
                self._handler.on_stun(item.data, self.peer)
            else:
                self._handler.on_message(item, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        unparsed = self._early + self._framer.unparsed()
        if unparsed and not self._failed:  # after a framing error it was answered already
            self._handler.on_unparsed(self.peer, unparsed, exc is not None)
        self._handler.on_close(self)

    def send(self, data: bytes, close_after: bool = False) -> None:
        """Write bytes on this connection (RFC 3261 §18.2.2: answers leave on it)."""
        if self._transport is None or self._transport.is_closing():
            return
        if data:
            self._transport.write(data)
        if close_after:
            self._transport.close()

    def reset(self) -> None:
        """Reset the connection: RST instead of FIN (SO_LINGER 0), for the ``reset`` fault."""
        transport = self._transport or self._tcp
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def pause_reading(self) -> None:
        """Stop reading the connection and leave it open, for the ``stop-reading`` fault."""
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.pause_reading()

    def close(self) -> None:
        """Close the connection (and give up a handshake in progress)."""
        if self._handshake is not None and not self._handshake.done():
            self._handshake.cancel()
        for transport in (self._tcp, self._transport):
            if transport is not None:
                transport.close()


def _describe(error: BaseException) -> str:
    """``[SSL: WRONG_VERSION_NUMBER] wrong version number``, or the error's kind."""
    if isinstance(error, ssl.SSLError) and error.reason:
        return f"[{error.library or 'SSL'}: {error.reason}] {error.strerror or ''}".strip()
    return str(error) or type(error).__name__
