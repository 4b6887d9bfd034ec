"""The registrar and digest authentication, as PJSUA2 and SIPp register with them.

- PJSUA2 registers through a 401 with MD5 and with SHA-256 credentials (scenarios offering
  one algorithm each), picks SHA-256 when register-auth.yaml offers both, refreshes its
  binding on its own timer, and unregisters (Expires: 0) leaving no binding in the summary;
- SIPp registers and unregisters through 401 challenges with its [authentication] keyword
  (MD5: SIPp 3.6 computes no other digest, and answers only the first challenge of a 401, so
  it cannot answer register-auth.yaml, whose first challenge is SHA-256);
- a wrong password is challenged again until `max_attempts`, then refused with 403;
- register-423.yaml answers Expires 60 with 423 and Min-Expires 300, and PJSUA2 and SIPp
  register again with 300;
- register-flaky.yaml answers the first REGISTER with 503 and Retry-After 10, and registers
  the next one.

Each test then stops sipfault and reads its summary: the counts, and the `binding:` lines of
the bindings still current.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.peers.fields import contact_uri, delta_seconds, digest_params, name_addr_params
from tests.peers.fixtures import StartSipfault
from tests.peers.pjsua import AgentResult, SipMessage, pjsua_register
from tests.peers.sipfault_cli import SipfaultProcess
from tests.peers.sipp import SippResult, run_sipp

pytestmark = pytest.mark.peer

SIPP_DIR = Path(__file__).with_name("sipp")
SCENARIOS = Path(__file__).with_name("scenarios")
TRANSPORTS = ["udp", "tcp"]
T1 = "100ms"
SETTLE = {"udp": 0.3, "tcp": 0.1}
USER, PASSWORD = "printer", "fax-secret"  # what register-auth.yaml and the test copies accept
#: Hex digits of a digest response per algorithm (RFC 7616 §3.4.1, RFC 8760).
RESPONSE_LENGTH = {"MD5": 32, "SHA-256": 64}


def _explain(result: SippResult | AgentResult, server: SipfaultProcess) -> str:
    return f"{result.describe()}\n--- sipfault output ---\n{server.output}"


def _registrar(server: SipfaultProcess, transport: str = "udp") -> str:
    suffix = ";transport=tcp" if transport == "tcp" else ""
    return f"sip:{server.hostport}{suffix}"


def _check_challenge(value: str, algorithm: str) -> dict[str, str]:
    """A well-formed digest challenge: realm sipfault, a nonce, the algorithm, qop auth."""
    params = digest_params(value)
    assert params.get("realm") == "sipfault", value
    assert len(params.get("nonce", "")) >= 16, value
    assert params.get("algorithm", "").upper() == algorithm, value
    assert "auth" in [qop.strip() for qop in params.get("qop", "").split(",")], value
    return params


def _check_answer(request: SipMessage, challenge: dict[str, str], algorithm: str) -> None:
    """The REGISTER answers `challenge` with `algorithm` (RFC 7616 §3.4)."""
    answer = digest_params(request.header("Authorization") or "")
    assert answer.get("username") == USER, answer
    assert answer.get("realm") == challenge["realm"], answer
    assert answer.get("nonce") == challenge["nonce"], answer
    assert answer.get("algorithm", "").upper() == algorithm, answer
    assert answer.get("qop") == "auth" and answer.get("nc") and answer.get("cnonce"), answer
    response = answer.get("response", "")
    assert len(response) == RESPONSE_LENGTH[algorithm], answer
    assert all(c in "0123456789abcdef" for c in response.lower()), answer


def _granted(ok: SipMessage, contact: str) -> int:
    """The expiry the 200 lists for our contact (RFC 3261 §10.3 step 8)."""
    ours = contact_uri(contact).target
    for value in ok.header_values("Contact"):
        for item in _split_contacts(value):
            if contact_uri(item).target == ours:
                return int(name_addr_params(item)["expires"])
    raise AssertionError(f"the 200 lists no binding for {contact}: {ok.header_values('Contact')}")


def _split_contacts(value: str) -> list[str]:
    """A Contact value may list several name-addrs separated by commas (RFC 3261 §20.10)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(value):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(value[start:index])
            start = index + 1
    parts.append(value[start:])
    return [part.strip() for part in parts if part.strip()]


