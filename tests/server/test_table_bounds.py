"""The endpoint's own tables stay bounded: UDP peers by source address, TCP connections, and
the live counts the API reports (``Server.counts()``, ``Controller.counts()``).

Everything talks to 127.0.0.1 only; waits poll the server with a deadline, never a guess.
"""

from __future__ import annotations

import asyncio
import time

from sipfault import Controller, Server
from sipfault.core.counts import LiveCounts
from sipfault.core.events import Peer
from sipfault.transport import udp
from sipfault.transport.udp import UdpEndpoint
from tests.testing.sip_client import SipClient

ZERO = LiveCounts(transactions=0, dialogs=0, timers=0, client_transactions=0)


def test_udp_peers_are_kept_for_at_most_peers_kept_addresses() -> None:
    """One Peer per source address is remembered; a flood of addresses empties the table."""
    seen: list[Peer] = []
    endpoint = UdpEndpoint(lambda data, peer: seen.append(peer))
    for n in range(3 * udp._PEERS_KEPT + 7):
        endpoint.datagram_received(b"x", ("127.0.0.1", 1024 + n))
        assert len(endpoint._peers) <= udp._PEERS_KEPT
    assert len(seen) == 3 * udp._PEERS_KEPT + 7
    assert seen[-1].remote == ("127.0.0.1", 1024 + 3 * udp._PEERS_KEPT + 6)


async def _until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_closed_tcp_connections_leave_the_table() -> None:
    async with Server(t1=0.01) as server:
        for round_ in range(3):
            clients = [SipClient(server.host, server.port, "tcp") for _ in range(40)]
            await _until(lambda: len(server._connections) == 40)
            assert server.counts().connections == 40
            for client in clients:
                client.send(client.request("OPTIONS"))
            replies = await asyncio.gather(*(asyncio.to_thread(c.until_final) for c in clients))
            assert {reply[-1].status for reply in replies} == {200}, round_
            for client in clients:
                client.close()
            await _until(lambda: not server._connections)
        # Over TCP Timer J is zero: nothing of the 120 OPTIONS is left.
        await _until(lambda: server.counts() == ZERO)


def test_controller_counts_return_to_zero_after_timer_j_and_l() -> None:
    """RFC 3261 §17.2: with T1 = 10 ms, Timers J and L (64*T1) end within 0.64 s."""
    with Controller(t1=0.01) as sip:
        sip.on("INVITE").reply(200)
        assert sip.counts() == ZERO
        with SipClient(sip.host, sip.port) as client:
            for _ in range(20):
                client.send(client.request("OPTIONS"))
                assert client.until_final()[-1].status == 200
            invite = client.request("INVITE", "bob")
            client.send(invite)
            ok = client.until_final()[-1]
            assert ok.status == 200
            assert sip.counts().dialogs == 1
            client.send(client.ack_for(invite, ok))
            sip.wait_for("ACK")
        assert sip.counts().transactions >= 1  # Timer L keeps the INVITE for 64*T1
        deadline = time.monotonic() + 10.0
        while (counts := sip.counts()).transactions or counts.timers:
            assert time.monotonic() < deadline, counts
            time.sleep(0.02)
        assert counts == LiveCounts(transactions=0, dialogs=1, timers=0, client_transactions=0)
