"""How a sipfault server listens and answers: one frozen :class:`ServerConfig`.

The same configuration starts every front end: :class:`sipfault.endpoint.Endpoint`,
:class:`sipfault.Server` and :class:`sipfault.Controller` take ``config=ServerConfig(...)``;
``sipfault run`` and the pytest fixtures build one. Each front end also takes the fields as
keyword arguments (:class:`ServerOptions`), which replace those of ``config``::

    base = ServerConfig(t1=0.05, seed=7)
    Server("busy.yaml", config=base)                  # base, with a scenario
    Server(config=base, listen="127.0.0.1:5070")      # base, elsewhere
    Controller(host="::1", seed=3)                    # the defaults, with two changes

A configuration is frozen and checked when made (a ValueError says what is wrong), so one
object can start any number of servers; :func:`dataclasses.replace` makes a variant.
"""

from __future__ import annotations

import ipaddress
import os
import random
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

from sipfault.core.admission import DEFAULT_SHED_RETRY_AFTER, Capacity
from sipfault.core.uas import SERVER_HEADER
from sipfault.model.scenario import Scenario
from sipfault.scenario.loader import load_scenario
from sipfault.transport.limits import DEFAULT_STREAM_LIMITS, StreamLimits

__all__ = [
    "EMPTY_SCENARIO",
    "KNOWN_TRANSPORTS",
    "TRANSPORTS",
    "ListenAddress",
    "ScenarioSource",
    "ServerConfig",
    "ServerOptions",
    "default_transports",
    "load_any_scenario",
]

TRANSPORTS = ("udp", "tcp")
"""Transports started by default."""

KNOWN_TRANSPORTS = ("udp", "tcp", "tls")
"""Transports a server can listen with; TLS needs a certificate (``tls=`` an SSL context)."""

ScenarioSource = Scenario | str | os.PathLike[str]
"""A scenario object, or the path of a scenario file."""

EMPTY_SCENARIO = Scenario(name="python", description="Rules added in code.")
"""What a server answers with when given no scenario: the RFC defaults only."""


def default_transports(tls: ssl.SSLContext | None) -> tuple[str, ...]:
    """UDP and TCP, and TLS too when there is a context for it."""
    return TRANSPORTS if tls is None else (*TRANSPORTS, "tls")


def load_any_scenario(scenario: ScenarioSource | None) -> Scenario:
    """A scenario object, a scenario file loaded, or the empty scenario for None."""
    if scenario is None:
        return EMPTY_SCENARIO
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(Path(scenario))


