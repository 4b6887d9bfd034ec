"""The registrar and digest authentication as the UAS runs them (RFC 3261 §10.3, §22)."""

from __future__ import annotations

from uas_harness import Harness, request, response, statuses

from sipfault.core.events import BindingExpired
from sipfault.sip.digest import Algorithm, compute_response, parse_auth_params

AUTH = """
auth:
  realm: bench
  algorithms: [SHA-256, MD5]
  users: {printer: fax-secret}
rules: []
"""


def register(branch: str, cseq: int, extra: str = "", expires: int = 600) -> bytes:
    return request("REGISTER", uri="sip:127.0.0.1", branch=branch, cseq=cseq,
                   call_id="reg-1", extra=f"Expires: {expires}\n{extra}".strip())


def authorization(challenge: str, algorithm: Algorithm, password: str = "fax-secret") -> str:
    _, params = parse_auth_params(challenge)
    digest = compute_response(algorithm, "printer", params["realm"], password, "REGISTER",
                              "sip:127.0.0.1", params["nonce"], 1, "c0ffee", "auth")
    return (f'Authorization: Digest username="printer", realm="{params["realm"]}", '
            f'nonce="{params["nonce"]}", uri="sip:127.0.0.1", response="{digest}", '
            f"algorithm={algorithm.value}, qop=auth, nc=00000001, cnonce=\"c0ffee\"")


def test_register_through_a_sha256_challenge() -> None:
    h = Harness.from_yaml(AUTH)
    challenge = response(h.feed(register("z9hG4bK-1", 1)), 401)
    offered = challenge.headers.lines("WWW-Authenticate")
    assert ["SHA-256" in offered[0], "MD5" in offered[1]] == [True, True]
    ok = response(h.feed(register("z9hG4bK-2", 2, authorization(offered[0],
                                                                  Algorithm.SHA_256))), 200)
    assert ok.headers.values("Contact") == ["<sip:alice@127.0.0.1:5070>;expires=600"]
    assert "Date" in ok.headers
    assert list(h.uas.registrar.bindings(h.now)) == ["sip:bob@127.0.0.1"]


def test_wrong_password_ends_in_403() -> None:
    h = Harness.from_yaml(AUTH)
    codes = []
    challenge = response(h.feed(register("z9hG4bK-0", 1)), 401)
    for attempt in range(1, 4):
        value = challenge.headers.lines("WWW-Authenticate")[1]
        sent = h.feed(register(f"z9hG4bK-{attempt}", attempt + 1,
                               authorization(value, Algorithm.MD5, password="wrong")))
        codes += statuses(sent)
        if statuses(sent)[-1] == 401:
            challenge = response(sent, 401)
    assert codes == [401, 401, 403]
    assert h.findings("auth-failed")


def test_rfc2069_register_is_accepted_with_a_finding_naming_rfc7616() -> None:
    h = Harness.from_yaml("auth: {realm: bench, users: {printer: fax-secret}}\nrules: []\n")
    challenge = response(h.feed(register("z9hG4bK-1", 1)), 401)
    (offered,) = challenge.headers.lines("WWW-Authenticate")  # MD5 alone, qop="auth"
    _, params = parse_auth_params(offered)
    assert (params["algorithm"], params["qop"]) == ("MD5", "auth")
    digest = compute_response(Algorithm.MD5, "printer", "bench", "fax-secret", "REGISTER",
                              "sip:127.0.0.1", params["nonce"], 0, "", None)
    old_style = (f'Authorization: Digest username="printer", realm="bench", '
                 f'nonce="{params["nonce"]}", uri="sip:127.0.0.1", response="{digest}"')
    assert statuses(h.feed(register("z9hG4bK-2", 2, old_style))) == [200]
    (finding,) = h.findings("digest-without-qop")
    assert "RFC 7616 §3.4" in finding.text and finding.details == {"user": "printer"}


def test_binding_expiry_is_journaled_on_the_clock() -> None:
    h = Harness.from_yaml("rules: []\n")
    assert statuses(h.feed(register("z9hG4bK-1", 1, expires=120))) == [200]
    h.advance(119)
    assert not [e for e in h.events if isinstance(e, BindingExpired)]
    h.advance(2)
    expired = [e for e in h.events if isinstance(e, BindingExpired)]
    assert [(e.aor, e.contact) for e in expired] == [("sip:bob@127.0.0.1",
                                                      "sip:alice@127.0.0.1:5070")]
    assert h.uas.registrar.bindings(h.now) == {}


def test_invite_can_be_challenged_with_407() -> None:
    h = Harness.from_yaml("""
auth: {methods: [INVITE], challenge: proxy, users: {alice: secret}}
rules:
  - match: {method: INVITE}
    reply: [486]
""")
    refused = response(h.feed(request()), 407)
    assert refused.headers.lines("Proxy-Authenticate")
