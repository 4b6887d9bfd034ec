"""Load shedding (RFC 3261 §21.5.4): past a capacity, new INVITEs and REGISTERs get 503 with
Retry-After, statelessly; everything else is still served. On the manual clock."""

from __future__ import annotations

import random

import pytest
from uas_harness import OFFER, Harness, request, response, statuses

from sipfault.core.admission import LAG_SUSTAIN, MIN_EPISODE, Admission, Capacity
from sipfault.core.events import LoadShedding
from sipfault.core.uas import UserAgentServer
from sipfault.scenario.loader import load_scenario_text
from sipfault.sip.message import Response

ANSWER = """
name: answer
timers: {t1: 500ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
"""


def _harness(capacity: Capacity, text: str = ANSWER) -> Harness:
    scenario = load_scenario_text(text, "test.yaml")
    return Harness(UserAgentServer(scenario, seed=1, rng=random.Random(1), capacity=capacity))


def _invite(n: int) -> bytes:
    return request(call_id=f"call-{n}", branch=f"z9hG4bK-i{n}", from_tag=f"f{n}", body=OFFER)


def _changes(harness: Harness) -> list[LoadShedding]:
    return [event for event in harness.events if isinstance(event, LoadShedding)]


def test_shedding_starts_at_the_limit_with_503_and_retry_after() -> None:
    harness = _harness(Capacity(max_transactions=3, retry_after=4))
    for n in range(3):
        assert statuses(harness.feed(_invite(n))) == [200]
    assert not _changes(harness)
    sent = harness.feed(_invite(3))
    assert statuses(sent) == [503]
    refusal = response(sent, 503)
    assert refusal.headers.get("Retry-After") == "4"
    assert refusal.to.tag  # a final response outside a dialog still has a To-tag (§8.2.6.2)
    [began] = _changes(harness)
    assert began.active and began.reason == "transactions"
    assert (began.transactions, began.max_transactions) == (3, 3)
    assert harness.uas.counts().transactions == 3  # the refusal left no state behind
    assert harness.uas.admission.refused == 1


def test_a_retransmitted_shed_invite_gets_the_same_503_and_its_ack_is_absorbed() -> None:
    harness = _harness(Capacity(max_transactions=1))
    harness.feed(_invite(0))
    first = harness.feed(_invite(1))
    timers = harness.uas.counts().timers
    again = harness.feed(_invite(1))
    assert [s.data for s in again] == [s.data for s in first]  # the same bytes, same To-tag
    other = harness.feed(_invite(2))
    assert response(other, 503).to.tag != response(first, 503).to.tag
    tag = response(first, 503).to.tag
    ack = request("ACK", call_id="call-1", branch="z9hG4bK-i1", from_tag="f1", to_tag=tag)
    assert harness.feed(ack) == []
    assert not harness.findings("stray-ack")
    assert harness.uas.counts().timers == timers  # neither refusal armed a timer
    assert harness.uas.counts().transactions == 1


def test_in_dialog_requests_ack_bye_and_options_are_served_while_shedding() -> None:
    harness = _harness(Capacity(max_transactions=2))
    to_tag = response(harness.feed(_invite(0)), 200).to.tag
    harness.feed(request("OPTIONS", call_id="opt", branch="z9hG4bK-o"))  # a second transaction
    assert statuses(harness.feed(_invite(1))) == [503]
    assert statuses(harness.feed(request("REGISTER", call_id="reg", branch="z9hG4bK-r"))) == [503]
    assert harness.uas.admission.shedding
    harness.feed(request("ACK", call_id="call-0", branch="z9hG4bK-a0", from_tag="f0",
                         to_tag=to_tag))
    assert harness.uas.dialogs[0].acked
    bye = request("BYE", call_id="call-0", branch="z9hG4bK-b0", from_tag="f0", to_tag=to_tag,
                  cseq=2)
    assert statuses(harness.feed(bye)) == [200]
    assert statuses(harness.feed(request("OPTIONS", call_id="o2", branch="z9hG4bK-o2"))) == [200]
    assert not harness.uas.dialogs
    assert not harness.findings("stray-ack")


def test_shedding_stops_below_90_percent_of_the_limit() -> None:
    admission = Admission(Capacity(max_transactions=10))
    assert admission.update(9, 1.0) is None and not admission.shedding
    began = admission.update(10, 1.0)
    assert began is not None and began.active and admission.shedding
    assert not admission.admits("INVITE", False)
    assert not admission.admits("REGISTER", False)
    assert admission.admits("INVITE", True)  # a re-INVITE in a dialog
    assert admission.admits("OPTIONS", False)
    assert admission.update(9, 2.0) is None and admission.shedding  # 9 >= 90% of 10: still
    ended = admission.update(8, 3.5)
    assert ended is not None and not ended.active
    assert (ended.refused, ended.duration) == (2, 2.5)
    assert admission.admits("INVITE", False)
    assert admission.update(9, 4.0) is None  # below the limit: no flapping back


