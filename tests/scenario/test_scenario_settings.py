"""The scenario-wide sections: defaults, registrar, auth, and dial-a-code rules.

Each key's happy path loads into the model; each mistake is reported at its line:col.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from sipfault.model.scenario import (
    AuthLockout,
    AuthSettings,
    DialACode,
    ForcedExpiry,
    RegistrarFailure,
    RegistrarSettings,
    ResponseDefaults,
    Scenario,
)
from sipfault.scenario import (
    ScenarioError,
    check_scenario_file,
    check_scenario_text,
    load_scenario,
    load_scenario_text,
)
from sipfault.sip.codes import NOT_SIP

SECONDS = "(expected a whole number of seconds, or a duration like 30s or 5m)"


def load(text: str) -> Scenario:
    return load_scenario_text(textwrap.dedent(text), "s.yaml")


def report(text: str) -> list[str]:
    """Every issue of the text, as printed."""
    return [str(issue) for issue in check_scenario_text(textwrap.dedent(text), "s.yaml")]


def errors(text: str) -> list[str]:
    """The errors of the text, as printed; loading it must raise with exactly these."""
    text = textwrap.dedent(text)
    found = [str(i) for i in check_scenario_text(text, "s.yaml") if i.severity == "error"]
    with pytest.raises(ScenarioError) as raised:
        load_scenario_text(text, "s.yaml")
    assert [str(issue) for issue in raised.value.errors] == found
    assert found
    return found


def section(name: str, body: str) -> str:
    """A file with one section (``body`` indented under ``name:``) and no rules."""
    return f"{name}:\n{textwrap.indent(textwrap.dedent(body), '  ')}rules: []\n"


# -- no sections -------------------------------------------------------------------------------


def test_without_sections_the_model_defaults_apply() -> None:
    scenario = load("rules: []\n")
    assert scenario.defaults == ResponseDefaults()
    assert scenario.registrar == RegistrarSettings()
    assert scenario.auth is None


# -- defaults ----------------------------------------------------------------------------------


def test_every_defaults_key() -> None:
    scenario = load(
        section(
            "defaults",
            """\
            retry_after: {480: 60, 486: 30, 503: 2m}
            min_expires: 300
            min_se: 1800
            require: [100rel, timer]
            allow_events: presence
            reliable: true
            require_100rel: yes
            realm: bench.example
            """,
        )
    )
    assert scenario.defaults == ResponseDefaults(
        retry_after=((480, 60), (486, 30), (503, 120)),
        min_expires=300,
        min_se=1800,
        require=("100rel", "timer"),
        allow_events=("presence",),
        reliable=True,
        require_100rel=True,
        realm="bench.example",
    )
    assert report(section("defaults", "retry_after: {486: 30}\n")) == []


def test_partial_defaults_keep_the_others() -> None:
    assert load(section("defaults", "min_expires: 120\n")).defaults == ResponseDefaults(
        min_expires=120
    )
    assert load(section("defaults", "min_se: 90s\n")).defaults.min_se == 90


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "retry_after: {486: 1.5s}",
            "s.yaml:2:22: Retry-After of 486 is 1.5 seconds "
            "(expected whole seconds: SIP sends delta-seconds)",
        ),
        (
            "retry_after: {486: -1}",
            "s.yaml:2:22: Retry-After of 486 is -1 (expected at least 0 seconds)",
        ),
        (
            "retry_after: {486: soon}",
            f"s.yaml:2:22: bad duration 'soon' for Retry-After of 486 {SECONDS}",
        ),
        (
            "retry_after: {busy: 30}",
            "s.yaml:2:17: 'retry_after' code is the text 'busy' (expected a status code 100-699)",
        ),
        (
            "retry_after: {99: 30}",
            "s.yaml:2:17: 'retry_after' code 99 is out of range (expected a status code 100-699)",
        ),
        ("retry_after: [486, 30]", "s.yaml:2:16: 'retry_after' is a list (expected a mapping)"),
        (
            "retry_after: {}",
            "s.yaml:2:16: 'retry_after' is empty (expected status codes and "
            "seconds, like {503: 120})",
        ),
        ("min_expires: 0", "s.yaml:2:16: 'min_expires' is 0 (expected at least 1 second)"),
        ("min_expires: 1.5", f"s.yaml:2:16: 'min_expires' is the number 1.5 {SECONDS}"),
        ("min_se: soon", f"s.yaml:2:11: bad duration 'soon' for 'min_se' {SECONDS}"),
        (
            "require: []",
            "s.yaml:2:12: 'require' is an empty list (expected at least one option tag)",
        ),
        (
            "require: [100rel, 'a b']",
            "s.yaml:2:21: option tag 'a b' is not a valid option tag "
            "(expected letters, digits and - . ! % * _ + ` ' ~ only, RFC 3261 §25.1)",
        ),
        (
            "allow_events: [presence, presence]",
            "s.yaml:2:28: 'presence' is also listed at 2:18 (expected each once)",
        ),
        ("reliable: maybe", "s.yaml:2:13: 'reliable' is the text 'maybe' (expected true or false)"),
        (
            "require_100rel: 1",
            "s.yaml:2:19: 'require_100rel' is the number 1 (expected true or false)",
        ),
        ("realm: ''", "s.yaml:2:10: 'realm' is blank (expected a realm name)"),
        (
            'realm: "a\\x01b"',
            "s.yaml:2:10: 'realm' contains a control character (expected a "
            "realm name without line breaks or control characters)",
        ),
        (
            "colour: red",
            "s.yaml:2:3: unknown key 'colour' in defaults (expected one of: "
            "allow_events, min_expires, min_se, realm, reliable, require, require_100rel, "
            "retry_after)",
        ),
    ],
)
def test_defaults_errors(body: str, expected: str) -> None:
    assert errors(section("defaults", body + "\n")) == [expected]


def test_defaults_must_be_a_mapping() -> None:
    assert errors("defaults: [1]\nrules: []\n") == [
        "s.yaml:1:11: 'defaults' is a list (expected a mapping)"
    ]


def test_retry_after_names_codes_that_are_not_sip() -> None:
    (message,) = errors(section("defaults", "retry_after: {701: 60}\n"))
    assert message == (
        "s.yaml:2:17: 'retry_after' code 701 is out of range (expected a status code "
        f"100-699). 701: {NOT_SIP[701]}"
    )


def test_retry_after_code_given_twice_by_value() -> None:
    # 486 and 0x1e6 are different keys to YAML but the same code.
    assert errors(section("defaults", "retry_after: {486: 30, 0x1e6: 60}\n")) == [
        "s.yaml:2:26: code 486 is also given at 2:17 (expected each once)"
    ]


def test_retry_after_on_a_code_that_does_not_take_it_warns_and_loads() -> None:
    text = section("defaults", "retry_after: {408: 5, 503: 120}\n")
    assert report(text) == [
        "s.yaml:2:17: warning: Retry-After is not defined for 408 (RFC 3261 §20.33 allows it "
        "on 404, 413, 480, 486, 500, 503, 600, 603); it is sent anyway"
    ]
    assert load(text).defaults.retry_after == ((408, 5), (503, 120))


def test_min_se_below_rfc_4028_warns_and_loads() -> None:
    text = section("defaults", "min_se: 60\n")
    assert report(text) == [
        "s.yaml:2:11: warning: 'min_se' 60 is below the 90 seconds RFC 4028 §5 allows; "
        "it is sent anyway"
    ]
    assert load(text).defaults.min_se == 60


def test_all_defaults_errors_at_once() -> None:
    found = errors(
        section(
            "defaults",
            """\
            min_expires: 0
            min_se: x
            reliable: maybe
            """,
        )
    )
    assert [line.split(": ")[0] for line in found] == ["s.yaml:2:16", "s.yaml:3:11", "s.yaml:4:13"]


# -- registrar ---------------------------------------------------------------------------------


def test_every_registrar_key() -> None:
    registrar = load(
        section(
            "registrar",
            """\
            default_expires: 1800
            max_expires: 2h
            grant_expires: 60
            fail_first: {count: 2, code: 503, reason: Maintenance, headers: {Retry-After: 10}}
            expire: [{after: 30s, user: "printer.*"}, {after: 2m}]
            """,
        ).replace("2h", "7200")
    ).registrar
    assert registrar == RegistrarSettings(
        default_expires=1800,
        max_expires=7200,
        grant_expires=60,
        failures=(
            RegistrarFailure(
                count=2, code=503, reason="Maintenance", headers=(("Retry-After", "10"),)
            ),
        ),
        forced_expiry=(
            ForcedExpiry(after=30.0, aor_user=re.compile("printer.*")),
            ForcedExpiry(after=120.0),
        ),
    )


def test_registrar_failures_as_a_list_take_turns_and_count_defaults_to_one() -> None:
    registrar = load(
        section("registrar", "fail_first: [{count: 2, code: 503}, {code: 500}]\n")
    ).registrar
    assert registrar.failures == (
        RegistrarFailure(count=2, code=503),
        RegistrarFailure(count=1, code=500),
    )


def test_forced_expiry_as_one_mapping_and_grant_zero() -> None:
    registrar = load(section("registrar", "expire: {after: 0}\ngrant_expires: 0\n")).registrar
    assert registrar.forced_expiry == (ForcedExpiry(after=0.0),)
    assert registrar.grant_expires == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("default_expires: 0", "s.yaml:2:20: 'default_expires' is 0 (expected at least 1 second)"),
        (
            "max_expires: forever",
            f"s.yaml:2:16: bad duration 'forever' for 'max_expires' {SECONDS}",
        ),
        ("grant_expires: -5", "s.yaml:2:18: 'grant_expires' is -5 (expected at least 0 seconds)"),
        (
            "fail_first: 503",
            "s.yaml:2:15: 'fail_first' is the number 503 (expected failure "
            "like {count: 1, code: 503} or a list of them)",
        ),
        (
            "fail_first: []",
            "s.yaml:2:15: 'fail_first' is an empty list (expected at least one "
            "failure like {count: 1, code: 503})",
        ),
        (
            "fail_first: {count: 1}",
            "s.yaml:2:15: 'fail_first' entry has no 'code' (expected a "
            "status code 300-699, like {count: 1, code: 503})",
        ),
        (
            "fail_first: {code: 200}",
            "s.yaml:2:22: 'code' 200 is out of range (expected a status code 300-699)",
        ),
        (
            "fail_first: {code: 503, count: 0}",
            "s.yaml:2:34: 'count' is 0 (expected a whole number of at least 1)",
        ),
        (
            'fail_first: {code: 503, reason: "a\\nb"}',
            "s.yaml:2:35: 'reason' contains a line "
            "break or NUL (expected one line; malformed messages are made with 'fault')",
        ),
        (
            "fail_first: {code: 503, headers: [Retry-After]}",
            "s.yaml:2:36: 'headers' is a list (expected a mapping)",
        ),
        (
            "fail_first: [{code: 503}, 500]",
            "s.yaml:2:29: a 'fail_first' entry is the number 500 (expected a mapping)",
        ),
        (
            "fail_first: {code: 503, after: 1s}",
            "s.yaml:2:27: unknown key 'after' in fail_first "
            "(expected one of: code, count, headers, reason)",
        ),
        (
            "expire: {user: printer}",
            "s.yaml:2:11: 'expire' entry has no 'after' (expected "
            "when to drop the bindings, like {after: 30s})",
        ),
        (
            "expire: {after: 30s, user: '('}",
            "s.yaml:2:30: invalid regex '(' for 'user': "
            "missing ), unterminated subpattern at position 0 (expected a Python regular "
            "expression)",
        ),
        (
            "expire: [{after: later}]",
            "s.yaml:2:20: bad duration 'later' for 'after' (expected "
            "a number of seconds or a duration like 200ms, 1.5s or 2m)",
        ),
        (
            "refresh: 10",
            "s.yaml:2:3: unknown key 'refresh' in registrar (expected one of: "
            "default_expires, expire, fail_first, grant_expires, max_expires)",
        ),
    ],
)
def test_registrar_errors(body: str, expected: str) -> None:
    assert errors(section("registrar", body + "\n")) == [expected]


def test_min_expires_above_max_expires_is_an_error_at_max_expires() -> None:
    text = "defaults: {min_expires: 300}\nregistrar: {max_expires: 120}\nrules: []\n"
    assert errors(text) == [
        "s.yaml:2:26: 'min_expires' (300) is above the registrar's 'max_expires' (120) "
        "(expected min_expires <= max_expires, or no expiry could ever be granted)"
    ]


def test_min_expires_above_the_default_maximum_is_an_error_at_min_expires() -> None:
    assert errors("defaults: {min_expires: 100000}\nrules: []\n") == [
        "s.yaml:1:25: 'min_expires' (100000) is above the registrar's 'max_expires' (86400) "
        "(expected min_expires <= max_expires, or no expiry could ever be granted)"
    ]


def test_default_expires_above_max_expires_warns() -> None:
    text = section("registrar", "default_expires: 7200\nmax_expires: 3600\n")
    assert report(text) == [
        "s.yaml:2:20: warning: 'default_expires' (7200) is above 'max_expires' (3600); "
        "a REGISTER without an expiry gets 3600"
    ]
    assert load(text).registrar.default_expires == 7200


# -- auth --------------------------------------------------------------------------------------


def test_every_auth_key() -> None:
    auth = load(
        section(
            "auth",
            """\
            realm: bench
            methods: [REGISTER, INVITE]
            challenge: proxy
            algorithms: [sha-512-256, SHA-256, md5]
            qop: [auth, auth-int]
            nonce_lifetime: 2m
            max_attempts: 5
            users:
              printer: fax-secret
              1001: 0042
            """,
        )
    ).auth
    assert auth == AuthSettings(
        users=(("printer", "fax-secret"), ("1001", "0042")),
        realm="bench",
        methods=frozenset({"REGISTER", "INVITE"}),
        proxy=True,
        algorithms=("SHA-512-256", "SHA-256", "MD5"),
        qop=("auth", "auth-int"),
        nonce_lifetime=120.0,
        max_attempts=5,
    )


def test_auth_defaults_and_realm_from_defaults() -> None:
    scenario = load("defaults: {realm: lab}\nauth: {users: {printer: x}}\nrules: []\n")
    assert scenario.auth == AuthSettings(users=(("printer", "x"),), realm="lab")
    assert scenario.auth.proxy is False
    assert load("auth: {users: {p: x}}\nrules: []\n").auth == AuthSettings(users=(("p", "x"),))


def test_auth_qop_none_qop_required_and_lockout() -> None:
    auth = load("auth:\n  users: {p: x}\n  qop: []\n  qop_required: true\n"
                "  lockout: {attempts: 4, window: 2m}\nrules: []\n").auth
    assert auth is not None
    assert (auth.qop, auth.qop_required, auth.lockout) == ((), True, AuthLockout(4, 120.0))
    off = load("auth: {users: {p: x}, lockout: false}\nrules: []\n").auth
    assert off is not None and off.lockout is None
    default = load("auth: {users: {p: x}}\nrules: []\n").auth
    assert default is not None and default.lockout == AuthLockout(attempts=10, window=60.0)
    assert default.algorithms == ("MD5",)


@pytest.mark.parametrize(
    ("lockout", "message"),
    [
        ("true", "'lockout' is true (expected {attempts: N, window: 60s}"),
        ("{attempts: 0}", "'attempts' is 0 (expected a whole number of at least 1)"),
        ("{window: 0s}", "'window' is zero (expected a positive duration)"),
        ("{windw: 1s}", "unknown key 'windw' in lockout"),
    ],
)
def test_bad_lockouts_are_reported_at_their_place(lockout: str, message: str) -> None:
    text = f"auth: {{users: {{p: x}}, lockout: {lockout}}}\nrules: []\n"
    issues = check_scenario_text(text, "s.yaml")
    assert any(message in str(issue) and str(issue).startswith("s.yaml:1:")
               for issue in issues), issues


def test_auth_scalars_for_lists_and_www_challenge() -> None:
    auth = load(
        section(
            "auth",
            "users: {p: x}\nmethods: MESSAGE\nalgorithms: MD5\nqop: AUTH-INT\nchallenge: WWW\n",
        )
    ).auth
    assert auth is not None
    assert auth.methods == frozenset({"MESSAGE"})
    assert auth.algorithms == ("MD5",)
    assert auth.qop == ("auth-int",)
    assert auth.proxy is False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "realm: x",
            "s.yaml:2:3: 'auth' has no 'users' (expected user names and passwords, "
            "like {printer: fax-secret})",
        ),
        (
            "users: {}",
            "s.yaml:2:10: 'users' is empty (expected at least one user, like "
            "{printer: fax-secret})",
        ),
        ("users: [printer]", "s.yaml:2:10: 'users' is a list (expected a mapping)"),
        (
            "users: {printer: }",
            "s.yaml:2:19: the password of user 'printer' is empty "
            "(expected a password, or {env: NAME} to read it from the environment)",
        ),
        (
            "users: {printer: [a]}",
            "s.yaml:2:20: the password of user 'printer' is a list "
            "(expected a password, or {env: NAME} to read it from the environment)",
        ),
        ("users: {'': x}", "s.yaml:2:11: user name is blank (expected a user name)"),
        (
            "users: {p: {env: 1X}}",
            "s.yaml:2:20: 'env' '1X' is not an environment variable "
            "name (expected letters, digits and '_', not starting with a digit)",
        ),
        (
            "users: {p: x}\nmethods: [REGISTER, CANCEL]",
            "s.yaml:3:23: CANCEL cannot be "
            "challenged: it is never resubmitted with credentials (expected other methods, "
            "RFC 3261 §22.1)",
        ),
        (
            "users: {p: x}\nmethods: ACK",
            "s.yaml:3:12: ACK cannot be challenged: it is never "
            "resubmitted with credentials (expected other methods, RFC 3261 §22.1)",
        ),
        (
            "users: {p: x}\nchallenge: basic",
            "s.yaml:3:14: unknown challenge 'basic' (expected "
            "www, for 401 with WWW-Authenticate, or proxy, for 407 with Proxy-Authenticate)",
        ),
        (
            "users: {p: x}\nalgorithms: [SHA-256, SHA-1]",
            "s.yaml:3:25: unknown digest "
            "algorithm 'SHA-1' (expected one of: MD5, MD5-sess, SHA-256, SHA-256-sess, "
            "SHA-512-256, SHA-512-256-sess; RFC 7616 §3.2, RFC 8760)",
        ),
        (
            "users: {p: x}\nalgorithms: [MD5, md5]",
            "s.yaml:3:21: 'MD5' is also listed at 3:16 (expected each once)",
        ),
        (
            "users: {p: x}\nalgorithms: []",
            "s.yaml:3:15: 'algorithms' is an empty list (expected at least one digest algorithm)",
        ),
        (
            "users: {p: x}\nqop: [auth, auth-conf]",
            "s.yaml:3:15: unknown qop 'auth-conf' (expected auth or auth-int, RFC 7616 §3.3)",
        ),
        (
            "users: {p: x}\nnonce_lifetime: 0",
            "s.yaml:3:19: 'nonce_lifetime' is zero (expected a positive duration)",
        ),
        (
            "users: {p: x}\nmax_attempts: 0",
            "s.yaml:3:17: 'max_attempts' is 0 (expected a whole number of at least 1)",
        ),
        (
            "users: {p: x}\npasswords: {}",
            "s.yaml:3:3: unknown key 'passwords' in auth "
            "(expected one of: algorithms, challenge, lockout, max_attempts, methods, "
            "nonce_lifetime, qop, qop_required, realm, users)",
        ),
    ],
)
def test_auth_errors(body: str, expected: str) -> None:
    assert errors(section("auth", body + "\n")) == [expected]


def test_auth_must_be_a_mapping() -> None:
    assert errors("auth: yes\nrules: []\n") == [
        "s.yaml:1:7: 'auth' is the boolean yes (expected a mapping)"
    ]


# -- passwords from the environment ------------------------------------------------------------


ENV_USERS = """\
auth:
  users:
    printer: fax-secret
    alice: {env: SIPFAULT_TEST_ALICE}
