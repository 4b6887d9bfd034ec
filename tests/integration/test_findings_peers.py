"""Findings about real clients: SIPp made to misbehave on purpose is reported, with the RFC
section, in `sipfault run`'s summary and journal; a well-behaved PJSUA2 (and SIPp where it
behaves) under the same faults is not.

The scenario is tests/integration/scenarios/faults-peers.yaml: the user a client dials picks
the rule (a lost 486, a lost 100, forks...). Where a finding judges the client's timers, sipfault
runs with T1 = 500 ms, the T1 of SIPp's `retrans="500"` and of PJSIP.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.peers.calls import pjsua_dial, sipp_call
from tests.peers.fixtures import StartSipfault
from tests.peers.locate import SIPP_SCENARIOS
from tests.peers.sipp import run_sipp

pytestmark = pytest.mark.peer

FAULTS = "tests/integration/scenarios/faults-peers.yaml"
CLIENT_T1 = "500ms"


def _variant(tmp_path: Path, xml: str, old: str, new: str, count: int = 1) -> Path:
    """A copy of a SIPp scenario with one thing changed, to make SIPp misbehave."""
    text = (SIPP_SCENARIOS / xml).read_text()
    assert text.count(old) >= count, (xml, old)
    path = tmp_path / xml.replace(".xml", "-variant.xml")
    path.write_text(text.replace(old, new, count))
    return path


def _journal_findings(server: object) -> list[dict[str, object]]:
    journal = server.journal  # type: ignore[attr-defined]
    return [record for record in journal.records if record.get("type") == "finding"]


# ------------------------------------------------------------------ retransmission


def test_sipp_retransmits_until_a_lost_486_gets_through(
    sipp: str, start_sipfault: StartSipfault
) -> None:
    server = start_sipfault(FAULTS, t1=CLIENT_T1)

    result = sipp_call(server, "uac-fault-lost-final.xml", service="lost")

    assert len(result.sent("INVITE")) >= 2, server.explain(result)  # SIPp had to re-send
    # The 486's first transmissions were lost: it counts as sent once one got through.
    server.finish(requests={"INVITE": 1, "ACK": 1}, responses={"486": 1}, retransmitted=None,
                  peer=result)


def test_a_client_that_never_retransmits(sipp: str, start_sipfault: StartSipfault) -> None:
    server = start_sipfault(FAULTS, t1=CLIENT_T1)

    result = run_sipp(SIPP_SCENARIOS / "uac-fault-lost-final.xml", server.host, server.port,
                      service="lost", extra_args=["-nr"])

    assert len(result.sent("INVITE")) == 1, server.explain(result)
    server.finish(requests={"INVITE": 1, "ACK": 1}, responses={"486": 1},
                  findings={"no-retransmission": 1}, retransmitted=None, peer=result)
    assert "(RFC 3261 §17.1.1.2)" in server.output


def test_a_client_that_retransmits_sooner_than_t1(
    sipp: str, start_sipfault: StartSipfault, tmp_path: Path
) -> None:
    xml = _variant(tmp_path, "uac-fault-lost-final.xml", 'send retrans="500"',
                   'send retrans="100"')
    server = start_sipfault(FAULTS, t1=CLIENT_T1)

    result = sipp_call(server, xml, service="lost")

    server.finish(requests={"INVITE": 1, "ACK": 1}, responses={"486": 1},
                  findings={"early-retransmission": 1}, retransmitted=None, peer=result)


# --------------------------------------------------------------- ACK and CANCEL


def test_a_cancel_before_any_provisional(sipp: str, start_sipfault: StartSipfault) -> None:
    server = start_sipfault(FAULTS, t1=CLIENT_T1)

    result = run_sipp(SIPP_SCENARIOS / "uac-early-cancel.xml", server.host, server.port,
                      service="silent", extra_args=["-nr"])

    assert (result.successful, result.failed) == (1, 0), server.explain(result)

    server.finish(requests={"INVITE": 1, "CANCEL": 1, "ACK": 1},
                  responses={"200": 1, "487": 1}, findings={"early-cancel": 1}, peer=result)
    assert "(RFC 3261 §9.1)" in server.output


def test_an_ack_of_a_486_with_another_branch_ends_its_transaction(
    sipp: str, start_sipfault: StartSipfault, tmp_path: Path
) -> None:
    xml = _variant(tmp_path, "uac-busy.xml", "branch=[branch-4]", "branch=z9hG4bK-elsewhere")
    server = start_sipfault("scenarios/busy.yaml")

    result = sipp_call(server, xml, service="486")

    # The 486 is not re-sent until Timer H: the ACK ended the transaction as it was meant to.
    server.finish(requests={"INVITE": 1, "ACK": 1}, responses={"100": 1, "180": 1, "486": 1},
                  findings={"ack-branch-mismatch": 1}, retransmitted=0, peer=result)


def test_an_ack_of_a_2xx_with_another_to_tag_stops_its_retransmission(
    sipp: str, start_sipfault: StartSipfault, tmp_path: Path
) -> None:
    text = (SIPP_SCENARIOS / "uac-answer-bye.xml").read_text()
    ack = re.search(r"ACK \[next_url\].*?\[peer_tag_param\]", text, re.S)
    assert ack is not None
    xml = tmp_path / "uac-answer-bye-wrong-tag.xml"
    xml.write_text(text[: ack.start()] + ack.group(0).replace("[peer_tag_param]",
                                                              ";tag=not-the-2xx-tag")
                   + text[ack.end():])
    server = start_sipfault(FAULTS)

    result = sipp_call(server, xml, service="alice")

    server.finish(requests={"INVITE": 1, "ACK": 1, "BYE": 1},
                  responses={"100": 1, "180": 1, "200": 2},
                  findings={"ack-wrong-to-tag": 1}, retransmitted=0, peer=result)


# ------------------------------------------------------------------ Retry-After


def test_a_second_call_sooner_than_retry_after(sipp: str, start_sipfault: StartSipfault) -> None:
    server = start_sipfault("scenarios/busy.yaml")

    # Two calls two seconds apart: the 486 of the first asked for 30 s.
    result = run_sipp(SIPP_SCENARIOS / "uac-busy.xml", server.host, server.port, calls=2,
                      rate=1, service="486", extra_args=["-rp", "2000"], timeout=30)

    assert (result.successful, result.failed) == (2, 0), server.explain(result)
    server.finish(requests={"INVITE": 2, "ACK": 2},
                  responses={"100": 2, "180": 2, "486": 2},
                  findings={"retry-after-ignored": 1}, peer=result)
    (finding,) = _journal_findings(server)
    assert "Retry-After: 30" in str(finding["text"]) and "§20.33" in str(finding["text"])


# ----------------------------------------------------------------- registration


def test_a_register_storm(sipp: str, start_sipfault: StartSipfault) -> None:
    server = start_sipfault(FAULTS)

    result = run_sipp(SIPP_SCENARIOS / "uac-register-once.xml", server.host, server.port,
                      calls=25, rate=100, service="printer")

    assert (result.successful, result.failed) == (25, 0), server.explain(result)
    server.finish(requests={"REGISTER": 25}, responses={"200": 25},
                  findings={"register-storm": 1}, peer=result)


def test_a_refresh_after_the_binding_expired(sipp: str, start_sipfault: StartSipfault) -> None:
    server = start_sipfault(FAULTS)

    result = sipp_call(server, "uac-register-late-refresh.xml", service="printer")

    server.finish(requests={"REGISTER": 2}, responses={"200": 2},
                  findings={"late-refresh": 1}, peer=result)
    assert "(RFC 3261 §10.2.4)" in server.output


# ------------------------------------------------------------- well-behaved PJSUA2


@pytest.mark.parametrize(
    ("callee", "requests", "responses"),
    [
        pytest.param("alice", {"INVITE": 1, "ACK": 1, "BYE": 1},
                     {"100": 1, "180": 1, "200": 2}, id="answered"),
        # The 2xx lost twice counts as sent once it gets through (the summary shows it
        # withheld too); the 200 to the BYE is the other.
        pytest.param("drop", {"INVITE": 1, "ACK": 1, "BYE": 1},
                     {"100": 1, "180": 1, "200": 2}, id="2xx-lost-twice"),
        pytest.param("fork", {"INVITE": 1, "ACK": 2, "BYE": 2},
                     {"100": 1, "180": 1, "200": 4}, id="two-200s-from-two-forks"),
        pytest.param("tagchange", {"INVITE": 1, "ACK": 1, "BYE": 1},
                     {"100": 1, "180": 1, "200": 2}, id="200-from-another-fork"),
        pytest.param("slow", {"INVITE": 1, "ACK": 1, "BYE": 1},
                     {"100": 1, "180": 1, "200": 2}, id="random-delays"),
        pytest.param("ringing2", {"INVITE": 1, "ACK": 1, "BYE": 1},
                     {"100": 1, "180": 2, "200": 2}, id="two-180s"),
        pytest.param("lost", {"INVITE": 1, "ACK": 1}, {"486": 1}, id="486-lost-twice"),
    ],
)
def test_a_well_behaved_pjsua2_call_under_faults_makes_no_finding(
    pjsua2: None, start_sipfault: StartSipfault, callee: str, requests: dict[str, int],
    responses: dict[str, int],
) -> None:
    server = start_sipfault(FAULTS, t1=CLIENT_T1)

    result = pjsua_dial(server, callee, hangup_after=0.3)

    # finish() asserts there is no finding about the client.
    server.finish(requests=requests, responses=responses, retransmitted=None, peer=result,
                  timeout=15)
