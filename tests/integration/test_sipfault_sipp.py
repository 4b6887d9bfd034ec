"""`sipfault run` answers SIPp's UAC over UDP and TCP as the shipped scenarios say.

Each SIPp scenario checks the responses it gets (codes, order, Retry-After, CSeq, tags, SDP) and
fails the call otherwise; the same XML passes against a SIPp UAS playing the scenario
(test_reference_peers.py), so a failure here is sipfault's. Each test then stops sipfault and
checks the summary it prints: exact request and response counts, no response sent again (an
ACK that matched no transaction leaves the final response retransmitted over UDP) and no
finding about the client.
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

#: A short T1 (RFC 3261 §17.1.1.1) so a final response left unacknowledged is retransmitted
#: within SETTLE and shows in the summary; a conformant UAC ACKs well within it on loopback.
T1 = "100ms"
SETTLE = {"udp": 0.4, "tcp": 0.1}


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
    server = start_sipfault("scenarios/busy.yaml", t1=T1)

    result = _run_uac(server, "uac-busy.xml", transport, service="486")

    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"INVITE": 1, "ACK": 1}, server.output
    assert summary.responses == {"100": 1, "180": 1, "486": 1}, server.output
    server.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_of_ringing_call_gets_200_and_487(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/ring-forever.yaml", t1=T1)

    result = _run_uac(server, "uac-cancel.xml", transport, service="ring")

    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"INVITE": 1, "CANCEL": 1, "ACK": 1}, server.output
    assert summary.responses == {"100": 1, "180": 1, "200": 1, "487": 1}, server.output
    server.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_answered_call_with_sdp_then_bye(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/answer.yaml", t1=T1)

    result = _run_uac(server, "uac-answer-bye.xml", transport, service="alice")

    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"INVITE": 1, "ACK": 1, "BYE": 1}, server.output
    # 200 to the INVITE (sent once: the ACK stopped its retransmission) and 200 to the BYE.
    assert summary.responses == {"100": 1, "180": 1, "200": 2}, server.output
    server.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_486_is_retransmitted_on_timer_g_until_the_ack(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/busy.yaml", t1=T1)

    result = _run_uac(server, "uac-busy-late-ack.xml", transport, service="486")

    assert result.returncode == 0, _explain(result, server)
    arrivals = [message.time for message in result.received("SIP/2.0 486")]
    server.stop(settle=0.8)  # past the retransmission at 700 ms that the ACK cancelled
    summary = server.summary
    assert summary.requests == {"INVITE": 1, "ACK": 1}, server.output
    assert summary.responses == {"100": 1, "180": 1, "486": 1}, server.output
    if transport == "tcp":  # reliable transport: Timer G is not armed (RFC 3261 §17.2.1)
        assert len(arrivals) == 1, _explain(result, server)
        assert summary.retransmissions_out == 0, server.output
        return
    # Timer G fires at T1, then doubles: 100 ms, then 200 ms later; the ACK at 500 ms stops it.
    assert len(arrivals) == 3, _explain(result, server)
    first_gap, second_gap = arrivals[1] - arrivals[0], arrivals[2] - arrivals[1]
    assert 0.07 <= first_gap <= 0.25, (first_gap, _explain(result, server))
    assert 0.15 <= second_gap <= 0.45, (second_gap, _explain(result, server))
    assert summary.retransmissions_out == 2, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_options_gets_200_with_allow_accept_supported(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/busy.yaml", t1=T1)  # no rule for OPTIONS: the default

    result = _run_uac(server, "uac-options.xml", transport, service="probe")

    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"OPTIONS": 1}, server.output
    assert summary.responses == {"200": 1}, server.output
    server.assert_clean()
