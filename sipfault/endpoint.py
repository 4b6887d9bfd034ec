"""The asyncio facade: a :class:`Endpoint` runs the sans-I/O UAS on real sockets.

UDP and TCP listen on the same port (RFC 3261 §18.2.1), on every address asked for. TLS, when
asked for with a certificate, listens on the next port (5061 next to 5060, the defaults of
§19.1.2; a free one when the kernel chose the first), or on the port itself when it is the only
transport. Each input is fed to the UAS with ``loop.time()``; what the UAS wants sent goes to
the peer it names (always the packet's source address; over UDP, the source port with
``rport`` and the Via's port without, RFC 3261 §18.2.2, RFC 3581), and one timer handle stays
armed at the UAS's next deadline. STUN keep-alives on the SIP port (RFC 5626 §4.4.2) are told
apart by the transports and answered by the UAS.

A socket that cannot be bound raises :class:`ListenError`, which names the transport and the
address (``cannot listen on udp 127.0.0.1:5060: address already in use ...``).

An endpoint runs one :class:`sipfault.config.ServerConfig`. It owns the one mapping from its
loop's clock to the wall clock (:meth:`Endpoint.wall_time`), and hands each listener one record
per core event (:func:`sipfault.record.records.to_record`), stamped with wall-clock time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Self, Unpack

from sipfault.config import ListenAddress, ScenarioSource, ServerConfig, ServerOptions
from sipfault.core.counts import LiveCounts
from sipfault.core.events import Outgoing, Peer
from sipfault.core.registrar import Binding
from sipfault.core.uas import UserAgentServer
from sipfault.media.fax import make_fax_call
from sipfault.memory import give_back
from sipfault.model.scenario import Scenario
from sipfault.record.records import Record, to_record
from sipfault.sip.errors import SipParseError
from sipfault.sip.uri import format_sip_uri
from sipfault.transport.limits import ConnectionGate
from sipfault.transport.media import MediaSockets
from sipfault.transport.tcp import StreamConnection, StreamHandler
from sipfault.transport.udp import UdpEndpoint

__all__ = ["Endpoint", "ListenAddress", "ListenError", "RecordListener"]

HOUSEKEEPING_INTERVAL = 10.0
"""Seconds between looks at whether a load is over and its memory can go back."""
BUSY_MESSAGES = 1000
"""Messages since the last look that make a load worth giving memory back after."""

_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
"""Where the lag probe goes when the SIP port listens on every address."""

RecordListener = Callable[[Record], None]
"""What :meth:`Endpoint.add_listener` takes: called with every record, in order."""


_OPTIONAL_ERRORS = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EADDRINUSE)
"""Why an optional address is skipped: the machine lacks it, or (IPv6) it is taken."""

_WHY = {
    errno.EADDRINUSE: "address already in use (another sipfault or SIP server?)",
    errno.EADDRNOTAVAIL: "no such address on this machine",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
    errno.EAFNOSUPPORT: "this machine has no such address family",
}
"""What a failed bind means, in words a user can act on."""


class ListenError(OSError):
    """A socket could not be bound: ``transport`` on ``address``, for the reason ``errno``
    gives. ``str()`` says it all: ``cannot listen on udp 127.0.0.1:5060: address already in
    use (another sipfault or SIP server?)``."""

    def __init__(self, transport: str, host: str, port: int, cause: OSError) -> None:
        why = _WHY.get(cause.errno or 0) or (cause.strerror or str(cause) or "failed")
        super().__init__(cause.errno, why)
        self.transport = transport
        """"udp", "tcp" or "tls"."""
        self.address = ListenAddress(host, port)
        """The address that could not be bound."""

    def __str__(self) -> str:
        return f"cannot listen on {self.transport} {self.address}: {self.strerror}"


LAG_PROBE_INTERVAL = 0.05
"""Seconds between two measures of the loop's lag, when load shedding is asked for."""

PROBE_RESEND = 1.0
"""Seconds after which a probe datagram not yet read is followed by another (it may have been
dropped by a full socket buffer); its lag still counts from the first."""

UDP_BUFFER_BYTES = 4 * 1024 * 1024
"""Socket buffer asked for: a burst of datagrams waits in the kernel instead of being lost."""


def _enlarge_buffers(sock: socket.socket | None) -> None:
    """Ask for large UDP buffers; the kernel caps them at net.core.rmem_max / wmem_max."""
    if sock is None:
        return
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER_BYTES)


