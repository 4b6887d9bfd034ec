"""The registrar and digest authentication, as PJSUA2 and SIPp register with them.

- PJSUA2 registers through a 401 with MD5 and with SHA-256 credentials (scenarios offering
  one algorithm each), picks SHA-256 when register-auth-rfc8760.yaml offers both, refreshes
  its binding on its own timer, and unregisters (Expires: 0) leaving no binding in the summary;
- SIPp registers and unregisters through 401 challenges with its [authentication] keyword
  (MD5: SIPp 3.6 computes no other digest, and answers only the first challenge of a 401).
  It registers with the shipped register-auth.yaml (MD5 alone) and fails on
  register-auth-rfc8760.yaml, whose first challenge is SHA-256: the device behaviour that
  made MD5 the default;
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

from tests.peers.calls import pjsua_register_at, sipp_call
from tests.peers.fields import contact_uri, delta_seconds, digest_params, name_addr_params
from tests.peers.fixtures import StartSipfault
from tests.peers.locate import SIPP_SCENARIOS, TEST_SCENARIOS
from tests.peers.pjsua import SipMessage
from tests.peers.sipp import run_sipp

pytestmark = pytest.mark.peer

TRANSPORTS = ["udp", "tcp"]
USER, PASSWORD = "printer", "fax-secret"  # what register-auth.yaml and the test copies accept
#: Hex digits of a digest response per algorithm (RFC 7616 §3.4.1, RFC 8760).
RESPONSE_LENGTH = {"MD5": 32, "SHA-256": 64}


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
    server = start_sipfault(TEST_SCENARIOS / scenario)

    result = pjsua_register_at(
        server, transport=transport, user=USER, password=PASSWORD, expires=600
    )

    why = server.explain(result)
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

    summary = server.finish(requests={"REGISTER": 2}, responses={"401": 1, "200": 1}, peer=result)
    # The binding outlives the client (no unREGISTER was sent): the summary lists it.
    assert len(summary.bindings) == 1, server.output
    binding = summary.bindings[0]
    assert contact_uri(binding.aor).target[:2] == (USER, server.host), server.output
    assert contact_uri(binding.uri).target == contact_uri(contact).target, server.output
    assert 590 <= binding.expires <= 600, server.output


def test_pjsua_answers_the_first_challenge_of_register_auth_rfc8760_yaml(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    """register-auth-rfc8760.yaml offers SHA-256 first, then MD5 (RFC 8760 §2.4); PJSUA2
    answers the first it supports, SHA-256, and is registered."""
    server = start_sipfault("scenarios/register-auth-rfc8760.yaml")

    result = pjsua_register_at(server, user=USER, password=PASSWORD, expires=600)

    why = server.explain(result)
    assert result.result["registered"]["code"] == 200, why
    challenges = result.received("REGISTER")[0].header_values("WWW-Authenticate")
    algorithms = [digest_params(value).get("algorithm", "").upper() for value in challenges]
    assert algorithms == ["SHA-256", "MD5"], why
    challenge = _check_challenge(challenges[0], "SHA-256")
    assert digest_params(challenges[1])["nonce"] == challenge["nonce"], why
    _check_answer(result.sent("REGISTER")[1], challenge, "SHA-256")
    summary = server.finish(requests={"REGISTER": 2}, responses={"401": 1, "200": 1}, peer=result)
    assert len(summary.bindings) == 1, server.output


def test_pjsua_refreshes_its_registration(pjsua2: None, start_sipfault: StartSipfault) -> None:
    """PJSUA2 asks for 60 s (the registrar's default minimum) and refreshes on its own timer
    (`delayBeforeRefreshSec` 58: PJSIP 2.15.1 refreshes 5 s after the 200, not 2): the
    refresh is the same Call-ID with a higher CSeq, and replaces the binding, not adds one."""
    server = start_sipfault("scenarios/register-auth.yaml")

    result = pjsua_register_at(
        server,
        user=USER,
        password=PASSWORD,
        expires=60,
        refreshes=1,
        delay_before_refresh=58,
        timeout=20,
    )

    why = server.explain(result)
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

    summary = server.finish(requests={"REGISTER": 4}, responses={"401": 2, "200": 2}, peer=result)
    assert [contact_uri(b.uri).target for b in summary.bindings] == [contact_uri(contact).target], (
        server.output
    )
    assert 50 <= summary.bindings[0].expires <= 60, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pjsua_unregisters_and_leaves_no_binding(
    pjsua2: None, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault("scenarios/register-auth.yaml")

    result = pjsua_register_at(
        server, transport=transport, user=USER, password=PASSWORD, expires=600, unregister=True
    )

    why = server.explain(result)
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

    summary = server.finish(requests={"REGISTER": 4}, responses={"401": 2, "200": 2}, peer=result)
    assert summary.bindings == [], server.output


def test_pjsua_wrong_password_ends_in_403(pjsua2: None, start_sipfault: StartSipfault) -> None:
    server = start_sipfault("scenarios/register-auth.yaml")

    result = pjsua_register_at(server, user=USER, password="not-the-secret", expires=600)

    why = server.explain(result)
    assert (result.status, result.reason) == (403, "Forbidden"), why
    # max_attempts 3: two wrong answers are challenged again, the third is refused.
    assert result.statuses("REGISTER") == [401, 401, 401, 403], why
    summary = server.finish(
        requests={"REGISTER": 4},
        responses={"401": 3, "403": 1},
        findings={"auth-failed": 1},
        peer=result,
    )
    assert summary.bindings == [], server.output


def test_pjsua_retries_423_with_min_expires(pjsua2: None, start_sipfault: StartSipfault) -> None:
    server = start_sipfault("scenarios/register-423.yaml")

    result = pjsua_register_at(server, user="alice", password="unused", expires=60)

    why = server.explain(result)
    assert result.statuses("REGISTER") == [423, 200], why
    brief = result.received("REGISTER")[0]
    assert (brief.header("Min-Expires") or "").strip() == "300", why
    first, second = result.sent("REGISTER")
    assert first.header("Expires") == "60", why
    assert second.header("Expires") == "300", why
    assert result.result["registered"] == {"code": 200, "reason": "OK", "expiration": 300}, why
    assert _granted(result.received("REGISTER")[1], second.header("Contact") or "") == 300, why

    summary = server.finish(requests={"REGISTER": 2}, responses={"423": 1, "200": 1}, peer=result)
    assert len(summary.bindings) == 1 and 290 <= summary.bindings[0].expires <= 300, server.output


def test_pjsua_first_register_gets_503_with_retry_after(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    """register-flaky.yaml refuses the first REGISTER of the run; the device's next attempt
    (a second agent here: PJSUA2's own retry would wait the full Retry-After) registers."""
    server = start_sipfault("scenarios/register-flaky.yaml")

    refused = pjsua_register_at(server, user="alice", password="unused", expires=600)
    accepted = pjsua_register_at(server, user="alice", password="unused", expires=600)

    why = server.explain(refused)
    assert (refused.status, refused.reason) == (503, "Service Unavailable"), why
    assert refused.statuses("REGISTER") == [503], why
    assert delta_seconds(refused.received("REGISTER")[0].header("Retry-After") or "") == 10, why
    why = server.explain(accepted)
    assert accepted.statuses("REGISTER") == [200], why
    assert accepted.result["registered"]["expiration"] == 600, why

    # The second attempt does not wait the 10 s asked for: reported (RFC 3261 §20.33).
    summary = server.finish(requests={"REGISTER": 2}, responses={"503": 1, "200": 1},
                            findings={"retry-after-ignored": 1}, peer=accepted)
    assert len(summary.bindings) == 1, server.output


# --------------------------------------------------------------------------- SIPp


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "scenario",
    [TEST_SCENARIOS / "register-md5.yaml", Path("scenarios/register-auth.yaml")],
    ids=["register-md5", "shipped-register-auth"],
)
def test_sipp_registers_and_unregisters_through_401(
    sipp: str, start_sipfault: StartSipfault, transport: str, scenario: Path
) -> None:
    server = start_sipfault(scenario)

    result = sipp_call(
        server,
        "uac-register-auth.xml",
        transport=transport,
        service=USER,
        auth=(USER, PASSWORD),
    )

    why = server.explain(result)
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

    summary = server.finish(requests={"REGISTER": 4}, responses={"401": 2, "200": 2}, peer=result)
    assert summary.bindings == [], server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_wrong_password_ends_in_403(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(TEST_SCENARIOS / "register-md5.yaml")

    result = sipp_call(
        server,
        "uac-register-rejected.xml",
        transport=transport,
        service=USER,
        auth=(USER, "not-the-secret"),
    )

    summary = server.finish(
        requests={"REGISTER": 4},
        responses={"401": 3, "403": 1},
        findings={"auth-failed": 1},
        peer=result,
    )
    assert summary.bindings == [], server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("scenario", "xml", "refusal", "granted"),
    [
        # 423 with Min-Expires 300: SIPp registers again asking for 300.
        ("register-423.yaml", "uac-register-423.xml", "423", 300),
        # 503 with Retry-After 10 to the first REGISTER: the next one registers for 600.
        ("register-flaky.yaml", "uac-register-flaky.xml", "503", 600),
    ],
    ids=["423-then-min-expires", "flaky-503-then-200"],
)
def test_sipp_registers_after_a_refusal(
    sipp: str,
    start_sipfault: StartSipfault,
    transport: str,
    scenario: str,
    xml: str,
    refusal: str,
    granted: int,
) -> None:
    server = start_sipfault(f"scenarios/{scenario}")

    result = sipp_call(server, xml, transport=transport, service="alice")

    # SIPp registers again at once, without waiting the 503's Retry-After: a finding.
    findings = {"retry-after-ignored": 1} if refusal == "503" else {}
    summary = server.finish(requests={"REGISTER": 2}, responses={refusal: 1, "200": 1},
                            findings=findings, peer=result)
    assert len(summary.bindings) == 1, server.output
    assert contact_uri(summary.bindings[0].aor).user == "alice", server.output
    assert granted - 10 <= summary.bindings[0].expires <= granted, server.output


# --------------------------------------------------------------------------- controls

#: (SIPp scenario, a scenario answering REGISTER wrongly, the credentials SIPp answers with,
#: what SIPp's error log must say): the SIPp checks the tests above rely on fail against a
#: broken registrar.
SABOTAGED = [
    (
        "uac-register-423.xml",
        "rules:\n  - match: {method: REGISTER}\n"
        "    reply: [{code: 423, headers: {Min-Expires: 200}}]\n",
        None,
        "with regexp '^ *300",
    ),
    (
        "uac-register-flaky.xml",
        "rules:\n  - match: {method: REGISTER, first: 1}\n"
        "    reply: [{code: 503, headers: {Retry-After: 5}}]\n",
        None,
        "with regexp '^ *10",
    ),
    (
        "uac-register-auth.xml",
        "auth: {realm: elsewhere, algorithms: [MD5], users: {printer: fax-secret}}\nrules: []\n",
        (USER, PASSWORD),
        'realm="sipfault"',
    ),
]


@pytest.mark.parametrize(
    ("xml", "rules", "auth", "complaint"),
    SABOTAGED,
    ids=["min-expires", "retry-after", "realm"],
)
def test_sipp_checks_fail_against_a_wrong_registrar(
    sipp: str,
    start_sipfault: StartSipfault,
    tmp_path: Path,
    xml: str,
    rules: str,
    auth: tuple[str, str] | None,
    complaint: str,
) -> None:
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(f"name: wrong\n{rules}")
    server = start_sipfault(scenario)

    sipp_call(server, xml, service=USER, auth=auth, fails_with=complaint)


def test_sipp_reading_only_the_first_challenge_fails_on_register_auth_rfc8760(
    sipp: str, start_sipfault: StartSipfault
) -> None:
    """The device behaviour register-auth-rfc8760.yaml tests: SIPp answers only the first
    challenge of a 401 and computes only MD5, so a SHA-256 first challenge defeats it, while
    the shipped register-auth.yaml (MD5 alone) registers it (the test above)."""
    server = start_sipfault("scenarios/register-auth-rfc8760.yaml")

    result = run_sipp(SIPP_SCENARIOS / "uac-register-auth.xml", server.host, server.port,
                      service=USER, calls=1, timeout=20.0,
                      extra_args=("-au", USER, "-ap", PASSWORD))

    why = server.explain(result)
    assert result.returncode != 0 and result.successful == 0, why
    assert "authentication must use MD5" in result.errors, why
    server.finish(requests={"REGISTER": 1}, responses={"401": 1}, peer=result)
