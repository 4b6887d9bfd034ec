"""The UDP sockets behind the media streams an SDP answer names (the core's ``MediaPorts``).

The core (``sipfault.core.sessions``) decides which streams exist; :class:`MediaSockets` binds
a socket for each one, synchronously, so the port is known before the answer leaves: on the
address the SIP request came in on, on an even port (RFC 3550 §11) from the scenario's range
or one the system picks. Each socket is read from the running loop; every datagram is counted
by :class:`sipfault.media.accounting.StreamAccount`, sent back when the scenario asks for an
echo, and the first packet of each kind is reported to the endpoint (which tells the core).

A closed stream's socket is kept bound, read and idle, and serves a later stream once it has
been quiet for :data:`QUIET_BEFORE_REUSE`: a call's datagrams that arrive late, or a far end
that keeps sending after the BYE, never count for the next call, and a call costs no socket,
bind and close of its own under load. At most :data:`IDLE_KEPT` idle sockets are kept, and the
endpoint closes them when it has been idle a while (:meth:`MediaSockets.trim`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import resource
import socket
from collections import deque
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
QUIET_BEFORE_REUSE = 1.0
"""Seconds an idle socket must go without a datagram before another stream may use it."""
IDLE_KEPT = 4096
"""Idle sockets kept for reuse at most (fewer when the open-file limit is low)."""
_EVEN_TRIES = 16
_MAX_DATAGRAM = 65535

PoolKey = tuple[str, tuple[int, int] | None]
"""Which streams an idle socket can serve: its bind address and the scenario's port range."""


def _ignore(number: int, kind: str, source: tuple[str, int]) -> None:
    del number, kind, source


class MediaSocket:
    """One bound socket: a stream's while it is in use, idle in the pool between streams."""

    __slots__ = ("_loop", "account", "deliver", "echo", "key", "number", "on_activity",
                 "port", "quiet_since", "sock")

    def __init__(self, sock: socket.socket, key: PoolKey,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.key = key
        self.port = int(sock.getsockname()[1])
        self.number = -1
        self.account = StreamAccount("audio")
        self.echo = False
        self.on_activity: ActivityHandler = _ignore
        self.deliver: DatagramHandler | None = None
        """Set while the stream runs a fax terminal: every datagram goes to the core."""
        self.quiet_since: float | None = None
        """While idle: when the last datagram arrived (or the stream closed)."""
        self._loop = loop
        loop.add_reader(sock.fileno(), self._readable)

    def start(self, number: int, media: str, echo: bool, on_activity: ActivityHandler) -> None:
        """Serve stream ``number`` from now on, counting afresh."""
        self.number = number
        self.account.begin(media)
        self.echo = echo
        self.on_activity = on_activity
        self.quiet_since = None

    def _readable(self) -> None:
        for _ in range(READS_PER_WAKEUP):
            try:
                data, address = self.sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable from an earlier echo, a closed socket
                return
            if self.quiet_since is not None:  # idle: a late datagram of an ended stream
                self.quiet_since = self._loop.time()
                continue
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

    def stop(self) -> MediaTotals:
        """End the stream: the socket goes idle, reading and dropping; the stream's totals."""
        totals = self.account.totals()
        self.on_activity = _ignore
        self.deliver = None
        self.echo = False
        self.quiet_since = self._loop.time()
        return totals

    def close(self) -> None:
        """Stop reading and close the socket."""
        with contextlib.suppress(ValueError, OSError, RuntimeError):
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


class MediaSockets:
    """Opens, re-purposes and closes stream sockets on the running loop (``MediaPorts``)."""

    def __init__(self, on_activity: ActivityHandler,
                 on_datagram: DatagramHandler | None = None) -> None:
        self._on_activity = on_activity
        self._on_datagram = on_datagram
        self._open: dict[int, MediaSocket] = {}
        self._idle: dict[PoolKey, deque[MediaSocket]] = {}
        self._idle_count = 0
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self._idle_limit = IDLE_KEPT if soft_limit < 0 else min(IDLE_KEPT, soft_limit // 4)
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

    @property
    def idle(self) -> int:
        """Sockets kept bound for later streams."""
        return self._idle_count

    def open(self, stream: int, spec: StreamSpec) -> int:
        loop = asyncio.get_running_loop()
        key: PoolKey = (spec.bind_host or "0.0.0.0", spec.ports)
        opened = self._reuse(key, loop.time())
        if opened is None:
            try:
                opened = MediaSocket(self._bind(key), key, loop)
            except MediaPortError:
                opened = self._reuse(key, None)  # a range all idle: the longest idle one
                if opened is None:
                    raise
        opened.start(stream, spec.media, spec.echo, self._on_activity)
        opened.deliver = self._on_datagram if spec.fax else None
        self._open[stream] = opened
        return opened.port

    def _reuse(self, key: PoolKey, now: float | None) -> MediaSocket | None:
        """An idle socket quiet for long enough (any idle one when ``now`` is None)."""
        queue = self._idle.get(key)
        if not queue:
            return None
        first = queue[0]
        quiet_since = first.quiet_since if first.quiet_since is not None else 0.0
        if now is not None and now - quiet_since < QUIET_BEFORE_REUSE:
            last = queue[-1].quiet_since
            if last is not None and quiet_since > last:
                queue.rotate(-1)  # still hearing from its old call: let the others go first
            return None
        self._idle_count -= 1
        return queue.popleft()

    def trim(self, keep: int = 0) -> None:
        """Close idle sockets down to ``keep`` of each kind (the endpoint has been idle)."""
        for queue in self._idle.values():
            while len(queue) > keep:
                queue.popleft().close()
                self._idle_count -= 1

    def _bind(self, key: PoolKey) -> socket.socket:
        host, ports = key
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if ports is not None:
            low, high = ports
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
        if found is None:
            return MediaTotals()
        totals = found.stop()
        if self._idle_count < self._idle_limit:
            self._idle.setdefault(found.key, deque()).append(found)
            self._idle_count += 1
        else:
            found.close()
        return totals

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
            self._open.pop(stream).close()
        self.trim()
