"""The FoIP keys read alike from a scenario file and from the rule builder: a step's ``sdp``
settings, a rule's ``then`` actions, the top-level ``media`` section (same model, same words)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sipfault.api.builder import RuleBuilder, build_action, build_media_settings, build_step
from sipfault.model.scenario import (
    Action,
    Match,
    MediaSettings,
    Reply,
    Rule,
    SdpSettings,
    T38Settings,
)
from sipfault.scenario import load_scenario_text
from tests.model.test_one_validator import api_errors, yaml_errors

TOKEN_HINT = "(expected letters, digits and - . ! % * _ + ` ' ~ only, RFC 3261 §25.1)"
RATES = ("2400, 4800, 7200, 9600, 12000, 14400, 16800, 19200, 21600, 24000, 26400, 28800, "
         "31200, 33600")

SDP: list[tuple[dict[str, Any], str | None]] = [
    ({"codecs": ["PCMA"], "ptime": 20}, None),
    ({"codecs": "pcmu"}, None),
    ({"codecs": ["G729", "telephone-event"], "t38": False}, None),
    ({"t38": {"version": 3, "max_bit_rate": 33600, "max_buffer": 4000, "max_datagram": 1400,
              "udp_ec": "t38UDPFEC", "fill_bit_removal": True, "transcoding_mmr": False,
              "transcoding_jbig": False}}, None),
    ({"t38": True}, None),
    ({"codecs": []}, "'codecs' is an empty list (expected at least one codec)"),
    ({"codecs": ["telephone-event"]},
     "'codecs' names only telephone-event or CN (expected at least one audio codec, e.g. PCMU)"),
    ({"codecs": ["G 711"]}, f"codec 'G 711' is not a valid codec name {TOKEN_HINT}"),
    ({"ptime": 0}, "'ptime' is 0 (expected a whole number of at least 1)"),
    ({"ptime": 5000}, "'ptime' is 5000 (expected milliseconds, 1-1000)"),
    ({"t38": {"version": 4}}, "'version' is 4 (expected a T.38 version 0-3)"),
    ({"t38": {"max_bit_rate": 10000}},
     f"'max_bit_rate' is 10000 (expected a fax rate in bit/s: {RATES})"),
    ({"t38": {"udp_ec": "redundancy"}},
     "unknown T38FaxUdpEC 'redundancy' for 'udp_ec' (expected one of: t38UDPNoEC, "
     "t38UDPRedundancy, t38UDPFEC)"),
    ({"t38": {"max_datagram": 0}}, "'max_datagram' is 0 (expected a whole number of at least 1)"),
    ({"t38": {"fill_bit_removal": 1}},
     "'fill_bit_removal' is the number 1 (expected true or false)"),
    ({"t38": {"speed": 1}},
     "unknown key 'speed' in t38 (expected one of: fill_bit_removal, max_bit_rate, max_buffer, "
     "max_datagram, transcoding_jbig, transcoding_mmr, udp_ec, version)"),
    ({"codec": "PCMU"}, "unknown key 'codec' in sdp (expected one of: codecs, ptime, t38)"),
]  # fmt: skip

ACTIONS: list[tuple[dict[str, Any], str | None]] = [
    ({"send": "reinvite", "sdp": "t38", "after": "2s"}, None),
    ({"send": "bye", "after": 10, "from": "media"}, None),
    ({"send": "info", "headers": {"X-Fax": "page-1"}}, None),
    ({"send": "update", "sdp": "audio"}, None),
    ({"send": "refer"},
     "unknown request 'refer' for 'send' (expected one of: reinvite, bye, update, info)"),
    ({"after": 1}, "action has no 'send' (expected one of: reinvite, bye, update, info)"),
    ({"send": "bye", "sdp": "t38"},
     "'sdp' goes with send: reinvite or update, not bye (expected no 'sdp' here)"),
    ({"send": "reinvite", "sdp": "video"}, "'sdp' is 'video' (expected t38, audio or same)"),
    ({"send": "bye", "from": "ringing"}, "'from' is 'ringing' (expected answer or media)"),
    ({"send": "bye", "after": "-1s"},
     "bad duration '-1s' for 'after' (expected a number of seconds or a duration like 200ms, "
     "1.5s or 2m)"),
    ({"send": "bye", "when": 1},
     "unknown key 'when' in action (expected one of: after, from, headers, sdp, send)"),
]  # fmt: skip

MEDIA: list[tuple[dict[str, Any], str | None]] = [
    ({"ports": "40000-40999", "echo": True, "no_media_within": "5s", "audio_after_t38": 2},
     None),
    ({"ports": [41000, 41010]}, None),
    ({"ports": "40999-40000"},
     "'ports' 40999-40000 is not a range within 1024-65535 (expected a port range like "
     "40000-40999, or [40000, 40999], lowest first)"),
    ({"ports": "lots"},
     "'ports' is 'lots' (expected a port range like 40000-40999, or [40000, 40999])"),
    ({"no_media_within": 0}, "'no_media_within' is zero (expected a positive duration)"),
    ({"echo": "yes"}, "'echo' is the text 'yes' (expected true or false)"),
    ({"jitter": 1},
     "unknown key 'jitter' in media (expected one of: audio_after_t38, echo, no_media_within, "
     "ports)"),
]  # fmt: skip


def ids(rows: list[tuple[dict[str, Any], str | None]]) -> list[str]:
    return [json.dumps(row[0])[:60] for row in rows]


@pytest.mark.parametrize(("sdp", "message"), SDP, ids=ids(SDP))
def test_sdp_settings(sdp: dict[str, Any], message: str | None) -> None:
    expected = [] if message is None else [message]
    step = {"code": 200, "sdp": sdp}
    assert yaml_errors(f"rules:\n  - reply: [{json.dumps(step)}]\n") == expected
    assert api_errors(build_step, step) == expected
    if message is None:
        (rule,) = load_scenario_text(f"rules:\n  - reply: [{json.dumps(step)}]\n").rules
        assert build_step(step) == rule.reply[0]
        assert isinstance(rule.reply[0].sdp, SdpSettings)


def test_sdp_settings_values() -> None:
    step = build_step({"code": 200, "sdp": {"codecs": ["pcma", "telephone-event"], "ptime": 20,
                                            "t38": {"version": 3, "udp_ec": "T38UDPFEC"}}})
    assert step.sdp == SdpSettings(codecs=("PCMA", "telephone-event"), ptime=20,
                                   t38=T38Settings(version=3, udp_ec="t38UDPFEC"))
    assert build_step({"code": 200, "sdp": {"t38": False}}).sdp == SdpSettings(t38=None)
    assert build_step(Reply(200, sdp=SdpSettings(codecs=("PCMA",)))).code == 200
    assert api_errors(build_step, Reply(200, sdp=SdpSettings(t38=T38Settings(version=9)))) == [
        "'version' is 9 (expected a T.38 version 0-3)"]


@pytest.mark.parametrize(("action", "message"), ACTIONS, ids=ids(ACTIONS))
def test_an_action(action: dict[str, Any], message: str | None) -> None:
    expected = [] if message is None else [message]
    text = f"rules:\n  - reply: [200]\n    then: [{json.dumps(action)}]\n"
    assert yaml_errors(text) == expected
    assert api_errors(build_action, action) == expected
    if message is None:
        (rule,) = load_scenario_text(text).rules
        assert rule.then == (build_action(action),)


def test_then_needs_a_2xx_in_both_front_ends() -> None:
    message = ("'then' needs a 2xx in 'reply' (expected a reply step with a code 200-299: the "
               "actions start when the rule answers)")
    assert yaml_errors("rules:\n  - reply: [488]\n    then: [{send: bye}]\n") == [message]
    rules: list[Rule] = []
    builder = RuleBuilder(Match(), lambda rule: rules.append(rule) or rule)
    assert api_errors(builder.then({"send": "bye"}).reply, 488) == [message]
    builder = RuleBuilder(Match(), lambda rule: rules.append(rule) or rule)
    rule = builder.then({"send": "reinvite", "sdp": "t38", "after": "2s"}).reply(200)
    assert rule.then == (Action("reinvite", 2.0, "answer", "t38"),)
    assert yaml_errors("rules:\n  - reply: [200]\n    then: {send: bye}\n") == [
        "'then' is a mapping (expected a list of actions, like [{after: 2s, send: bye}])"]


@pytest.mark.parametrize(("media", "message"), MEDIA, ids=ids(MEDIA))
def test_the_media_section(media: dict[str, Any], message: str | None) -> None:
    expected = [] if message is None else [message]
    text = f"media: {json.dumps(media)}\nrules: []\n"
    assert yaml_errors(text) == expected
    assert api_errors(build_media_settings, **media) == expected
    if message is None:
        assert load_scenario_text(text).media == build_media_settings(**media)


def test_media_values() -> None:
    settings = build_media_settings(ports="40000-40009", no_media_within="5s")
    assert settings == MediaSettings(ports=(40000, 40009), no_media_within=5.0)
    assert load_scenario_text("rules: []\n").media == MediaSettings()


CHOICES = "accept, glare-491, port-zero, refuse-415, refuse-488, refuse-606"
T38_RULES: list[tuple[Any, str | None]] = [
    ("refuse-606", None),
    ({"answer": "accept", "after": "5s", "sdp": {"t38": {"version": 3}}}, None),
    ({"answer": "port-zero", "sdp": {"codecs": ["PCMA"]}}, None),
    ("refuse-499", f"unknown T.38 answer 'refuse-499' (expected one of: {CHOICES})"),
    ({"after": "1s"}, f"'t38' has no 'answer' (expected one of: {CHOICES})"),
    ({"answer": "refuse-488", "sdp": {"ptime": 20}},
     "'sdp' goes with answer: accept or port-zero, not refuse-488 (expected no 'sdp' here)"),
    ({"answer": "accept", "when": 1},
     "unknown key 'when' in t38 (expected one of: after, answer, sdp)"),
]  # fmt: skip


@pytest.mark.parametrize(("t38", "message"), T38_RULES, ids=[json.dumps(r[0])[:50]
                                                            for r in T38_RULES])
def test_a_named_t38_answer(t38: Any, message: str | None) -> None:
    expected = [] if message is None else [message]
    text = f"rules:\n  - t38: {json.dumps(t38)}\n"
    assert yaml_errors(text) == expected
    rules: list[Rule] = []
    builder = RuleBuilder(Match(), lambda rule: rules.append(rule) or rule)
    assert api_errors(builder.t38, t38) == expected
    if message is None:
        (rule,) = load_scenario_text(text).rules
        assert rule == rules[0]


def test_named_t38_answers_stand_for_reply_steps() -> None:
    (rule,) = load_scenario_text("rules:\n  - t38: {answer: port-zero, after: 2s}\n").rules
    assert rule.t38 is not None
    assert rule.t38.reply() == Reply(200, after=2.0, sdp=SdpSettings(t38=None))
    assert yaml_errors("rules:\n  - t38: accept\n    reply: [200]\n") == [
        "a rule cannot have both 't38' and 'reply' (expected one of them)"]
    assert yaml_errors("rules:\n  - t38: accept\n    drop: true\n") == [
        "a rule cannot both 'drop' and answer with 't38' (expected one of them)"]
    assert yaml_errors("rules:\n  - t38: refuse-488\n    then: [{send: bye}]\n") == [
        "'then' needs a 2xx in 'reply' (expected a reply step with a code 200-299: the "
        "actions start when the rule answers)"]
    assert yaml_errors("rules:\n  - t38: accept\n    then: [{send: bye}]\n") == []
