"""``sipfault.Server``: the asyncio server with rules built in code and a request journal.

    async with Server() as server:                        # 127.0.0.1, a free port, UDP+TCP
        server.on("INVITE", to_user="alice").reply(100, 180, (486, {"Retry-After": 30}))
        await start_my_client(server.uri("alice"))
        invites = await server.wait_for("INVITE")
        assert invites[0].header("User-Agent") == "mydialer/1.0"
        server.check()                                    # nothing unexpected happened

It is :class:`sipfault.endpoint.Endpoint` (the sockets and the UAS) plus the test surface: rules
added with :meth:`Server.on`, the journal of every message, waits, and the check for what no
rule expected.
"""

from __future__ import annotations

import asyncio
import os
import random
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Unpack

from sipfault.api.builder import MatchConditions, RuleBuilder, build_match
from sipfault.api.records import (
    Journal,
    MessageRecord,
    Unexpected,
    UnexpectedTraffic,
    describe_unexpected,
)
from sipfault.core.registrar import Binding
from sipfault.endpoint import Endpoint, ListenAddress
from sipfault.model.scenario import Rule, Scenario
from sipfault.scenario.loader import load_scenario

__all__ = ["Server", "load_any_scenario"]

EMPTY_SCENARIO = Scenario(name="python", description="Rules added in code.")
"""What a server answers with before any rule is added: the RFC defaults only."""


def load_any_scenario(scenario: Scenario | str | os.PathLike[str] | None) -> Scenario:
    """A scenario object, a scenario file loaded, or the empty scenario for None."""
    if scenario is None:
        return EMPTY_SCENARIO
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(Path(scenario))


