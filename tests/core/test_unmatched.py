"""Requests no rule takes: 404 (or ``unmatched``), 405 only for methods nothing takes, 501.

RFC 3261 §21.4.6: the Allow of a 405 lists the methods allowed, so it can never name the
method it refuses; a method the scenario answers for other requests gets 404 instead.
"""

from __future__ import annotations

import pytest
from uas_harness import Harness, request, response, statuses

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.core.events import RequestUnmatched
from sipfault.model.scenario import UnmatchedAnswer
from sipfault.sip.message import Response

ALICE_ONLY = """
rules:
  - match: {method: INVITE, user: alice}
    reply: [486]
"""


def unmatched(h: Harness) -> list[tuple[str, int]]:
    return [(e.request.method, e.status) for e in h.events if isinstance(e, RequestUnmatched)]


def test_an_invite_no_rule_takes_in_a_scenario_that_takes_invites_gets_404() -> None:
    h = Harness.from_yaml(ALICE_ONLY)
    sent = h.feed(request(uri="sip:bob@127.0.0.1"))
    assert statuses(sent) == [404]
    assert "Allow" not in response(sent, 404).headers
    assert unmatched(h) == [("INVITE", 404)]


def test_the_scenario_chooses_the_answer_with_unmatched() -> None:
    h = Harness.from_yaml(ALICE_ONLY + "unmatched: 480\n")
    assert statuses(h.feed(request(uri="sip:bob@127.0.0.1"))) == [480]
    h = Harness.from_yaml(ALICE_ONLY + "unmatched: {code: 404, reason: Nobody Here}\n")
    refused = response(h.feed(request(uri="sip:bob@127.0.0.1")), 404)
    assert refused.reason == "Nobody Here"
    assert unmatched(h) == [("INVITE", 404)]


def test_a_rule_without_a_method_takes_every_method_so_the_rest_get_404() -> None:
    h = Harness.from_yaml("rules:\n  - match: {user: alice}\n    reply: [200]\n")
    assert statuses(h.feed(request("SUBSCRIBE", uri="sip:bob@127.0.0.1"))) == [404]


def test_a_method_nothing_takes_gets_405_and_an_unknown_one_501() -> None:
    h = Harness.from_yaml(ALICE_ONLY)
    refused = response(h.feed(request("SUBSCRIBE", branch="z9hG4bK-2")), 405)
    allow = refused.headers.get("Allow") or ""
    assert "SUBSCRIBE" not in allow and "INVITE" in allow
    assert statuses(h.feed(request("FROBNICATE", branch="z9hG4bK-3"))) == [501]
    assert unmatched(h) == [("SUBSCRIBE", 405)]  # the 501 comes before any rule (§8.2.1)


def test_the_answer_can_change_while_running_and_counters_carry_on() -> None:
    h = Harness.from_yaml("""
rules:
  - match: {method: INVITE, user: alice, first: 1}
    reply: [486]
""")
    assert statuses(h.feed(request(uri="sip:alice@127.0.0.1"))) == [486]
    h.uas.answer_unmatched(UnmatchedAnswer(503, "Try Later"))
    refused = response(h.feed(request(uri="sip:alice@127.0.0.1", branch="z9hG4bK-2",
                                      call_id="c2")), 503)
    assert refused.reason == "Try Later"  # the rule's `first: 1` was not reset


SCENARIOS = [
    "rules: []\n",
    ALICE_ONLY,
    "rules:\n  - match: {method: [MESSAGE, INFO], user: x}\n    reply: [200]\n",
    "rules:\n  - match: {method: INVITE}\n    reply: [405]\n",
    "rules:\n  - match: {method: [INVITE, MESSAGE, SUBSCRIBE]}\n    reply: [405]\n",
]


@pytest.mark.parametrize("text", SCENARIOS)
def test_no_405_lists_the_method_it_refuses(text: str) -> None:
    h = Harness.from_yaml(text)
    for n, method in enumerate(sorted(KNOWN_METHODS - {"ACK", "CANCEL"})):
        for sent in h.feed(request(method, branch=f"z9hG4bK-{n}", call_id=f"c{n}")):
            message = sent.message
            if isinstance(message, Response) and message.status == 405:
                allow = [name.strip() for name in (message.headers.get("Allow") or "").split(",")]
                assert method not in allow, (method, allow)
