"""Scale-out: Kamailio's dispatcher in front of several sipfault instances (deploy/kamailio/).

SIPp calls Kamailio on 127.0.0.1; Kamailio spreads the calls round robin over two `sipfault
run` instances on 127.0.0.2 and 127.0.0.3, and record-routes them, so each ACK and BYE reaches
the instance that answered. The dispatcher probes the instances with OPTIONS (which sipfault
answers 200 by default); once one stops, a failed probe marks it inactive and every new call
goes to the other. A call sent to an instance that is gone before the probe notices fails over
to the next one when its INVITE times out.

Every wait polls what it waits for (Kamailio's `dispatcher.list`, sipfault's journal), with a
deadline; nothing sleeps for a guessed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.peers.kamailio import run_kamailio
from tests.peers.locate import SIPP_SCENARIOS
from tests.peers.sipfault_cli import SipfaultProcess, run_sipfault
from tests.peers.sipp import SippResult, run_sipp

pytestmark = pytest.mark.peer

ANSWER_NOW = """\
name: answer-now
rules:
  - match: {method: INVITE}
    reply: [100, {code: 200, sdp: answer}]
"""

UAC = SIPP_SCENARIOS / "uac-answer-bye.xml"
"""INVITE, 200, ACK and BYE to the Contact and Route set the 200 gave (rrs="true")."""


def _invites(instance: SipfaultProcess) -> int:
    return instance.journal.requests.get("INVITE", 0)


def _byes(instance: SipfaultProcess) -> int:
    return instance.journal.requests.get("BYE", 0)


def _until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.02)


def _calls(kamailio_host: str, kamailio_port: int, calls: int) -> SippResult:
    result = run_sipp(UAC, kamailio_host, kamailio_port, calls=calls, rate=20, service="bob",
                      timeout=30)
    assert result.returncode == 0 and result.successful == calls, result.describe()
    return result


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "answer-now.yaml"
    path.write_text(ANSWER_NOW, encoding="utf-8")
    return path


def test_calls_spread_over_both_instances_and_move_when_one_stops(
    sipp: str, scenario: Path
) -> None:
    with (
        run_sipfault(scenario, listen="127.0.0.2:0", transports=["udp"]) as first,
        run_sipfault(scenario, listen="127.0.0.3:0", transports=["udp"]) as second,
        run_kamailio([first.hostport, second.hostport], probe_interval=1) as proxy,
    ):
        first_uri, second_uri = f"sip:{first.hostport}", f"sip:{second.hostport}"
        # Both answer the dispatcher's OPTIONS probes: both are active.
        for instance in (first, second):
            instance.wait_for(lambda journal: "OPTIONS" in journal.requests, "a probe")
        proxy.wait_for_flags(first_uri, "A")
        proxy.wait_for_flags(second_uri, "A")

        _calls(proxy.host, proxy.port, 10)
        # Each call ends with a BYE the instance that answered it receives through Kamailio.
        _until(lambda: _byes(first) + _byes(second) == 10, "10 BYEs on the two instances")
        assert (_invites(first), _invites(second)) == (5, 5)  # round robin
        assert (_byes(first), _byes(second)) == (5, 5)

        summary = first.finish(requests=None, responses=None, retransmitted=None)
        assert summary.requests["INVITE"] == 5
        assert summary.requests["OPTIONS"] >= 1  # the dispatcher's probes, answered 200
        # The next probe of the stopped instance goes unanswered: it is marked inactive.
        seen = proxy.wait_for_flags(first_uri, "I")
        assert seen[second_uri].startswith("A")

        before = _invites(second)
        _calls(proxy.host, proxy.port, 10)
        _until(lambda: _byes(second) == 15, "every new call's BYE on the survivor")
        assert _invites(second) == before + 10


def test_a_call_sent_to_a_stopped_instance_fails_over(sipp: str, scenario: Path) -> None:
    """Probes far apart: the stopped instance still looks active, so the first INVITE sent
    to it times out (fr_timer, 2 s here) and the failure route retries it on the other one,
    marking the dead one inactive on the way."""
    with (
        run_sipfault(scenario, listen="127.0.0.2:0", transports=["udp"]) as first,
        run_sipfault(scenario, listen="127.0.0.3:0", transports=["udp"]) as second,
        run_kamailio([first.hostport, second.hostport], probe_interval=600) as proxy,
    ):
        first_uri = f"sip:{first.hostport}"
        first.stop()
        assert proxy.destinations()[first_uri].startswith("A")  # no probe has told yet

        _calls(proxy.host, proxy.port, 4)
        _until(lambda: _byes(second) == 4, "all 4 calls on the surviving instance")
        assert _invites(second) == 4
        assert proxy.destinations()[first_uri].startswith("I")
        assert "failover of" in proxy.log
