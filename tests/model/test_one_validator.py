"""A scenario file and the rule builder judge the same values alike, in the same words.

Each row of a table is fed through both front ends: written into a YAML scenario (as a flow
mapping: JSON is YAML) and loaded, and passed to ``build_step`` or ``build_match``. Both must
accept it, or both refuse it with the row's message (the file's without its ``file:line:col``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from sipfault.api.builder import RuleBuilder, build_match, build_step, build_unmatched
from sipfault.cli import parse_duration
from sipfault.model import validate
from sipfault.model.faults import FAULTS, Fault
from sipfault.model.scenario import Reply, UnmatchedAnswer
from sipfault.model.validate import InvalidValue
from sipfault.scenario import check_scenario_text, load_scenario_text
from sipfault.sip.codes import NOT_SIP

TOKEN_HINT = "(expected letters, digits and - . ! % * _ + ` ' ~ only, RFC 3261 §25.1)"
DURATION_HINT = "(expected a number of seconds or a duration like 200ms, 1.5s or 2m)"
ONE_LINE_HINT = "(expected one line; malformed messages are made with 'fault')"
RELIABLE_HINT = "(expected a 101-199 provisional response, RFC 3262 §3)"
PROBABILITY_HINT = "(expected a number from 0 to 1, or a percentage like 25%)"
STEP_KEYS = ("after, body, by, bytes, code, count, fault, headers, max, min, omit, probability, "
             "reason, reliable, sdp")
STEP_FAULTS = ", ".join(sorted(name for name, kind in FAULTS.items() if "step" in kind.scopes))

STEPS: list[tuple[dict[str, Any], str | None]] = [
    # status codes, with and without a fault
    ({"code": 100}, None),
    ({"code": 699}, None),
    ({"code": 701},
     "status code 701 is out of range (expected 100-699, RFC 3261 §7.2, or a step with 'fault' "
     f"to send it as a malformed message). 701: {NOT_SIP[701]}"),
    ({"code": 99},
     "status code 99 is out of range (expected 100-699, RFC 3261 §7.2, or a step with 'fault' "
     "to send it as a malformed message)"),
    ({"code": 701, "fault": "malformed-status"}, None),
    ({"code": 0, "fault": "malformed-status"}, None),
    ({"code": 1000, "fault": "malformed-status"},
     "status code 1000 is out of range even for a fault (expected 0-999: a status line has "
     "three digits)"),
    ({"code": "200"}, "'code' is the text '200' (expected a status code 100-699)"),
    ({"after": 1}, "reply step has no 'code' (expected a status code 100-699)"),
    # faults
    ({"code": 200, "fault": "drop-first"}, None),
    ({"code": 200, "fault": "nope"}, f"unknown fault 'nope' (expected one of: {STEP_FAULTS})"),
    ({"code": 200, "fault": "drop", "count": 2}, None),
    ({"code": 200, "fault": "drop", "count": 0},
     "'count' is 0 (expected a whole number of at least 1)"),
    ({"code": 200, "fault": "duplicate", "count": 1},
     "'count' is 1 (expected at least 2 copies for 'duplicate')"),
    ({"code": 200, "fault": "delay", "min": "200ms", "max": "2s"}, None),
    ({"code": 200, "fault": "delay", "by": "1s", "probability": "25%"}, None),
    ({"code": 200, "fault": "delay"},
     "fault 'delay' needs 'by' or 'min' and 'max' (expected a delay like by: 500ms)"),
    ({"code": 200, "fault": "delay", "min": "2s", "max": "1s"},
     "fault 'delay' has 'min' 2s above 'max' 1s (expected min <= max)"),
    ({"code": 200, "fault": "delay", "min": "2s"},
     "fault 'delay' has 'min' without 'max' (expected both)"),
    ({"code": 200, "fault": "delay", "by": "1s", "max": "2s"},
     "fault 'delay' has both 'by' and 'min'/'max' (expected a fixed delay 'by', or a range "
     "'min' to 'max')"),
    ({"code": 200, "fault": "drop", "by": "1s"},
     "fault 'drop' takes no 'by' (expected: count, probability)"),
    ({"code": 200, "count": 2},
     "'count' is a parameter of a fault (expected it with 'fault' in the step)"),
    ({"code": 200, "fault": "drop", "probability": 2},
     f"'probability' 2 is out of range {PROBABILITY_HINT}"),
    ({"code": 200, "fault": "swallow"},
     "fault 'swallow' cannot be used in a reply step (expected it in a rule's 'faults')"),
    ({"code": 200, "fault": "outage"},
     "fault 'outage' cannot be used in a reply step (expected it in 'endpoint_faults')"),
    ({"code": 486, "fault": "fork"},
     "fault 'fork' on a 486 (expected a 101-199 or 2xx response to fork, RFC 3261 §13.2.2.4)"),
    ({"code": 200, "fault": "reorder"},
     "fault 'reorder' on a 200 (expected a provisional response)"),
    ({"code": 100, "fault": "to-tag-changed"},
     "fault 'to-tag-changed' on a 100 (expected a response with a To tag, 101-699)"),
    ({"code": 200, "fault": "raw", "bytes": "SIP/2.0 200 OK\r\nCall-ID: {call_id}\r\n"}, None),
    ({"code": 200, "fault": "raw"}, "fault 'raw' needs 'bytes' (expected the text to send)"),
    ({"code": 200, "fault": "raw", "bytes": "SIP/2.0 200 OK {nonsense}"},
     "unknown placeholder {nonsense} in 'bytes' (expected one of: branch, call_id, cseq, "
     "from, from_user, local_host, local_port, ruri_user, to, to_tag, to_user, via)"),
    # durations
    ({"code": 200, "after": "200ms"}, None),
    ({"code": 200, "after": "1.5s"}, None),
    ({"code": 200, "after": "2m"}, None),
    ({"code": 200, "after": "0.5"}, None),
    ({"code": 200, "after": 0.25}, None),
    ({"code": 200, "after": "-1s"}, f"bad duration '-1s' for 'after' {DURATION_HINT}"),
    ({"code": 200, "after": "abc"}, f"bad duration 'abc' for 'after' {DURATION_HINT}"),
    ({"code": 200, "after": "5h"}, f"bad duration '5h' for 'after' {DURATION_HINT}"),
    ({"code": 200, "after": -1}, f"'after' is negative {DURATION_HINT}"),
    ({"code": 200, "after": [1]}, f"'after' is a list {DURATION_HINT}"),
    # reason phrases
    ({"code": 486, "reason": "Gone Fishing"}, None),
    ({"code": 486, "reason": "a\nb"}, f"'reason' contains a line break or NUL {ONE_LINE_HINT}"),
    # header names and values
    ({"code": 200, "headers": {"Retry-After": 30, "X-A": ["a", "b"]}}, None),
    ({"code": 200, "headers": {"Bad Name": "x"}},
     f"header name 'Bad Name' is not a valid header name {TOKEN_HINT}"),
    ({"code": 200, "headers": {"X:Y": "x"}},
     f"header name 'X:Y' is not a valid header name {TOKEN_HINT}"),
    ({"code": 200, "headers": {"X-A": "one\r\nX-B: two"}},
     f"header 'X-A' contains a line break or NUL {ONE_LINE_HINT}"),
    ({"code": 200, "headers": {"X-A": "one\ntwo"}},
     f"header 'X-A' contains a line break or NUL {ONE_LINE_HINT}"),
    ({"code": 200, "headers": {"X-A": "nul\u0000"}},
     f"header 'X-A' contains a line break or NUL {ONE_LINE_HINT}"),
    ({"code": 200, "headers": {"X-A": None}},
     "header 'X-A' is empty (expected a header value; to leave a header out, use 'omit')"),
    ({"code": 200, "headers": {"X-A": []}},
     "header 'X-A' is an empty list (expected at least one header value)"),
    ({"code": 200, "headers": ["X-A"]}, "'headers' is a list (expected a mapping)"),
    # omit
    ({"code": 302, "omit": ["Contact"]}, None),
    ({"code": 200, "omit": ["a b"]},
     f"'omit' entry 'a b' is not a valid header name {TOKEN_HINT}"),
    ({"code": 200, "headers": {"Contact": "<sip:a@b>"}, "omit": ["contact"]},
     "header 'contact' is both set in 'headers' and left out in 'omit' (expected one of them)"),
    # body and sdp
    ({"code": 200, "sdp": "answer"}, None),
    ({"code": 200, "sdp": "v=0\r\n"}, None),
    ({"code": 200, "sdp": "offer"},
     "'sdp' is 'offer' (expected 'answer', or SDP text starting with 'v=0')"),
    ({"code": 200, "body": "x", "sdp": "answer"},
     "a reply step cannot have both 'body' and 'sdp' (expected one of them)"),
    # reliable provisional responses
    ({"code": 183, "reliable": True}, None),
    ({"code": 100, "reliable": True}, f"100 Trying cannot be sent reliably {RELIABLE_HINT}"),
    ({"code": 486, "reliable": True},
     f"a final response (486) cannot be sent reliably {RELIABLE_HINT}"),
    ({"code": 183, "reliable": 1}, "'reliable' is the number 1 (expected true or false)"),
    # keys
    ({"code": 200, "aftr": "1s"},
     f"unknown key 'aftr' in reply step (expected one of: {STEP_KEYS})"),
]  # fmt: skip

MATCHES: list[tuple[dict[str, Any], str | None]] = [
    # methods are tokens
    ({"method": "INVITE"}, None),
    ({"method": ["INVITE", "X-CUSTOM.1"]}, None),
    ({"method": "IN VITE"}, f"method 'IN VITE' is not a valid method name {TOKEN_HINT}"),
    ({"method": "INVITE\r\n"}, f"method 'INVITE\\r\\n' is not a valid method name {TOKEN_HINT}"),
    ({"method": []}, "'method' is an empty list (expected at least one method)"),
    # header names and regexes
    ({"headers": {"User-Agent": "^printer/"}}, None),
    ({"headers": {"Bad Name": "x"}},
     f"header name 'Bad Name' is not a valid header name {TOKEN_HINT}"),
    ({"headers": {"X": "*"}},
     "invalid regex '*' for header 'X': nothing to repeat at position 0 "
     "(expected a Python regular expression)"),
    ({"user": "("},
     "invalid regex '(' for 'user': missing ), unterminated subpattern at position 0 "
     "(expected a Python regular expression)"),
    # tokens and keywords
    ({"media": ["audio", "image"]}, None),
    ({"media": "a b"}, f"media type 'a b' is not a valid SDP media type {TOKEN_HINT}"),
    ({"transport": ["UDP", "tls"]}, None),
    ({"transport": "sctp"}, "unknown transport 'sctp' (expected one of: tcp, tls, udp)"),
    # counters and chance
    ({"first": 2}, None),
    ({"first": 0}, "'first' is 0 (expected a whole number of at least 1)"),
    ({"nth": "two"}, "'nth' is the text 'two' (expected a whole number of at least 1)"),
    ({"first": 1, "nth": 2},
     "'nth' cannot be combined with 'first' (expected one counter per rule: first, nth or every)"),
    ({"probability": 0.5}, None),
    ({"probability": "25%"}, None),
    ({"probability": 1.5}, f"'probability' 1.5 is out of range {PROBABILITY_HINT}"),
    ({"probability": "150%"}, f"'probability' 150% is out of range {PROBABILITY_HINT}"),
    ({"probability": "high"}, f"'probability' is the text 'high' {PROBABILITY_HINT}"),
    ({"in_dialog": False}, None),
    ({"in_dialog": 1}, "'in_dialog' is the number 1 (expected true or false)"),
]  # fmt: skip


def yaml_errors(text: str) -> list[str]:
    """The error messages of a scenario text, without their place; [] when it loads."""
    found = [issue.message for issue in check_scenario_text(text) if issue.is_error]
    if not found:
        load_scenario_text(text)
    return found


def api_errors(build: Any, *args: Any, **kwargs: Any) -> list[str]:
    """The message the builder raises, as a list like ``yaml_errors``; [] when it builds."""
    try:
        build(*args, **kwargs)
    except InvalidValue as exc:
        return [str(exc)]
    return []


def row_id(row: tuple[dict[str, Any], str | None]) -> str:
    return json.dumps(row[0])[:60]


@pytest.mark.parametrize(("step", "message"), STEPS, ids=[row_id(row) for row in STEPS])
def test_a_reply_step(step: dict[str, Any], message: str | None) -> None:
    expected = [] if message is None else [message]
    assert yaml_errors(f"rules:\n  - reply: [{json.dumps(step)}]\n") == expected
    assert api_errors(build_step, step) == expected


@pytest.mark.parametrize(("match", "message"), MATCHES, ids=[row_id(row) for row in MATCHES])
def test_a_match(match: dict[str, Any], message: str | None) -> None:
    expected = [] if message is None else [message]
    assert yaml_errors(f"rules:\n  - match: {json.dumps(match)}\n    reply: [200]\n") == expected
    assert api_errors(build_match, **match) == expected


@pytest.mark.parametrize(("step", "message"), [row for row in STEPS if row[1] is None],
                         ids=[row_id(row) for row in STEPS if row[1] is None])
def test_accepted_steps_are_the_same_model(step: dict[str, Any], message: None) -> None:
    (rule,) = load_scenario_text(f"rules:\n  - reply: [{json.dumps(step)}]\n").rules
    assert build_step(step) == rule.reply[0]


RULE_FAULTS: list[tuple[Any, str | None]] = [
    (["drop", {"fault": "delay", "min": "200ms", "max": "2s"}], None),
    ([{"fault": "swallow", "probability": 0.3}], None),
    ("late-100", None),
    (["fork"], "fault 'fork' cannot be used in a rule's 'faults' (expected it in a reply step)"),
    ([{"count": 2}],
     "a fault mapping has no 'fault' (expected a fault name, or a mapping with 'fault' and its "
     "parameters)"),
    ([{"fault": "drop", "cont": 2}],
     "unknown key 'cont' in fault 'drop' (expected one of: count, fault, probability)"),
]  # fmt: skip


@pytest.mark.parametrize(("faults", "message"), RULE_FAULTS,
                         ids=[json.dumps(row[0])[:60] for row in RULE_FAULTS])
def test_a_rule_fault_list(faults: Any, message: str | None) -> None:
    expected = [] if message is None else [message]
    text = f"rules:\n  - match: {{method: INVITE}}\n    faults: {json.dumps(faults)}\n" \
           "    reply: [200]\n"
    assert yaml_errors(text) == expected
    built: list[str] = []
    try:
        RuleBuilder(build_match("INVITE"), lambda rule: rule).reply(200, fault=faults)
    except InvalidValue as exc:
        built = [str(exc)]
    assert built == expected


ENDPOINT_FAULTS: list[tuple[Any, str | None]] = [
    ([{"fault": "outage", "after": "10s", "for": "30s"}], None),
    ([{"fault": "overload", "retry_after": 120}], None),
    ([{"fault": "slow", "min": "100ms", "max": "1s", "probability": 0.5}], None),
    ([{"fault": "outage", "for": 0}], "'for' is zero (expected a positive duration)"),
    ([{"fault": "slow"}],
     "fault 'slow' needs 'by' or 'min' and 'max' (expected a delay like by: 500ms)"),
    (["drop"], "fault 'drop' cannot be used in 'endpoint_faults' (expected it in a reply step "
               "or a rule's 'faults')"),
]  # fmt: skip


@pytest.mark.parametrize(("faults", "message"), ENDPOINT_FAULTS,
                         ids=[json.dumps(row[0])[:60] for row in ENDPOINT_FAULTS])
def test_an_endpoint_fault_list(faults: Any, message: str | None) -> None:
    expected = [] if message is None else [message]
    assert yaml_errors(f"endpoint_faults: {json.dumps(faults)}\nrules: []\n") == expected
    built: list[str] = []
    try:
        validate.faults(faults, "endpoint")
    except InvalidValue as exc:
        built = [str(exc)]
    assert built == expected


def message_of(step: dict[str, Any]) -> str | None:
    """The message the table gives for ``step``."""
    return next(message for row, message in STEPS if row == step)


def test_a_reply_built_as_a_model_object_is_checked_too() -> None:
    assert build_step(Reply(701, fault=Fault("malformed-status"))).code == 701
    # A name where the model holds a Fault is taken as that fault.
    named = build_step(Reply(701, fault="malformed-status"))  # type: ignore[arg-type]
    assert named.fault == Fault("malformed-status")
    for bad, message in [
        (Reply(701), message_of({"code": 701})),
        (Reply(200, fault=Fault("nope")), message_of({"code": 200, "fault": "nope"})),
        (Reply(200, fault=Fault("delay", delay=(2.0, 1.0))),
         message_of({"code": 200, "fault": "delay", "min": "2s", "max": "1s"})),
        (Reply(200, headers=(("X-A", "one\ntwo"),)),
         message_of({"code": 200, "headers": {"X-A": "one\ntwo"}})),
        (Reply(100, reliable=True), message_of({"code": 100, "reliable": True})),
        (Reply(200, after=-1), message_of({"code": 200, "after": -1})),
    ]:
        assert api_errors(build_step, bad) == [message]


DURATIONS = ["200ms", "1.5s", "2m", "0.5", ".5s", "-1s", "abc", "0", "1 s", "1.5S", "5h"]


@pytest.mark.parametrize("text", DURATIONS)
def test_the_command_line_reads_durations_as_a_scenario_file_does(text: str) -> None:
    """``--t1`` and ``timers: {t1: ...}`` take the same durations, to the same value."""
    yaml_text = f"timers: {{t1: {json.dumps(text)}, t2: 60m}}\nrules: []\n"
    seconds: float | None = None
    try:
        seconds = parse_duration(text)
        cli_errors = []
    except argparse.ArgumentTypeError as exc:
        cli_errors = [str(exc).replace("--t1", "'t1'")]
    assert yaml_errors(yaml_text) == cli_errors
    if seconds is not None:
        assert load_scenario_text(yaml_text).timers.t1 == seconds


UNMATCHED: list[tuple[Any, str | None]] = [
    (404, None),
    (480, None),
    (302, None),
    ({"code": 404, "reason": "Nobody Here"}, None),
    ({"code": 603}, None),
    (200, "'unmatched' code 200 is out of range (expected a status code 300-699)"),
    (701, "'unmatched' code 701 is out of range (expected a status code 300-699). "
          f"701: {NOT_SIP[701]}"),
    ({"code": 99}, "'unmatched' code 99 is out of range (expected a status code 300-699)"),
    ("480", "'unmatched' is the text '480' (expected a status code 300-699, or a mapping like "
            "{code: 404, reason: Not Here})"),
    ([404], "'unmatched' is a list (expected a status code 300-699, or a mapping like "
            "{code: 404, reason: Not Here})"),
    ({"reason": "x"}, "'unmatched' has no 'code' (expected a status code 300-699)"),
    ({"code": 404, "reason": "a\nb"}, f"'reason' contains a line break or NUL {ONE_LINE_HINT}"),
    ({"code": 404, "after": 1},
     "unknown key 'after' in unmatched (expected one of: code, reason)"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "message"), UNMATCHED,
                         ids=[json.dumps(row[0])[:40] for row in UNMATCHED])
def test_the_answer_to_unmatched_requests(answer: Any, message: str | None) -> None:
    expected = [] if message is None else [message]
    assert yaml_errors(f"unmatched: {json.dumps(answer)}\nrules: []\n") == expected
    assert api_errors(build_unmatched, answer) == expected
    if message is None:
        loaded = load_scenario_text(f"unmatched: {json.dumps(answer)}\nrules: []\n").unmatched
        assert build_unmatched(answer) == loaded


def test_an_unmatched_answer_built_as_a_model_object_is_checked_too() -> None:
    assert build_unmatched(UnmatchedAnswer(480, "Away")) == UnmatchedAnswer(480, "Away")
    assert api_errors(build_unmatched, UnmatchedAnswer(200)) == [
        message for answer, message in UNMATCHED if answer == 200]
