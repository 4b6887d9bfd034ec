"""``sipfault.Server``: the asyncio server with rules built in code and a request journal.

    async with Server() as server:                        # 127.0.0.1, a free port, UDP+TCP
        server.on("INVITE", to_user="alice").reply(100, 180, (486, {"Retry-After": 30}))
        await start_my_client(server.uri("alice"))
        invites = await server.wait_for("INVITE")
        assert invites[0].header("User-Agent") == "mydialer/1.0"
        server.check()                                    # nothing unexpected happened

It is :class:`sipfault.endpoint.Endpoint` (the sockets and the UAS) plus the test surface: rules
added with :meth:`Server.on`, the journal (every record of what happened, in memory), waits, and
the check for what no rule expected. It takes a :class:`sipfault.config.ServerConfig`, or its
fields as keyword arguments: ``Server("busy.yaml", seed=7)`` or
``Server(config=ServerConfig(scenario="busy.yaml", seed=7))``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Unpack

from sipfault.api.builder import MatchConditions, RuleBuilder, build_match, build_unmatched
from sipfault.api.faxes import FaxResult, fax_results
from sipfault.api.journal import (
    FindingRecord,
    Journal,
    MessageRecord,
    Unexpected,
    UnexpectedTraffic,
    WaitTimeout,
    describe_unexpected,
)
from sipfault.config import (
    EMPTY_SCENARIO,
    ScenarioSource,
    ServerConfig,
    ServerOptions,
    load_any_scenario,
)
from sipfault.endpoint import Endpoint
from sipfault.model.scenario import Rule, UnmatchedAnswer

__all__ = ["EMPTY_SCENARIO", "Server", "load_any_scenario"]


class Server(Endpoint):
    """A sipfault endpoint for tests; ``async with Server() as server: ...``.

    By default it listens on 127.0.0.1 on a free port, UDP and TCP on the same port (and TLS
    on a port of its own when given a context), and answers with the RFC defaults until rules
    are added or a scenario is given.
    """

    def __init__(
        self,
        scenario: ScenarioSource | None = None,
        *,
        config: ServerConfig | None = None,
        **options: Unpack[ServerOptions],
    ) -> None:
        """``scenario``: a ``Scenario``, a YAML file, or None for no rules yet.

        ``config`` (a :class:`~sipfault.config.ServerConfig`) says how to listen and answer;
        keyword arguments replace its fields: ``listen`` (or ``host`` and ``port``; port 0
        picks a free one), ``transports``, ``t1``, ``seed``, ``rng``, ``tls`` (a server
        context, e.g. ``sipfault.transport.tls.server_context(cert, key)``; ``tls_port`` and
        ``uri(user, "tls")`` tell where TLS listens) and ``server_header``.
        """
        super().__init__(scenario, config=config, **options)
        self.journal = Journal()
        """Every record of what happened; read it through the methods below."""
        self.add_listener(self.journal.on_record)

    async def start(self) -> None:
        """Bind every address; an error says which address and what to try."""
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
        return self.scenario.rules

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
        self.uas.add_rule(rule)
        return rule

    def unmatched(self, code: int | UnmatchedAnswer, reason: str | None = None) -> None:
        """Answer ``code`` (300-699) to a request no rule takes when some rule takes its method
        (404 by default), as a scenario's ``unmatched`` says; counters carry on.

        A method no rule takes still gets 405, an unknown one 501 (docs/scenarios.md).
        """
        if isinstance(code, UnmatchedAnswer):
            answer = build_unmatched(code)
        else:
            answer = build_unmatched({"code": code, "reason": reason} if reason is not None
                                     else {"code": code})
        self.uas.answer_unmatched(answer)

    def clear_rules(self) -> None:
        """Remove every rule (requests get the RFC defaults); counters start again."""
        self.replace_scenario(replace(self.scenario, rules=()))

    def load(self, scenario: ScenarioSource) -> None:
        """Answer with another scenario's rules and timers from now on; counters start again.

        The configuration's ``t1``, when set, still overrides the scenario's.
        """
        self.replace_scenario(self.config.load_scenario(scenario))

    # ---------------------------------------------------------------- endpoint faults

    def endpoint_fault(self, name: str, duration: float | str | None = None,
                       **params: object) -> None:
        """Begin a fault of the whole endpoint now: ``outage`` (nothing received or sent),
        ``overload`` (503 with Retry-After, ``retry_after=30``) or ``slow`` (every response
        held back ``by="500ms"``, or ``min=..., max=...``), for ``duration`` (seconds or
        ``"30s"``) or until :meth:`clear_endpoint_fault`. ``probability=0.2`` makes it act on
        some messages only. Parameters are checked as a scenario file's ``endpoint_faults``.
        """
        if duration is not None:
            params["for"] = duration
        self.set_endpoint_fault(name, params)

    def clear_endpoint_fault(self, name: str | None = None) -> None:
        """End the endpoint fault ``name``, or every one."""
        if name is None:
            self.clear_endpoint_faults()
        else:
            self.set_endpoint_fault(name, None)

    # ----------------------------------------------------------------------- journal

    def findings(self, kind: str | None = None) -> list[FindingRecord]:
        """Findings about the client so far, oldest first; only ``kind`` ones if given.

        Each text ends with the RFC section it rests on (``sipfault findings`` lists them).
        """
        return self.journal.findings(kind)

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
        __tracebackhide__ = True  # a failing test shows its own line, not sipfault's
        try:
            return await self.journal.wait_for(method, count, timeout)
        except WaitTimeout as exc:
            exc.where = self.where()
            raise

    def faxes(self) -> list[FaxResult]:
        """The fax calls so far: each one's pages, T.30 frames and outcome."""
        return fax_results(self.journal.records)

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
        __tracebackhide__ = True
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
