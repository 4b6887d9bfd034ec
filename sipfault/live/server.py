"""The live view of a running endpoint, over HTTP on the endpoint's own event loop.

``sipfault run --http 127.0.0.1:8080`` starts a :class:`LiveServer` beside the endpoint
(``asyncio.start_server`` and the small parser of :mod:`sipfault.live.http`; no framework).

=====================  ==================================================================
``GET /``              the live page: calls under way, registrations counting down, recent
                       findings, faults applied, links to each finished call's ladder
``GET /events``        server-sent events (``text/event-stream``): a ``state`` event with
                       a JSON snapshot whenever records came (at most every 100 ms), and
                       every 5 s anyway
``GET /state``         the same snapshot, once, as JSON
``GET /metrics``       Prometheus text format (:mod:`sipfault.live.metrics`)
``GET /journal``       the journal as JSON lines: the lines kept, then each new one as it
                       comes; ``?follow=0`` stops after the lines kept
``GET /calls/ID``      the ladder of one call (a Call-ID, percent-encoded)
``GET /report``        the HTML report of the records kept
``GET /faults``        the endpoint faults registered, on or off
``POST /faults``       ``{"name": "outage", "on": true, ...}``: switch one
                       (:mod:`sipfault.live.faults`; 501 for a name not registered)
``POST /scenario``     ``{"path": "scenarios/busy.yaml"}``: answer with another scenario
                       from now on (``Endpoint.replace_scenario``; 422 for a bad file)
=====================  ==================================================================

It listens on loopback unless told otherwise: another address needs ``allow_remote``
(``--http-allow-remote``), since the control API loads files and changes how the endpoint
answers. A POST must carry ``Content-Type: application/json`` and, if it has an ``Origin``,
come from the page's own origin, so that no other web page can drive it from a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import Awaitable, Callable
from functools import partial
from urllib.parse import urlsplit

from sipfault.endpoint import Endpoint
from sipfault.live.faults import EndpointFaultRegistry, FaultConflict, UnknownFault
from sipfault.live.http import (
    MAX_HEAD,
    HttpError,
    HttpRequest,
    json_response,
    read_request,
    response_head,
)
from sipfault.live.metrics import Gauges, render_metrics
from sipfault.live.page import render_live_page
from sipfault.live.state import LiveState
from sipfault.record.records import Record
from sipfault.record.run import RunRecord, SummaryRecord
from sipfault.report.page import render_calls_page, render_report
from sipfault.scenario.errors import ScenarioError

__all__ = ["LiveServer", "RemoteBindRefused", "check_bind_address", "is_loopback"]

SNAPSHOT_INTERVAL = 0.1
"""Fewest seconds between two snapshots sent to one page."""
HEARTBEAT = 5.0
"""Seconds after which a page gets a snapshot even if nothing happened."""
LAG_INTERVAL = 0.25
"""How often the loop's lateness is measured."""
LIVE_CALLS_SHOWN = 200
FINISHED_SHOWN = 50

Handler = Callable[[HttpRequest, asyncio.StreamWriter], Awaitable[None]]


