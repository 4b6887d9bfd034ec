"""Stream endpoints, TCP and TLS (RFC 3261 §18.1.1, §18.3): the framer cuts messages.

Between messages, the framer also hands out CRLF pings (RFC 5626 §4.4.1) and STUN messages
(§4.4.2). A connection that ends with part of a message held is reported with those bytes.

Each connection keeps the server's :class:`~sipfault.transport.limits.StreamLimits`: it is
closed unread past a connection cap, closed when idle or when a message header takes too long,
and aborted when a peer that never reads lets the write buffer grow past its bound. One timer
handle per connection serves both timeouts: bytes only move a deadline later, so the handle is
re-armed when it fires early, not on every read.
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
from sipfault.transport.limits import DEFAULT_STREAM_LIMITS, ConnectionGate

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
        on_limit: Callable[[Peer, str, bytes], None] = lambda peer, reason, data: None,
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
        self.on_limit = on_limit
        """A limit closed the connection (idle, header too slow, peer not reading), for this
        reason, with these bytes of a message not yet complete."""


class StreamConnection(asyncio.Protocol):
    """One accepted TCP or TLS connection.

    With ``tls`` the connection is accepted as TCP and the handshake is run here (rather than
    by the listening socket), so that a client whose handshake fails is reported through
    ``on_refused`` instead of vanishing silently.

    ``gate`` counts the server's connections; one past its caps is closed before it is read
    (and reported through ``on_refused``, once per episode). Without one, a connection has a
    gate of its own with the default limits.
    """

    def __init__(
        self, transport_name: str, handler: StreamHandler, tls: ssl.SSLContext | None = None,
        gate: ConnectionGate | None = None,
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
        self._gate = gate if gate is not None else ConnectionGate(DEFAULT_STREAM_LIMITS)
        self._limits = self._gate.limits
        self._admitted = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._active_at = 0.0  # when a byte last moved, either way
        self._head_since: float | None = None  # when the message being read began

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        remote = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.peer = Peer(self._name, (remote[0], remote[1]), (local[0], local[1]), self.id)
        refusal = self._gate.admit(remote[0])
        if refusal is not None:
            self._failed = True
            transport.close()  # before a byte is read: nothing of it is held
            if refusal:
                self._handler.on_refused(self.peer, refusal)
            return
        self._admitted = True
        self._loop = asyncio.get_running_loop()
        self._active_at = self._loop.time()
        self._arm(self._active_at + self._limits.idle_timeout)
        self._handler.on_open(self)
        if self._tls is None:
            self._transport = cast(asyncio.Transport, transport)
            self._transport.set_write_buffer_limits(high=self._limits.write_buffer)
            return
        self._tcp = cast(asyncio.Transport, transport)
        self._handshake = asyncio.ensure_future(self._start_tls(self._tcp, self._tls))

    async def _start_tls(self, tcp: asyncio.Transport, context: ssl.SSLContext) -> None:
        """RFC 3261 §26.2.1: the server side of the handshake, then SIP over it."""
        # Until the handshake ends, connection_lost() is the TLS layer's, not this
        # protocol's: a handshake that fails or is given up ends the connection here.
        try:
            secure = await asyncio.get_running_loop().start_tls(
                tcp, self, context, server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except (TimeoutError, OSError) as exc:
            tcp.close()
            self._handler.on_refused(self.peer, f"TLS handshake failed: {_describe(exc)}")
            self.connection_lost(exc)
            return
        except asyncio.CancelledError:
            tcp.close()
            self.connection_lost(None)
            raise
        self._tcp = None
        self._transport = secure  # None when the loop closed the connection meanwhile
        if secure is None:
            self.connection_lost(None)
            return
        secure.set_write_buffer_limits(high=self._limits.write_buffer)
        early, self._early = self._early, b""
        if early:
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
        self._note_activity(bool(items))
        self._deliver(items)

    # ------------------------------------------------------------------ limits

    def _note_activity(self, completed: bool) -> None:
        """Bytes arrived: the idle deadline moves on; a header begun starts its own."""
        if self._loop is None:
            return
        now = self._active_at = self._loop.time()
        if not self._framer.awaiting_head:
            self._head_since = None
        elif completed or self._head_since is None:  # a message (re)starts in these bytes
            self._head_since = now
            self._arm(now + self._limits.header_timeout)

    def _arm(self, deadline: float) -> None:
        """Have the timer fire by ``deadline``; a handle due sooner stays (it re-arms)."""
        timer = self._timer
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        assert self._loop is not None
        self._timer = self._loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        if self._failed or self._loop is None:
            return
        limits = self._limits
        now = self._loop.time() + 0.001  # the loop may run a handle a clock tick early
        head_since = self._head_since
        if head_since is not None and now >= head_since + limits.header_timeout:
            held = self._early + self._framer.unparsed()
            self._give_up(f"message header not complete within {limits.header_timeout:g} s: "
                          f"connection closed with {len(held)} bytes not parsed", held)
            return
        if now >= self._active_at + limits.idle_timeout:
            self._give_up(f"connection idle for {limits.idle_timeout:g} s: closed", b"")
            return
        deadline = self._active_at + limits.idle_timeout
        if head_since is not None:
            deadline = min(deadline, head_since + limits.header_timeout)
        self._arm(deadline)

    def _give_up(self, reason: str, held: bytes) -> None:
        """Close the connection for a limit, and report it once."""
        self._failed = True  # connection_lost reports nothing more
        self.close()
        self._handler.on_limit(self.peer, reason, held)

    def pause_writing(self) -> None:
        """The write buffer passed its bound: a peer that does not read is let go (RFC 3261
        §18.3 lets a server close a connection), lest its answers pile up without end."""
        if self._failed or self._transport is None:
            return
        waiting = self._transport.get_write_buffer_size()
        self._failed = True
        self._transport.abort()
        assert self._loop is not None
        # Reported on the next turn: this runs inside a write, in the middle of a send.
        self._loop.call_soon(self._handler.on_limit, self.peer,
                             f"peer reads nothing: {waiting} bytes waiting to be sent "
                             f"(limit {self._limits.write_buffer}); connection aborted", b"")

    def resume_writing(self) -> None:
        """Nothing to do: the connection was aborted when writing paused."""

    def _deliver(self, items: list[StreamItem]) -> None:
        for item in items:
            if isinstance(item, KeepAlivePing):
                self._handler.on_ping(self.peer)
            elif isinstance(item, StunPacket):
                self._handler.on_stun(item.data, self.peer)
            else:
                self._handler.on_message(item, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return  # closed unread past a cap, or ended already (a failed handshake)
        self._admitted = False
        self._gate.release(self.peer.remote[0])
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        unparsed = self._early + self._framer.unparsed()
        if unparsed and not self._failed:  # after a framing error it was answered already
            self._handler.on_unparsed(self.peer, unparsed, exc is not None)
        self._handler.on_close(self)

    def send(self, data: bytes, close_after: bool = False) -> None:
        """Write bytes on this connection (RFC 3261 §18.2.2: answers leave on it)."""
        if self._transport is None or self._transport.is_closing():
            return
        if data:
            if self._loop is not None:
                self._active_at = self._loop.time()
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
