"""Findings made by a raw-socket client that misbehaves on purpose, against a running sipfault
(in-process, T1 = 100 ms): each is reported through the Python API with its RFC section, and
the same exchange done right is not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sipfault.scenario import load_scenario_text
from sipfault.testing import Controller
from tests.integration.raw_sip import OFFER, RawClient

T1 = 0.1


@contextlib.contextmanager
def serving(text: str = "rules: []", **options: Any) -> Iterator[tuple[Controller, RawClient]]:
    with Controller(load_scenario_text(text), t1=T1, **options) as server, \
            RawClient(server.host, server.port) as client:
        yield server, client


def kinds(server: Controller) -> list[str]:
    return [finding.kind for finding in server.findings()]


def test_a_branch_reused_for_another_call() -> None:
    with serving() as (server, client):
        client.send(client.request("OPTIONS", branch="z9hG4bKsame", call_id="one@x"))
        client.collect(0.3, until=1)
        client.send(client.request("OPTIONS", branch="z9hG4bKsame", call_id="one@x"))
        client.collect(0.3, until=1)  # a true retransmission: nothing to report
        assert kinds(server) == []
        client.send(client.request("OPTIONS", branch="z9hG4bKsame", call_id="two@x"))
        client.collect(0.3, until=1)
        (finding,) = server.findings()
    assert finding.kind == "branch-reused" and "Call-ID two@x" in finding.text
    assert finding.text.endswith("(RFC 3261 §8.1.1.7)")


LOST = """
rules:
  - match: {method: INVITE}
    faults: [drop]
    reply: [{code: 486, after: 2s}]
  - match: {method: OPTIONS}
    reply: [200]
"""


def _retransmit(client: RawClient, request: bytes, offsets: list[float]) -> None:
    start = time.monotonic()
    client.send(request)
    for offset in offsets:
        time.sleep(max(0.0, start + offset - time.monotonic()))
        client.send(request)


def test_an_interval_that_does_not_double() -> None:
    with serving(LOST) as (server, client):
        _retransmit(client, client.request("INVITE"), [0.1, 0.2, 0.3, 0.4])
        time.sleep(0.1)
        assert "no-backoff" in kinds(server)


def test_retransmissions_that_double_make_no_finding() -> None:
    with serving(LOST) as (server, client):
        _retransmit(client, client.request("INVITE"), [0.1, 0.3, 0.7])
        time.sleep(0.1)
        assert kinds(server) == []


def test_a_retransmission_after_the_final_response() -> None:
    with serving(LOST) as (server, client):
        options = client.request("OPTIONS")
        client.send(options)
        assert [a.status for a in client.collect(0.3, until=1)] == [200]
        time.sleep(0.2)
        client.send(options)
        client.collect(0.2, until=1)
        assert kinds(server) == ["retransmission-after-final"]


def test_the_ack_of_a_2xx_with_another_cseq() -> None:
    with serving("""
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
""") as (server, client):
        client.send(client.request("INVITE", body=OFFER, call_id="ack@x"))
        (ok,) = client.collect(0.3, until=1)
        client.send(client.request("ACK", call_id="ack@x", to_tag=ok.to_tag, cseq=9))
        assert client.collect(0.4) == []  # it stopped the 2xx's retransmission nonetheless
        assert kinds(server) == ["ack-wrong-cseq"]


FORK = """
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer, fault: fork}]
"""


def test_a_forked_2xx_never_acked() -> None:
    with serving(FORK) as (server, client):
        client.send(client.request("INVITE", body=OFFER, call_id="fk@x"))
        first, _second = client.collect(0.3, until=2)
        client.send(client.request("ACK", call_id="fk@x", to_tag=first.to_tag))
        client.send(client.request("BYE", call_id="fk@x", to_tag=first.to_tag, cseq=2))
        time.sleep(64 * T1 + 0.5)  # the second fork's 2xx gives up; sipfault sends BYE
        found = kinds(server)
        bye = [a for a in client.collect(0.5) if a.data.startswith(b"BYE ")]
    assert "fork-no-ack" in found and "no-ack" not in found
    assert bye  # the extra dialog was ended by sipfault, as for any unacknowledged 2xx


def test_forked_2xx_dialogs_both_kept() -> None:
    with serving(FORK) as (server, client):
        client.send(client.request("INVITE", body=OFFER, call_id="fk2@x"))
        first, second = client.collect(0.3, until=2)
        for arrival in (first, second):
            client.send(client.request("ACK", call_id="fk2@x", to_tag=arrival.to_tag))
        time.sleep(64 * T1 + 0.5)
        assert kinds(server) == ["fork-not-ended"]
        assert "RFC 3261 §13.2.2.4" in server.findings()[0].text


def test_a_binding_never_refreshed() -> None:
    with serving("defaults: {min_expires: 1}\nrules: []\n") as (server, client):
        client.send(client.request("REGISTER", extra="Expires: 1"))
        assert [a.status for a in client.collect(0.3, until=1)] == [200]
        time.sleep(1 + 64 * T1 + 0.5)
        assert kinds(server) == ["no-refresh"]


AUTH = """
auth:
  users: {alice: secret}
  methods: [REGISTER]
rules: []
"""


@pytest.mark.parametrize(
    ("credentials", "kind", "status"),
    [
        ('Proxy-Authorization: Digest username="alice", realm="sipfault", nonce="n", '
         'uri="sip:127.0.0.1", response="00"', "auth-not-as-challenged", 401),
        ('Authorization: Digest username="alice", realm="elsewhere", nonce="n", '
         'uri="sip:127.0.0.1", response="00"', "auth-not-as-challenged", 401),
        ('Authorization: Digest username="alice", realm="sipfault", nonce="n", '
         'uri="sip:127.0.0.1", response="00", algorithm=SHA-256', "auth-algorithm-not-offered",
         400),
    ],
    ids=["other-header", "other-realm", "sha-256-not-offered"],
)
def test_credentials_not_as_challenged(credentials: str, kind: str, status: int) -> None:
    with serving(AUTH) as (server, client):
        client.send(client.request("REGISTER", extra=credentials))
        (answer,) = client.collect(0.3, until=1)
        assert answer.status == status
        assert kinds(server) == [kind]


def test_a_register_answering_the_challenge_right_makes_no_finding() -> None:
    from sipfault.sip.digest import Algorithm, compute_response, parse_auth_params

    with serving(AUTH) as (server, client):
        client.send(client.request("REGISTER", call_id="reg@x"))
        (challenge,) = client.collect(0.3, until=1)
        _, params = parse_auth_params(challenge.header("WWW-Authenticate") or "")
        uri = f"sip:bob@{server.host}:{server.port}"
        response = compute_response(Algorithm.MD5, "alice", params["realm"], "secret",
                                    "REGISTER", uri, params["nonce"], 1, "c0ffee", "auth", b"")
        client.send(client.request(
            "REGISTER", call_id="reg@x", cseq=2,
            extra=f'Authorization: Digest username="alice", realm="{params["realm"]}", '
                  f'nonce="{params["nonce"]}", uri="{uri}", response="{response}", '
                  'algorithm=MD5, cnonce="c0ffee", nc=00000001, qop=auth'))
        (ok,) = client.collect(0.3, until=1)
        assert ok.status == 200
        assert kinds(server) == []