class RemoteBindRefused(ValueError):
    """The live view was asked to listen beyond loopback without being allowed to."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind_address(host: str, allow_remote: bool) -> None:
    """Raise RemoteBindRefused for an address beyond loopback unless ``allow_remote``."""
    if not allow_remote and not is_loopback(host):
        raise RemoteBindRefused(
            f"the live view listens on loopback only; {host} would let other machines load "
            "scenarios and switch faults (pass --http-allow-remote if that is meant)")


class LiveServer:
    """HTTP on the endpoint's loop: the live page, events, metrics, journal and control."""

    def __init__(self, endpoint: Endpoint, host: str = "127.0.0.1", port: int = 0, *,
                 faults: EndpointFaultRegistry | None = None, allow_remote: bool = False,
                 state: LiveState | None = None) -> None:
        """Follow ``endpoint``'s records from now on; :meth:`start` listens."""
        check_bind_address(host, allow_remote)
        self.endpoint = endpoint
        self.host = host
        self.port = port
        self.faults = faults if faults is not None else EndpointFaultRegistry()
        """The endpoint faults ``POST /faults`` switches."""
        self.state = state if state is not None else LiveState()
        """What the view knows."""
        self.loop_lag = 0.0
        self.loop_lag_max = 0.0
        self.started = endpoint.wall_time(endpoint.now())
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lag_task: asyncio.Task[None] | None = None
        endpoint.add_listener(self.state.on_record)
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", "/"): self._page,
            ("GET", "/events"): self._events,
            ("GET", "/state"): self._state,
            ("GET", "/metrics"): self._metrics,
            ("GET", "/journal"): self._journal,
            ("GET", "/report"): self._report,
            ("GET", "/faults"): self._faults_list,
            ("POST", "/faults"): self._faults_switch,
            ("POST", "/scenario"): self._scenario,
        }

    def on_record(self, record: Record | RunRecord | SummaryRecord) -> None:
        """Take a record the endpoint does not make (the CLI's run and summary records)."""
        self.state.on_record(record)

    # ----------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> LiveServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen; port 0 picks a free one (see :attr:`port`)."""
        self.started = self.endpoint.wall_time(self.endpoint.now())
        self._server = await asyncio.start_server(self._connection, self.host, self.port,
                                                  reuse_address=True, limit=MAX_HEAD)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._lag_task = asyncio.get_running_loop().create_task(self._measure_lag())

    async def stop(self) -> None:
        """Stop listening and end every stream."""
        if self._lag_task is not None:
            self._lag_task.cancel()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:8080/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def _measure_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(LAG_INTERVAL)
            late = max(0.0, loop.time() - start - LAG_INTERVAL)
            self.loop_lag = late
            self.loop_lag_max = max(self.loop_lag_max, late)

    # ------------------------------------------------------------------- connections

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
            if request is None:
                return
            handler = self._route(request)
            await handler(request, writer)
        except HttpError as error:
            writer.write(json_response(error.status, error.body(), _allow(error)))
        except Exception as exc:  # a bug here must not take the endpoint down
            writer.write(json_response(500, {"error": f"{type(exc).__name__}: {exc}"}))
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    def _route(self, request: HttpRequest) -> Handler:
        path = request.path
        handler = self._routes.get((request.method, path))
        if handler is not None:
            return handler
        if path.startswith("/calls/") and request.method == "GET":
            return partial(self._call, path[len("/calls/"):])
        allowed = sorted(method for method, route_path in self._routes if route_path == path)
        if allowed or path.startswith("/calls/"):
            raise HttpError(405, f"{request.method} is not allowed on {path}",
                            allow=", ".join(allowed or ["GET"]))
        raise HttpError(404, f"nothing at {path}")

    # ----------------------------------------------------------------------- views

    def snapshot(self) -> dict[str, object]:
        """What the page shows, as JSON."""
        state, endpoint = self.state, self.endpoint
        now = endpoint.now()
        counts = state.counts
        registrations = [
            {"aor": aor, "contact": binding.uri,
             "expires_at": endpoint.wall_time(binding.expires_at),
             "remaining": binding.remaining(now)}
            for aor, bindings in sorted(endpoint.bindings().items()) for binding in bindings
        ]
        return {
            "now": endpoint.wall_time(now), "version": state.version,
            "scenario": endpoint.scenario.name, "seed": endpoint.seed,
            "calls_total": sum(state.calls_by_method.values()),
            "requests_total": sum(counts.requests.values()),
            "responses_total": sum(counts.responses.values()),
            "requests": dict(counts.requests),
            "responses": {str(code): count for code, count in counts.responses.items()},
            "retransmissions": {"in": counts.retransmissions_in,
                                "out": counts.retransmissions_out},
            "findings_total": sum(counts.findings.values()),
            "faults_total": sum(state.faults.values()),
            "faults": dict(state.faults), "fault_drops": dict(state.fault_drops),
            "live": [call.view() for call in state.live_calls[:LIVE_CALLS_SHOWN]],
            "finished": [call.view() for call in state.finished_calls[:FINISHED_SHOWN]],
            "registrations": registrations,
            "findings": list(reversed(state.findings)),
            "recent_faults": list(reversed(state.recent_faults)),
            "endpoint_faults": self.faults.describe(),
        }

    def gauges(self) -> Gauges:
        """The endpoint's own numbers for ``/metrics``."""
        endpoint = self.endpoint
        bindings = sum(len(items) for items in endpoint.bindings().values())
        return Gauges(
            start_time=self.started, dialogs=len(endpoint.uas.dialogs), transactions=None,
            bindings=bindings, loop_lag=self.loop_lag, loop_lag_max=self.loop_lag_max,
            endpoint_faults={str(item["name"]): bool(item["active"])
                             for item in self.faults.describe()},
        )

    def _listening(self) -> str:
        return ", ".join(f"{host}:{port}" for host, port in self.endpoint.bound) or "-"

    async def _page(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        page = render_live_page(self.endpoint.scenario.name, self.endpoint.seed,
                                self._listening()).encode("utf-8")
        writer.write(response_head(200, "text/html; charset=utf-8", len(page)) + page)

    async def _state(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(json_response(200, self.snapshot()))

    async def _events(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(200, "text/event-stream; charset=utf-8"))
        writer.write(b"retry: 1000\n\n")
        loop = asyncio.get_running_loop()
        sent_version = -1
        sent_at = 0.0
        while True:
            state = self.state
            if state.version != sent_version or loop.time() - sent_at >= HEARTBEAT:
                sent_version = state.version
                sent_at = loop.time()
                data = json.dumps(self.snapshot(), ensure_ascii=False)
                writer.write(f"event: state\ndata: {data}\n\n".encode())
                await writer.drain()
                await asyncio.sleep(SNAPSHOT_INTERVAL)
            if self.state.version == sent_version:
                await self.state.changed(HEARTBEAT)

    async def _metrics(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        text = render_metrics(self.state, self.gauges()).encode("utf-8")
        writer.write(response_head(200, "text/plain; version=0.0.4; charset=utf-8",
                                   len(text)) + text)

    async def _journal(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        follow = request.query.get("follow", ["1"])[-1] not in ("0", "false", "no")
        queue = self.state.follow() if follow else None
        try:
            writer.write(response_head(200, "application/x-ndjson; charset=utf-8"))
            kept = list(self.state.journal)
            for start in range(0, len(kept), 500):
                writer.write("".join(kept[start:start + 500]).encode("utf-8"))
                await writer.drain()
            while queue is not None:
                line = await queue.get()
                if line is None:  # fell behind: the reader reconnects
                    break
                writer.write(line.encode("utf-8"))
                await writer.drain()  # returns at once unless the reader is behind
        finally:
            if queue is not None:
                self.state.unfollow(queue)

    async def _call(self, call_id: str, request: HttpRequest,
                    writer: asyncio.StreamWriter) -> None:
        call = self.state.calls.get(call_id)
        if call is None:
            raise HttpError(404, f"no call {call_id!r} is kept (the last "
                            f"{len(self.state.finished)} finished calls and those under way "
                            "are)")
        page = render_calls_page(list(call.entries), f"call {call_id}").encode("utf-8")
        writer.write(response_head(200, "text/html; charset=utf-8", len(page)) + page)

    async def _report(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        lines = list(self.state.journal)
        scenario = self.endpoint.scenario.name
        # Rendering thousands of records takes a while: off the loop, which serves SIP.
        page = await asyncio.get_running_loop().run_in_executor(
            None, _render_lines, lines, f"sipfault report so far: {scenario}")
        writer.write(response_head(200, "text/html; charset=utf-8", len(page)) + page)

    async def _faults_list(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(json_response(200, {"faults": self.faults.describe()}))

    async def _faults_switch(self, request: HttpRequest,
                             writer: asyncio.StreamWriter) -> None:
        self._check_origin(request)
        body = request.json()
        name = body.get("name")
        on = body.get("on")
        if not isinstance(name, str) or not isinstance(on, bool):
            raise HttpError(400, 'send {"name": "<fault>", "on": true or false}')
        parameters = {key: value for key, value in body.items() if key not in ("name", "on")}
        try:
            switch = self.faults.switch(name, on, parameters)
        except UnknownFault as exc:
            raise HttpError(501, str(exc), fault=name, known=exc.known) from None
        except (FaultConflict, ValueError) as exc:
            raise HttpError(409, f"{name}: {exc}", fault=name) from None
        self.state.version += 1  # the page shows the switch at once
        writer.write(json_response(200, {"name": name, "active": switch.active}))

    async def _scenario(self, request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        self._check_origin(request)
        body = request.json()
        path = body.get("path")
        if not isinstance(path, str) or not path:
            raise HttpError(400, 'send {"path": "<scenario file>"}')
        try:
            scenario = self.endpoint.config.load_scenario(path)
        except ScenarioError as exc:
            raise HttpError(422, str(exc), path=path) from None
        self.endpoint.replace_scenario(scenario)
        self.state.version += 1
        writer.write(json_response(200, {"scenario": scenario.name, "path": path,
                                         "rules": len(scenario.rules)}))

    @staticmethod
    def _check_origin(request: HttpRequest) -> None:
        origin = request.headers.get("origin")
        if origin is None:
            return
        if urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HttpError(403, f"requests from {origin} may not drive this endpoint")


def _render_lines(lines: list[str], title: str) -> bytes:
    entries = []
    for line in lines:
        with contextlib.suppress(ValueError):
            entries.append(json.loads(line))
    return render_report(entries, title=title).encode("utf-8")


def _allow(error: HttpError) -> tuple[tuple[str, str], ...]:
    allow = error.extra.get("allow")
    return (("Allow", str(allow)),) if allow else ()