# --------------------------------------------------------------------------- PJSUA2


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("scenario", "algorithm"),
    [("register-md5.yaml", "MD5"), ("register-sha256.yaml", "SHA-256")],
    ids=["MD5", "SHA-256"],
)
def test_pjsua_registers_with_digest(
    pjsua2: None, start_sipfault: StartSipfault, transport: str, scenario: str, algorithm: str
) -> None:
    server = start_sipfault(SCENARIOS / scenario, t1=T1)

    result = pjsua_register(
        _registrar(server, transport),
        user=USER,
        password=PASSWORD,
        transport=transport,
        expires=600,
        timeout=15,
    )

    why = _explain(result, server)
    assert result.returncode == 0, why
    assert result.result["registered"]["code"] == 200, why
    assert result.result["registered"]["expiration"] == 600, why
    assert result.statuses("REGISTER") == [401, 200], why
    challenges = result.received("REGISTER")[0].header_values("WWW-Authenticate")
    assert len(challenges) == 1, why
    challenge = _check_challenge(challenges[0], algorithm)
    first, second = result.sent("REGISTER")
    assert first.header("Authorization") is None, why
    _check_answer(second, challenge, algorithm)
    contact = second.header("Contact") or ""
    ok = result.received("REGISTER")[1]
    assert _granted(ok, contact) == 600, why
    assert ok.header("Date"), why

    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"REGISTER": 2}, server.output
    assert summary.responses == {"401": 1, "200": 1}, server.output
    server.assert_clean()
    # The binding outlives the client (no unREGISTER was sent): the summary lists it.
    assert len(summary.bindings) == 1, server.output
    binding = summary.bindings[0]
    assert contact_uri(binding.aor).target[:2] == (USER, server.host), server.output
    assert contact_uri(binding.uri).target == contact_uri(contact).target, server.output
    assert 590 <= binding.expires <= 600, server.output


def test_pjsua_answers_the_first_challenge_of_register_auth_yaml(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    """register-auth.yaml offers SHA-256 first, then MD5 (RFC 8760 §2.4); PJSUA2 answers
    the first it supports, SHA-256, and is registered."""
    server = start_sipfault("scenarios/register-auth.yaml", t1=T1)

    result = pjsua_register(
        _registrar(server), user=USER, password=PASSWORD, expires=600, timeout=15
    )

    why = _explain(result, server)
    assert result.result["registered"]["code"] == 200, why
    challenges = result.received("REGISTER")[0].header_values("WWW-Authenticate")
    algorithms = [digest_params(value).get("algorithm", "").upper() for value in challenges]
    assert algorithms == ["SHA-256", "MD5"], why
    challenge = _check_challenge(challenges[0], "SHA-256")
    assert digest_params(challenges[1])["nonce"] == challenge["nonce"], why
    _check_answer(result.sent("REGISTER")[1], challenge, "SHA-256")
    server.stop(settle=SETTLE["udp"])
    assert len(server.summary.bindings) == 1, server.output
    server.assert_clean()


def test_pjsua_refreshes_its_registration(pjsua2: None, start_sipfault: StartSipfault) -> None:
    """PJSUA2 asks for 60 s (the registrar's default minimum) and refreshes on its own timer
    (`delayBeforeRefreshSec` 58: PJSIP 2.15.1 refreshes 5 s after the 200, not 2): the
    refresh is the same Call-ID with a higher CSeq, and replaces the binding, not adds one."""
    server = start_sipfault("scenarios/register-auth.yaml", t1=T1)

    result = pjsua_register(
        _registrar(server),
        user=USER,
        password=PASSWORD,
        expires=60,
        refreshes=1,
        delay_before_refresh=58,
        timeout=20,
    )

    why = _explain(result, server)
    assert result.returncode == 0, why
    assert result.result["registered"]["code"] == 200, why
    assert [state["code"] for state in result.result["refreshes"]] == [200], why
    assert result.result["refreshes"][0]["expiration"] == 60, why
    registers = result.sent("REGISTER")
    # REGISTER, 401, REGISTER with credentials, 200; the refresh goes the same way.
    assert result.statuses("REGISTER") == [401, 200, 401, 200], why
    assert len({message.header("Call-ID") for message in registers}) == 1, why
    cseqs = [int((message.header("CSeq") or "").split()[0]) for message in registers]
    assert cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs), why
    contact = registers[-1].header("Contact") or ""
    refreshed = result.received("REGISTER")[-1]
    assert len(_split_contacts(", ".join(refreshed.header_values("Contact")))) == 1, why
    assert _granted(refreshed, contact) == 60, why

    server.stop(settle=SETTLE["udp"])
    summary = server.summary
    assert summary.requests == {"REGISTER": 4}, server.output
    assert summary.responses == {"401": 2, "200": 2}, server.output
    server.assert_clean()
    assert [contact_uri(b.uri).target for b in summary.bindings] == [contact_uri(contact).target], (
        server.output
    )
    assert 50 <= summary.bindings[0].expires <= 60, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pjsua_unregisters_and_leaves_no_binding(
    pjsua2: None, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/register-auth.yaml", t1=T1)

    result = pjsua_register(
        _registrar(server, transport),
        user=USER,
        password=PASSWORD,
        transport=transport,
        expires=600,
        unregister=True,
        timeout=15,
    )

    why = _explain(result, server)
    assert result.returncode == 0, why
    assert result.result["registered"]["code"] == 200, why
    unregistered = result.result["unregistered"]
    assert unregistered is not None and unregistered["code"] == 200, why
    assert unregistered["expiration"] == 0, why
    last = result.sent("REGISTER")[-1]
    asked = last.header("Expires")
    contact_expires = name_addr_params(last.header("Contact") or "").get("expires")
    assert "0" in (asked, contact_expires), why
    # The 200 to the unREGISTER lists the bindings left: none (RFC 3261 §10.3 step 8).
    assert result.received("REGISTER")[-1].header_values("Contact") == [], why

    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"REGISTER": 4}, server.output
    assert summary.responses == {"401": 2, "200": 2}, server.output
    assert summary.bindings == [], server.output
    server.assert_clean()


