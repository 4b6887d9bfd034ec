"""The UDP endpoint (RFC 3261 §18.1.1, §18.2.1): one datagram is one message.

A datagram that starts with a STUN header (RFC 8489 §6.3: first byte 0x00 or 0x01, the magic
cookie at offset 4) is the keep-alive of RFC 5626 §4.4.2, not SIP: it goes to ``on_stun``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import cast

from sipfault.core.events import Peer
from sipfault.sip.stun import is_stun

DatagramHandler = Callable[[bytes, Peer], None]
_PEERS_KEPT = 1024
"""Peers remembered by source address (emptied when full)."""
BATCH = 16
"""Datagrams handled per wake-up of the loop. Those already queued are read at once, which
spares a poll and a loop turn each under load; bounded, so timers and streams get their turn."""
_MAX_DATAGRAM = 256 * 1024
"""What asyncio's datagram transport reads at most; the same here."""


class UdpEndpoint(asyncio.DatagramProtocol):
    """Hands each datagram to the server with the peer it came from; sends what it is given."""

    def __init__(self, handler: DatagramHandler, on_stun: DatagramHandler | None = None) -> None:
        self._handler = handler
        self._on_stun = on_stun
        self._transport: asyncio.DatagramTransport | None = None
        self.local: tuple[str, int] = ("", 0)
        self._peers: dict[tuple[str | object, int], Peer] = {}
        self._reader: socket.socket | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        sockname = transport.get_extra_info("sockname")
        self.local = (sockname[0], sockname[1])
        shared = transport.get_extra_info("socket")
        if shared is not None:  # a handle of our own on the same socket, to read the queue
            self._reader = shared.dup()
            self._reader.setblocking(False)

    def connection_lost(self, exc: Exception | None) -> None:
        del exc
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._deliver(data, addr)
        for _ in range(BATCH - 1):
            reader, transport = self._reader, self._transport
            if reader is None or transport is None or transport.is_closing():
                return
            try:
                data, addr = reader.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return  # the queue is empty: back to the loop
            except OSError as exc:
                self.error_received(exc)
                return
            self._deliver(data, addr)

    def _deliver(self, data: bytes, addr: tuple[str | object, int]) -> None:
        # A Peer is immutable and clients send from a few addresses: one Peer per address.
        peer = self._peers.get(addr)
        if peer is None:
            peer = Peer("udp", (str(addr[0]), int(addr[1])), self.local)
            if len(self._peers) >= _PEERS_KEPT:
                self._peers.clear()
            self._peers[addr] = peer
        if data[:1] < b"\x02" and self._on_stun is not None and is_stun(data):
            self._on_stun(data, peer)
            return
        self._handler(data, peer)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away: nothing to do on a server.
        del exc

    def send(self, data: bytes, remote: tuple[str, int]) -> None:
        """Send to the packet's source address, never to a name that would need resolving."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, remote)

    def close(self) -> None:
        """Stop receiving."""
        if self._transport is not None:
            self._transport.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
