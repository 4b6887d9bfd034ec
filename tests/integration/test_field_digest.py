"""Digest as field devices do it, over a real socket to the shipped register-auth.yaml.

Each client here is a raw socket that behaves exactly as the devices that prompted the change:
- a printer that answers with the RFC 2069 form (no qop, cnonce or nc) although the challenge
  offered qop="auth": accepted, and reported as `digest-without-qop` (RFC 7616 §3.4);
- a password guesser that starts a new Call-ID for every guess, so the per-call count of
  `max_attempts` never stops it: the per-user lockout does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sipfault import Controller
from sipfault.sip.digest import Algorithm, compute_response, parse_auth_params
from tests.testing.sip_client import Reply, SipClient

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD, REALM = "printer", "fax-secret", "sipfault"


@pytest.fixture
def registrar() -> Iterator[Controller]:
    with Controller(REPO / "scenarios" / "register-auth.yaml", listen="127.0.0.1:0",
                    transports=["udp"]) as server:
        yield server


def register(client: SipClient, *, call_id: str, cseq: int,
             authorization: str | None = None) -> bytes:
    headers = (("Expires", "600"),)
    if authorization is not None:
        headers += (("Authorization", authorization),)
    return client.request("REGISTER", USER, call_id=call_id, cseq=cseq, headers=headers)


def rfc2069_answer(challenge: Reply, password: str, uri: str) -> str:
    """What an old printer sends: H(HA1:nonce:HA2), no qop, cnonce or nc (RFC 2069 §2.1.2)."""
    _, params = parse_auth_params(challenge.headers["www-authenticate"])
    digest = compute_response(Algorithm.MD5, USER, params["realm"], password, "REGISTER", uri,
                              params["nonce"], 0, "", None)
    return (f'Digest username="{USER}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
            f'uri="{uri}", response="{digest}", algorithm=MD5')


def exchange(client: SipClient, data: bytes) -> Reply:
    client.send(data)
    return client.receive()


def test_a_printer_answering_without_qop_registers_and_is_reported(
    registrar: Controller,
) -> None:
    with SipClient(registrar.host, registrar.port) as client:
        uri = f"sip:{USER}@{registrar.host}:{registrar.port}"
        challenge = exchange(client, register(client, call_id="p1", cseq=1))
        assert challenge.status == 401
        assert 'qop="auth"' in challenge.headers["www-authenticate"]
        assert "algorithm=MD5" in challenge.headers["www-authenticate"]
        answer = rfc2069_answer(challenge, PASSWORD, uri)
        accepted = exchange(client, register(client, call_id="p1", cseq=2,
                                                   authorization=answer))
    assert accepted.status == 200
    findings = [item for item in registrar.unexpected() if item.kind == "digest-without-qop"]
    assert len(findings) == 1 and "RFC 7616 §3.4" in findings[0].text
    assert list(registrar.bindings()) == [f"sip:{USER}@{registrar.host}"]


def test_a_guesser_with_a_new_call_id_per_guess_is_locked_out(registrar: Controller) -> None:
    """register-auth.yaml: max_attempts 3 per call, lockout after 10 wrong answers a minute."""
    statuses = []
    with SipClient(registrar.host, registrar.port) as client:
        uri = f"sip:{USER}@{registrar.host}:{registrar.port}"
        for guess in range(12):
            challenge = exchange(client, register(client, call_id=f"g{guess}", cseq=1))
            answer = rfc2069_answer(challenge, f"guess-{guess}", uri)
            reply = exchange(client, register(client, call_id=f"g{guess}", cseq=2,
                                                    authorization=answer))
            statuses.append(reply.status)
        # Locked out: the right password is refused as well, until the window has passed.
        challenge = exchange(client, register(client, call_id="right", cseq=1))
        right = rfc2069_answer(challenge, PASSWORD, uri)
        refused = exchange(client, register(client, call_id="right", cseq=2,
                                                  authorization=right))
    assert statuses == [401] * 9 + [403] * 3
    assert refused.status == 403 and "Too Many Failed Attempts" in refused.reason
    assert registrar.bindings() == {}
