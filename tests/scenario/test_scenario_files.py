"""The shipped scenario files load into exactly the model their comments describe."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sipfault.model.scenario import (
    AuthSettings,
    DialACode,
    RegistrarFailure,
    RegistrarSettings,
    ResponseDefaults,
)
from sipfault.scenario import (
    Match,
    Reply,
    Rule,
    Scenario,
    SourceLocation,
    Timers,
    check_scenario_file,
    load_scenario,
)
from sipfault.sip.codes import RETRY_AFTER_CODES

REPO = Path(__file__).resolve().parents[2]

INVITE = Match(methods=frozenset({"INVITE"}))

SHIPPED = [
    "busy",
    "answer",
    "ring-forever",
    "codes",
    "register",
    "register-auth",
    "register-auth-rfc8760",
    "register-423",
    "register-flaky",
]

# The INVITE rule of the registrar scenarios: ring briefly, then answer the offer.
ANSWER_CALLS = Rule(
    match=INVITE,
    name="answer-calls",
    reply=(Reply(100), Reply(180, after=0.1), Reply(200, after=0.5, sdp="answer")),
)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # Load by relative path, as a user would type it, to check names are kept as given.
    monkeypatch.chdir(REPO)


def test_busy() -> None:
    scenario = load_scenario("scenarios/busy.yaml")
    assert scenario == Scenario(
        name="busy",
        description="Ring briefly, then Busy Here; ask the caller to retry in 30 s.",
        rules=(
            Rule(
                match=INVITE,
                name="busy",
                reply=(
                    Reply(code=100),
                    Reply(code=180, after=0.2),
                    Reply(code=486, after=1.0, headers=(("Retry-After", "30"),)),
                ),
            ),
        ),
        timers=Timers(),
        seed=None,
        source="scenarios/busy.yaml",
    )
    rule = scenario.rules[0]
    assert rule.location == SourceLocation("scenarios/busy.yaml", 16, 5)
    assert [step.location for step in rule.reply] == [
        SourceLocation("scenarios/busy.yaml", 20, 9),
        SourceLocation("scenarios/busy.yaml", 22, 9),
        SourceLocation("scenarios/busy.yaml", 25, 9),
    ]


def test_answer() -> None:
    scenario = load_scenario("scenarios/answer.yaml")
    assert scenario.name == "answer"
    assert scenario.source == "scenarios/answer.yaml"
    assert scenario.rules == (
        Rule(
            match=INVITE,
            name="answer",
            reply=(
                Reply(code=100),
                Reply(code=180, after=0.1),
                Reply(200, after=1.0, sdp="answer"),
            ),
        ),
    )
    # BYE is left to the server's defaults, and the file says so.
    assert "BYE" in Path("scenarios/answer.yaml").read_text(encoding="utf-8")
    assert all(rule.match.methods == frozenset({"INVITE"}) for rule in scenario.rules)


def test_ring_forever_has_no_final_response() -> None:
    scenario = load_scenario("scenarios/ring-forever.yaml")
    assert scenario.name == "ring-forever"
    (rule,) = scenario.rules
    assert rule.match == INVITE
    assert rule.drop is False
    assert [step.code for step in rule.reply] == [100, 180]
    assert not any(step.is_final for step in rule.reply)
    assert "CANCEL" in Path("scenarios/ring-forever.yaml").read_text(encoding="utf-8")


def test_codes_is_dial_a_code_for_initial_requests_to_a_user() -> None:
    scenario = load_scenario("scenarios/codes.yaml")
    assert scenario.name == "codes"
    (rule,) = scenario.rules
    assert rule.name == "dial-a-code"
    assert rule.dial_a_code == DialACode(ring=0.1, answer_after=0.5, fallback=404)
    assert rule.reply == ()
    match = rule.match
    # Initial requests only: an in-dialog BYE (sip:200@host hung up) goes to the defaults.
    assert match.in_dialog is False
    assert match.methods is not None and "INVITE" in match.methods
    # CANCEL must reach its INVITE, ACK is never answered, REGISTER goes to the registrar.
    assert not match.methods & {"CANCEL", "ACK", "REGISTER", "BYE", "PRACK"}
    assert match.ruri_user is not None
    assert match.ruri_user.fullmatch("486") and match.ruri_user.fullmatch("alice")
    assert match.ruri_user.fullmatch("") is None  # sip:host keep-alives get the defaults
    retry_after = dict(scenario.defaults.retry_after)
    assert set(retry_after) == {480, 486, 503, 600, 603}
    assert set(retry_after) <= RETRY_AFTER_CODES
    assert retry_after[486] == 30 and retry_after[503] == 120
    assert scenario.auth is None
    assert scenario.registrar == RegistrarSettings()


def test_register_is_an_open_registrar() -> None:
    scenario = load_scenario("scenarios/register.yaml")
    assert scenario.auth is None
    assert scenario.registrar == RegistrarSettings(default_expires=3600, max_expires=86400)
    assert scenario.defaults == ResponseDefaults()
    # No rule takes REGISTER: the registrar answers it.
    assert scenario.rules == (ANSWER_CALLS,)


def test_register_auth_accepts_printer_with_fax_secret() -> None:
    scenario = load_scenario("scenarios/register-auth.yaml")
    assert scenario.auth == AuthSettings(
        users=(("printer", "fax-secret"),),
        realm="sipfault",
        methods=frozenset({"REGISTER"}),
        proxy=False,
        algorithms=("MD5",),
        qop=("auth",),
        nonce_lifetime=300.0,
        max_attempts=3,
    )
    assert scenario.auth.users == (("printer", "fax-secret"),)
    # INVITE is answered, unchallenged, as the file says.
    assert scenario.rules == (ANSWER_CALLS,)
    text = Path("scenarios/register-auth.yaml").read_text(encoding="utf-8")
    assert "{env: ALICE_PASSWORD}" in text  # the environment form is taught, commented out


def test_register_auth_rfc8760_offers_sha256_before_md5() -> None:
    scenario = load_scenario("scenarios/register-auth-rfc8760.yaml")
    assert scenario.auth is not None
    assert scenario.auth.algorithms == ("SHA-256", "MD5")
    text = Path("scenarios/register-auth-rfc8760.yaml").read_text(encoding="utf-8")
    assert "reads only the first" in text  # says which client behaviour it tests


def test_register_423_has_a_five_minute_minimum() -> None:
    scenario = load_scenario("scenarios/register-423.yaml")
    assert scenario.defaults == ResponseDefaults(min_expires=300)
    assert scenario.registrar == RegistrarSettings(default_expires=3600)
    assert scenario.rules == (ANSWER_CALLS,)


def test_register_flaky_fails_the_first_register_with_503_retry_after_10() -> None:
    scenario = load_scenario("scenarios/register-flaky.yaml")
    assert scenario.registrar.failures == (
        RegistrarFailure(count=1, code=503, headers=(("Retry-After", "10"),)),
    )
    assert scenario.registrar.default_expires == 3600
    assert scenario.rules == (ANSWER_CALLS,)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_have_no_warnings_and_teach(name: str) -> None:
    path = f"scenarios/{name}.yaml"
    assert check_scenario_file(path) == []
    scenario = load_scenario(path)
    assert scenario.description
    comments = [
        line
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.lstrip().startswith("#")
    ]
    assert len(comments) >= 5
    assert any(re.search(rf"sipfault run scenarios/{name}\.yaml", line) for line in comments)


EVERY_FILE = sorted(path.relative_to(REPO).as_posix() for path in REPO.glob("scenarios/**/*.yaml"))


def test_the_shipped_list_is_on_disk() -> None:
    assert {f"scenarios/{name}.yaml" for name in SHIPPED} <= set(EVERY_FILE)


@pytest.mark.parametrize("path", EVERY_FILE)
def test_every_file_under_scenarios_loads_without_errors(path: str) -> None:
    assert [issue for issue in check_scenario_file(path) if issue.is_error] == []
    assert load_scenario(path).source == path


def test_path_objects_and_absolute_paths_are_kept_as_given() -> None:
    absolute = REPO / "scenarios" / "busy.yaml"
    assert load_scenario(absolute).source == os.fspath(absolute)
    assert load_scenario(Path("scenarios/busy.yaml")).source == "scenarios/busy.yaml"