class Server(Endpoint):
    """A sipfault endpoint for tests; ``async with Server() as server: ...``.

    By default it listens on 127.0.0.1 on a free port, UDP and TCP on the same port (and TLS
    on a port of its own when given a context), and answers with the RFC defaults until rules
    are added or a scenario is given.
    """

    def __init__(
        self,
        scenario: Scenario | str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        listen: Sequence[ListenAddress] | str | None = None,
        transports: Iterable[str] | None = None,
        t1: float | None = None,
        seed: int | None = None,
        rng: random.Random | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``scenario``: a ``Scenario``, a YAML file, or None for no rules yet.

        ``host`` and ``port`` say where to listen unless ``listen`` lists addresses; port 0
        picks a free one. ``transports`` defaults to UDP and TCP, plus TLS when ``tls`` (a
        server context, e.g. ``sipfault.transport.tls.server_context(cert, key)``) is given;
        ``tls_port`` and ``uri(user, "tls")`` tell where TLS listens. ``t1`` overrides the
        scenario's T1 (RFC 3261 §17.1.1.1), ``seed`` its seed for ``probability``.
        """
        if listen is None:
            listen = (ListenAddress(host, port),)
        super().__init__(load_any_scenario(scenario), listen=listen, transports=transports,
                         t1=t1, seed=seed, rng=rng, tls=tls)
        self._t1 = t1
        # Event times are loop.time(); start() pins the offset to the wall clock.
        self._wall_offset = time.time() - time.monotonic()
        self.journal = Journal(self._to_wall)
        """Every message and event; read it through the methods below."""
        self.add_listener(self.journal.on_event)

    def _to_wall(self, loop_time: float) -> float:
        return loop_time + self._wall_offset

    async def start(self) -> None:
        """Bind every address; an error says which address and what to try."""
        self._wall_offset = time.time() - asyncio.get_running_loop().time()
        try:
            await super().start()
        except OSError as exc:
            where = ", ".join(str(address) for address in self.listen_addresses)
            hint = ("pass port=0 for a free port, or stop what holds this one"
                    if any(address.port for address in self.listen_addresses)
                    else "check that the address exists on this machine")
            raise OSError(exc.errno, f"cannot listen on {where} "
                          f"({', '.join(self.transports)}): {exc.strerror or exc}; {hint}") from exc

    # ------------------------------------------------------------------------- rules

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in force, in the order they are tried."""
        return self.uas.scenario.rules

    def on(self, method: str | Iterable[str] | None = None, *, name: str | None = None,
           **conditions: Unpack[MatchConditions]) -> RuleBuilder:
        """Start a rule for requests of ``method`` (any if None) meeting ``conditions``.

        Finish it with ``.reply(*steps)`` or ``.drop()``; ``.times(n)`` limits it to the first
        n requests. Rules are tried in the order they were added, after any loaded from a
        scenario; the first that matches answers.
        """
        return RuleBuilder(build_match(method, **conditions), self.add_rule, name)

    def add_rule(self, rule: Rule) -> Rule:
        """Add a rule after the others; the counters of the rules before it carry on."""
        scenario = replace(self.uas.scenario, rules=(*self.uas.scenario.rules, rule))
        # Appending leaves every earlier rule at its index, so the engine's per-index counters
        # stay right; replace_scenario() would restart them.
        self.uas.engine.scenario = scenario
        return rule

    def clear_rules(self) -> None:
        """Remove every rule (requests get the RFC defaults); counters start again."""
        self.uas.replace_scenario(replace(self.uas.scenario, rules=()))

    def load(self, scenario: Scenario | str | os.PathLike[str]) -> None:
        """Answer with another scenario's rules and timers from now on; counters start again."""
        loaded = load_any_scenario(scenario)
        if self._t1 is not None:
            loaded = replace(loaded, timers=replace(loaded.timers, t1=self._t1))
        self.uas.replace_scenario(loaded)

    # ----------------------------------------------------------------------- journal

    def requests(self, method: str | None = None, *,
                 retransmissions: bool = False) -> list[MessageRecord]:
        """Requests received so far, oldest first; only ``method`` ones if given."""
        return self.journal.requests(method, retransmissions=retransmissions)

    def responses(self, method: str | None = None, *, status: int | None = None,
                  retransmissions: bool = False) -> list[MessageRecord]:
        """Responses sent so far, oldest first; to ``method`` requests, of ``status``, if given."""
        return self.journal.responses(method, status=status, retransmissions=retransmissions)

    async def wait_for(self, method: str | None = None, count: int = 1,
                       timeout: float = 5.0) -> list[MessageRecord]:
        """Wait for ``count`` requests of ``method``; return them all, or raise WaitTimeout."""
        return await self.journal.wait_for(method, count, timeout)

    def bindings(self) -> dict[str, list[Binding]]:
        """Current registrations by address-of-record, as the registrar holds them (§10.3)."""
        return self.uas.registrar.bindings(self._now())

    def ladder(self) -> str:
        """The message ladder so far, one line per message, rule taken and finding."""
        return self.journal.ladder()

    def unexpected(self) -> list[Unexpected]:
        """What no rule expected: refused requests, findings, unreadable messages."""
        return self.journal.unexpected()

    def clear_journal(self) -> None:
        """Forget the messages and events recorded so far, e.g. between test steps."""
        self.journal.clear()

    def check(self, allow: Iterable[str | int] = ()) -> None:
        """Raise :class:`UnexpectedTraffic` if anything unexpected happened.

        ``allow`` lists kinds to let through: "unmatched", "dropped", a finding's kind such as
        "no-ack", or the status code a refused request got (405, 481...).
        """
        allowed = list(allow)
        items = [item for item in self.unexpected() if not item.allowed_by(allowed)]
        if items:
            raise UnexpectedTraffic(describe_unexpected(
                items, self.ladder(), self.where(), unexpected_hint(items, "allow=[...]")
            ), items)

    def where(self) -> str:
        """``host:port`` of the first address, for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def unexpected_hint(items: list[Unexpected], opt_out: str) -> str:
    """What to try next, naming the methods no rule took."""
    methods = sorted({item.method for item in items if item.method})
    ways = [f'add a rule such as .on("{method}").reply(200)' for method in methods[:3]]
    ways.append(f"let it through with {opt_out} (a kind, finding or status shown above)")
    return "To fix: " + "; or ".join(ways) + "."