def test_shedding_ends_when_the_transactions_expire() -> None:
    harness = _harness(Capacity(max_transactions=2))
    for n in range(2):
        tag = response(harness.feed(_invite(n)), 200).to.tag
        harness.feed(request("ACK", call_id=f"call-{n}", branch=f"z9hG4bK-a{n}",
                             from_tag=f"f{n}", to_tag=tag))
    assert statuses(harness.feed(_invite(2))) == [503]
    harness.advance(64 * 0.5 + 1)  # Timer L ends both transactions (RFC 6026 §7.1)
    assert statuses(harness.feed(_invite(3))) == [200]
    began, ended = _changes(harness)
    assert began.active and not ended.active
    assert ended.refused == 1 and ended.duration == pytest.approx(64 * 0.5 + 1)


def test_loop_lag_starts_shedding_and_half_of_it_stops() -> None:
    harness = _harness(Capacity(max_loop_lag=0.1))
    uas = harness.uas
    assert statuses(harness.feed(_invite(0))) == [200]
    uas.report_loop_lag(0.15, harness.now)  # late once: not yet
    assert statuses(harness.feed(_invite(9))) == [200]
    harness.advance(LAG_SUSTAIN / 2)
    uas.report_loop_lag(0.01, harness.now)  # caught up: a stall, not overload
    harness.advance(LAG_SUSTAIN)
    uas.report_loop_lag(0.15, harness.now)
    harness.advance(LAG_SUSTAIN + 0.05)
    uas.report_loop_lag(0.12, harness.now)  # late for LAG_SUSTAIN: shedding
    assert statuses(harness.feed(_invite(1))) == [503]
    uas.report_loop_lag(0.04, harness.now)  # shedding lasts MIN_EPISODE
    assert statuses(harness.feed(_invite(2))) == [503]
    harness.advance(MIN_EPISODE)
    uas.report_loop_lag(0.06, harness.now)  # above half the limit: still shedding
    assert statuses(harness.feed(_invite(3))) == [503]
    uas.report_loop_lag(0.04, harness.now)
    assert statuses(harness.feed(_invite(4))) == [200]
    harness.feed(_invite(5))
    began, ended = _changes(harness)
    assert began.reason == "loop-lag" and began.lag == 0.12 and began.max_loop_lag == 0.1
    assert ended.refused == 3 and ended.duration == pytest.approx(MIN_EPISODE)


def test_without_a_capacity_nothing_is_shed() -> None:
    harness = Harness.from_yaml(ANSWER)
    assert not harness.uas.admission.limited
    for n in range(50):
        assert statuses(harness.feed(_invite(n))) == [200]
    harness.uas.report_loop_lag(10.0, harness.now)
    assert statuses(harness.feed(_invite(50))) == [200]
    assert not _changes(harness)


def _pending_2xx_peak(capacity: Capacity | None, calls: int) -> tuple[int, int]:
    """INVITEs at 1000/s whose ACKs never come: the most dialogs re-sending a 2xx at once
    (each has one 2xx retransmission timer pending, §13.3.1.4), and the 503s sent."""
    scenario = load_scenario_text(ANSWER, "test.yaml")
    harness = Harness(UserAgentServer(scenario, seed=1, rng=random.Random(1), capacity=capacity))
    peak = refused = 0
    for n in range(calls):
        sent = harness.feed(_invite(n))
        refused += statuses(sent).count(503)
        sent += harness.advance(0.001)
        if n % 50 == 0:
            peak = max(peak, sum(1 for dialog in harness.uas.dialogs if not dialog.acked))
    return peak, refused


def test_2xx_retransmissions_stay_bounded_when_acks_never_come() -> None:
    unbounded, _ = _pending_2xx_peak(None, 3000)
    assert unbounded > 2500  # every call still re-sends its 2xx (64*T1 = 32 s)
    peak, refused = _pending_2xx_peak(Capacity(max_transactions=200), 3000)
    assert peak <= 200
    assert refused >= 2700


def test_a_503_of_load_shedding_is_not_a_finding_about_the_client() -> None:
    harness = _harness(Capacity(max_transactions=1))
    harness.feed(_invite(0))
    harness.feed(_invite(1))
    assert isinstance(harness.sent[-1].message, Response)
    assert not [event for event in harness.events if type(event).__name__ == "Finding"]


def test_plain_refusals_are_counted_and_an_unusual_request_is_refused_through_the_parser() -> None:
    from sipfault.core.events import MessageReceived, MessageSent

    harness = _harness(Capacity(max_transactions=1))
    harness.feed(_invite(0))
    harness.events.clear()
    assert statuses(harness.feed(_invite(1))) == [503]  # read from its bytes: not journaled
    assert not [e for e in harness.events if isinstance(e, MessageReceived | MessageSent)]
    folded = _invite(2).replace(b"Call-ID: call-2", b"Call-ID:\r\n call-2")
    sent = harness.feed(folded)
    assert statuses(sent) == [503] and response(sent, 503).headers.get("Retry-After") == "2"
    journaled = [e for e in harness.events if isinstance(e, MessageReceived | MessageSent)]
    assert [type(e).__name__ for e in journaled] == ["MessageReceived", "MessageSent"]
    assert harness.uas.admission.refused == 2
    assert harness.uas.counts().transactions == 1