def test_pjsua_wrong_password_ends_in_403(pjsua2: None, start_sipfault: StartSipfault) -> None:
    server = start_sipfault("scenarios/register-auth.yaml", t1=T1)

    result = pjsua_register(
        _registrar(server), user=USER, password="not-the-secret", expires=600, timeout=15
    )

    why = _explain(result, server)
    assert result.returncode == 0, why
    assert (result.status, result.reason) == (403, "Forbidden"), why
    # max_attempts 3: two wrong answers are challenged again, the third is refused.
    assert result.statuses("REGISTER") == [401, 401, 401, 403], why
    server.stop(settle=SETTLE["udp"])
    summary = server.summary
    assert summary.requests == {"REGISTER": 4}, server.output
    assert summary.responses == {"401": 3, "403": 1}, server.output
    assert summary.bindings == [], server.output
    assert summary.findings == {"auth-failed": 1}, server.output
    assert summary.retransmissions_out == 0, server.output


def test_pjsua_retries_423_with_min_expires(pjsua2: None, start_sipfault: StartSipfault) -> None:
    server = start_sipfault("scenarios/register-423.yaml", t1=T1)

    result = pjsua_register(
        _registrar(server), user="alice", password="unused", expires=60, timeout=15
    )

    why = _explain(result, server)
    assert result.returncode == 0, why
    assert result.statuses("REGISTER") == [423, 200], why
    brief = result.received("REGISTER")[0]
    assert (brief.header("Min-Expires") or "").strip() == "300", why
    first, second = result.sent("REGISTER")
    assert first.header("Expires") == "60", why
    assert second.header("Expires") == "300", why
    assert result.result["registered"] == {"code": 200, "reason": "OK", "expiration": 300}, why
    assert _granted(result.received("REGISTER")[1], second.header("Contact") or "") == 300, why

    server.stop(settle=SETTLE["udp"])
    summary = server.summary
    assert summary.requests == {"REGISTER": 2}, server.output
    assert summary.responses == {"423": 1, "200": 1}, server.output
    server.assert_clean()
    assert len(summary.bindings) == 1 and 290 <= summary.bindings[0].expires <= 300, server.output


