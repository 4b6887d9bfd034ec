"""The rule builder makes the same model objects as a scenario file, and checks its input."""

from __future__ import annotations

import re

import pytest

from sipfault.api.builder import RuleBuilder, build_match, build_step, parse_duration
from sipfault.model.scenario import Match, Reply, Rule
from sipfault.scenario.loader import load_scenario_text


def collect() -> tuple[list[Rule], RuleBuilder]:
    added: list[Rule] = []

    def commit(rule: Rule) -> Rule:
        added.append(rule)
        return rule

    return added, RuleBuilder(Match(methods=frozenset({"INVITE"})), commit)


def test_builder_equals_the_yaml_rule() -> None:
    yaml_rule = load_scenario_text(
        """
        rules:
          - match: {method: INVITE, to_user: alice, first: 2}
            reply:
              - 100
              - {code: 180, after: 200ms}
              - {code: 486, after: 1s, headers: {Retry-After: 30}}
        """
    ).rules[0]
    added: list[Rule] = []
    builder = RuleBuilder(build_match("INVITE", to_user="alice"),
                          lambda rule: added.append(rule) or rule)
    rule = builder.times(2).reply(
        100, {"code": 180, "after": "200ms"}, (486, {"Retry-After": 30}, {"after": 1})
    )
    assert rule == yaml_rule
    assert added == [rule]


def test_step_forms() -> None:
    assert build_step(486) == Reply(486)
    assert build_step((486, {"Retry-After": 30})) == Reply(486, headers=(("Retry-After", "30"),))
    assert build_step((486, {}, {"after": 0.2, "reason": "Nope"})) == Reply(
        486, reason="Nope", after=0.2)
    assert build_step({"code": 200, "sdp": "answer"}) == Reply(200, sdp="answer")
    ready = Reply(302, omit=("Contact",))
    assert build_step(ready) is ready
    assert build_step((200, {"Warning": ["399 a", "399 b"]})).headers == (
        ("Warning", "399 a"), ("Warning", "399 b"))


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (700, "out of range"),
        ("486", "expected a code like 486"),
        ({"after": 1}, "has no 'code'"),
        ((486, {}, {"aftr": 1}), "unknown key 'aftr' in reply step"),
        ((486, {"Retry-After": None}), "use 'omit'"),
        ((486, {"X-A": "one\r\ntwo"}), "line break"),
        ((100, {}, {"reliable": True}), "RFC 3262"),
        ({"code": 200, "body": "x", "sdp": "answer"}, "cannot have both 'body' and 'sdp'"),
        ((486, {"Retry-After": 1}, {"omit": ["retry-after"]}), "both set in 'headers'"),
        ((486, {}, {"after": "1x"}), "bad duration '1x'"),
    ],
)
def test_bad_steps_say_what_was_expected(step: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        build_step(step)  # type: ignore[arg-type]


def test_match_compiles_regexes_and_checks_counters() -> None:
    match = build_match(["INVITE", "MESSAGE"], user="48[0-9]", host="EXAMPLE.com",
                        headers={"User-Agent": "dialer"}, transport="UDP", first=1)
    assert match.methods == {"INVITE", "MESSAGE"}
    assert match.ruri_user is not None and match.ruri_user.fullmatch("486")
    assert match.ruri_host is not None and match.ruri_host.fullmatch("example.COM")
    assert match.transports == {"udp"}
    assert match.headers[0][0] == "User-Agent"
    with pytest.raises(ValueError, match="'nth' cannot be combined with 'first'"):
        build_match(first=1, nth=2)
    with pytest.raises(ValueError, match="invalid regex"):
        build_match(user="(")
    with pytest.raises(ValueError, match="expected a whole number of at least 1"):
        build_match(first=0)
    with pytest.raises(ValueError, match="unknown transport 'sctp'"):
        build_match(transport="sctp")


def test_builder_adds_once_and_needs_a_step() -> None:
    added, builder = collect()
    with pytest.raises(ValueError, match="at least one step"):
        builder.reply()
    rule = builder.named("lose-it").drop()
    assert rule == Rule(Match(methods=frozenset({"INVITE"})), drop=True, name="lose-it")
    with pytest.raises(RuntimeError, match="already added"):
        builder.reply(200)
    assert added == [rule]


def test_durations() -> None:
    assert parse_duration("200ms") == pytest.approx(0.2)
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("2m") == 120
    assert parse_duration(0.25) == 0.25
    with pytest.raises(ValueError, match="'after' is negative"):
        parse_duration(-1)
