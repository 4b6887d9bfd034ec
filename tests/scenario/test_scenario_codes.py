"""Status codes in reply steps, and `omit` of fields the code catalogue says a code requires."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from sipfault.cli import validate_files
from sipfault.model.faults import Fault
from sipfault.scenario import (
    Reply,
    ScenarioError,
    check_scenario_text,
    load_scenario,
    load_scenario_text,
)
from sipfault.sip.codes import NOT_SIP, required_headers

OUT_OF_RANGE = (
    "is out of range (expected 100-699, RFC 3261 §7.2, or a step with 'fault' to send it as a "
    "malformed message)"
)


def report(text: str) -> list[str]:
    return [str(issue) for issue in check_scenario_text(textwrap.dedent(text), "s.yaml")]


def steps(text: str) -> tuple[Reply, ...]:
    return load_scenario_text(textwrap.dedent(text), "s.yaml").rules[0].reply


def rule_with(reply: str, match: str = "{method: INVITE}") -> str:
    return f"rules:\n  - match: {match}\n    reply: {reply}\n"


def column(text: str, line: int, needle: str, occurrence: int = 1) -> int:
    """The 1-based column of the ``occurrence``-th ``needle`` on ``line`` of ``text``."""
    row = textwrap.dedent(text).splitlines()[line - 1]
    index = -1
    for _ in range(occurrence):
        index = row.index(needle, index + 1)
    return index + 1


# -- status codes ------------------------------------------------------------------------------


def test_701_without_fault_is_an_error_that_explains_it() -> None:
    text = rule_with("[701]")
    expected = f"s.yaml:3:13: status code 701 {OUT_OF_RANGE}. 701: {NOT_SIP[701]}"
    assert report(text) == [expected]
    assert "Party Hangs Up" in expected
    with pytest.raises(ScenarioError) as raised:
        load_scenario_text(text, "s.yaml")
    assert [str(issue) for issue in raised.value.issues] == [expected]


def test_701_in_a_mapping_step_without_fault() -> None:
    assert report(rule_with("[{code: 701, reason: Party Hangs Up}]")) == [
        f"s.yaml:3:20: status code 701 {OUT_OF_RANGE}. 701: {NOT_SIP[701]}"
    ]


def test_out_of_range_codes_not_in_not_sip_have_no_explanation() -> None:
    assert report(rule_with("[100, 700]")) == [f"s.yaml:3:18: status code 700 {OUT_OF_RANGE}"]
    assert report(rule_with("[{code: 99}]")) == [f"s.yaml:3:20: status code 99 {OUT_OF_RANGE}"]


def test_701_with_fault_loads() -> None:
    (step,) = steps(rule_with("[{code: 701, fault: malformed-status}]"))
    assert step == Reply(code=701, fault=Fault("malformed-status"))
    assert report(rule_with("[{code: 701, fault: malformed-status}]")) == []


@pytest.mark.parametrize("code", [0, 7, 99, 700, 999])
def test_any_three_digit_number_with_fault(code: int) -> None:
    (step,) = steps(rule_with(f"[{{code: {code}, fault: malformed-status}}]"))
    assert step.code == code
    assert step.fault == Fault("malformed-status")


@pytest.mark.parametrize("code", [-1, 1000, 70100])
def test_fault_codes_keep_three_digits(code: int) -> None:
    text = rule_with(f"[{{fault: malformed-status, code: {code}}}]")
    assert report(text) == [
        f"s.yaml:3:{column(text, 3, str(code))}: status code {code} is out of range even for "
        "a fault (expected 0-999: a status line has three digits)"
    ]


def test_fault_code_must_still_be_a_number() -> None:
    assert report(rule_with("[{code: seven, fault: malformed-status}]")) == [
        "s.yaml:3:20: 'code' is the text 'seven' (expected a number 0-999 in a step with 'fault')"
    ]


def test_in_range_misprints_warn_and_load() -> None:
    text = rule_with("[100, 303]")
    assert report(text) == [
        f"s.yaml:3:18: warning: status code 303 is sent as written, but: {NOT_SIP[303]}",
    ]
    assert [step.code for step in steps(text)] == [100, 303]
    text = rule_with("[{code: 304, reason: Alternative service}]")
    assert report(text) == [
        f"s.yaml:3:20: warning: status code 304 is sent as written, but: {NOT_SIP[304]}",
    ]


def test_misprint_with_fault_is_deliberate_and_silent() -> None:
    assert report(rule_with("[{code: 303, fault: malformed-status}]")) == []


# -- omit --------------------------------------------------------------------------------------


def omit_warning(line: int, column: int, header: str, code: int, rfc: str) -> str:
    return (
        f"s.yaml:{line}:{column}: warning: omits required header {header} of {code} on purpose "
        f"(required by {rfc}; remove it from 'omit' to have it filled in)"
    )


def test_omit_of_a_required_field_warns_at_the_entry_and_loads() -> None:
    text = rule_with("[{code: 405, omit: [Server, Allow]}]")
    assert "Allow" in required_headers(405, "INVITE")
    where = column(text, 3, "Allow")
    assert report(text) == [omit_warning(3, where, "Allow", 405, "RFC 3261 §21.4.6")]
    (step,) = steps(text)
    assert step.omit == ("Server", "Allow")


def test_omit_warning_names_the_field_as_the_catalogue_spells_it() -> None:
    text = rule_with("[{code: 405, omit: allow}]")
    where = column(text, 3, "allow")
    assert report(text) == [omit_warning(3, where, "Allow", 405, "RFC 3261 §21.4.6")]


def test_omit_of_a_field_the_code_does_not_require_is_silent() -> None:
    assert report(rule_with("[{code: 486, omit: [Retry-After, Server]}]")) == []
    assert report(rule_with("[{code: 299, omit: [Contact]}]")) == []  # not catalogued


def test_what_is_required_depends_on_the_rule_methods() -> None:
    # 200 to INVITE needs Contact (RFC 3261 §12.1.1); 200 to OPTIONS does not.
    assert "Contact" in required_headers(200, "INVITE")
    assert "Contact" not in required_headers(200, "OPTIONS")
    invite = rule_with("[{code: 200, omit: [Contact]}]")
    options = rule_with("[{code: 200, omit: [Contact]}]", "{method: OPTIONS}")
    where = column(invite, 3, "Contact")
    assert report(invite) == [omit_warning(3, where, "Contact", 200, "RFC 3261 §21.2.1")]
    assert report(options) == []
    # A rule for several methods: one of them requiring it is enough.
    both = rule_with("[{code: 200, omit: [Contact]}]", "{method: [OPTIONS, INVITE]}")
    assert report(both) == [omit_warning(3, where, "Contact", 200, "RFC 3261 §21.2.1")]


def test_a_rule_for_every_method_counts_any_method_requirement() -> None:
    # Contact is required of a 200 to INVITE only, Min-Expires of every 423: a rule that
    # matches any method may answer an INVITE, so both warn.
    text = textwrap.dedent(
        """\
        rules:
          - match: {user: a}
            reply: [{code: 200, omit: Contact}]
          - reply: [{code: 423, omit: Min-Expires}]
        """
    )
    assert report(text) == [
        omit_warning(3, column(text, 3, "Contact"), "Contact", 200, "RFC 3261 §21.2.1"),
        omit_warning(
            4, column(text, 4, "Min-Expires"), "Min-Expires", 423, "RFC 3261 §21.4.17, §10.3"
        ),
    ]


def test_a_shared_step_is_judged_per_rule() -> None:
    text = """\
        rules:
          - match: {method: OPTIONS}
            reply:
              - &ok {code: 200, omit: [Contact]}
          - match: {method: INVITE}
            reply: [*ok]
        """
    # Only the INVITE rule needs Contact; the warning points at the one written entry.
    where = column(text, 4, "Contact")
    assert report(text) == [omit_warning(4, where, "Contact", 200, "RFC 3261 §21.2.1")]


def test_warnings_do_not_stop_loading_a_file(tmp_path: Path) -> None:
    path = tmp_path / "faulty.yaml"
    path.write_text(rule_with("[{code: 405, omit: [Allow]}, {code: 303}]"), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.rules[0].reply[0].omit == ("Allow",)


def test_sipfault_validate_prints_warnings_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "faulty.yaml"
    text = rule_with("[{code: 405, omit: [Allow]}]")
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert validate_files([str(path)], out, err) == 0
    assert err.getvalue() == (
        f"{path}:3:{column(text, 3, 'Allow')}: warning: omits required header Allow of 405 "
        "on purpose (required by RFC 3261 §21.4.6; remove it from 'omit' to have it filled in)\n"
    )
    assert out.getvalue() == f"{path}: ok\n"


def test_sipfault_validate_exits_2_for_701_without_fault(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(rule_with("[701]"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert validate_files([str(path)], out, err) == 2
    assert "Party Hangs Up" in err.getvalue()
    assert out.getvalue() == ""
