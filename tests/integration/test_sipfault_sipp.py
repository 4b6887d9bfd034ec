"""`sipfault run` answers SIPp's UAC over UDP and TCP as the shipped scenarios say.

Each SIPp scenario checks the responses it gets (codes, order, Retry-After, CSeq, tags, SDP) and
fails the call otherwise; the same XML passes against a SIPp UAS playing the scenario
(test_reference_peers.py), so a failure here is sipfault's. Each test then stops sipfault and
checks the summary it prints: the exact counts also show that the ACK matched its transaction
(an unmatched ACK leaves the final response retransmitted over UDP).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.peers.fixtures import StartSipfault
from tests.peers.sipfault_cli import SipfaultProcess
from tests.peers.sipp import SippResult, run_sipp

pytestmark = pytest.mark.peer

SIPP_DIR = Path(__file__).with_name("sipp")
TRANSPORTS = ["udp", "tcp"]

#: Over UDP wait past the default T1 (500 ms) before stopping, so that a final response left
#: unacknowledged would be retransmitted (RFC 3261 §17.2.1) and show in the summary.
SETTLE = {"udp": 0.8, "tcp": 0.2}


def _explain(result: SippResult, server: SipfaultProcess) -> str:
    return f"{result.describe()}\n--- sipfault output ---\n{server.output}"


def _run_uac(server: SipfaultProcess, xml: str, transport: str, service: str) -> SippResult:
    return run_sipp(
        SIPP_DIR / xml,
        server.host,
        server.port,
        transport=transport,
        service=service,
        calls=1,
        timeout=20,
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_busy_invite_gets_100_180_486_with_retry_after(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/busy.yaml")

    result = _run_uac(server, "uac-busy.xml", transport, service="486")

    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"INVITE": 1, "ACK": 1}, server.output
    assert summary.responses == {"100": 1, "180": 1, "486": 1}, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_of_ringing_call_gets_200_and_487(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/ring-forever.yaml")

    result = _run_uac(server, "uac-cancel.xml", transport, service="ring")

    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"INVITE": 1, "CANCEL": 1, "ACK": 1}, server.output
    assert summary.responses == {"100": 1, "180": 1, "200": 1, "487": 1}, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_answered_call_with_sdp_then_bye(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/answer.yaml")

    result = _run_uac(server, "uac-answer-bye.xml", transport, service="alice")

    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"INVITE": 1, "ACK": 1, "BYE": 1}, server.output
    # 200 to the INVITE (sent once: the ACK stopped its retransmission) and 200 to the BYE.
    assert summary.responses == {"100": 1, "180": 1, "200": 2}, server.output
