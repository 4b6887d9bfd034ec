"""Stream endpoints, TCP and TLS (RFC 3261 §18.1.1, §18.3): the framer cuts messages."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import cast

from sipfault.core.events import Peer
from sipfault.sip.errors import SipParseError
from sipfault.sip.framer import KeepAlivePing, StreamFramer

_connection_ids = itertools.count(1)


class StreamHandler:
    """What a stream connection reports to the server."""

    def __init__(
        self,
        on_message: Callable[[bytes, Peer], None],
        on_ping: Callable[[Peer], None],
        on_error: Callable[[SipParseError, bytes, Peer], None],
        on_open: Callable[[StreamConnection], None],
        on_close: Callable[[StreamConnection], None],
    ) -> None:
        self.on_message = on_message
        self.on_ping = on_ping
        self.on_error = on_error
        self.on_open = on_open
        self.on_close = on_close


class StreamConnection(asyncio.Protocol):
    """One accepted TCP or TLS connection."""

    def __init__(self, transport_name: str, handler: StreamHandler) -> None:
        self.id = next(_connection_ids)
        self._name = transport_name
        self._handler = handler
        self._framer = StreamFramer()
        self._transport: asyncio.Transport | None = None
        self.peer = Peer(transport_name, ("", 0), ("", 0), self.id)
        self._failed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        remote = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.peer = Peer(self._name, (remote[0], remote[1]), (local[0], local[1]), self.id)
        self._handler.on_open(self)

    def data_received(self, data: bytes) -> None:
        if self._failed:
            return
        try:
            items = self._framer.feed(data)
        except SipParseError as exc:
            self._failed = True
            self._deliver(self._framer.completed_before_error)  # pipelined before the defect
            self._handler.on_error(exc, self._framer.pending_head(), self.peer)
            return
        self._deliver(items)

    def _deliver(self, items: list[bytes | KeepAlivePing]) -> None:
        for item in items:
            if isinstance(item, KeepAlivePing):
                self._handler.on_ping(self.peer)
            else:
                self._handler.on_message(item, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._handler.on_close(self)

    def send(self, data: bytes, close_after: bool = False) -> None:
        """Write bytes on this connection (RFC 3261 §18.2.2: answers leave on it)."""
        if self._transport is None or self._transport.is_closing():
            return
        if data:
            self._transport.write(data)
        if close_after:
            self._transport.close()

    def close(self) -> None:
        """Close the connection."""
        if self._transport is not None:
            self._transport.close()
