"""Controls for the peer tests: the same SIPp UAC scenarios and PJSUA2 calls, run against SIPp
UAS scenarios that play busy, ring-forever and answer by hand (tests/integration/sipp/uas-*.xml).

They pass whatever state sipfault is in; when a sipfault test fails and its control passes, the
fault is sipfault's, not the harness's. They also prove the checks bite: a UAS that sends the
wrong Retry-After or no SDP makes the UAC scenario fail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.locate import SIPP_SCENARIOS
from tests.peers.pjsua import pjsua_call, pjsua_register
from tests.peers.sipp import SippServer, run_sipp, sipp_server

pytestmark = pytest.mark.peer

TRANSPORTS = ["udp", "tcp"]
FLOWS = [
    ("uas-busy.xml", "uac-busy.xml"),
    ("uas-busy.xml", "uac-busy-late-ack.xml"),
    ("uas-ring-forever.xml", "uac-cancel.xml"),
    ("uas-answer.xml", "uac-answer-bye.xml"),
    ("uas-options.xml", "uac-options.xml"),
]


@contextlib.contextmanager
def reference_uas(uas: str, **options: Any) -> Iterator[SippServer]:
    """The SIPp UAS `uas` for one call; once the block is left it must have seen that call
    through (options as `sipp_server` takes them)."""
    with sipp_server(SIPP_SCENARIOS / uas, calls=1, **options) as server:
        yield server
    assert server.result is not None
    assert (server.result.successful, server.result.failed) == (1, 0), server.result.describe()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("uas", "uac"), FLOWS, ids=[uac for _, uac in FLOWS])
def test_uac_scenario_passes_against_reference_uas(
    sipp: str, uas: str, uac: str, transport: str
) -> None:
    with reference_uas(uas, transport=transport, timeout=30) as server:
        result = run_sipp(SIPP_SCENARIOS / uac, server.host, server.port, transport=transport)
        assert result.returncode == 0, result.describe()
        assert (result.successful, result.failed) == (1, 0), result.describe()


@pytest.mark.parametrize(
    ("uas", "uac", "sabotage", "failed_check"),
    [
        ("uas-busy.xml", "uac-busy.xml", ("Retry-After: 30", "Retry-After: 300"), "' 300'"),
        ("uas-answer.xml", "uac-answer-bye.xml", ("m=audio", "m=video"), "m=audio"),
        ("uas-ring-forever.xml", "uac-cancel.xml", ("CSeq: 1 INVITE", "CSeq: 1 CANCEL"), "INVITE"),
    ],
    ids=["wrong-retry-after", "no-audio-in-answer", "487-not-for-invite"],
)
def test_uac_scenario_fails_against_a_wrong_uas(
    sipp: str, tmp_path: Path, uas: str, uac: str, sabotage: tuple[str, str], failed_check: str
) -> None:
    text = (SIPP_SCENARIOS / uas).read_text()
    assert sabotage[0] in text
    broken = tmp_path / uas
    broken.write_text(text.replace(sabotage[0], sabotage[1]))
    with sipp_server(broken, calls=1, timeout=30) as server:
        result = run_sipp(SIPP_SCENARIOS / uac, server.host, server.port, timeout=10)
    assert result.returncode == 1, result.describe()
    assert result.failed == 1, result.describe()
    assert result.counter("FailedRegexpDoesntMatch") == 1, result.describe()
    assert failed_check in result.errors, result.describe()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pjsua_call_ends_busy_against_reference_uas(
    pjsua2: None, sipp: str, transport: str
) -> None:
    with reference_uas("uas-busy.xml", transport=transport) as server:
        result = pjsua_call(server.uri("486"), transport=transport)
    assert result.returncode == 0, result.describe()
    assert (result.status, result.reason) == (486, "Busy Here"), result.describe()
    assert result.call_states == ["CALLING", "EARLY", "DISCONNECTED"], result.describe()
    assert result.statuses("INVITE") == [100, 180, 486], result.describe()
    assert result.received("INVITE")[-1].header("Retry-After") == "30", result.describe()
    assert [message.method for message in result.sent()] == ["INVITE", "ACK"], result.describe()
    assert result.noise == [], result.describe()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pjsua_call_answered_and_hung_up_against_reference_uas(
    pjsua2: None, sipp: str, transport: str
) -> None:
    with reference_uas("uas-answer.xml", transport=transport) as server:
        result = pjsua_call(server.uri("alice"), transport=transport, hangup_after=0.2)
    assert result.returncode == 0, result.describe()
    assert result.call_states[-2:] == ["CONFIRMED", "DISCONNECTED"], result.describe()
    assert "m=audio " in result.received("INVITE")[-1].body, result.describe()
    assert [message.method for message in result.sent()] == ["INVITE", "ACK", "BYE"]
    assert result.statuses("BYE") == [200], result.describe()


@pytest.mark.parametrize(("password", "status"), [("secret", 200), ("wrong", 403)])
def test_pjsua_register_answers_digest_challenge(
    pjsua2: None, sipp: str, password: str, status: int
) -> None:
    with reference_uas("uas-register-digest.xml") as server:
        result = pjsua_register(
            f"sip:{server.hostport}", user="alice", password=password, unregister=True
        )
    assert result.returncode == 0, result.describe()
    assert result.result["registered"]["code"] == status, result.describe()
    assert result.statuses("REGISTER")[:2] == [401, status], result.describe()
    authorization = result.sent("REGISTER")[1].header("Authorization") or ""
    assert authorization.startswith("Digest ") and 'username="alice"' in authorization
    if status == 200:
        assert result.result["unregistered"]["code"] == 200, result.describe()
        assert result.sent("REGISTER")[-1].header("Expires") == "0", result.describe()