rules: []
"""


def test_password_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPFAULT_TEST_ALICE", "wonder land")
    auth = load(ENV_USERS).auth
    assert auth is not None
    assert auth.users == (("printer", "fax-secret"), ("alice", "wonder land"))
    # Passwords stay out of logs and test failure output.
    assert "wonder" not in repr(auth) and "fax-secret" not in repr(auth)


def test_password_is_read_when_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIPFAULT_TEST_ALICE", "first")
    first = load(ENV_USERS)
    monkeypatch.setenv("SIPFAULT_TEST_ALICE", "second")
    assert first.auth is not None and first.auth.users[1] == ("alice", "first")
    second = load(ENV_USERS).auth
    assert second is not None and second.users[1] == ("alice", "second")


def test_missing_environment_variable_is_an_error_at_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SIPFAULT_TEST_ALICE", raising=False)
    assert errors(ENV_USERS) == [
        "s.yaml:4:18: environment variable SIPFAULT_TEST_ALICE is not set (expected it to hold "
        "the password of user 'alice')"
    ]


def test_empty_environment_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI systems often give a missing secret as an empty string.
    monkeypatch.setenv("SIPFAULT_TEST_ALICE", "")
    assert errors(ENV_USERS) == [
        "s.yaml:4:18: environment variable SIPFAULT_TEST_ALICE is empty (expected it to hold "
        "the password of user 'alice')"
    ]


def test_missing_variable_in_a_file_and_messages_never_show_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIPFAULT_TEST_ALICE", raising=False)
    path = tmp_path / "auth.yaml"
    path.write_text(ENV_USERS + "bogus: 1\n", encoding="utf-8")
    issues = check_scenario_file(path)
    assert [(i.line, i.column) for i in issues] == [(4, 18), (6, 1)]
    assert all("fax-secret" not in str(issue) for issue in issues)
    monkeypatch.setenv("SIPFAULT_TEST_ALICE", "s3cret")
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert [(i.line, i.column) for i in raised.value.issues] == [(6, 1)]
    assert "s3cret" not in str(raised.value) and "fax-secret" not in str(raised.value)


def test_env_mapping_without_env_key() -> None:
    no_env = (
        "s.yaml:2:14: the password of user 'p' has no 'env' (expected {env: NAME} naming an "
        "environment variable)"
    )
    assert errors(section("auth", "users: {p: {}}\n")) == [no_env]
    assert errors(section("auth", "users: {p: {vault: x}}\n")) == [
        no_env,
        "s.yaml:2:15: unknown key 'vault' in a password (expected one of: env)",
    ]


# -- dial-a-code -------------------------------------------------------------------------------


def test_dial_a_code_true_takes_the_defaults() -> None:
    rule = load("rules:\n  - match: {method: INVITE}\n    dial_a_code: true\n").rules[0]
    assert rule.dial_a_code == DialACode()
    assert rule.reply == ()
    assert rule.drop is False


def test_dial_a_code_settings() -> None:
    rule = load(
        """\
        rules:
          - match: {method: INVITE, user: "[1-6]\\\\d\\\\d"}
            dial_a_code: {ring: 100ms, answer_after: 2s, fallback: 480}
        """
    ).rules[0]
    assert rule.dial_a_code == DialACode(ring=0.1, answer_after=2.0, fallback=480)
    assert rule.match.ruri_user is not None and rule.match.ruri_user.pattern == "[1-6]\\d\\d"
    partial = load("rules:\n  - dial_a_code: {fallback: 604}\n").rules[0]
    assert partial.dial_a_code == DialACode(fallback=604)


def test_dial_a_code_false_is_no_dial_a_code() -> None:
    rule = load("rules:\n  - {dial_a_code: false, reply: [486]}\n").rules[0]
    assert rule.dial_a_code is None
    assert [step.code for step in rule.reply] == [486]


def test_an_unconditional_dial_a_code_rule_hides_later_rules() -> None:
    text = "rules:\n  - dial_a_code: true\n  - reply: [200]\n"
    assert report(text) == [
        "s.yaml:3:5: warning: this rule never matches: the rule at 2:5 answers every request "
        "before it"
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "{dial_a_code: true, reply: [486]}",
            "s.yaml:2:6: a rule cannot have both 'dial_a_code' and 'reply' (expected one of them)",
        ),
        (
            "{dial_a_code: true, drop: true}",
            "s.yaml:2:6: a rule cannot both 'drop' and answer "
            "with 'dial_a_code' (expected one of them)",
        ),
        (
            "{dial_a_code: [486]}",
            "s.yaml:2:19: 'dial_a_code' is a list (expected true, or a "
            "mapping with ring, answer_after and fallback)",
        ),
        (
            "{dial_a_code: 486}",
            "s.yaml:2:19: 'dial_a_code' is the number 486 (expected true, "
            "or a mapping with ring, answer_after and fallback)",
        ),
        (
            "{dial_a_code: {fallback: 180}}",
            "s.yaml:2:30: 'fallback' 180 is out of range (expected a status code 200-699)",
        ),
        (
            "{dial_a_code: {ring: -1s}}",
            "s.yaml:2:26: bad duration '-1s' for 'ring' (expected "
            "a number of seconds or a duration like 200ms, 1.5s or 2m)",
        ),
        (
            "{dial_a_code: {answer_after: -1}}",
            "s.yaml:2:34: 'answer_after' is negative "
            "(expected a number of seconds or a duration like 200ms, 1.5s or 2m)",
        ),
        (
            "{dial_a_code: {code: 486}}",
            "s.yaml:2:20: unknown key 'code' in dial_a_code "
            "(expected one of: answer_after, fallback, ring)",
        ),
        (
            "{dial_a_code: false}",
            "s.yaml:2:5: rule has no 'reply' (expected a list of reply "
            "steps, 'dial_a_code: true', or 'drop: true' to never answer)",
        ),
    ],
)
def test_dial_a_code_errors(rule: str, expected: str) -> None:
    assert errors(f"rules:\n  - {rule}\n") == [expected]


def test_dial_a_code_fallback_names_codes_that_are_not_sip() -> None:
    (message,) = errors("rules:\n  - dial_a_code: {fallback: 701}\n")
    assert message == (
        "s.yaml:2:29: 'fallback' 701 is out of range (expected a status code 200-699). "
        f"701: {NOT_SIP[701]}"
    )


# -- all at once -------------------------------------------------------------------------------


def test_errors_in_every_section_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIPFAULT_TEST_NOPE", raising=False)
    found = errors(
        """\
        defaults:
          min_expires: 0
        registrar:
          fail_first: {code: 99}
        auth:
          users: {p: {env: SIPFAULT_TEST_NOPE}}
        rules:
          - dial_a_code: {fallback: 1}
        """
    )
    assert [line.split(": ")[0] for line in found] == [
        "s.yaml:2:16",
        "s.yaml:4:22",
        "s.yaml:6:20",
        "s.yaml:8:29",
    ]
