"""Every key of the schema loads into the model with the documented meaning."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from sipfault.model.faults import Fault
from sipfault.scenario import Match, Reply, Scenario, Timers, load_scenario, load_scenario_text


def load(text: str) -> Scenario:
    return load_scenario_text(textwrap.dedent(text), "test.yaml")


def one_match(match_yaml: str) -> Match:
    scenario = load(f"rules:\n  - match: {match_yaml}\n    reply: [200]\n")
    return scenario.rules[0].match


def one_step(step_yaml: str) -> Reply:
    scenario = load(f"rules:\n  - reply:\n      - {step_yaml}\n")
    return scenario.rules[0].reply[0]


def test_minimal_file_takes_defaults() -> None:
    scenario = load_scenario_text("rules: []\n", "scenarios/quiet.yaml")
    assert scenario == Scenario(name="quiet", rules=(), timers=Timers())
    assert scenario.source is None  # text, not a file the loader read
    assert load_scenario_text("rules: []\n").name == "scenario"


def test_top_level_keys() -> None:
    scenario = load(
        """
        name: bench
        description: |
          Two lines
          of text.
        seed: 42
        timers: {t1: 100ms, t2: 1s, t4: 2.5}
        rules: []
        """
    )
    assert scenario.name == "bench"
    assert scenario.description == "Two lines\nof text.\n"
    assert scenario.seed == 42
    assert scenario.timers == Timers(t1=0.1, t2=1.0, t4=2.5)


def test_partial_timers_keep_rfc_defaults() -> None:
    assert load("timers: {t2: 8s}\nrules: []\n").timers == Timers(t1=0.5, t2=8.0, t4=5.0)


def test_method_single_and_list() -> None:
    assert one_match("{method: INVITE}").methods == frozenset({"INVITE"})
    assert one_match("{method: [INVITE, MESSAGE]}").methods == frozenset({"INVITE", "MESSAGE"})


def test_no_match_key_matches_everything() -> None:
    rule = load("rules:\n  - reply: [503]\n").rules[0]
    assert rule.match == Match()
    assert rule.match.unconditional


def test_uri_patterns_are_full_matches_and_host_ignores_case() -> None:
    match = one_match(
        "{user: '486.*', host: 'bench\\.example', from_user: alice, to_user: '1\\d+'}"
    )
    assert match.ruri_user is not None and match.ruri_user.fullmatch("4861")
    assert match.ruri_user.fullmatch("x486") is None
    assert match.ruri_host is not None and match.ruri_host.fullmatch("BENCH.example")
    assert match.from_user is not None and match.from_user.pattern == "alice"
    assert match.to_user is not None and match.to_user.fullmatch("123")
    assert match.ruri_user.flags & re.IGNORECASE == 0


def test_numbers_used_as_patterns_keep_their_text() -> None:
    # `user: 0123` is an int to YAML 1.1; the pattern must be what was typed.
    assert one_match("{user: 0123}").ruri_user == re.compile("0123")
    assert one_match("{user: 1_000}").ruri_user == re.compile("1_000")


def test_header_and_body_patterns() -> None:
    match = one_match("{headers: {User-Agent: 'Acme/\\d', Subject: urgent}, body: 'm=image'}")
    assert [(name, pattern.pattern) for name, pattern in match.headers] == [
        ("User-Agent", "Acme/\\d"),
        ("Subject", "urgent"),
    ]
    assert match.body is not None and match.body.search("v=0\r\nm=image 4000 udptl t38\r\n")


def test_media_transport_dialog() -> None:
    match = one_match("{media: image, transport: [UDP, tls], in_dialog: true}")
    assert match.media == frozenset({"image"})
    assert match.transports == frozenset({"udp", "tls"})
    assert match.in_dialog is True
    assert one_match("{media: [audio, video], in_dialog: no}").media == frozenset(
        {"audio", "video"}
    )
    assert one_match("{in_dialog: false}").in_dialog is False


@pytest.mark.parametrize(("counter", "value"), [("first", 1), ("nth", 3), ("every", 2)])
def test_counters(counter: str, value: int) -> None:
    match = one_match(f"{{{counter}: {value}}}")
    assert getattr(match, counter) == value
    assert not match.unconditional


@pytest.mark.parametrize(
    ("text", "expected"), [("0.25", 0.25), ("1", 1.0), ("0", 0.0), ("'25%'", 0.25), ("100%", 1.0)]
)
def test_probability(text: str, expected: float) -> None:
    assert one_match(f"{{probability: {text}}}").probability == pytest.approx(expected)


def test_bare_code_steps() -> None:
    rule = load("rules:\n  - match: {method: INVITE}\n    reply: [100, 180, 486]\n").rules[0]
    assert rule.reply == (Reply(100), Reply(180), Reply(486))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("200ms", 0.2),
        ("1s", 1.0),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("200 ms", 0.2),
        ("3", 3.0),
        ("0.25", 0.25),
        (".5s", 0.5),
        ("0", 0.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert one_step(f"{{code: 200, after: {text}}}").after == pytest.approx(seconds)


def test_every_step_key() -> None:
    step = one_step(
        "{code: 183, reason: Early Media, after: 1s, headers: {Retry-After: 30, Privacy: off, "
        "X-To: '{to_user}'}, omit: [Contact], sdp: answer, reliable: true, fault: drop-first}"
    )
    assert step == Reply(
        code=183,
        reason="Early Media",
        after=1.0,
        headers=(("Retry-After", "30"), ("Privacy", "off"), ("X-To", "{to_user}")),
        omit=("Contact",),
        sdp="answer",
        reliable=True,
        fault=Fault("drop-first"),
    )


def test_header_value_lists_send_the_field_once_per_value() -> None:
    step = one_step("{code: 200, headers: {Warning: ['399 a \"one\"', '399 b \"two\"'], X: 1}}")
    assert step.headers == (("Warning", '399 a "one"'), ("Warning", '399 b "two"'), ("X", "1"))


def test_omit_single_name_and_literal_body_and_sdp() -> None:
    assert one_step("{code: 486, omit: Retry-After}").omit == ("Retry-After",)
    assert one_step("{code: 200, body: '{\"json\": true}'}").body == '{"json": true}'
    scenario = load(
        """
        rules:
          - reply:
              - code: 200
                sdp: |
                  v=0
                  o=- 1 1 IN IP4 {local_host}
                  c=IN IP4 {local_host}
        """
    )
    assert (
        scenario.rules[0].reply[0].sdp
        == "v=0\no=- 1 1 IN IP4 {local_host}\nc=IN IP4 {local_host}\n"
    )


def test_drop_rule_and_rule_name() -> None:
    rule = load("rules:\n  - {name: lose-it, match: {method: OPTIONS}, drop: true}\n").rules[0]
    assert rule.drop is True
    assert rule.reply == ()
    assert rule.name == "lose-it"


def test_anchors_aliases_and_merge_keys() -> None:
    scenario = load(
        """
        rules:
          - match: &invite {method: INVITE, user: '1.*'}
            reply:
              - &ringing {code: 180, after: 200ms}
              - {<<: *ringing, code: 183}
              - 486
          - match: {<<: *invite, user: '2.*'}
            reply: [*ringing, 603]
        """
    )
    first, second = scenario.rules
    assert first.reply[0] == Reply(180, after=0.2)
    assert first.reply[1] == Reply(183, after=0.2)
    assert second.match.methods == frozenset({"INVITE"})
    assert second.match.ruri_user is not None and second.match.ruri_user.pattern == "2.*"
    assert second.reply[0] == first.reply[0]


def test_locations_point_at_rules_and_steps() -> None:
    scenario = load(
        """
        rules:
          - match: {method: INVITE}
            reply:
              - 100
              - {code: 486}
        """
    )
    rule = scenario.rules[0]
    assert rule.location is not None and (rule.location.line, rule.location.column) == (3, 5)
    assert [(s.location.line, s.location.column) for s in rule.reply if s.location] == [
        (5, 9),
        (6, 9),
    ]
    assert str(rule.location) == "test.yaml:3:5"


def test_utf8_bom_and_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: x\r\nrules:\r\n  - reply: [200]\r\n")
    scenario = load_scenario(path)
    assert scenario.name == "x"
    assert scenario.rules[0].reply == (Reply(200),)
