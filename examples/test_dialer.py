"""Test the example dialer (``dialer.py``, built on PJSUA2) against sipfault.

Each test scripts sipfault's answers, runs the dialer in its own process, and then checks both
what the dialer reported and what it sent, from sipfault's request journal. The ``sipfault``
fixture comes from the plugin that installing sipfault registers; at the end of each test it
also fails the test if the dialer sent anything no rule expected or did something wrong (a
missing ACK, a malformed request).

Run:  python -m pytest examples -v
"""

from __future__ import annotations

import importlib.util
import itertools
import os
from pathlib import Path

import pytest
from dialer import dial

from sipfault import Controller

HERE = Path(__file__).parent

if importlib.util.find_spec("pjsua2") is None:
    # Under CI a missing PJSUA2 is a failure, elsewhere a skip.
    if os.environ.get("CI") == "true":
        raise ImportError("the example dialer needs PJSUA2 under CI=true: pip install "
                          "pjsua2-python")
    pytest.skip("the example dialer needs PJSUA2: pip install pjsua2-python",
                allow_module_level=True)


def test_busy_is_retried_after_retry_after(sipfault: Controller) -> None:
    """486 with Retry-After: 1 (RFC 3261 §20.33): the dialer waits a second, then calls again."""
    sipfault.on("INVITE", in_dialog=False).times(1).reply(100, 180, (486, {"Retry-After": 1}))
    sipfault.on("INVITE", in_dialog=False).reply(100, {"code": 200, "sdp": "answer"})

    result = dial(sipfault.uri("alice"), hangup_after=0.2, max_retry_after=5)

    assert (result.outcome, result.attempts) == ("answered", 2), result.describe()
    first, second = sipfault.requests("INVITE")
    (busy,) = sipfault.responses("INVITE", status=486)
    assert busy.header("Retry-After") == "1"
    assert second.time - busy.time >= 1.0, "called again before Retry-After was over"
    assert second.call_id != first.call_id  # a new call, not a retransmission
    assert first.header("User-Agent") == "example-dialer/1.0"
    sipfault.wait_for("BYE")


def test_retry_after_longer_than_allowed_is_not_waited_for(sipfault: Controller) -> None:
    """A Retry-After beyond --max-retry-after: the dialer reports busy and does not call again."""
    sipfault.on("INVITE").reply(100, (486, {"Retry-After": 3600}))

    result = dial(sipfault.uri("bob"), max_retry_after=5)

    assert (result.outcome, result.status, result.attempts) == ("busy", 486, 1), result.describe()
    sipfault.wait_for("ACK")  # the 486 was acknowledged (RFC 3261 §17.1.1.3)
    assert len(sipfault.requests("INVITE")) == 1


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_call_answered_and_hung_up(sipfault: Controller, transport: str) -> None:
    """Ringing, 200 OK with an SDP answer, ACK; BYE after half a second, 200 OK."""
    sipfault.on("INVITE", in_dialog=False).reply(
        100, {"code": 180, "after": "50ms"}, {"code": 200, "after": "100ms", "sdp": "answer"})

    result = dial(sipfault.uri("carol"), transport=transport, hangup_after=0.5)

    assert (result.outcome, result.attempts) == ("answered", 1), result.describe()
    (bye,) = sipfault.wait_for("BYE")
    (invite,) = sipfault.requests("INVITE")
    (ack,) = sipfault.requests("ACK")
    (ok,) = sipfault.responses("INVITE", status=200)
    assert invite.transport == ack.transport == bye.transport == transport
    assert invite.header("Content-Type") == "application/sdp" and b"m=audio" in invite.body
    assert ok.time <= ack.time <= bye.time
    assert bye.time - ack.time >= 0.5, "hung up before --hangup-after"
    assert bye.call_id == invite.call_id
    assert [r.status for r in sipfault.responses("BYE")] == [200]


@pytest.mark.sipfault_scenario("scenarios/lost-answer.yaml")
def test_survives_a_lost_answer(sipfault: Controller) -> None:
    """Nothing comes back for the first INVITE: the dialer keeps retransmitting (Timer A,
    RFC 3261 §17.1.1.2) until sipfault answers, and the call goes through as one call."""
    result = dial(sipfault.uri("dave"), transport="udp", hangup_after=0.2)

    assert (result.outcome, result.attempts) == ("answered", 1), result.describe()
    sipfault.wait_for("BYE")
    invites = sipfault.requests("INVITE", retransmissions=True)
    assert len({invite.call_id for invite in invites}) == 1, "the dialer hung up and redialled"
    assert len(invites) >= 3, "the lost INVITE was not retransmitted"
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(invites)]
    assert gaps == sorted(gaps), "Timer A intervals must not shrink"
    assert [r.status for r in sipfault.responses("INVITE")][-1] == 200


@pytest.mark.sipfault_scenario("scenarios/dropped-200.yaml")
def test_survives_a_dropped_200_ok(sipfault: Controller) -> None:
    """The first 200 OK is lost: sipfault re-sends it (RFC 3261 §13.3.1.4) and the dialer must
    take the copy, ACK it and complete the call."""
    result = dial(sipfault.uri("erin"), transport="udp", hangup_after=0.2)

    assert (result.outcome, result.attempts) == ("answered", 1), result.describe()
    sipfault.wait_for("BYE")
    (ack,) = sipfault.requests("ACK")
    sent = sipfault.responses("INVITE", status=200, retransmissions=True)
    # The lost copy never left; what the dialer got is the retransmission, T1 later.
    assert sent and all(response.retransmission for response in sent), sipfault.ladder()
    assert ack.call_id == sent[0].call_id


def test_digest_challenge(sipfault: Controller) -> None:
    """401 with a digest challenge (RFC 3261 §22.2): the dialer answers it with credentials."""
    sipfault.load(HERE / "scenarios" / "digest.yaml")

    result = dial(sipfault.uri("alice"), user="alice", password="secret", hangup_after=0.2)

    assert (result.outcome, result.attempts) == ("answered", 1), result.describe()
    sipfault.wait_for("BYE")
    first, second = sipfault.requests("INVITE")
    (challenge,) = sipfault.responses("INVITE", status=401)
    assert 'realm="sipfault.example"' in (challenge.header("WWW-Authenticate") or "")
    assert first.header("Authorization") is None
    authorization = second.header("Authorization") or ""
    assert 'username="alice"' in authorization and 'realm="sipfault.example"' in authorization
    assert second.call_id == first.call_id  # the same call, re-sent with credentials


def test_wrong_password_is_refused(sipfault: Controller) -> None:
    """A wrong password ends in 403; sipfault notes it as a finding about the client."""
    sipfault.load(HERE / "scenarios" / "digest.yaml")

    result = dial(sipfault.uri("alice"), user="alice", password="wrong")

    assert result.outcome != "answered", result.describe()
    kinds = {item.kind for item in sipfault.unexpected()}
    assert "auth-failed" in kinds, sipfault.ladder()
    sipfault.clear_journal()  # seen and checked: do not fail the test at teardown
