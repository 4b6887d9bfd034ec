"""`sipfault run` handles calls from PJSUA2, a full SIP stack, over UDP, TCP and TLS.

The agent runs in a subprocess (tests/peers/pjsua_agent.py) and reports every message it sent
and received; the tests check the call's outcome, the responses, and sipfault's summary.
"""

from __future__ import annotations

import pytest

from tests.peers.calls import pjsua_dial, pjsua_register_at
from tests.peers.fixtures import StartSipfault

pytestmark = pytest.mark.peer

TRANSPORTS = ["udp", "tcp", "tls"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_call_ends_busy(pjsua2: None, start_sipfault: StartSipfault, transport: str) -> None:
    server = start_sipfault("scenarios/busy.yaml", tls=transport == "tls")

    result = pjsua_dial(server, "486", transport=transport)

    why = server.explain(result)
    assert (result.status, result.reason) == (486, "Busy Here"), why
    assert result.call_states == ["CALLING", "EARLY", "DISCONNECTED"], why
    assert result.statuses("INVITE") == [100, 180, 486], why
    busy = result.received("INVITE")[-1]
    retry_after = busy.header("Retry-After")
    assert retry_after is not None, why
    # Retry-After = delta-seconds [ comment ] *( SEMI retry-param ) (RFC 3261 §20.33)
    assert retry_after.split(";")[0].split("(")[0].strip() == "30", why
    # 180 Ringing 200 ms after the 100, 486 one second after that (generous upper bounds).
    times = {
        event["first_line"].split()[1]: event["t"]
        for event in result.of("sip")
        if event["dir"] == "rx"
    }
    assert 0.15 <= times["180"] - times["100"] <= 1.5, why
    assert 0.9 <= times["486"] - times["180"] <= 2.5, why
    assert [message.method for message in result.sent()] == ["INVITE", "ACK"], why

    server.finish(
        requests={"INVITE": 1, "ACK": 1}, responses={"100": 1, "180": 1, "486": 1}, peer=result
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_call_answered_then_hung_up(
    pjsua2: None, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/answer.yaml", tls=transport == "tls")

    result = pjsua_dial(server, "alice", transport=transport, hangup_after=0.3)

    why = server.explain(result)
    assert result.result.get("answered") is True, why
    assert result.call_states[-2:] == ["CONFIRMED", "DISCONNECTED"], why
    assert result.statuses("INVITE")[-1] == 200, why
    ok = result.received("INVITE")[-1]
    assert (ok.header("Content-Type") or "").lower().startswith("application/sdp"), why
    assert "m=audio " in ok.body, why
    assert ok.header("Contact"), why
    # PJSUA2 accepted the SDP answer: the audio stream is active (PJSUA_CALL_MEDIA_ACTIVE).
    assert result.of("media_state") and result.of("media_state")[-1]["media"][0] == 1, why
    assert [message.method for message in result.sent()] == ["INVITE", "ACK", "BYE"], why
    assert result.statuses("BYE") == [200], why

    server.finish(
        requests={"INVITE": 1, "ACK": 1, "BYE": 1},
        responses={"100": 1, "180": 1, "200": 2},
        peer=result,
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_register_then_unregister(
    pjsua2: None, start_sipfault: StartSipfault, transport: str
) -> None:
    # No rule for REGISTER: the default registrar answers.
    server = start_sipfault("scenarios/busy.yaml", tls=transport == "tls")

    result = pjsua_register_at(
        server, transport=transport, user="alice", password="secret", expires=60, unregister=True
    )

    why = server.explain(result)
    registered, unregistered = result.result["registered"], result.result["unregistered"]
    assert registered["code"] == 200, why
    # The 200 echoes the binding with an expiry no longer than asked (RFC 3261 §10.3 step 7).
    assert 0 < registered["expiration"] <= 60, why
    assert unregistered is not None and unregistered["code"] == 200, why
    ok = result.received("REGISTER")[0]
    assert any("alice@" in contact for contact in ok.header_values("Contact")), why

    server.finish(requests={"REGISTER": 2}, responses={"200": 2}, peer=result)
