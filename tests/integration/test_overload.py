"""Load shedding on the wire (RFC 3261 §21.5.4): ``sipfault run --max-transactions N`` answers
new INVITEs past N live transactions with 503 and Retry-After, says so on its console, and
serves again once they have expired; SIPp's UAC sees the refusals as failed calls."""

from __future__ import annotations

import re

from tests.integration.raw_sip import OFFER, RawClient
from tests.peers.sipfault_cli import run_sipfault
from tests.peers.sipp import run_sipp

SCENARIO = "bench/answer-immediate.yaml"


def _call(client: RawClient, n: int, ack: bool = True) -> int | None:
    """INVITE number ``n``; ACK its final response. Returns the status (None: no answer)."""
    invite = client.request("INVITE", call_id=f"shed-{n}", branch=f"z9hG4bKshed{n}",
                            from_tag=f"f{n}", body=OFFER)
    client.send(invite)
    arrivals = [a for a in client.collect(2.0, until=1) if a.status and a.status >= 200]
    if not arrivals:
        return None
    final = arrivals[0]
    if ack:
        branch = f"z9hG4bKshed{n}" if final.status != 200 else f"z9hG4bKack{n}"
        client.send(client.request("ACK", call_id=f"shed-{n}", branch=branch, from_tag=f"f{n}",
                                   to_tag=final.to_tag))
    return final.status


def test_past_max_transactions_new_invites_get_503_until_the_transactions_expire() -> None:
    with run_sipfault(SCENARIO, t1="100ms", extra_args=["--max-transactions", "3"]) as server, \
            RawClient(server.host, server.port) as client:
        assert [_call(client, n) for n in range(3)] == [200, 200, 200]
        invite = client.request("INVITE", call_id="shed-x", branch="z9hG4bKshedx",
                                from_tag="fx", body=OFFER)
        client.send(invite)
        [refusal] = client.collect(2.0, until=1)
        assert refusal.status == 503
        assert refusal.header("Retry-After") == "2"
        client.send(invite)  # a retransmission: the same answer, byte for byte
        [again] = client.collect(2.0, until=1)
        assert again.data == refusal.data
        client.send(client.request("ACK", call_id="shed-x", branch="z9hG4bKshedx",
                                   from_tag="fx", to_tag=refusal.to_tag))
        assert server.wait_for_line(
            r"!! shedding load: 3 transactions >= --max-transactions 3; "
            r"new INVITE/REGISTER get 503 Retry-After 2"), server.output
        # Timer L (64*T1 = 6.4 s) ends the three accepted INVITEs: shedding stops by itself.
        assert server.wait_for_line(
            r"!! load shedding over after \d+\.\d s: 2 requests refused", 15.0), server.output
        assert _call(client, 9) == 200
        server.stop()
    summary = server.summary
    # The refused INVITE (twice) and its ACK were read from their bytes, not journaled.
    assert summary.requests == {"INVITE": 4, "ACK": 4}, server.output
    assert summary.responses == {"200": 4}, server.output
    assert re.search(r"^load shedding: 1 episode\(s\), \d+\.\d s, 2 INVITE/REGISTER refused",
                     server.output, re.MULTILINE), server.output
    assert summary.findings == {}


def test_sipp_calls_past_the_capacity_are_refused_and_the_rest_served() -> None:
    with run_sipfault(SCENARIO, t1="100ms", quiet=True,
                      extra_args=["--max-transactions", "40"]) as server:
        result = run_sipp("uac", server.host, server.port, calls=120, rate=60, timeout=30.0,
                          trace_messages=False)
        output = server.stop()
    # 40 transactions are 20 calls (an INVITE and a BYE each, kept 6.4 s): the calls past them
    # in those 2 s are refused; the rest are served in full.
    assert result.successful >= 20, output
    assert result.failed >= 40, output
    assert result.successful + result.failed == 120, output
    shedding = re.search(r"^load shedding: \d+ episode\(s\), [\d.]+ s, (\d+) INVITE/REGISTER",
                         output, re.MULTILINE)
    assert shedding is not None, output
    assert int(shedding[1]) >= 40, output
