"""The live view on a real endpoint: each route, the events stream, the control API."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from sipfault import Server
from sipfault.live import (
    EndpointFaultRegistry,
    FaultConflict,
    LiveServer,
    RemoteBindRefused,
    is_loopback,
)
from sipfault.live.faults import endpoint_fault_registry
from sipfault.reporting import ConsoleReporter
from tests.live.helpers import by_label, http, parse_prometheus, post_json
from tests.report.dom import parse
from tests.testing.sip_client import SipClient

REPO = Path(__file__).resolve().parents[2]


class Outage:
    """A stand-in endpoint fault: on, off, and a parameter it refuses."""

    description = "answer nothing"

    def __init__(self) -> None:
        self.active = False
        self.seen: list[Mapping[str, object]] = []

    def enable(self, parameters: Mapping[str, object]) -> None:
        if parameters.get("for") == "ever":
            raise FaultConflict("an outage needs an end")
        self.seen.append(parameters)
        self.active = True

    def disable(self) -> None:
        self.active = False


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    registry = EndpointFaultRegistry()
    registry.register("outage", Outage())
    async with Server(REPO / "scenarios" / "busy.yaml", t1=0.02) as server:
        server.on("INVITE", user="slow").drop()
        async with LiveServer(server, faults=registry) as view:
            yield view


def _busy_call(host: str, port: int, call_id: str, user: str = "486",
               late_ack: bool = False) -> list[int]:
    with SipClient(host, port) as client:
        invite = client.request("INVITE", user, call_id=call_id)
        client.send(invite)
        replies = client.until_final()
        if late_ack:
            replies.append(client.receive())  # Timer G resends the final response
        client.send(client.ack_for(invite, replies[-1]))
        return [reply.status for reply in replies]


def _register(host: str, port: int, user: str, expires: int) -> int:
    with SipClient(host, port) as client:
        client.send(client.request("REGISTER", user, call_id=f"reg-{user}",
                                   headers=(("Expires", str(expires)),)))
        return client.until_final()[-1].status


async def _settle(view: LiveServer, records: int) -> None:
    for _ in range(200):
        if view.state.records >= records:
            return
        await asyncio.sleep(0.01)


async def test_metrics_count_what_the_summary_counts(live: LiveServer) -> None:
    server = live.endpoint
    reporter = ConsoleReporter(io.StringIO(), quiet=True)
    server.add_listener(reporter.on_record)
    statuses = await asyncio.to_thread(_busy_call, server.host, server.port, "m1", "486", True)
    assert statuses == [100, 180, 486, 486]
    assert await asyncio.to_thread(_register, server.host, server.port, "alice", 3600) == 200
    await asyncio.sleep(0.1)
    reply = await http(live.port, "GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    metrics = parse_prometheus(reply.body.decode())
    counts = reporter.counts
    assert by_label(metrics["sipfault_requests_total"], "method") == dict(counts.requests)
    assert by_label(metrics["sipfault_responses_total"], "code") == {
        str(code): count for code, count in counts.responses.items()}
    assert by_label(metrics["sipfault_retransmissions_total"], "direction") == {
        "in": counts.retransmissions_in, "out": counts.retransmissions_out}
    assert counts.retransmissions_out == 1
    assert by_label(metrics["sipfault_calls_total"], "method") == {"INVITE": 1, "REGISTER": 1}
    assert metrics["sipfault_bindings"][()] == 1
    assert metrics["sipfault_timers_total"][(("timer", "G"),)] == 1
    assert metrics["sipfault_calls_live"][()] == 0
    assert metrics["sipfault_dialogs_live"][()] == 0
    assert metrics["sipfault_transactions_live"][()] == 0
    assert 0 <= metrics["sipfault_loop_lag_seconds"][()] < 1
    assert metrics["sipfault_endpoint_fault_active"] == {(("fault", "outage"),): 0}


async def test_a_request_without_an_answer_is_a_live_transaction(live: LiveServer) -> None:
    server = live.endpoint
    with SipClient(server.host, server.port) as client:
        client.send(client.request("INVITE", "slow", call_id="slow-1"))
        await _settle(live, 2)
        metrics = parse_prometheus((await http(live.port, "GET", "/metrics")).body.decode())
    assert metrics["sipfault_transactions_live"][()] == 1
    assert metrics["sipfault_calls_live"][()] == 1
    state = (await http(live.port, "GET", "/state")).json()
    (call,) = state["live"]  # type: ignore[misc]
    assert (call["call_id"], call["state"], call["user"]) == ("slow-1", "trying", "slow")


async def test_events_stream_a_snapshot_then_each_change(live: LiveServer) -> None:
    server = live.endpoint
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"Content-Type: text/event-stream" in head

    async def next_state() -> dict[str, object]:
        while True:
            line = await asyncio.wait_for(reader.readline(), 6)
            if line.startswith(b"data: "):
                value = json.loads(line[6:])
                assert isinstance(value, dict)
                return value

    first = await next_state()
    assert first["scenario"] == "busy" and first["live"] == [] and first["calls_total"] == 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(asyncio.to_thread(_busy_call, server.host, server.port, "e1"))
    while True:
        state = await next_state()
        calls = state["live"] + state["finished"]  # type: ignore[operator]
        if any(call["call_id"] == "e1" for call in calls):
            break
    assert loop.time() - started < 1.0  # the call shows well within a second
    await task
    while True:
        state = await next_state()
        if state["finished"] and state["finished"][0]["state"] == "ended":  # type: ignore[index]
            break
    assert state["finished"][0]["outcome"] == "INVITE 486"  # type: ignore[index]
    writer.close()


async def test_registrations_appear_and_expire(live: LiveServer) -> None:
    server = live.endpoint
    server.load(REPO / "tests" / "live" / "short-registrations.yaml")
    assert await asyncio.to_thread(_register, server.host, server.port, "bob", 1) == 200
    state = (await http(live.port, "GET", "/state")).json()
    (binding,) = state["registrations"]  # type: ignore[misc]
    assert binding["aor"].startswith("sip:bob@") and binding["remaining"] == 1
    assert abs(binding["expires_at"] - state["now"] - 1) < 0.1
    await asyncio.sleep(1.3)
    assert (await http(live.port, "GET", "/state")).json()["registrations"] == []


async def test_journal_gives_the_kept_lines_then_follows(live: LiveServer) -> None:
    server = live.endpoint
    await asyncio.to_thread(_busy_call, server.host, server.port, "j1")
    await _settle(live, 6)
    once = await http(live.port, "GET", "/journal?follow=0")
    assert once.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in once.body.splitlines()]
    assert [line["type"] for line in lines][:3] == ["message", "rule", "message"]
    assert {line["call_id"] for line in lines} == {"j1"}
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    writer.write(b"GET /journal HTTP/1.1\r\nHost: x\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    for _ in lines:
        await asyncio.wait_for(reader.readline(), 5)
    task = asyncio.create_task(asyncio.to_thread(_busy_call, server.host, server.port, "j2"))
    line = json.loads(await asyncio.wait_for(reader.readline(), 5))
    assert line["call_id"] == "j2" and line["first_line"].startswith("INVITE")
    await task
    writer.close()


async def test_a_finished_calls_ladder(live: LiveServer) -> None:
    server = live.endpoint
    await asyncio.to_thread(_busy_call, server.host, server.port, "lad@der")
    await _settle(live, 6)
    reply = await http(live.port, "GET", "/calls/lad%40der")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    (section,) = parse(reply.body.decode()).find_all("section", "call")
    assert section.attrs["data-call"] == "lad@der"
    assert len(section.find_all("g", "arrow")) == 5
    missing = await http(live.port, "GET", "/calls/nope")
    assert missing.status == 404 and "nope" in missing.json()["error"]  # type: ignore[operator]
    page = await http(live.port, "GET", "/")
    assert page.status == 200 and b"new EventSource('events')" in page.body
    report = await http(live.port, "GET", "/report")
    assert len(parse(report.body.decode()).find_all("section", "call")) == 1


async def test_faults_switch_through_the_registry(live: LiveServer) -> None:
    unknown = await post_json(live.port, "/faults", {"name": "overload", "on": True})
    assert unknown.status == 501
    assert unknown.json() == {"error": "no endpoint fault named 'overload' (registered: "
                              "outage)", "fault": "overload", "known": ["outage"]}
    switched = await post_json(live.port, "/faults", {"name": "outage", "on": True, "for": 5})
    assert (switched.status, switched.json()) == (200, {"name": "outage", "active": True})
    outage = live.faults.get("outage")
    assert outage.active and outage.seen == [{"for": 5}]  # type: ignore[attr-defined]
    refused = await post_json(live.port, "/faults", {"name": "outage", "on": True,
                                                     "for": "ever"})
    assert refused.status == 409 and "needs an end" in refused.json()["error"]  # type: ignore[operator]
    off = await post_json(live.port, "/faults", {"name": "outage", "on": False})
    assert off.json()["active"] is False
    listed = (await http(live.port, "GET", "/faults")).json()
    assert listed == {"faults": [{"name": "outage", "active": False,
                                  "description": "answer nothing"}]}
    bad = await post_json(live.port, "/faults", {"name": "outage"})
    assert bad.status == 400


async def test_posts_need_json_from_the_same_origin(live: LiveServer) -> None:
    plain = await http(live.port, "POST", "/faults", b'{"name": "outage", "on": true}',
                       {"Content-Type": "text/plain"})
    assert plain.status == 415
    foreign = await post_json(live.port, "/scenario", {"path": "x.yaml"},
                              {"Origin": "http://evil.example"})
    assert foreign.status == 403
    same = await post_json(live.port, "/faults", {"name": "outage", "on": False},
                           {"Origin": f"http://127.0.0.1:{live.port}"})
    assert same.status == 200


async def test_scenario_loads_another_file(live: LiveServer, tmp_path: Path) -> None:
    server = live.endpoint
    loaded = await post_json(live.port, "/scenario",
                             {"path": str(REPO / "scenarios" / "codes.yaml")})
    assert loaded.status == 200 and loaded.json()["scenario"] == "codes"
    assert server.scenario.name == "codes"
    statuses = await asyncio.to_thread(_busy_call, server.host, server.port, "s1", "503")
    assert statuses[-1] == 503
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [ {match: {method: INVITE}, reply: [abc]} ]\n")
    refused = await post_json(live.port, "/scenario", {"path": str(bad)})
    assert refused.status == 422 and str(bad) in refused.json()["error"]  # type: ignore[operator]
    assert server.scenario.name == "codes"
    missing = await post_json(live.port, "/scenario", {})
    assert missing.status == 400


async def test_unknown_routes_and_methods(live: LiveServer) -> None:
    assert (await http(live.port, "GET", "/nothing")).status == 404
    wrong = await http(live.port, "DELETE", "/metrics")
    assert wrong.status == 405 and wrong.headers["allow"] == "GET"
    assert (await http(live.port, "GET", "/scenario")).headers["allow"] == "POST"


def test_it_listens_on_loopback_unless_allowed() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.9.9.9")
    assert is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("bench.example")
    server = Server()
    with pytest.raises(RemoteBindRefused, match="--http-allow-remote"):
        LiveServer(server, "0.0.0.0", 8080)
    LiveServer(server, "0.0.0.0", 8080, allow_remote=True)  # allowed: made, not started


async def test_the_endpoints_own_faults_switch_through_post_faults() -> None:
    """``sipfault run --http`` registers the faults of the whole endpoint (outage, overload,
    slow): POST /faults starts and ends them as a scenario's ``endpoint_faults`` would."""
    async with (
        Server(REPO / "scenarios" / "busy.yaml", t1=0.02) as server,
        LiveServer(server, faults=endpoint_fault_registry(server)) as view,
    ):
        names = [item["name"] for item in
                 (await http(view.port, "GET", "/faults")).json()["faults"]]
        assert {"outage", "overload", "slow"} <= set(names)
        on = await post_json(view.port, "/faults",
                             {"name": "overload", "on": True, "retry_after": 20})
        assert (on.status, on.json()["active"]) == (200, True)
        assert "overload" in server.endpoint_faults
        statuses = await asyncio.to_thread(_busy_call, server.host, server.port, "ovl-1")
        assert statuses[-1] == 503  # every new request refused while it lasts
        bad = await post_json(view.port, "/faults",
                              {"name": "slow", "on": True, "by": "soon"})
        assert bad.status in (400, 409) and "duration" in str(bad.json()["error"])
        off = await post_json(view.port, "/faults", {"name": "overload", "on": False})
        assert off.json()["active"] is False and server.endpoint_faults == {}
        statuses = await asyncio.to_thread(_busy_call, server.host, server.port, "ovl-2")
        assert statuses[-1] == 486