def test_pjsua_first_register_gets_503_with_retry_after(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    """register-flaky.yaml refuses the first REGISTER of the run; the device's next attempt
    (a second agent here: PJSUA2's own retry would wait the full Retry-After) registers."""
    server = start_sipfault("scenarios/register-flaky.yaml", t1=T1)

    refused = pjsua_register(
        _registrar(server), user="alice", password="unused", expires=600, timeout=15
    )
    accepted = pjsua_register(
        _registrar(server), user="alice", password="unused", expires=600, timeout=15
    )

    why = _explain(refused, server)
    assert refused.returncode == 0, why
    assert (refused.status, refused.reason) == (503, "Service Unavailable"), why
    assert refused.statuses("REGISTER") == [503], why
    assert delta_seconds(refused.received("REGISTER")[0].header("Retry-After") or "") == 10, why
    why = _explain(accepted, server)
    assert accepted.statuses("REGISTER") == [200], why
    assert accepted.result["registered"]["expiration"] == 600, why

    server.stop(settle=SETTLE["udp"])
    summary = server.summary
    assert summary.requests == {"REGISTER": 2}, server.output
    assert summary.responses == {"503": 1, "200": 1}, server.output
    assert len(summary.bindings) == 1, server.output
    server.assert_clean()


# --------------------------------------------------------------------------- SIPp


def _sipp(
    server: SipfaultProcess,
    xml: str,
    transport: str,
    service: str,
    extra_args: tuple[str, ...] = (),
) -> SippResult:
    result = run_sipp(
        SIPP_DIR / xml,
        server.host,
        server.port,
        transport=transport,
        service=service,
        calls=1,
        timeout=20,
        extra_args=extra_args,
    )
    assert result.returncode == 0, _explain(result, server)
    assert (result.successful, result.failed) == (1, 0), _explain(result, server)
    return result


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_registers_and_unregisters_through_401(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(SCENARIOS / "register-md5.yaml", t1=T1)

    result = _sipp(
        server,
        "uac-register-auth.xml",
        transport,
        service=USER,
        extra_args=("-au", USER, "-ap", PASSWORD),
    )

    why = _explain(result, server)
    challenges = result.received("SIP/2.0 401 ")
    assert len(challenges) == 2, why
    registers = result.sent("REGISTER ")
    for challenged, answered in zip(challenges, registers[1::2], strict=True):
        values = challenged.header_values("WWW-Authenticate")
        assert len(values) == 1, why
        challenge = _check_challenge(values[0], "MD5")
        answer = digest_params(answered.header("Authorization") or "")
        assert (answer["username"], answer["nonce"]) == (USER, challenge["nonce"]), why
    # A fresh nonce for each challenge (RFC 7616 §3.3).
    nonces = [digest_params(c.header("WWW-Authenticate") or "")["nonce"] for c in challenges]
    assert nonces[0] != nonces[1], why

    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"REGISTER": 4}, server.output
    assert summary.responses == {"401": 2, "200": 2}, server.output
    assert summary.bindings == [], server.output
    server.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_wrong_password_ends_in_403(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(SCENARIOS / "register-md5.yaml", t1=T1)

    result = _sipp(
        server,
        "uac-register-rejected.xml",
        transport,
        service=USER,
        extra_args=("-au", USER, "-ap", "not-the-secret"),
    )

    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"REGISTER": 4}, _explain(result, server)
    assert summary.responses == {"401": 3, "403": 1}, server.output
    assert summary.bindings == [], server.output
    assert summary.findings == {"auth-failed": 1}, server.output
    assert summary.retransmissions_out == 0, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_423_then_registers_with_min_expires(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/register-423.yaml", t1=T1)

    result = _sipp(server, "uac-register-423.xml", transport, service="alice")

    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"REGISTER": 2}, _explain(result, server)
    assert summary.responses == {"423": 1, "200": 1}, server.output
    server.assert_clean()
    assert len(summary.bindings) == 1, server.output
    assert contact_uri(summary.bindings[0].aor).user == "alice", server.output
    assert 290 <= summary.bindings[0].expires <= 300, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_flaky_registrar_503_then_200(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/register-flaky.yaml", t1=T1)

    result = _sipp(server, "uac-register-flaky.xml", transport, service="alice")

    server.stop(settle=SETTLE[transport])
    summary = server.summary
    assert summary.requests == {"REGISTER": 2}, _explain(result, server)
    assert summary.responses == {"503": 1, "200": 1}, server.output
    server.assert_clean()
    assert len(summary.bindings) == 1, server.output
    assert 590 <= summary.bindings[0].expires <= 600, server.output


# --------------------------------------------------------------------------- controls

#: (SIPp scenario, a scenario answering REGISTER wrongly, SIPp options, what SIPp's error log
#: must say): the SIPp checks the tests above rely on fail against a broken registrar.
SABOTAGED = [
    (
        "uac-register-423.xml",
        "rules:\n  - match: {method: REGISTER}\n"
        "    reply: [{code: 423, headers: {Min-Expires: 200}}]\n",
        (),
        "with regexp '^ *300",
    ),
    (
        "uac-register-flaky.xml",
        "rules:\n  - match: {method: REGISTER, first: 1}\n"
        "    reply: [{code: 503, headers: {Retry-After: 5}}]\n",
        (),
        "with regexp '^ *10",
    ),
    (
        "uac-register-auth.xml",
        "auth: {realm: elsewhere, algorithms: [MD5], users: {printer: fax-secret}}\nrules: []\n",
        ("-au", USER, "-ap", PASSWORD),
        'realm="sipfault"',
    ),
]


@pytest.mark.parametrize(
    ("xml", "rules", "extra_args", "complaint"),
    SABOTAGED,
    ids=["min-expires", "retry-after", "realm"],
)
def test_sipp_checks_fail_against_a_wrong_registrar(
    sipp: str,
    start_sipfault: StartSipfault,
    tmp_path: Path,
    xml: str,
    rules: str,
    extra_args: tuple[str, ...],
    complaint: str,
) -> None:
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(f"name: wrong\n{rules}")
    server = start_sipfault(scenario, t1=T1)

    result = run_sipp(
        SIPP_DIR / xml,
        server.host,
        server.port,
        service=USER,
        timeout=10,
        extra_args=extra_args,
    )

    why = _explain(result, server)
    assert result.returncode != 0, why
    assert (result.successful, result.failed) == (0, 1), why
    assert complaint in result.errors, why
