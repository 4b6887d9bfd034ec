"""Every kind of error is reported at the line:col of the offending node, all at once."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from sipfault.model.faults import FAULTS
from sipfault.scenario import (
    ScenarioError,
    ScenarioIssue,
    check_scenario_file,
    check_scenario_text,
    load_scenario,
    load_scenario_text,
)

DURATION = "(expected a number of seconds or a duration like 200ms, 1.5s or 2m)"
NO_REPLY = (
    "rule has no 'reply' (expected a list of reply steps, 'dial_a_code: true', or 'drop: true' "
    "to never answer)"
)


def report(text: str, filename: str = "s.yaml") -> list[str]:
    """Every issue of the text, as printed."""
    return [str(issue) for issue in check_scenario_text(text, filename)]


def errors(text: str) -> list[str]:
    """Only the errors, as printed; also checks that loading raises with exactly these."""
    found = [str(i) for i in check_scenario_text(text, "s.yaml") if i.severity == "error"]
    with pytest.raises(ScenarioError) as raised:
        load_scenario_text(text, "s.yaml")
    assert [str(issue) for issue in raised.value.errors] == found
    return found


def test_the_documented_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("busy.yaml").write_text(
        textwrap.dedent(
            """\
            name: busy
            rules:
              - match: {method: INVITE}
                reply:
                  - 100
                  - code: 180
                    aftr: 200ms
            """
        ),
        encoding="utf-8",
    )
    expected = (
        "busy.yaml:7:9: unknown key 'aftr' in reply step (expected one of: after, body, by, "
        "bytes, code, count, fault, headers, max, min, omit, probability, reason, reliable, sdp)"
    )
    assert [str(issue) for issue in check_scenario_file("busy.yaml")] == [expected]
    with pytest.raises(ScenarioError) as raised:
        load_scenario("busy.yaml")
    assert str(raised.value) == expected
    assert raised.value.issues == [ScenarioIssue("busy.yaml", 7, 9, expected.split(": ", 1)[1])]


def test_all_errors_of_a_file_at_once() -> None:
    text = textwrap.dedent(
        """\
        name: busy
        rules:
          - match: {method: INVITE, user: "("}
            reply:
              - 100
              - code: 180
                aftr: 200ms
              - {code: 486, after: 1x}
          - match: {method: BYE}
            reply: 200
          - match: {method: MESSAGE}
            reply: [700]
        timers: {t1: 0}
        extra: true
        """
    )
    found = errors(text)
    assert [line.split(": ", 1)[0] for line in found] == [
        "s.yaml:3:35",
        "s.yaml:7:9",
        "s.yaml:8:28",
        "s.yaml:10:12",
        "s.yaml:12:13",
        "s.yaml:13:14",
        "s.yaml:14:1",
    ]
    assert "invalid regex '('" in found[0]
    assert "unknown key 'aftr'" in found[1]
    assert "bad duration '1x'" in found[2]
    assert "'reply' is the number 200 (expected a list" in found[3]
    assert "700" in found[4] and "100-699" in found[4]
    assert "'t1' is zero" in found[5]
    assert "unknown key 'extra' at the top level" in found[6]


def test_error_text_is_one_issue_per_line() -> None:
    with pytest.raises(ScenarioError) as raised:
        load_scenario_text("rules:\n  - reply: [{code: 200, x: 1, y: 2}]\n", "s.yaml")
    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("s.yaml:2:25: unknown key 'x' in reply step")
    assert lines[1].startswith("s.yaml:2:31: unknown key 'y' in reply step")


# -- YAML itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\ndescription: a: b\nrules: []\n",
         "s.yaml:2:15: invalid YAML: mapping values are not allowed here"),
        ("name: x\n\trules: []\n",
         "s.yaml:2:1: invalid YAML: found character '\\t' that cannot start any token "
         "(while scanning for the next token)"),
        ("rules: []\n---\nrules: []\n",
         "s.yaml:2:1: a second YAML document starts here (expected one document per file)"),
        ("rules: [*nope]\n", "s.yaml:1:9: invalid YAML: found undefined alias 'nope'"),
        ("name: x\x00\nrules: []\n",
         "s.yaml:1:8: invalid YAML: character #x0000 is not allowed "
         "(expected printable Unicode text)"),
    ],
)  # fmt: skip
def test_yaml_syntax_errors_have_a_place(text: str, expected: str) -> None:
    assert errors(text) == [expected]


def test_unclosed_flow_list_points_into_the_file() -> None:
    (found,) = errors("name: x\nrules: [\n  - 1\n")
    assert found.startswith("s.yaml:3:3: invalid YAML: ")


def test_duplicate_keys() -> None:
    assert errors("name: x\nrules: []\nname: y\n") == [
        "s.yaml:3:1: duplicate key 'name' (first given at 1:1; expected each key once)"
    ]
    assert errors("rules:\n  - reply: [{code: 200, code: 486}]\n") == [
        "s.yaml:2:25: duplicate key 'code' (first given at 2:14; expected each key once)"
    ]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert errors("[" * 3000 + "]" * 3000) == [
        "s.yaml:1:65: invalid YAML: nested more than 64 levels deep"
    ]
    assert errors("a:\n" + "".join(f"{'  ' * i}- \n" for i in range(1, 100))) == [
        "s.yaml:65:129: invalid YAML: nested more than 64 levels deep"
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(text: str) -> None:
    assert errors(text) == [
        "s.yaml:1:1: the file is empty (expected a mapping with 'name', 'description' and 'rules')"
    ]


def test_tags_other_than_the_standard_ones() -> None:
    found = errors("rules:\n  - reply: [{code: !!int abc}, {code: !foo 200}, !!binary aGk=]\n")
    assert found == [
        "s.yaml:2:20: 'code': cannot read 'abc' (invalid literal for int() with base 10: 'abc')",
        "s.yaml:2:39: 'code' is a value tagged '!foo' (expected a status code 100-699)",
        "s.yaml:2:50: reply step is a value tagged '!!binary' "
        "(expected a status code or a mapping)",
    ]


def test_bad_merge_keys() -> None:
    assert errors("rules:\n  - match: {<<: 1}\n    reply: [200]\n") == [
        "s.yaml:2:17: a merge ('<<') value is the number 1 (expected a mapping or list of mappings)"
    ]
    assert errors("rules:\n  - match: &m {<<: *m}\n    reply: [200]\n") == [
        "s.yaml:2:12: a mapping merges itself (expected a mapping without '<<')"
    ]


def test_non_scalar_key() -> None:
    assert errors("? [a]\n: 1\nrules: []\n") == [
        "s.yaml:1:3: a key is a list (expected a key name)"
    ]


# -- top level ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- 1\n- 2\n", "s.yaml:1:1: the top level is a list (expected a mapping)"),
        ("hello\n", "s.yaml:1:1: the top level is the text 'hello' (expected a mapping)"),
        ("name: x\ndescription: y\n",
         "s.yaml:1:1: missing 'rules' (expected a list of rules; use 'rules: []' to answer "
         "every request with the defaults)"),
        ("rules: {match: {}}\n", "s.yaml:1:8: 'rules' is a mapping (expected a list of rules)"),
        ("rules:\n", "s.yaml:1:7: 'rules' is empty (expected a list of rules)"),
        ("name: ''\nrules: []\n", "s.yaml:1:7: 'name' is blank (expected a short name)"),
        ("name: [a]\nrules: []\n", "s.yaml:1:7: 'name' is a list (expected text)"),
        ("seed: 1.5\nrules: []\n",
         "s.yaml:1:7: 'seed' is the number 1.5 (expected a whole number)"),
        ("timers: [1]\nrules: []\n", "s.yaml:1:9: 'timers' is a list (expected a mapping)"),
        ("description: {a: 1}\nrules: []\n",
         "s.yaml:1:14: 'description' is a mapping (expected text)"),
    ],
)  # fmt: skip
def test_top_level_errors(text: str, expected: str) -> None:
    assert errors(text) == [expected]


def test_unknown_top_level_key_lists_the_known_ones() -> None:
    (found,) = errors("name: x\nrules: []\nrule: []\n")
    assert found.startswith("s.yaml:3:1: unknown key 'rule' at the top level (expected one of: ")
    for key in ("description", "name", "rules", "seed", "timers"):
        assert f"{key}," in found or f"{key})" in found


def test_timer_errors() -> None:
    assert errors("timers: {t1: 0s, t2: fast, t3: 1s}\nrules: []\n") == [
        "s.yaml:1:14: 't1' is zero (expected a positive duration)",
        f"s.yaml:1:22: bad duration 'fast' for 't2' {DURATION}",
        "s.yaml:1:28: unknown key 't3' in timers (expected one of: t1, t2, t4)",
    ]


# -- rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - INVITE\n", ["s.yaml:2:5: a rule is the text 'INVITE' (expected a mapping)"]),
        ("rules:\n  - match: {method: INVITE}\n", [f"s.yaml:2:5: {NO_REPLY}"]),
        ("rules:\n  - match: {method: INVITE}\n    drop: false\n", [f"s.yaml:2:5: {NO_REPLY}"]),
        ("rules:\n  - match: {}\n    drop: true\n    reply: [200]\n",
         ["s.yaml:3:5: a rule cannot both 'drop' and 'reply' (expected one of them)"]),
        ("rules:\n  - drop: maybe\n",
         ["s.yaml:2:11: 'drop' is the text 'maybe' (expected true or false)"]),
        ("rules:\n  - reply: {code: 200}\n",
         ["s.yaml:2:12: 'reply' is a mapping (expected a list of reply steps, like [100, 486])"]),
        ("rules:\n  - reply: []\n",
         ["s.yaml:2:12: 'reply' is an empty list (expected at least one reply step, or "
          "'drop: true' to never answer)"]),
        ("rules:\n  - name: [x]\n    drop: true\n",
         ["s.yaml:2:11: rule 'name' is a list (expected text)"]),
    ],
)  # fmt: skip
def test_rule_errors(text: str, expected: list[str]) -> None:
    assert errors(text) == expected


def test_unknown_rule_key() -> None:
    found = errors("rules:\n  - match: {}\n    replies: [200]\n")
    assert found[0] == f"s.yaml:2:5: {NO_REPLY}"
    assert found[1].startswith("s.yaml:3:5: unknown key 'replies' in rule (expected one of: ")
    assert all(f"{key}," in found[1] for key in ("drop", "match", "name", "reply"))
    assert found[1].endswith("then)")


# -- match --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ("[INVITE]", "2:12: 'match' is a list (expected a mapping)"),
        ("{user: '('}",
         "2:19: invalid regex '(' for 'user': missing ), unterminated subpattern at position 0 "
         "(expected a Python regular expression)"),
        ("{host: '[z-a]'}",
         "2:19: invalid regex '[z-a]' for 'host': bad character range z-a at position 1 "
         "(expected a Python regular expression)"),
        ("{headers: {X: '*'}}",
         "2:26: invalid regex '*' for header 'X': nothing to repeat at position 0 "
         "(expected a Python regular expression)"),
        ("{body: 'a{99999999999}'}",
         "2:19: invalid regex 'a{99999999999}' for 'body': the repetition number is too large "
         "(expected a Python regular expression)"),
        ("{from_user: [a]}", "2:24: 'from_user' is a list (expected a regular expression)"),
        ("{headers: [X]}", "2:22: 'headers' is a list (expected a mapping)"),
        ("{headers: {'Bad Name': x}}",
         "2:23: header name 'Bad Name' is not a valid header name (expected letters, digits and "
         "- . ! % * _ + ` ' ~ only, RFC 3261 §25.1)"),
        ("{headers: {Subject: a, subject: b}}",
         "2:35: header 'subject' is also given at 2:23 (header names ignore case; "
         "expected each once)"),
        ("{method: 'IN VITE'}",
         "2:21: method 'IN VITE' is not a valid method name (expected letters, digits and "
         "- . ! % * _ + ` ' ~ only, RFC 3261 §25.1)"),
        ("{method: []}", "2:21: 'method' is an empty list (expected at least one method)"),
        ("{method: {a: 1}}", "2:21: 'method' is a mapping (expected method or a list of them)"),
        ("{transport: [udp, sctp]}",
         "2:30: unknown transport 'sctp' (expected one of: tcp, tls, udp)"),
        ("{in_dialog: 1}", "2:24: 'in_dialog' is the number 1 (expected true or false)"),
        ("{first: 0}", "2:20: 'first' is 0 (expected a whole number of at least 1)"),
        ("{every: -2}", "2:20: 'every' is -2 (expected a whole number of at least 1)"),
        ("{nth: two}", "2:18: 'nth' is the text 'two' (expected a whole number of at least 1)"),
        ("{probability: 1.5}",
         "2:26: 'probability' 1.5 is out of range "
         "(expected a number from 0 to 1, or a percentage like 25%)"),
        ("{probability: 150%}",
         "2:26: 'probability' 150% is out of range "
         "(expected a number from 0 to 1, or a percentage like 25%)"),
        ("{probability: high}",
         "2:26: 'probability' is the text 'high' "
         "(expected a number from 0 to 1, or a percentage like 25%)"),
        ("{methods: INVITE}",
         "2:13: unknown key 'methods' in match (expected one of: body, every, first, from_user, "
         "headers, host, in_dialog, media, method, nth, probability, to_user, transport, user)"),
    ],
)  # fmt: skip
def test_match_errors(match: str, expected: str) -> None:
    assert errors(f"rules:\n  - match: {match}\n    reply: [200]\n") == [f"s.yaml:{expected}"]


def test_counters_are_mutually_exclusive() -> None:
    text = "rules:\n  - match: {first: 1, nth: 2, every: 3}\n    reply: [200]\n"
    hint = "(expected one counter per rule: first, nth or every)"
    assert errors(text) == [
        f"s.yaml:2:23: 'nth' cannot be combined with 'first' {hint}",
        f"s.yaml:2:31: 'every' cannot be combined with 'first' {hint}",
    ]


# -- reply steps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("[[200]]", "2:13: reply step is a list (expected a status code or a mapping)"),
        ("['200']", "2:13: reply step is the text '200' (expected a status code or a mapping)"),
        ("[{after: 1s}]", "2:13: reply step has no 'code' (expected a status code 100-699)"),
        ("[{code: true}]", "2:20: 'code' is the boolean true (expected a status code 100-699)"),
        ("[{code: 200.0}]", "2:20: 'code' is the number 200.0 (expected a status code 100-699)"),
        ("[{code: 200, after: 1x}]", f"2:32: bad duration '1x' for 'after' {DURATION}"),
        ("[{code: 200, after: -1}]", f"2:32: 'after' is negative {DURATION}"),
        ("[{code: 200, after: .inf}]", "2:32: 'after' is too long (expected a finite duration)"),
        ("[{code: 200, after: [1]}]", f"2:32: 'after' is a list {DURATION}"),
        ("[{code: 200, after: 5h}]", f"2:32: bad duration '5h' for 'after' {DURATION}"),
        ("[{code: 200, reason: \"a\\nb\"}]",
         "2:33: 'reason' contains a line break or NUL (expected one line; malformed messages "
         "are made with 'fault')"),
        ("[{code: 200, body: x, sdp: answer}]",
         "2:34: a reply step cannot have both 'body' and 'sdp' (expected one of them)"),
        ("[{code: 200, sdp: offer}]",
         "2:30: 'sdp' is 'offer' (expected 'answer', or SDP text starting with 'v=0')"),
        ("[{code: 100, reliable: true}]",
         "2:35: 100 Trying cannot be sent reliably (expected a 101-199 provisional response, "
         "RFC 3262 §3)"),
        ("[{code: 486, reliable: true}]",
         "2:35: a final response (486) cannot be sent reliably (expected a 101-199 provisional "
         "response, RFC 3262 §3)"),
        ("[{code: 180, reliable: 1}]", "2:35: 'reliable' is the number 1 (expected true or false)"),
        ("[{code: 200, headers: {X: \"a\\r\\nY: b\"}}]",
         "2:38: header 'X' contains a line break or NUL (expected one line; malformed messages "
         "are made with 'fault')"),
        ("[{code: 200, headers: {X: }}]",
         "2:37: header 'X' is empty (expected a header value; to leave a header out, "
         "use 'omit')"),
        ("[{code: 200, headers: {X: []}}]",
         "2:38: header 'X' is an empty list (expected at least one header value)"),
        ("[{code: 200, headers: {X: {a: b}}}]",
         "2:38: header 'X' is a mapping (expected header value or a list of them)"),
        ("[{code: 200, headers: [X]}]", "2:34: 'headers' is a list (expected a mapping)"),
        ("[{code: 200, headers: {Subject: a, subject: b}}]",
         "2:47: header 'subject' is also given at 2:35 (header names ignore case; "
         "expected each once)"),
        ("[{code: 200, headers: {Contact: '<sip:a@b>'}, omit: [contact]}]",
         "2:65: header 'contact' is both set in 'headers' and left out in 'omit' "
         "(expected one of them)"),
        ("[{code: 200, omit: [Via, via]}]",
         "2:37: header 'via' is also given at 2:32 (header names ignore case; expected each once)"),
        ("[{code: 200, omit: ['a b']}]",
         "2:32: 'omit' entry 'a b' is not a valid header name (expected letters, digits and "
         "- . ! % * _ + ` ' ~ only, RFC 3261 §25.1)"),
        ("[{code: 200, fault: 'not a name'}]",
         "2:32: unknown fault 'not a name' (expected one of: "
         + ", ".join(sorted(n for n, k in FAULTS.items() if "step" in k.scopes)) + ")"),
        ("[{code: 200, aftr: 1s}]",
         "2:25: unknown key 'aftr' in reply step (expected one of: after, body, by, bytes, "
         "code, count, fault, headers, max, min, omit, probability, reason, reliable, sdp)"),
    ],
)  # fmt: skip
def test_reply_step_errors(steps: str, expected: str) -> None:
    assert errors(f"rules:\n  - reply: {steps}\n") == [f"s.yaml:{expected}"]


@pytest.mark.parametrize(
    ("code", "column"), [("99", 13), ("700", 13), ("1000", 13), ("-1", 13), ("0x1F4", None)]
)
def test_codes_out_of_range(code: str, column: int | None) -> None:
    if column is None:  # 0x1F4 is 500, a valid code written in hex
        assert load_scenario_text(f"rules:\n  - reply: [{code}]\n").rules[0].reply[0].code == 500
        return
    (found,) = errors(f"rules:\n  - reply: [{code}]\n")
    assert found.startswith(f"s.yaml:2:{column}: status code {code} is out of range")
    assert "100-699" in found


# -- files --------------------------------------------------------------------------------


def test_missing_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert [str(i) for i in check_scenario_file("nope.yaml")] == [
        "nope.yaml: cannot read the file: No such file or directory"
    ]
    with pytest.raises(ScenarioError, match=r"^nope\.yaml: cannot read the file"):
        load_scenario("nope.yaml")
    Path("dir.yaml").mkdir()
    (issue,) = check_scenario_file("dir.yaml")
    assert (issue.line, issue.column) == (0, 0)
    assert str(issue).startswith("dir.yaml: cannot read the file: ")


def test_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("latin1.yaml").write_bytes(b"name: x\ndescription: caf\xe9\nrules: []\n")
    assert [str(i) for i in check_scenario_file("latin1.yaml")] == [
        "latin1.yaml:2:17: byte 0xe9 is not UTF-8 (expected a UTF-8 text file)"
    ]


# -- warnings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - reply: [503]\n  - match: {method: INVITE}\n    reply: [486]\n",
         ["s.yaml:3:5: warning: this rule never matches: the rule at 2:5 answers every request "
          "before it"]),
        ("rules:\n  - match: {method: invite}\n    reply: [486]\n",
         ["s.yaml:2:21: warning: method 'invite' is not upper-case and matches only requests "
          "that spell it so (methods are case-sensitive, RFC 3261 §7.1); did you mean "
          "'INVITE'?"]),
        ("rules:\n  - match: {method: INVITE}\n    reply: [100, 486, 200, 180]\n",
         ["s.yaml:3:23: warning: response after the final response at 3:18 (a transaction has "
          "one final response, RFC 3261 §17.2.1)",
          "s.yaml:3:28: warning: response after the final response at 3:18 (a transaction has "
          "one final response, RFC 3261 §17.2.1)"]),
        ("rules:\n  - reply: [{code: 486, headers: {X: '{to_usr}'}, "
         "body: '{callid} {\"a\": 1}'}]\n",
         ["s.yaml:2:38: warning: unknown placeholder {to_usr} in header 'X' is sent as written "
          "(known: call_id, from_user, local_host, local_port, ruri_user, to_user)",
          "s.yaml:2:57: warning: unknown placeholder {callid} in 'body' is sent as written "
          "(known: call_id, from_user, local_host, local_port, ruri_user, to_user)"]),
        ("rules:\n  - match: {method: [ACK, INVITE]}\n    reply: [486]\n",
         ["s.yaml:2:5: warning: ACK is never answered (RFC 3261 §17.1.1.3); this rule's replies "
          "apply only to its other methods"]),
        ("timers: {t1: 5s}\nrules: []\n",
         ["s.yaml:1:9: warning: t2 (4s) is shorter than t1 (5s); RFC 3261 §17.1.2.2 expects "
          "T2 >= T1"]),
        ("rules:\n  - {name: a, match: {method: A}, reply: [200]}\n"
         "  - {name: a, match: {method: B}, reply: [200]}\n",
         ["s.yaml:3:5: warning: rule name 'a' is also used at 2:5 (expected unique names)"]),
        ("rules:\n  - match: {media: fax}\n    reply: [488]\n",
         ["s.yaml:2:20: warning: media type 'fax' is not a known SDP media type (known: "
          "application, audio, image, message, text, video; T.38 fax is 'image')"]),
    ],
)  # fmt: skip
def test_warnings_are_reported_but_do_not_stop_loading(text: str, expected: list[str]) -> None:
    assert report(text) == expected
    assert all(issue.severity == "warning" for issue in check_scenario_text(text, "s.yaml"))
    load_scenario_text(text, "s.yaml")


def test_known_placeholders_and_other_braces_give_no_warning() -> None:
    text = (
        "rules:\n  - reply: [{code: 200, headers: {X: '{to_user}@{local_host}:{local_port}'}, "
        'body: \'{"json": {"n": 1}} {call_id} {Upper}\'}]\n'
    )
    assert report(text) == []


def test_errors_and_warnings_come_in_file_order() -> None:
    text = "rules:\n  - match: {method: invite}\n    reply: [100, 486, 200]\nbogus: 1\n"
    found = report(text)
    assert [line.split(": ")[0] for line in found] == ["s.yaml:2:21", "s.yaml:3:23", "s.yaml:4:1"]
    with pytest.raises(ScenarioError) as raised:
        load_scenario_text(text, "s.yaml")
    assert [str(issue) for issue in raised.value.issues] == found
    assert [issue.severity for issue in raised.value.errors] == ["error"]


def test_aliased_nodes_are_reported_once() -> None:
    text = "rules:\n  - match: {}\n    reply: &r [{code: 200, aftr: 1}]\n  - reply: *r\n"
    found = errors(text)
    assert len(found) == 1
    assert found[0].startswith("s.yaml:3:28: unknown key 'aftr'")


# -- the error types ----------------------------------------------------------------------


def test_issue_and_error_types() -> None:
    issue = ScenarioIssue("a.yaml", 3, 5, "something is off")
    warning = ScenarioIssue("a.yaml", 4, 1, "looks odd", "warning")
    placeless = ScenarioIssue("a.yaml", 0, 0, "cannot read the file: gone")
    assert str(issue) == "a.yaml:3:5: something is off"
    assert str(warning) == "a.yaml:4:1: warning: looks odd"
    assert str(placeless) == "a.yaml: cannot read the file: gone"
    error = ScenarioError([issue, warning])
    assert str(error) == "a.yaml:3:5: something is off\na.yaml:4:1: warning: looks odd"
    assert error.errors == [issue]
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ScenarioError)
    assert copy.issues == error.issues
    assert str(copy) == str(error)
