"""sipfault.Server: rules in code, the journal, wait_for and the unexpected check, over sockets.

Clients are plain sockets on 127.0.0.1; each test waits on the server's journal, never on a
clock, and every socket read has a timeout.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from sipfault import Server
from sipfault.api import UnexpectedTraffic, WaitTimeout
from sipfault.scenario.loader import load_scenario_text
from sipfault.transport.tls import server_context
from tests.testing.sip_client import TLS_CA, Reply, SipClient

T = TypeVar("T")
TLS_DIR = TLS_CA.parent


async def in_thread(function: Callable[[], T]) -> T:
    """Blocking socket work off the loop, so the server keeps answering."""
    return await asyncio.to_thread(function)


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_busy_rule_answers_and_the_journal_records(transport: str) -> None:
    tls = server_context(TLS_DIR / "cert.pem", TLS_DIR / "key.pem") if transport == "tls" else None
    async with Server(tls=tls) as server:
        port = server.tls_port if transport == "tls" else server.port
        server.on("INVITE", to_user="alice").reply(100, 180, (486, {"Retry-After": 30}))
        # Connecting off the loop: a TLS handshake needs the server to answer meanwhile.
        with await in_thread(lambda: SipClient(server.host, port, transport)) as client:
            invite = client.request("INVITE", "alice", headers=(("User-Agent", "dialer/1.0"),))
            client.send(invite)
            replies = await in_thread(client.until_final)
            client.send(client.ack_for(invite, replies[-1]))
            acks = await server.wait_for("ACK")

        assert [reply.status for reply in replies] == [100, 180, 486]
        assert replies[-1].headers["retry-after"] == "30"
        (record,) = server.requests("INVITE")
        assert record.header("user-agent") == "dialer/1.0"
        assert record.header("v") == record.header("Via")  # compact form, any case
        assert record.uri == f"sip:alice@127.0.0.1:{port}"
        assert record.source == client.local
        assert record.destination == ("127.0.0.1", port)
        assert record.transport == transport
        assert record.body == b""
        assert abs(record.time - time.time()) < 60  # wall clock, not loop time
        assert len(acks) == 1 and acks[0].time >= record.time
        assert [r.status for r in server.responses("INVITE")] == [100, 180, 486]
        assert server.unexpected() == []
        server.check()


async def test_two_rules_drop_the_first_then_answer() -> None:
    async with Server() as server:
        server.on("INVITE").times(1).drop()
        server.on("INVITE").reply((486, {}, {"reason": "Not Today"}))
        with SipClient(server.host, server.port) as lost, SipClient(
            server.host, server.port
        ) as answered:
            lost.send(lost.request("INVITE", call_id="lost@test"))
            await server.wait_for("INVITE")
            answered.send(answered.request("INVITE", call_id="answered@test"))
            replies = await in_thread(answered.until_final)
        assert (replies[-1].status, replies[-1].reason) == (486, "Not Today")
        assert [r.call_id for r in server.requests("INVITE")] == ["lost@test", "answered@test"]
        assert {r.call_id for r in server.responses()} == {"answered@test"}


async def test_adding_a_rule_keeps_counters_clearing_restarts_them() -> None:
    async with Server() as server:
        server.on("OPTIONS").times(1).reply(503)

        async def options() -> int:
            with SipClient(server.host, server.port) as client:
                client.send(client.request("OPTIONS"))
                return (await in_thread(client.until_final))[-1].status

        assert await options() == 503
        server.on("MESSAGE").reply(202)  # does not restart the OPTIONS rule's counter
        assert await options() == 200  # the first request was used up: RFC default
        server.clear_rules()
        server.on("OPTIONS").times(1).reply(480)
        assert await options() == 480
        assert len(server.rules) == 1


async def test_load_replaces_the_rules_with_a_scenario() -> None:
    scenario = load_scenario_text("rules: [{match: {method: OPTIONS}, reply: [488]}]")
    async with Server(t1=0.05) as server:
        server.on("OPTIONS").reply(500)
        server.load(scenario)
        assert server.scenario.timers.t1 == 0.05  # the override outlives the load
        with SipClient(server.host, server.port) as client:
            client.send(client.request("OPTIONS"))
            assert (await in_thread(client.until_final))[-1].status == 488


async def test_wait_for_timeout_explains_with_the_ladder() -> None:
    async with Server() as server:
        server.on("INVITE").reply(486)
        with SipClient(server.host, server.port) as client:
            client.send(client.request("INVITE", call_id="ladder@test"))
            await in_thread(client.until_final)
            with pytest.raises(WaitTimeout) as caught:
                await server.wait_for("ACK", timeout=0.05)
    text = str(caught.value)
    assert "waited 0.05 s for 1 ACK request, got 0" in text
    assert re.search(r"<- udp 127\.0\.0\.1:\d+ INVITE sip:alice@", text)
    assert re.search(r"-> udp 127\.0\.0\.1:\d+ SIP/2\.0 486 Busy Here", text)
    assert "rule 'rule 1' took the INVITE" in text


async def test_wait_for_counts_and_ignores_retransmissions() -> None:
    async with Server() as server:
        server.on("MESSAGE").reply(202)
        with SipClient(server.host, server.port) as client:
            first = client.request("MESSAGE", call_id="m1@test")
            client.send(first)
            await in_thread(client.until_final)
            client.send(first)  # a retransmission: answered again, not counted
            await in_thread(client.until_final)
            client.send(client.request("MESSAGE", call_id="m2@test"))
            found = await server.wait_for("MESSAGE", count=2)
        assert [r.call_id for r in found] == ["m1@test", "m2@test"]
        assert len(server.requests("MESSAGE", retransmissions=True)) == 3


@pytest.mark.parametrize(
    ("method", "status"),
    [("SUBSCRIBE", 405), ("FROBNICATE", 501)],
)
async def test_refused_requests_are_unexpected(method: str, status: int) -> None:
    async with Server() as server:
        with SipClient(server.host, server.port) as client:
            client.send(client.request(method, call_id=f"{method}@test"))
            assert (await in_thread(client.until_final))[-1].status == status
        (item,) = server.unexpected()
        assert (item.kind, item.status, item.method) == ("unmatched", status, method)
        assert item.call_id == f"{method}@test"
        with pytest.raises(UnexpectedTraffic) as caught:
            server.check()
        text = str(caught.value)
        assert "saw 1 thing the test did not expect" in text
        assert f"{method} sip:alice@" in text
        assert f'.on("{method}").reply(200)' in text
        server.check(allow=[status])
        server.check(allow=["unmatched"])


async def test_in_dialog_request_without_dialog_and_findings_are_unexpected() -> None:
    async with Server() as server:
        with SipClient(server.host, server.port) as client:
            client.send(client.request("BYE", to_tag="nosuchdialog"))
            assert (await in_thread(client.until_final))[-1].status == 481
            client.send(b"INVITE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;"
                        b"rport;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n")
            assert (await in_thread(client.until_final))[-1].status == 400
        kinds = [(item.kind, item.status) for item in server.unexpected()]
        assert kinds == [("unmatched", 481), ("bad-request", None)]


async def test_expected_traffic_is_not_unexpected() -> None:
    async with Server() as server:
        with SipClient(server.host, server.port) as client:
            client.send(client.request("OPTIONS"))  # the default 200 is fine
            assert (await in_thread(client.until_final))[-1].status == 200
        server.on("SUBSCRIBE").reply(489)  # a rule's own 4xx is what the test asked for
        with SipClient(server.host, server.port) as client:
            client.send(client.request("SUBSCRIBE"))
            assert (await in_thread(client.until_final))[-1].status == 489
        assert server.unexpected() == []


async def test_clear_journal_forgets() -> None:
    async with Server() as server:
        with SipClient(server.host, server.port) as client:
            client.send(client.request("SUBSCRIBE"))
            await in_thread(client.until_final)
        assert server.requests() and server.unexpected()
        server.clear_journal()
        assert server.requests() == [] and server.unexpected() == []
        assert server.ladder() == "  (no messages)"


async def test_two_servers_do_not_collide() -> None:
    async with Server() as first, Server() as second:
        assert first.port != second.port
        first.on("OPTIONS").reply(503)
        with SipClient(second.host, second.port) as client:
            client.send(client.request("OPTIONS"))
            assert (await in_thread(client.until_final))[-1].status == 200
        assert first.requests() == [] and len(second.requests("OPTIONS")) == 1


async def test_busy_port_error_says_what_to_try() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    try:
        port = holder.getsockname()[1]
        with pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1:\d+ .*port=0"):
            async with Server(port=port):
                pass
    finally:
        holder.close()


async def test_record_of_a_response_and_a_body() -> None:
    async with Server() as server:
        server.on("MESSAGE").reply({"code": 200, "body": "pong {from_user}"})
        with SipClient(server.host, server.port) as client:
            client.send(client.request("MESSAGE", body=b"ping \xc3\xa9",
                                       headers=(("Content-Type", "text/plain"),)))
            reply: Reply = (await in_thread(client.until_final))[-1]
        assert reply.raw.endswith(b"pong tester")
        (request,) = server.requests("MESSAGE")
        assert request.text == "ping \u00e9"
        (response,) = server.responses("MESSAGE", status=200)
        assert response.body == b"pong tester"
        assert response.source == ("127.0.0.1", server.port)
        assert response.destination == client.local
        assert str(response).startswith(f"-> udp 127.0.0.1:{client.local[1]} SIP/2.0 200 OK ")
