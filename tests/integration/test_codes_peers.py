"""Response codes with the header fields they require, as SIPp and PJSUA2 see them.

`sipfault run` plays scenarios/codes.yaml (dial-a-code: `sip:486@host` gets 486) or a small
scenario of tests/integration/scenarios/; a real peer dials, and the test checks what came
back on the wire and sipfault's summary:

- 486 and 503 carry the Retry-After of codes.yaml's `defaults.retry_after` (RFC 3261 §20.33);
- 302 carries a Contact that parses, addresses sipfault, and a client that follows it sends
  its next INVITE there (RFC 3261 §8.1.3.4); redirect.yaml's 302 leads to an answered call;
- an INVITE challenged with 401 (scenario `auth: {methods: [INVITE]}`) goes through with
  SIPp's [authentication] and PJSUA2's credentials, and a wrong password ends in 403;
- `Require: foo-unknown` gets 420 with `Unsupported: foo-unknown` (RFC 3261 §8.2.2.3);
- an INVITE without 100rel, to a scenario demanding it, gets 421 with `Require: 100rel`;
- `Require: 100rel` makes the 180 reliable: RSeq, PRACK with RAck, 200 to the PRACK, then the
  200 to the INVITE (RFC 3262); a PRACK matching nothing gets 481.

PJSUA2 cannot play the 421 case: PJSIP 2.15.1 puts `Supported: 100rel` in every INVITE, even
with 100rel switched off for the account (prackUse PJSUA_100REL_NOT_USED; the 100rel module
adds the option tag to the endpoint's capabilities, and PJSUA2 offers no way to take it out),
so it always offers 100rel; its INVITE to require-100rel.yaml is answered, which is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.peers.calls import pjsua_dial, sipp_call
from tests.peers.fields import contact_uri, delta_seconds, digest_params, option_tags
from tests.peers.fixtures import StartSipfault
from tests.peers.locate import TEST_SCENARIOS
from tests.peers.pjsua import AgentResult, SipMessage

pytestmark = pytest.mark.peer

CODES = "scenarios/codes.yaml"
TRANSPORTS = ["udp", "tcp"]
#: Retry-After seconds that scenarios/codes.yaml's `defaults.retry_after` gives.
RETRY_AFTER = {486: 30, 503: 120}


def _final(result: AgentResult, method: str = "INVITE") -> SipMessage:
    """The last response the agent received to `method`."""
    responses = result.received(method)
    assert responses, result.describe()
    return responses[-1]


# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("code", "xml"), [(486, "uac-busy.xml"), (503, "uac-unavailable.xml")], ids=["486", "503"]
)
def test_sipp_dialled_code_carries_retry_after(
    sipp: str, start_sipfault: StartSipfault, transport: str, code: int, xml: str
) -> None:
    server = start_sipfault(CODES)

    result = sipp_call(server, xml, transport=transport, service=str(code))

    final = result.received(f"SIP/2.0 {code} ")[0]
    why = server.explain(result)
    assert delta_seconds(final.header("Retry-After") or "") == RETRY_AFTER[code], why
    server.finish(
        requests={"INVITE": 1, "ACK": 1},
        responses={"100": 1, "180": 1, str(code): 1},
        peer=result,
    )


@pytest.mark.parametrize("code", [486, 503])
def test_pjsua_dialled_code_carries_retry_after(
    pjsua2: None, start_sipfault: StartSipfault, code: int
) -> None:
    server = start_sipfault(CODES)

    result = pjsua_dial(server, str(code))

    why = server.explain(result)
    assert result.status == code, why
    assert result.call_states == ["CALLING", "EARLY", "DISCONNECTED"], why
    assert result.statuses("INVITE") == [100, 180, code], why
    final = _final(result)
    assert len(final.header_values("Retry-After")) == 1, why
    assert delta_seconds(final.header("Retry-After") or "") == RETRY_AFTER[code], why
    assert [message.method for message in result.sent()] == ["INVITE", "ACK"], why
    server.finish(responses={"100": 1, "180": 1, str(code): 1}, peer=result)


# --------------------------------------------------------------------------- 302 and Contact


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_dialled_302_has_a_contact_at_sipfault(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(CODES)

    result = sipp_call(server, "uac-redirect-contact.xml", transport=transport, service="302")

    why = server.explain(result)
    moved = result.received("SIP/2.0 302 ")[0]
    contacts = moved.header_values("Contact")
    assert len(contacts) == 1, why
    target = contact_uri(contacts[0])
    assert (target.host, target.port) == (server.host, server.port), why
    if transport == "tcp":  # the target is reached over the transport the client used
        assert target.params.get("transport", "").lower() == "tcp", why
    server.finish(responses={"100": 1, "180": 1, "302": 1}, peer=result)


def test_pjsua_follows_dialled_302_to_its_contact(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    server = start_sipfault(CODES)

    result = pjsua_dial(server, "302", follow_redirects=True)

    why = server.explain(result)
    moved = result.received("INVITE")[result.statuses("INVITE").index(302)]
    target = contact_uri(moved.header("Contact") or "")
    assert (target.host, target.port) == (server.host, server.port), why
    # PJSUA2 offered the Contact as the new target and sent the next INVITE there.
    assert result.of("redirected"), why
    assert contact_uri(result.of("redirected")[0]["target"]).target[:2] == target.target[:2], why
    invites = result.sent("INVITE")
    assert len(invites) >= 2, why
    assert contact_uri(invites[1].first_line.split()[1]).target == target.target, why
    # codes.yaml answers the dialled sip:200@ the 302 pointed at; PJSUA2 hangs up.
    server.finish(
        requests={"INVITE": 2, "ACK": 2, "BYE": 1},
        responses={"100": 2, "180": 2, "302": 1, "200": 2},
        peer=result,
    )


def test_pjsua_dialled_302_points_somewhere_new(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    """A redirect names a new target (RFC 3261 §8.1.3.4, §21.3.3): a 302 whose only Contact
    is the URI just redirected adds nothing to the client's target set (§16.5 recursion
    never tries a URI twice). A dialled 3xx points at `sip:200@` the same server, so PJSUA2
    follows it once and the call is answered there."""
    server = start_sipfault(CODES)

    result = pjsua_dial(server, "302", follow_redirects=True)

    why = server.explain(result)
    dialled = contact_uri(result.sent("INVITE")[0].first_line.split()[1])
    moved = result.received("INVITE")[result.statuses("INVITE").index(302)]
    assert contact_uri(moved.header("Contact") or "").target != dialled.target, why
    assert result.statuses("INVITE").count(302) == 1, why


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_follows_302_and_is_answered_there(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(TEST_SCENARIOS / "redirect.yaml")

    result = sipp_call(server, "uac-redirect-follow.xml", transport=transport, service="302")

    why = server.explain(result)
    contact = contact_uri(result.received("SIP/2.0 302 ")[0].header("Contact") or "")
    assert contact.target == ("200", server.host, server.port), why
    invites = result.sent("INVITE ")
    assert [contact_uri(invite.first_line.split()[1]).user for invite in invites] == [
        "302",
        "200",
    ], why
    server.finish(
        requests={"INVITE": 2, "ACK": 2, "BYE": 1},
        responses={"100": 2, "180": 1, "302": 1, "200": 2},
        peer=result,
    )


def test_pjsua_follows_302_and_is_answered_there(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    server = start_sipfault(TEST_SCENARIOS / "redirect.yaml")

    result = pjsua_dial(server, "302", follow_redirects=True, hangup_after=0.2)

    why = server.explain(result)
    assert result.result.get("answered") is True, why
    assert result.call_states[-2:] == ["CONFIRMED", "DISCONNECTED"], why
    assert result.statuses("INVITE") == [100, 302, 100, 180, 200], why
    invites = result.sent("INVITE")
    assert [contact_uri(invite.first_line.split()[1]).target for invite in invites] == [
        ("302", server.host, server.port),
        ("200", server.host, server.port),
    ], why
    assert result.statuses("BYE") == [200], why
    server.finish(
        requests={"INVITE": 2, "ACK": 2, "BYE": 1},
        responses={"100": 2, "180": 1, "302": 1, "200": 2},
        peer=result,
    )


# --------------------------------------------------------------------------- 401 on INVITE


def _check_md5_challenge(value: str) -> dict[str, str]:
    """A digest challenge as invite-auth.yaml sets it: realm, a nonce, MD5, qop auth."""
    params = digest_params(value)
    assert params.get("realm") == "sipfault", value
    assert len(params.get("nonce", "")) >= 16, value
    assert params.get("algorithm", "").upper() == "MD5", value
    assert "auth" in [qop.strip() for qop in params.get("qop", "").split(",")], value
    return params


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_invite_through_401_challenge(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(TEST_SCENARIOS / "invite-auth.yaml")

    result = sipp_call(
        server,
        "uac-invite-auth.xml",
        transport=transport,
        service="200",
        auth=("alice", "secret"),
    )

    why = server.explain(result)
    challenges = result.received("SIP/2.0 401 ")[0].header_values("WWW-Authenticate")
    assert len(challenges) == 1, why
    challenge = _check_md5_challenge(challenges[0])
    answer = digest_params(result.sent("INVITE ")[1].header("Authorization") or "")
    assert (answer["username"], answer["nonce"]) == ("alice", challenge["nonce"]), why
    server.finish(
        requests={"INVITE": 2, "ACK": 2, "BYE": 1},
        responses={"401": 1, "100": 1, "180": 1, "200": 2},
        peer=result,
    )


def test_pjsua_invite_through_401_challenge(pjsua2: None, start_sipfault: StartSipfault) -> None:
    server = start_sipfault(TEST_SCENARIOS / "invite-auth.yaml")

    result = pjsua_dial(server, "200", user="alice", password="secret", hangup_after=0.2)

    why = server.explain(result)
    assert result.result.get("answered") is True, why
    assert result.statuses("INVITE") == [401, 100, 180, 200], why
    challenge = _check_md5_challenge(result.received("INVITE")[0].header("WWW-Authenticate") or "")
    answer = digest_params(result.sent("INVITE")[1].header("Authorization") or "")
    assert answer["username"] == "alice", why
    assert answer["nonce"] == challenge["nonce"], why
    assert answer.get("algorithm", "").upper() == "MD5", why
    assert [message.method for message in result.sent()] == [
        "INVITE",
        "ACK",
        "INVITE",
        "ACK",
        "BYE",
    ], why
    server.finish(
        requests={"INVITE": 2, "ACK": 2, "BYE": 1},
        responses={"401": 1, "100": 1, "180": 1, "200": 2},
        peer=result,
    )


def test_pjsua_invite_with_wrong_password_ends_in_403(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    server = start_sipfault(TEST_SCENARIOS / "invite-auth.yaml")

    result = pjsua_dial(server, "200", user="alice", password="not-secret")

    why = server.explain(result)
    assert (result.status, result.reason) == (403, "Forbidden"), why
    # A new challenge for each wrong answer up to max_attempts (3): the third gets 403.
    assert result.statuses("INVITE") == [401, 401, 401, 403], why
    server.finish(
        requests={"INVITE": 4, "ACK": 4},
        responses={"401": 3, "403": 1},
        findings={"auth-failed": 1},
        peer=result,
    )


# --------------------------------------------------------------------------- 420 and 421


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_unknown_require_gets_420(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(CODES)

    result = sipp_call(server, "uac-bad-extension.xml", transport=transport, service="200")

    why = server.explain(result)
    bad = result.received("SIP/2.0 420 ")[0]
    assert option_tags(bad.header_values("Unsupported")) == ["foo-unknown"], why
    server.finish(
        requests={"INVITE": 1, "ACK": 1},
        responses={"420": 1},
        peer=result,
    )


def test_pjsua_unknown_require_gets_420(pjsua2: None, start_sipfault: StartSipfault) -> None:
    server = start_sipfault(CODES)

    result = pjsua_dial(server, "200", header=["Require: foo-unknown"])

    why = server.explain(result)
    assert "foo-unknown" in option_tags(result.sent("INVITE")[0].header_values("Require")), why
    assert (result.status, result.reason) == (420, "Bad Extension"), why
    assert option_tags(_final(result).header_values("Unsupported")) == ["foo-unknown"], why
    server.finish(responses={"420": 1}, peer=result)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_without_100rel_gets_421(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(TEST_SCENARIOS / "require-100rel.yaml")

    result = sipp_call(server, "uac-extension-required.xml", transport=transport, service="200")

    why = server.explain(result)
    required = result.received("SIP/2.0 421 ")[0]
    assert "100rel" in option_tags(required.header_values("Require")), why
    server.finish(
        requests={"INVITE": 1, "ACK": 1},
        responses={"421": 1},
        peer=result,
    )


def test_pjsua_offering_100rel_is_not_refused_with_421(
    pjsua2: None, start_sipfault: StartSipfault
) -> None:
    server = start_sipfault(TEST_SCENARIOS / "require-100rel.yaml")

    result = pjsua_dial(server, "200", hangup_after=0.2, **{"100rel": "required"})

    why = server.explain(result)
    assert "100rel" in option_tags(result.sent("INVITE")[0].header_values("Require")), why
    assert result.result.get("answered") is True, why
    assert 421 not in result.statuses("INVITE"), why
    assert result.statuses("PRACK") == [200], why
    server.finish(
        requests={"INVITE": 1, "PRACK": 1, "ACK": 1, "BYE": 1},
        responses={"100": 1, "180": 1, "200": 3},
        peer=result,
    )


# --------------------------------------------------------------------------- 100rel and PRACK


def _check_reliable(ringing_require: list[str], rseq: str | None) -> int:
    """A reliable provisional: Require lists 100rel, RSeq is 1..2**31-1 (RFC 3262 §3, §7.1)."""
    assert "100rel" in option_tags(ringing_require), ringing_require
    assert rseq is not None and rseq.strip().isdigit(), rseq
    value = int(rseq)
    assert 1 <= value <= 2**31 - 1, rseq
    return value


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_reliable_180_acknowledged_with_prack(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(CODES)

    result = sipp_call(server, "uac-prack.xml", transport=transport, service="200")

    why = server.explain(result)
    ringing = result.received("SIP/2.0 180 ")[0]
    rseq = _check_reliable(ringing.header_values("Require"), ringing.header("RSeq"))
    prack = result.sent("PRACK ")[0]
    assert (prack.header("RAck") or "").split() == [str(rseq), "1", "INVITE"], why
    # No 2xx to the INVITE before the PRACK was answered (RFC 3262 §3).
    answered = [(m.header("CSeq") or "").split()[-1] for m in result.received("SIP/2.0 200 ")]
    assert answered == ["PRACK", "INVITE", "BYE"], why
    server.finish(
        requests={"INVITE": 1, "PRACK": 1, "ACK": 1, "BYE": 1},
        responses={"100": 1, "180": 1, "200": 3},
        peer=result,
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sipp_prack_matching_nothing_gets_481(
    sipp: str, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(CODES)

    result = sipp_call(server, "uac-prack-unmatched.xml", transport=transport, service="200")

    summary = server.finish(
        requests={"INVITE": 1, "PRACK": 2, "ACK": 1, "BYE": 1}, retransmitted=None, peer=result
    )
    assert summary.responses.get("481") == 1, server.output
    assert summary.responses.get("200") == 3, server.output


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pjsua_reliable_180_acknowledged_with_prack(
    pjsua2: None, start_sipfault: StartSipfault, transport: str
) -> None:
    server = start_sipfault(CODES)

    result = pjsua_dial(
        server, "200", transport=transport, hangup_after=0.2, **{"100rel": "required"}
    )

    why = server.explain(result)
    assert result.result.get("answered") is True, why
    invite = result.sent("INVITE")[0]
    assert "100rel" in option_tags(invite.header_values("Require")), why
    ringing = next(m for m in result.received("INVITE") if m.status == 180)
    rseq = _check_reliable(ringing.header_values("Require"), ringing.header("RSeq"))
    pracks = result.sent("PRACK")
    assert len(pracks) == 1, why
    invite_cseq = (invite.header("CSeq") or "").split()[0]
    assert (pracks[0].header("RAck") or "").split() == [str(rseq), invite_cseq, "INVITE"], why
    assert result.statuses("PRACK") == [200], why
    # The 200 to the INVITE came after the PRACK was answered (RFC 3262 §3).
    lines = [(m.direction, m.first_line, m.method) for m in result.messages]
    prack_ok = lines.index(("rx", "SIP/2.0 200 OK", "PRACK"))
    invite_ok = lines.index(("rx", "SIP/2.0 200 OK", "INVITE"))
    assert prack_ok < invite_ok, why
    server.finish(
        requests={"INVITE": 1, "PRACK": 1, "ACK": 1, "BYE": 1},
        responses={"100": 1, "180": 1, "200": 3},
        peer=result,
    )


# --------------------------------------------------------------------------- controls

#: (SIPp scenario, dialled user, a scenario answering it wrongly, what SIPp's error log must
#: say): sipfault plays a broken UAS on purpose (a step's `headers`/`omit`), and the SIPp
#: check that the tests above rely on has to fail the call.
SABOTAGED = [
    (
        "uac-unavailable.xml",
        "503",
        "reply: [100, 180, {code: 503, headers: {Retry-After: 5}}]",
        "with regexp '^ *120",
    ),
    (
        "uac-extension-required.xml",
        "200",
        "reply: [{code: 421, headers: {Require: timer}}]",
        "100rel",
    ),
    (
        "uac-redirect-contact.xml",
        "302",
        "reply: [100, {code: 302, omit: [Contact]}]",
        "header Contact: not found",
    ),
    (
        "uac-prack.xml",
        "200",
        "reply: [100, {code: 180, omit: [RSeq]}, {code: 200, after: 300ms, sdp: answer}]",
        "header RSeq: not found",
    ),
    (
        "uac-prack.xml",
        "200",
        "reply: [100, {code: 180, reliable: false}, {code: 200, after: 300ms, sdp: answer}]",
        "header Require: not found",
    ),
]


@pytest.mark.parametrize(
    ("xml", "service", "reply", "complaint"),
    SABOTAGED,
    ids=["retry-after", "require", "no-contact", "no-rseq", "unreliable-180"],
)
def test_sipp_checks_fail_against_a_wrong_answer(
    sipp: str,
    start_sipfault: StartSipfault,
    tmp_path: Path,
    xml: str,
    service: str,
    reply: str,
    complaint: str,
) -> None:
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(f"name: wrong\nrules:\n  - match: {{method: INVITE}}\n    {reply}\n")
    server = start_sipfault(scenario)

    sipp_call(server, xml, service=service, fails_with=complaint)