@dataclass(frozen=True)
class ListenAddress:
    """An address to listen on; port 0 picks a free one (shared by UDP and TCP)."""

    host: str
    port: int
    optional: bool = False
    """Skip this address, rather than fail, when the machine lacks it (e.g. no IPv6)."""

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """``HOST:PORT``, ``[V6]:PORT``, ``HOST`` (port 5060), ``V6`` or ``:PORT`` (on
        127.0.0.1: loopback unless told otherwise).

        An IPv6 address followed by a port without brackets (``::1:5060``) is refused with a
        hint (``[::1]:5060``): it reads as another address on port 5060.
        """
        text = text.strip()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port_text = rest.removeprefix(":")
        elif text.count(":") > 1:
            host, port_text = text, ""
            _refuse_unbracketed_port(text)
        else:
            host, _, port_text = text.partition(":")
        if port_text and not port_text.isdigit():
            raise ValueError(f"bad port in {text!r}")
        port = int(port_text) if port_text else 5060
        if port > 65535:
            raise ValueError(f"port out of range in {text!r}")
        return cls(host or "127.0.0.1", port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _refuse_unbracketed_port(text: str) -> None:
    """Raise for ``::1:5060``, an IPv6 address and a port written without brackets."""
    address, _, last = text.rpartition(":")
    if not (last.isdigit() and len(last) <= 5 and address.rstrip(":")):
        return  # ``::``-ended, or ending in hex digits: an address of its own
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return
    raise ValueError(
        f"{text!r} mixes an IPv6 address and a port: write [{address}]:{last} "
        f"(or [{text}] for that address on port 5060)"
    )


def listen_addresses(
    listen: Sequence[ListenAddress] | ListenAddress | str,
) -> tuple[ListenAddress, ...]:
    """Addresses from a ``HOST:PORT`` text, one address, or a sequence of them."""
    if isinstance(listen, str):
        return (ListenAddress.parse(listen),)
    if isinstance(listen, ListenAddress):
        return (listen,)
    return tuple(listen)


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Everything a sipfault server needs to start; frozen, checked when made."""

    scenario: ScenarioSource | None = None
    """The rules: a :class:`~sipfault.model.scenario.Scenario`, the path of a YAML scenario
    file (loaded when a server is made), or None for no rules (the RFC defaults answer)."""

    listen: tuple[ListenAddress, ...] = (ListenAddress("127.0.0.1", 0),)
    """Addresses to listen on, each with every transport; port 0 picks a free port. The
    default is loopback on a free port (``sipfault run`` defaults to port 5060 instead)."""

    transports: tuple[str, ...] | None = None
    """Some of "udp", "tcp" and "tls"; None: UDP and TCP on one port, plus TLS on the next
    port when ``tls`` is given (RFC 3261 §18.2.1, §26.2). TLS alone takes the port itself."""

    t1: float | None = None
    """Timer T1 in seconds (RFC 3261 §17.1.1.1), overriding the scenario's; None: the
    scenario's (500 ms unless it says otherwise)."""

    seed: int | None = None
    """Seed of the scenario's random draws (``probability``); None: the scenario's ``seed``,
    else a random one that the server reports (``seed``) so a run can be repeated."""

    rng: random.Random | None = None
    """Generator of the tags, branches and nonces sipfault makes; None: a fresh one per
    server. Give a seeded one to make them repeatable (two servers sharing it share it)."""

    tls: ssl.SSLContext | None = None
    """Server TLS context (certificate and key loaded, e.g.
    :func:`sipfault.transport.tls.server_context`) for the "tls" transport; None: no TLS."""

    server_header: str | None = SERVER_HEADER
    """Value of the Server header field in every response (RFC 3261 §20.35); None: none."""

    force_rport: bool = False
    """Answer every UDP request at its source port, as though its top Via had ``rport``
    (RFC 3581), for clients behind NAT that do not ask for it. False: as RFC 3261 §18.2.2
    says, a Via without ``rport`` is answered at its sent-by port (5060 when it names none),
    always at the packet's source address."""

    stream_limits: StreamLimits = DEFAULT_STREAM_LIMITS
    """Caps and timeouts of TCP and TLS connections: per server and per source address,
    idle and header timeouts, the write buffer of a peer that does not read."""
    max_transactions: int | None = None
    """Live transactions (server and client) at which new INVITEs and REGISTERs start to get
    503 with Retry-After (RFC 3261 §21.5.4), until they are below 90% of it; None: no limit.
    Over UDP each lasts 64*T1 after its final response, so a call keeps two for about 32 s:
    a limit near 2 x 32 s x the rate to be held (64,000 for 1000 calls/s) sheds only past it.
    See :mod:`sipfault.core.admission`."""

    max_loop_lag: float | None = None
    """Event-loop lag, in seconds, at which new INVITEs and REGISTERs start to get 503 with
    Retry-After, until it is below half of it; None: not watched. The lag is how late a
    call the endpoint schedules every 50 ms runs: a loop that cannot keep up runs it late."""

    retry_after: int = DEFAULT_SHED_RETRY_AFTER
    """Retry-After seconds of those 503s."""
    reuse_port: bool = False
    """Set ``SO_REUSEPORT`` on the UDP, TCP and TLS listening sockets, so that several
    processes share one port (``sipfault run --workers``); Linux spreads datagrams by flow and
    connections among them. False: a port taken by another socket cannot be bound."""

    def __post_init__(self) -> None:
        # Lenient about containers (a list of addresses, transports in any case), strict
        # about values: what is stored is always tuples, checked.
        object.__setattr__(self, "listen", listen_addresses(self.listen))
        if not self.listen:
            raise ValueError("listen names no address (expected one or more)")
        if self.transports is not None:
            names = tuple(dict.fromkeys(name.lower() for name in self.transports))
            object.__setattr__(self, "transports", names)
        transports = self.active_transports
        if not transports:
            raise ValueError("transports names none (expected udp, tcp, tls or several)")
        for name in transports:
            if name not in KNOWN_TRANSPORTS:
                raise ValueError(f"unknown transport {name!r} (expected udp, tcp or tls)")
        if "tls" in transports and self.tls is None:
            raise ValueError("the tls transport needs a certificate and key (an SSL context)")
        shared = transports != ("tls",)
        if "tls" in transports and shared and max(a.port for a in self.listen) >= 65535:
            raise ValueError("TLS listens on the port after the UDP/TCP one: none after 65535")
        if self.t1 is not None and not self.t1 > 0:
            raise ValueError(f"t1={self.t1} (expected a duration above 0 seconds)")
        self.capacity  # noqa: B018 (checks the three fields)

    @property
    def capacity(self) -> Capacity:
        """Where load shedding starts (``max_transactions``, ``max_loop_lag``)."""
        return Capacity(self.max_transactions, self.max_loop_lag, self.retry_after)

    @property
    def active_transports(self) -> tuple[str, ...]:
        """The transports to listen with: ``transports``, else the default for ``tls``."""
        return self.transports if self.transports is not None else default_transports(self.tls)

    def with_options(self, scenario: ScenarioSource | None = None,
                     **options: Unpack[ServerOptions]) -> ServerConfig:
        """This configuration with ``scenario`` (unless None) and ``options`` replacing fields.

        ``host`` and ``port`` give one listening address (the first address's host or port
        for the one left out); they cannot be given with ``listen``. An option given as None
        leaves ``listen`` as it is and sets any other field to None.
        """
        changes: dict[str, Any] = dict(options)
        host, port = changes.pop("host", None), changes.pop("port", None)
        listen = changes.pop("listen", None)
        if host is not None or port is not None:
            if listen is not None:
                raise ValueError("give listen, or host and port, not both")
            first = self.listen[0]
            listen = (ListenAddress(first.host if host is None else host,
                                    first.port if port is None else port),)
        if listen is not None:
            changes["listen"] = listen_addresses(listen)
        if changes.get("transports") is not None:
            changes["transports"] = tuple(changes["transports"])
        if scenario is not None:
            changes["scenario"] = scenario
        return replace(self, **changes) if changes else self

    def load_scenario(self, scenario: ScenarioSource | None = None) -> Scenario:
        """``scenario`` (default: this configuration's) as a Scenario, with ``t1`` applied.

        A path is loaded (a bad file raises ScenarioError); None is the empty scenario.
        """
        loaded = load_any_scenario(self.scenario if scenario is None else scenario)
        if self.t1 is not None:
            loaded = replace(loaded, timers=replace(loaded.timers, t1=self.t1))
        return loaded


class ServerOptions(TypedDict, total=False):
    """The fields of :class:`ServerConfig` as keyword arguments of the front ends."""

    listen: Sequence[ListenAddress] | ListenAddress | str | None
    """``listen``: addresses, one address, or ``HOST:PORT`` text."""
    host: str
    """With ``port``, instead of ``listen``: one address (default 127.0.0.1)."""
    port: int
    """With ``host``, instead of ``listen``: its port (default 0, a free one)."""
    transports: Iterable[str] | None
    """``transports``."""
    t1: float | None
    """``t1``."""
    seed: int | None
    """``seed``."""
    rng: random.Random | None
    """``rng``."""
    tls: ssl.SSLContext | None
    """``tls``."""
    server_header: str | None
    """``server_header``."""
    force_rport: bool
    """``force_rport``."""
    stream_limits: StreamLimits
    """``stream_limits``."""
    max_transactions: int | None
    """``max_transactions``."""
    max_loop_lag: float | None
    """``max_loop_lag``."""
    retry_after: int
    """``retry_after``."""
    reuse_port: bool
    """``reuse_port``."""
