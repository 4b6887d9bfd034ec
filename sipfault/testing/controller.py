"""A threaded controller: a :class:`sipfault.Server` on its own event loop, for synchronous code.

Like aiosmtpd's ``Controller``, it runs the server's loop in a thread and offers the same
surface as the server, blocking where the server awaits::

    with Controller() as sip:                            # 127.0.0.1, a free port
        sip.on("INVITE").reply(100, 180, (486, {"Retry-After": 30}))
        my_dialer.call(sip.uri("alice"))
        sip.wait_for("ACK", timeout=2)
        assert sip.requests("INVITE")[0].header("User-Agent") == "mydialer/1.0"

It takes what the server takes: a scenario, a :class:`sipfault.config.ServerConfig`, and the
config's fields as keyword arguments (``Controller(listen="127.0.0.1:5070", seed=7)``).
Every call is carried out on the server's loop thread, so it is safe from any thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar, Unpack

from sipfault.api.builder import MatchConditions, RuleBuilder, build_match
from sipfault.api.faxes import FaxResult
from sipfault.api.journal import FindingRecord, MessageRecord, Unexpected
from sipfault.api.server import Server
from sipfault.config import ScenarioSource, ServerConfig, ServerOptions
from sipfault.core.counts import LiveCounts
from sipfault.core.registrar import Binding
from sipfault.model.scenario import Rule, UnmatchedAnswer

__all__ = ["Controller"]

T = TypeVar("T")

_CALL_TIMEOUT = 10.0
"""Longest wait for the loop thread to run one call; it only stalls if the loop is stuck."""


class Controller:
    """Runs a :class:`sipfault.Server` in a thread; ``with Controller() as sip: ...``."""

    def __init__(
        self,
        scenario: ScenarioSource | None = None,
        *,
        config: ServerConfig | None = None,
        ready_timeout: float = 5.0,
        **options: Unpack[ServerOptions],
    ) -> None:
        """``scenario``, ``config`` and the keyword arguments (``listen`` or ``host`` and
        ``port``, ``transports``, ``t1``, ``seed``, ``rng``, ``tls``, ``server_header``) as for
        :class:`sipfault.Server`; a bad scenario file raises here.

        ``ready_timeout`` bounds how long :meth:`start` waits for the sockets.
        """
        self.server = Server(scenario, config=config, **options)
        """The server; touch it only through the controller while it runs."""
        self.ready_timeout = ready_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._state = "new"

    # ----------------------------------------------------------------------- lifecycle

    def __enter__(self) -> Controller:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the loop thread and bind the sockets; return when the server is ready."""
        if self._state != "new":
            raise RuntimeError(f"this controller is {self._state}; a Controller starts once, "
                               "create a new one to start again")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(ready,),
                                        name=f"sipfault-{id(self):x}", daemon=True)
        self._state = "starting"
        self._thread.start()
        try:
            ready.result(self.ready_timeout)
        except concurrent.futures.TimeoutError:
            self.stop()
            raise RuntimeError(
                f"the server did not start within {self.ready_timeout:g} s; raise "
                "ready_timeout, or look for a busy machine or a blocked event loop"
            ) from None
        except BaseException:
            self._join()
            self._state = "stopped"
            raise
        self._state = "running"

    def _run(self, ready: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:
                ready.set_exception(exc)
                return
            self._loop = loop
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
        finally:
            self._loop = None
            loop.close()

    def stop(self) -> None:
        """Close the sockets and end the thread; the journal stays readable."""
        loop = self._loop
        if loop is not None and self._state in ("running", "starting"):
            loop.call_soon_threadsafe(loop.stop)
        self._join()
        self._state = "stopped"

    def _join(self) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(_CALL_TIMEOUT)
        self._thread = None

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._state == "running"

    # ------------------------------------------------------------------- marshalling

    def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` on the loop thread (or here, when no loop runs) and return."""
        __tracebackhide__ = True
        loop = self._loop
        if loop is None or threading.current_thread() is self._thread:
            return function(*args, **kwargs)
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(function(*args, **kwargs))
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return _outcome(result, _CALL_TIMEOUT)

    def _await(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        __tracebackhide__ = True
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("the server is not running; call start() first, or use "
                               "`with Controller() as sip:`")
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        return _outcome(future, timeout + _CALL_TIMEOUT)

    def _require_started(self) -> None:
        if self._state not in ("running", "stopped"):
            raise RuntimeError("the controller is not started: call start() first, or use "
                               "`with Controller() as sip:` (the port is chosen when it starts)")

    # ------------------------------------------------------------------- addresses

    @property
    def host(self) -> str:
        """The address listened on."""
        self._require_started()
        return self.server.host

    @property
    def port(self) -> int:
        """The port UDP and TCP share."""
        self._require_started()
        return self.server.port

    @property
    def tls_port(self) -> int:
        """The port TLS listens on (0 without TLS)."""
        self._require_started()
        return self.server.tls_port

    def uri(self, user: str | None = None, transport: str | None = None) -> str:
        """A SIP URI that reaches the server, e.g. ``sip:alice@127.0.0.1:40123``; for
        ``transport="tls"`` on the TLS port."""
        self._require_started()
        return self.server.uri(user, transport)

    def where(self) -> str:
        """``host:port``, for messages."""
        return self.server.where()

    @property
    def config(self) -> ServerConfig:
        """The server's configuration."""
        return self.server.config

    @property
    def seed(self) -> int:
        """The seed of the random draws (``probability``): the one given, or the one chosen."""
        return self.server.seed

    # ------------------------------------------------------------------------ rules

    def on(self, method: str | Iterable[str] | None = None, *, name: str | None = None,
           **conditions: Unpack[MatchConditions]) -> RuleBuilder:
        """Start a rule; finish it with ``.reply(*steps)`` or ``.drop()`` (see Server.on)."""
        return RuleBuilder(build_match(method, **conditions), self.add_rule, name)

    def add_rule(self, rule: Rule) -> Rule:
        """Add a rule after the others."""
        return self._call(self.server.add_rule, rule)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in force, in order."""
        return self._call(lambda: self.server.rules)

    def unmatched(self, code: int | UnmatchedAnswer, reason: str | None = None) -> None:
        """Answer ``code`` to requests no rule takes, of a method some rule takes (see
        Server.unmatched)."""
        self._call(self.server.unmatched, code, reason)

    def clear_rules(self) -> None:
        """Remove every rule; requests get the RFC defaults."""
        self._call(self.server.clear_rules)

    def load(self, scenario: ScenarioSource) -> None:
        """Answer with another scenario's rules from now on."""
        self._call(self.server.load, scenario)

    # ---------------------------------------------------------------------- journal

    def requests(self, method: str | None = None, *,
                 retransmissions: bool = False) -> list[MessageRecord]:
        """Requests received so far, oldest first; only ``method`` ones if given."""
        return self._call(self.server.requests, method, retransmissions=retransmissions)

    def responses(self, method: str | None = None, *, status: int | None = None,
                  retransmissions: bool = False) -> list[MessageRecord]:
        """Responses sent so far, oldest first."""
        return self._call(self.server.responses, method, status=status,
                          retransmissions=retransmissions)

    def wait_for(self, method: str | None = None, count: int = 1,
                 timeout: float = 5.0) -> list[MessageRecord]:
        """Block until ``count`` requests of ``method`` arrived; raise WaitTimeout if not."""
        __tracebackhide__ = True  # a failing test shows its own line, not sipfault's
        return self._await(self.server.wait_for(method, count, timeout), timeout)

    def bindings(self) -> dict[str, list[Binding]]:
        """Current registrations by address-of-record (RFC 3261 §10.3)."""
        return self._call(self.server.bindings)

    def counts(self) -> LiveCounts:
        """Live transactions, dialogs, timers and client transactions (see Server.counts)."""
        return self._call(self.server.counts)

    def faxes(self) -> list[FaxResult]:
        """The fax calls so far: each one's pages, T.30 frames and outcome."""
        return self._call(self.server.faxes)

    def ladder(self) -> str:
        """The message ladder so far."""
        return self._call(self.server.ladder)

    def findings(self, kind: str | None = None) -> list[FindingRecord]:
        """Findings about the client so far (see Server.findings)."""
        return self._call(self.server.findings, kind)

    def endpoint_fault(self, name: str, duration: float | str | None = None,
                       **params: object) -> None:
        """Begin a fault of the whole endpoint (see Server.endpoint_fault)."""
        self._call(self.server.endpoint_fault, name, duration, **params)

    def clear_endpoint_fault(self, name: str | None = None) -> None:
        """End an endpoint fault, or every one."""
        self._call(self.server.clear_endpoint_fault, name)

    def unexpected(self) -> list[Unexpected]:
        """What no rule expected so far."""
        return self._call(self.server.unexpected)

    def clear_journal(self) -> None:
        """Forget what was recorded so far."""
        self._call(self.server.clear_journal)

    def check(self, allow: Iterable[str | int] = ()) -> None:
        """Raise UnexpectedTraffic if anything unexpected happened (see Server.check)."""
        __tracebackhide__ = True
        self._call(self.server.check, list(allow))


def _outcome(future: concurrent.futures.Future[T], timeout: float) -> T:
    """The result of a call made on the loop thread, or its exception raised here.

    A failed expectation (an AssertionError such as WaitTimeout) is raised afresh from here:
    the frames of the loop thread and of ``concurrent.futures`` it went through say nothing to
    the test that failed.
    """
    __tracebackhide__ = True
    try:
        return future.result(timeout)
    except AssertionError as exc:
        raise exc.with_traceback(None) from None
