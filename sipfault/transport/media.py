"""The UDP sockets behind the media streams an SDP answer names (the core's ``MediaPorts``).

The core (``sipfault.core.sessions``) decides which streams exist; :class:`MediaSockets` binds
a socket for each one, synchronously, so the port is known before the answer leaves: on the
address the SIP request came in on, on an even port (RFC 3550 §11) from the scenario's range
or one the system picks. Each socket is read from the running loop; every datagram is counted
by :class:`sipfault.media.accounting.StreamAccount`, sent back when the scenario asks for an
echo, and the first packet of each kind is reported to the endpoint (which tells the core).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import socket
from collections.abc import Callable

from sipfault.core.events import MediaTotals
from sipfault.core.sessions import MediaPortError, StreamSpec
from sipfault.media.accounting import StreamAccount

__all__ = ["MediaSocket", "MediaSockets"]

ActivityHandler = Callable[[int, str, tuple[str, int]], None]
"""What :class:`MediaSockets` reports: stream number, kind of packet, its source."""
DatagramHandler = Callable[[int, bytes, tuple[str, int]], None]
"""Each datagram of a stream in fax mode: stream number, the datagram, its source."""

READS_PER_WAKEUP = 64
"""Datagrams read per readiness callback, so one busy stream cannot starve the loop."""
_EVEN_TRIES = 16
_MAX_DATAGRAM = 65535


class MediaSocket:
    """One stream's socket and its account."""

    __slots__ = ("_loop", "account", "deliver", "echo", "number", "on_activity", "port",
                 "sock")

    def __init__(self, number: int, sock: socket.socket, media: str, echo: bool,
                 loop: asyncio.AbstractEventLoop, on_activity: ActivityHandler) -> None:
        self.number = number
        self.sock = sock
        self.port = int(sock.getsockname()[1])
        self.account = StreamAccount(media)
        self.echo = echo
        self.on_activity = on_activity
        self.deliver: DatagramHandler | None = None
        """Set while the stream runs a fax terminal: every datagram goes to the core."""
        self._loop = loop
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        for _ in range(READS_PER_WAKEUP):
            try:
                data, address = self.sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable from an earlier echo, a closed socket
                return
            kind = self.account.feed(data)
            source = (str(address[0]), int(address[1]))
            if self.echo:
                with contextlib.suppress(OSError):
                    self.sock.sendto(data, address)
                    self.account.echoed()
            if kind is not None:
                self.on_activity(self.number, kind, source)
            if self.deliver is not None:
                self.deliver(self.number, data, source)

    def close(self) -> MediaTotals:
        """Stop reading, close, and return the totals."""
        with contextlib.suppress(ValueError, OSError, RuntimeError):
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        return self.account.totals()


class MediaSockets:
    """Opens, re-purposes and closes stream sockets on the running loop (``MediaPorts``)."""

    def __init__(self, on_activity: ActivityHandler,
                 on_datagram: DatagramHandler | None = None) -> None:
        self._on_activity = on_activity
        self._on_datagram = on_datagram
        self._open: dict[int, MediaSocket] = {}
        self._cursor = itertools.count()

    def __len__(self) -> int:
        return len(self._open)

    def port_of(self, stream: int) -> int | None:
        """The port of an open stream."""
        found = self._open.get(stream)
        return found.port if found is not None else None

    def totals(self, stream: int) -> MediaTotals | None:
        """The counts of an open stream so far."""
        found = self._open.get(stream)
        return found.account.totals() if found is not None else None

    def open(self, stream: int, spec: StreamSpec) -> int:
        loop = asyncio.get_running_loop()
        sock = self._bind(spec)
        opened = self._open[stream] = MediaSocket(stream, sock, spec.media, spec.echo, loop,
                                                  self._on_activity)
        opened.deliver = self._on_datagram if spec.fax else None
        return opened.port

    def _bind(self, spec: StreamSpec) -> socket.socket:
        host = spec.bind_host or "0.0.0.0"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if spec.ports is not None:
            low, high = spec.ports
            first = low + (low % 2)
            evens = list(range(first, high + 1, 2))
            if not evens:
                evens = list(range(low, high + 1))
            start = next(self._cursor) % len(evens)  # spread the range between calls
            for port in evens[start:] + evens[:start]:
                sock = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    sock.bind((host, port))
                except OSError as exc:
                    sock.close()
                    if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                        continue
                    raise MediaPortError(f"cannot bind {host}:{port}: {exc}") from None
                sock.setblocking(False)
                return sock
            raise MediaPortError(f"every port of {low}-{high} on {host} is taken")
        spare: socket.socket | None = None
        for _ in range(_EVEN_TRIES):
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind((host, 0))
            except OSError as exc:
                sock.close()
                raise MediaPortError(f"cannot bind {host}: {exc}") from None
            if sock.getsockname()[1] % 2 == 0:
                if spare is not None:
                    spare.close()
                sock.setblocking(False)
                return sock
            if spare is None:
                spare = sock  # an odd port, kept in case no even one comes
            else:
                sock.close()
        assert spare is not None
        spare.setblocking(False)
        return spare

    def change(self, stream: int, spec: StreamSpec) -> MediaTotals:
        found = self._open.get(stream)
        if found is None:
            return MediaTotals()
        found.echo = spec.echo
        found.deliver = self._on_datagram if spec.fax else None
        return found.account.restart(spec.media)

    def close(self, stream: int) -> MediaTotals:
        found = self._open.pop(stream, None)
        return found.close() if found is not None else MediaTotals()

    def watch(self, stream: int) -> None:
        found = self._open.get(stream)
        if found is not None:
            found.account.watch()

    def send(self, stream: int, data: bytes, remote: tuple[str, int]) -> None:
        found = self._open.get(stream)
        if found is not None:
            with contextlib.suppress(OSError):
                found.sock.sendto(data, remote)

    def close_all(self) -> None:
        """Close every socket (the endpoint stops)."""
        for stream in list(self._open):
            self.close(stream)
