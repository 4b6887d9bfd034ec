"""`sipfault run` answers SIPp's UAC over UDP and TCP as the shipped scenarios say.

Each SIPp scenario checks the responses it gets (codes, order, Retry-After, CSeq, tags, SDP) and
fails the call otherwise; the same XML passes against a SIPp UAS playing the scenario
(test_reference_peers.py), so a failure here is sipfault's. Each test then waits for sipfault's
journal to show the exchange over, stops sipfault and checks the summary it prints: exact
request and response counts, no response sent again and no finding about the client.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.peers.calls import sipp_call
from tests.peers.fixtures import PEER_T1, StartSipfault
from tests.peers.locate import SIPP_SCENARIOS

pytestmark = pytest.mark.peer

TRANSPORTS = ["udp", "tcp"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("scenario", "xml", "service", "requests", "responses"),
    [
        pytest.param(
            "scenarios/busy.yaml",
            "uac-busy.xml",
            "486",
            {"INVITE": 1, "ACK": 1},
            {"100": 1, "180": 1, "486": 1},
            id="busy-invite-gets-100-180-486-with-retry-after",
        ),
        pytest.param(
            "scenarios/ring-forever.yaml",
            "uac-cancel.xml",
            "ring",
            {"INVITE": 1, "CANCEL": 1, "ACK": 1},
            {"100": 1, "180": 1, "200": 1, "487": 1},
            id="cancel-of-ringing-call-gets-200-and-487",
        ),
        pytest.param(
            "scenarios/answer.yaml",
            "uac-answer-bye.xml",
            "alice",
            {"INVITE": 1, "ACK": 1, "BYE": 1},
            # 200 to the INVITE (sent once: the ACK stopped its retransmission), 200 to the BYE.
            {"100": 1, "180": 1, "200": 2},
            id="answered-call-with-sdp-then-bye",
        ),
        pytest.param(
            "scenarios/busy.yaml",  # no rule for OPTIONS: the default
            "uac-options.xml",
            "probe",
            {"OPTIONS": 1},
            {"200": 1},
            id="options-gets-200-with-allow-accept-supported",
        ),
    ],
)
def test_shipped_scenario_answers_sipp(
    sipp: str,
    start_sipfault: StartSipfault,
    transport: str,
    scenario: str,
    xml: str,
    service: str,
    requests: dict[str, int],
    responses: dict[str, int],
) -> None:
    server = start_sipfault(scenario)

    result = sipp_call(server, xml, transport=transport, service=service)

    server.finish(requests=requests, responses=responses, peer=result)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_486_is_retransmitted_on_timer_g_until_the_ack(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/busy.yaml", t1=PEER_T1)

    result = sipp_call(server, "uac-busy-late-ack.xml", transport=transport, service="486")

    # Timer G fires at T1, then doubles: 100 ms, then 200 ms later; the ACK at 500 ms stops it.
    # Over TCP, a reliable transport, it is not armed (RFC 3261 §17.2.1).
    resent = 2 if transport == "udp" else 0
    # finish() waits for the late ACK to end the transaction (Timer I): the retransmission due
    # at 700 ms was cancelled, and nothing more can be sent.
    server.finish(
        requests={"INVITE": 1, "ACK": 1},
        responses={"100": 1, "180": 1, "486": 1},
        retransmitted=resent,
        peer=result,
    )
    arrivals = [message.time for message in result.received("SIP/2.0 486")]
    why = server.explain(result)
    assert len(arrivals) == 1 + resent, why
    if resent:
        first_gap, second_gap = arrivals[1] - arrivals[0], arrivals[2] - arrivals[1]
        assert 0.07 <= first_gap <= 0.25, (first_gap, why)
        assert 0.15 <= second_gap <= 0.45, (second_gap, why)


# --------------------------------------------------------------------------- controls


def test_finish_fails_when_the_ack_matches_nothing(
    sipp: str, start_sipfault: StartSipfault, tmp_path: Path
) -> None:
    """An ACK for a 486 must carry its INVITE's branch (RFC 3261 §17.1.1.3); one with another
    branch matches no transaction, the 486 is retransmitted, and finish() must fail."""
    xml = tmp_path / "uac-busy-stray-ack.xml"
    text = (SIPP_SCENARIOS / "uac-busy.xml").read_text()
    assert "branch=[branch-4]" in text
    xml.write_text(text.replace("branch=[branch-4]", "branch=z9hG4bK-elsewhere"))
    server = start_sipfault("scenarios/busy.yaml")

    result = sipp_call(server, xml, service="486")

    with pytest.raises(AssertionError, match="findings about the client"):
        server.finish(requests={"INVITE": 1, "ACK": 1}, peer=result)


def test_finish_fails_when_no_ack_comes(
    sipp: str, start_sipfault: StartSipfault, tmp_path: Path
) -> None:
    """Without the ACK the 486's transaction never ends (Timer G, then H): finish() waits for
    Timer I in vain and fails."""
    xml = tmp_path / "uac-busy-no-ack.xml"
    text = (SIPP_SCENARIOS / "uac-busy.xml").read_text()
    ack = re.compile(r"\s*<send>\s*<!\[CDATA\[\s*ACK .*?</send>", re.DOTALL)
    assert ack.search(text)
    xml.write_text(ack.sub("", text))
    server = start_sipfault("scenarios/busy.yaml")

    result = sipp_call(server, xml, service="486")

    with pytest.raises(AssertionError, match="every rejected INVITE acknowledged within 1 s"):
        server.finish(responses={"486": 1}, peer=result, timeout=1)