class Endpoint:
    """A sipfault endpoint on real sockets; use as ``async with Endpoint(scenario) as endpoint``."""

    def __init__(
        self,
        scenario: ScenarioSource | None = None,
        *,
        config: ServerConfig | None = None,
        **options: Unpack[ServerOptions],
    ) -> None:
        """Run ``config`` (default: ``ServerConfig()``), with ``scenario`` and ``options``
        replacing its fields (see :meth:`ServerConfig.with_options`).

        A scenario file is loaded here: a bad one raises ScenarioError, a bad option ValueError.
        """
        self.config = (config or ServerConfig()).with_options(scenario, **options)
        """The configuration this endpoint runs."""
        self.listen_addresses: tuple[ListenAddress, ...] = self.config.listen
        self.transports = self.config.active_transports
        self._shared_port = self.transports != ("tls",)
        """Whether UDP or TCP listen (on one port per address); TLS takes the next one."""
        self._tls = self.config.tls
        self.media = MediaSockets(self._on_media, self._on_media_datagram)
        """The sockets of the media streams SDP names."""
        self.uas = UserAgentServer(self.config.load_scenario(), seed=self.config.seed,
                                   rng=self.config.rng, server_header=self.config.server_header,
                                   wall_clock=time.time, force_rport=self.config.force_rport,
                                   media_ports=self.media, fax=make_fax_call,
                                   capacity=self.config.capacity)
        self.bound: list[tuple[str, int]] = []
        """(host, port) of each address listened on with UDP and TCP."""
        self.bound_tls: list[tuple[str, int]] = []
        """(host, port) of each address listened on with TLS."""
        self._listeners: list[RecordListener] = []
        self._udp: dict[tuple[str, int], UdpEndpoint] = {}
        self._tcp_servers: list[asyncio.Server] = []
        self._connections: dict[int, StreamConnection] = {}
        self._gate = ConnectionGate(self.config.stream_limits)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lag_probe: asyncio.TimerHandle | None = None
        self._lag_due = 0.0
        # The probe datagrams of the lag measure (see _probe_lag): their socket, where they
        # go, where they come from, and when the oldest one not yet read was sent.
        self._probe_socket: socket.socket | None = None
        self._probe_target: tuple[str, int] = ("", 0)
        self._probe_from: tuple[str, int] | None = None
        self._probe_pending: float | None = None
        self._probe_lag_seen = 0.0
        self._probe_last_sent = 0.0
        # asyncio's loops read time.monotonic(); start() pins the offset to the running loop.
        self._wall_offset = time.time() - time.monotonic()
        self._received = 0  # messages since the last housekeeping
        self._housekeeping: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind every address with every transport on one port per address."""
        self._loop = asyncio.get_running_loop()
        self._wall_offset = time.time() - self._loop.time()
        self.uas.start(self._loop.time())  # the scenario's endpoint faults count from here
        port = tls_port = 0
        for address in self.listen_addresses:
            if self._shared_port:
                bound = await self._bind_unless_missing(address, self._bind(
                    address.host, address.port or port,
                    retry_ephemeral=address.port == 0 and not port,
                ))
                if bound is None:
                    continue
                port = port or bound
                self.bound.append((address.host, bound))
            if "tls" not in self.transports:
                continue
            tls_wanted = address.port + 1 if self._shared_port and address.port else address.port
            bound = await self._bind_unless_missing(
                address, self._bind_tls(address.host, tls_wanted or tls_port)
            )
            if bound is not None:
                tls_port = tls_port or bound
                self.bound_tls.append((address.host, bound))
        if self.uas.admission.limited:
            self._start_lag_probe()
        self._housekeeping = self._loop.call_later(HOUSEKEEPING_INTERVAL, self._housekeep)

    async def _bind_unless_missing(
        self, address: ListenAddress, binding: Coroutine[object, object, int]
    ) -> int | None:
        """The port bound; None for an optional address this machine lacks (else stop, raise)."""
        try:
            return await binding
        except OSError as exc:
            if address.optional and exc.errno in _OPTIONAL_ERRORS:
                return None
            await self.stop()
            raise

    async def _bind(self, host: str, port: int, retry_ephemeral: bool) -> int:
        """Bind UDP then TCP on the same port; with an ephemeral port, retry on a clash."""
        assert self._loop is not None
        for _ in range(20 if retry_ephemeral else 1):
            udp: UdpEndpoint | None = None
            if "udp" in self.transports:
                try:
                    transport, udp = await self._loop.create_datagram_endpoint(
                        lambda: UdpEndpoint(self._on_datagram, self._on_stun),
                        local_addr=(host, port), reuse_port=self.config.reuse_port,
                    )
                except OSError as exc:
                    raise ListenError("udp", host, port, exc) from exc
                _enlarge_buffers(transport.get_extra_info("socket"))
                actual = udp.local[1]
            else:
                actual = port
            if "tcp" in self.transports:
                try:
                    server = await self._loop.create_server(
                        lambda: self._new_stream("tcp"), host, actual or None,
                        reuse_address=True, reuse_port=self.config.reuse_port,
                        family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                    )
                except OSError as exc:
                    if udp is not None:
                        udp.close()
                    if retry_ephemeral and exc.errno == errno.EADDRINUSE:
                        continue
                    raise ListenError("tcp", host, actual, exc) from exc
                self._tcp_servers.append(server)
                actual = server.sockets[0].getsockname()[1]
            if udp is not None:
                self._udp[(host, actual)] = udp
            return int(actual)
        raise ListenError("udp and tcp", host, port,
                          OSError(errno.EADDRINUSE, "no port free for both UDP and TCP"))

    async def _bind_tls(self, host: str, port: int) -> int:
        """Listen with TLS (RFC 3261 §26.2.1) on ``port``, or on a free one for 0.

        Connections are accepted as TCP and each runs its own handshake, so that one that
        fails is journaled (``dropped``) rather than lost without a word.
        """
        assert self._loop is not None
        try:
            server = await self._loop.create_server(
                lambda: self._new_stream("tls", self._tls), host, port or None,
                reuse_address=True, reuse_port=self.config.reuse_port,
                family=socket.AF_INET6 if ":" in host else socket.AF_INET,
            )
        except OSError as exc:
            raise ListenError("tls", host, port, exc) from exc
        self._tcp_servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close every socket and cancel the timer; media streams still open are journaled."""
        if self._loop is not None and len(self.media):
            self.uas.close_media(self._now())
            self._pump()
        self.media.close_all()
        if self._lag_probe is not None:
            self._lag_probe.cancel()
            self._lag_probe = None
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            self._housekeeping = None
        if self._probe_socket is not None:
            self._probe_socket.close()
            self._probe_socket = None
            self._probe_from = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for udp in self._udp.values():
            udp.close()
        self._udp.clear()
        for connection in list(self._connections.values()):
            connection.close()
        for server in self._tcp_servers:
            server.close()
        for server in self._tcp_servers:
            await server.wait_closed()
        self._tcp_servers.clear()

    # ------------------------------------------------------------------------ public view

    @property
    def host(self) -> str:
        """The first address listened on."""
        return self.bound[0][0] if self.bound else self.listen_addresses[0].host

    @property
    def port(self) -> int:
        """The port UDP and TCP share."""
        return self.bound[0][1] if self.bound else 0

    @property
    def tls_port(self) -> int:
        """The TLS port of the first address, 0 without TLS."""
        return self.bound_tls[0][1] if self.bound_tls else 0

    def uri(self, user: str | None = None, transport: str | None = None) -> str:
        """A SIP URI that reaches this server, e.g. ``sip:alice@127.0.0.1:40123``.

        ``transport="tls"`` gives ``sip:alice@127.0.0.1:40124;transport=tls``, on the TLS port.
        """
        params: tuple[tuple[str, str | None], ...] = (
            (("transport", transport),) if transport else ()
        )
        if transport == "tls":
            return format_sip_uri(self.host, self.tls_port, user, params)
        return format_sip_uri(self.host, self.port, user, params)

    def add_listener(self, listener: RecordListener) -> None:
        """Call ``listener(record)`` for every record of what happens (one per core event, see
        :mod:`sipfault.record.records`), in order, on the loop's thread."""
        self._listeners.append(listener)

    @property
    def scenario(self) -> Scenario:
        """The scenario in force."""
        return self.uas.scenario

    def replace_scenario(self, scenario: Scenario) -> None:
        """Answer new requests with other rules (and the scenario's endpoint faults, when they
        differ from the ones in force)."""
        self.uas.replace_scenario(scenario)
        if self._loop is not None:
            self.uas.start(self.now())
            self._pump()

    # ------------------------------------------------------------------ endpoint faults

    def set_endpoint_fault(self, name: str, params: dict[str, object] | None = None) -> None:
        """Begin the endpoint fault ``name`` (``outage``, ``overload``, ``slow``) now, with
        ``params`` as a scenario file's ``endpoint_faults`` entry writes them (``{"for":
        "30s"}``, ``{"by": "500ms"}``); None ends it. Call it on the loop's thread.

        Raises :class:`~sipfault.model.validate.InvalidValue` (a ``ValueError``) for an
        unknown fault or a bad parameter. ``docs/faults.md`` lists the faults.
        """
        self.uas.set_endpoint_fault(name, params, self.now())
        self._pump()

    def clear_endpoint_faults(self) -> None:
        """End every endpoint fault in force."""
        self.uas.clear_endpoint_faults(self.now())
        self._pump()

    @property
    def endpoint_faults(self) -> dict[str, str]:
        """The endpoint faults in force, by name, each as the journal writes it
        (``outage for=30s``)."""
        return {name: str(fault) for name, fault in self.uas.endpoint_faults.active.items()}

    def counts(self) -> LiveCounts:
        """How many transactions, dialogs, timers, client transactions and connections the
        server holds now; all return to zero once traffic stops, the connections close and
        RFC 3261 §17.2's timers have run."""
        return replace(self.uas.counts(), connections=len(self._connections))

    @property
    def seed(self) -> int:
        """The seed of the random draws (``probability``): the one given, or the one chosen."""
        return self.uas.seed

    def bindings(self) -> dict[str, list[Binding]]:
        """Current registrations by address-of-record, as the registrar holds them (§10.3).

        Their times are the loop's clock: ``binding.remaining(endpoint.now())`` is the number
        of seconds a binding has left.
        """
        return self.uas.bindings(self.now())

    # ------------------------------------------------------------------------- clocks

    def now(self) -> float:
        """The loop's clock (``loop.time()``): the time base of the core, its timers and its
        bindings. Before the loop runs, and after, asyncio's clock (``time.monotonic()``)."""
        loop = self._loop
        return loop.time() if loop is not None else time.monotonic()

    def wall_time(self, loop_time: float) -> float:
        """The wall-clock time (``time.time()``) of a reading of the loop's clock.

        The offset between the two is taken once, when the endpoint starts, so that times
        never step backwards within a run; every record carries a time mapped this way.
        """
        return loop_time + self._wall_offset

    # ------------------------------------------------------------------------ plumbing

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _on_datagram(self, data: bytes, peer: Peer) -> None:
        if peer.remote == self._probe_from:
            self._probe_arrived(data)
            return
        self._received += 1
        self.uas.receive(data, peer, self._now())
        self._pump()

    def _new_stream(
        self, transport: str, tls: ssl.SSLContext | None = None
    ) -> StreamConnection:
        return StreamConnection(transport, StreamHandler(
            on_message=self._on_stream_message,
            on_ping=self._on_ping,
            on_error=self._on_stream_error,
            on_open=self._on_open,
            on_close=self._on_close,
            on_refused=self._on_refused,
            on_stun=self._on_stun,
            on_unparsed=self._on_unparsed,
            on_limit=self._on_limit,
        ), tls, self._gate)

    def _on_open(self, connection: StreamConnection) -> None:
        self._connections[connection.id] = connection

    def _on_close(self, connection: StreamConnection) -> None:
        self._connections.pop(connection.id, None)

    def _on_stream_message(self, data: bytes, peer: Peer) -> None:
        self._received += 1
        self.uas.receive(data, peer, self._now())
        self._pump()

    def _housekeep(self) -> None:
        """After a load, once nothing is live (Timers J and L have run), give memory back:
        RSS returns near its idle size instead of staying at the peak (``memory.py``)."""
        assert self._loop is not None
        if not len(self.media):  # no call has media now: the idle sockets are not needed
            self.media.trim()
        if self._received >= BUSY_MESSAGES and self.uas.idle():
            self._received = 0
            self.uas.release_memory()
            give_back()
        self._housekeeping = self._loop.call_later(HOUSEKEEPING_INTERVAL, self._housekeep)

    def _on_refused(self, peer: Peer, reason: str) -> None:
        self.uas.connection_refused(peer, reason, self._now())
        self._pump()

    def _on_media(self, stream: int, kind: str, source: tuple[str, int]) -> None:
        self.uas.media_activity(stream, kind, source, self._now())
        self._pump()

    def _on_media_datagram(self, stream: int, data: bytes, source: tuple[str, int]) -> None:
        self.uas.media_datagram(stream, data, source, self._now())
        self._pump()

    def _on_stun(self, data: bytes, peer: Peer) -> None:
        self.uas.stun(data, peer, self._now())
        self._pump()

    def _on_unparsed(self, peer: Peer, data: bytes, reset: bool) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self.uas.connection_lost(peer, data, reset, self._now())
        self._pump()

    def _on_limit(self, peer: Peer, reason: str, data: bytes) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self.uas.connection_refused(peer, reason, self._now(), data)
        self._pump()

    def _on_ping(self, peer: Peer) -> None:
        self.uas.keepalive(peer, self._now())
        self._pump()

    def _on_stream_error(self, error: SipParseError, head: bytes, peer: Peer) -> None:
        self.uas.stream_failed(error, head, peer, self._now())
        self._pump()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.uas.handle_timer(self._now())
        self._pump()

    def _start_lag_probe(self) -> None:
        """Measure the loop's lag from now on (load shedding asked for one): with a socket of
        our own that sends the probe datagrams to the first UDP address, when there is one."""
        listening = next(iter(self._udp), None)
        # Under SO_REUSEPORT (--workers) the kernel may hand the probe to another process on
        # the port: then only the timer's own lateness is measured.
        if listening is not None and not self.config.reuse_port:
            host = _LOOPBACK.get(listening[0], listening[0])  # the probe's source is the same
            probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_DGRAM)
            probe.setblocking(False)
            probe.bind((host, 0))
            self._probe_socket = probe
            self._probe_target = (host, listening[1])
            name = probe.getsockname()
            self._probe_from = (str(name[0]), int(name[1]))
        self._probe_lag()

    def _probe_lag(self) -> None:
        """Every :data:`LAG_PROBE_INTERVAL`, tell the UAS the loop's lag: how late this call
        ran, how long the probe datagram read since waited, or how long the one not yet read
        has waited, whichever is most.

        A loop that cannot keep up reads a queue of datagrams a batch at a time while its
        timers still run on time; a datagram sent to our own SIP port waits behind that queue
        as every request does, so its delay is the lag clients see. Shedding is reviewed here
        too, so that it can end while no request comes.
        """
        assert self._loop is not None
        now = self._loop.time()
        if self._lag_probe is not None:
            lag = max(0.0, now - self._lag_due, self._probe_lag_seen)
            self._probe_lag_seen = 0.0
            if self._probe_pending is not None:
                lag = max(lag, now - self._probe_pending)
            self.uas.report_loop_lag(lag, now)
            self._pump()
        probe = self._probe_socket
        if probe is not None and (self._probe_pending is None
                                  or now - self._probe_last_sent >= PROBE_RESEND):
            with contextlib.suppress(OSError):  # a full buffer: the next tick sends again
                probe.sendto(repr(now).encode(), self._probe_target)
            self._probe_last_sent = now
            if self._probe_pending is None:
                self._probe_pending = now
        self._lag_due = now + LAG_PROBE_INTERVAL
        self._lag_probe = self._loop.call_at(self._lag_due, self._probe_lag)

    def _probe_arrived(self, data: bytes) -> None:
        """A probe datagram was read: how long it waited is the loop's lag, told at the next
        measure."""
        self._probe_pending = None
        with contextlib.suppress(ValueError):
            self._probe_lag_seen = max(self._probe_lag_seen, self._now() - float(data))

    def _pump(self) -> None:
        """Send what the UAS produced, report its events, re-arm the timer."""
        uas = self.uas
        for item in uas.take_outgoing():
            self._send(item)
        events = uas.take_events()
        if self._listeners:
            offset = self._wall_offset
            for event in events:
                record = to_record(event, event.time + offset)
                for listener in self._listeners:
                    listener(record)
        # The handle stays armed while it is due no later than the UAS's next deadline: most
        # new deadlines are later ones, and one that was cancelled costs one early wake-up
        # (which finds nothing due and re-arms) instead of a new handle per message.
        deadline = uas.next_deadline()
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            if self._loop is not None:
                self._timer = self._loop.call_at(deadline, self._on_timer)

    def _send(self, item: Outgoing) -> None:
        peer = item.peer
        if peer.transport == "udp":
            endpoint = self._udp.get(peer.local) or next(iter(self._udp.values()), None)
            if endpoint is not None and item.data:
                endpoint.send(item.data, peer.remote)
            return
        connection = self._connections.get(peer.connection or -1)
        if connection is None:
            return
        if item.reset:
            connection.reset()
            return
        connection.send(item.data, item.close_after)
        if item.pause_reading:
            connection.pause_reading()
