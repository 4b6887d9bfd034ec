"""Digest authentication policy (RFC 3261 §22, RFC 7616, RFC 8760) on a manual clock: the
challenge, full exchanges computed the way a client does, stale nonces, replays, attempts ending
in 403, proxy mode, realms and malformed credentials."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sipfault.core.auth import Authenticator, AuthOutcome
from sipfault.model.scenario import AuthLockout, AuthSettings
from sipfault.sip.digest import Algorithm, compute_response, parse_auth_params
from sipfault.sip.message import Request
from sipfault.sip.parser import parse_message

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc4475"  # RFC 4475 messages
REALM = "bench.example"
URI = "sip:registrar.example"
USERS = (("printer", "fax-secret"), ("phone", "s3cret"))


def counting_random() -> Callable[[int], bytes]:
    """Deterministic, never-repeating "random" bytes, so nonces are predictable but fresh."""
    counter = itertools.count(1)
    return lambda n: next(counter).to_bytes(n, "big")


def authenticator(**overrides: Any) -> Authenticator:
    """An Authenticator for USERS in REALM with these AuthSettings fields changed."""
    settings: dict[str, Any] = {"users": USERS, "realm": REALM}
    settings.update(overrides)
    return Authenticator(AuthSettings(**settings), random_bytes=counting_random())


def request(
    method: str = "REGISTER",
    *,
    credentials: tuple[str, ...] = (),
    header: str = "Authorization",
    call_id: str = "call-1",
    cseq: int = 1,
    body: str = "",
) -> Request:
    """A request as a client would send it, parsed from its bytes."""
    lines = [
        f"{method} {URI} SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK-a",
        "Max-Forwards: 70",
        "From: <sip:printer@registrar.example>;tag=1",
        "To: <sip:printer@registrar.example>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:printer@192.0.2.4>",
    ]
    lines += [f"{header}: {value}" for value in credentials]
    if body:
        lines.append("Content-Type: text/plain")
    lines.append(f"Content-Length: {len(body.encode())}")
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n" + body).encode())
    assert isinstance(message, Request)
    return message


def challenge_params(outcome: AuthOutcome, algorithm: str | None = None) -> dict[str, str]:
    """The parameters of the challenge for ``algorithm`` (the first one when None)."""
    for _, value in outcome.headers:
        scheme, params = parse_auth_params(value)
        assert scheme == "Digest"
        if algorithm is None or params["algorithm"] == algorithm:
            return params
    raise AssertionError(f"no {algorithm} challenge in {outcome.headers}")


def answer(
    challenge: dict[str, str],
    *,
    user: str = "printer",
    password: str = "fax-secret",
    method: str = "REGISTER",
    uri: str = URI,
    nc: int = 1,
    cnonce: str = "0a4f113b",
    qop: str | None = "auth",
    body: bytes = b"",
) -> str:
    """The Authorization value a client computes from a challenge (RFC 7616 §3.4); with
    ``qop=None`` the RFC 2069 form, which has no cnonce, nc or qop."""
    algorithm = Algorithm.from_token(challenge["algorithm"])
    response = compute_response(
        algorithm, user, challenge["realm"], password, method, uri, challenge["nonce"], nc,
        cnonce, qop, body,
    )
    value = (
        f'Digest username="{user}", realm="{challenge["realm"]}", '
        f'nonce="{challenge["nonce"]}", uri="{uri}", response="{response}", '
        f'algorithm={algorithm.value}'
    )
    if qop is None:
        return value
    return value + f', cnonce="{cnonce}", nc={nc:08x}, qop={qop}'



# --------------------------------------------------------------------------- challenge


def test_no_credentials_gets_401_with_one_challenge_per_algorithm_and_one_nonce() -> None:
    auth = authenticator(algorithms=("SHA-256", "MD5"))
    outcome = auth.check(request(), now=0.0)
    assert (outcome.kind, outcome.status, outcome.reason) == ("challenge", 401, None)
    assert [name for name, _ in outcome.headers] == ["WWW-Authenticate", "WWW-Authenticate"]
    first, second = (parse_auth_params(value)[1] for _, value in outcome.headers)
    assert (first["algorithm"], second["algorithm"]) == ("SHA-256", "MD5")
    assert first["nonce"] == second["nonce"]
    assert first["realm"] == second["realm"] == REALM
    assert first["qop"] == second["qop"] == "auth"
    assert "stale" not in first


def test_challenges_follow_the_scenario_order_not_a_fixed_one() -> None:
    auth = authenticator(algorithms=("MD5", "SHA-512-256", "SHA-256"))
    algorithms = [parse_auth_params(v)[1]["algorithm"] for _, v in auth.challenge(0.0)]
    assert algorithms == ["MD5", "SHA-512-256", "SHA-256"]


def test_qop_offered_is_the_scenarios() -> None:
    auth = authenticator(qop=("auth", "auth-int"))
    assert challenge_params(auth.check(request(), now=0.0))["qop"] == "auth,auth-int"


def test_every_challenge_has_a_fresh_nonce() -> None:
    auth = authenticator()
    nonces = {parse_auth_params(auth.challenge(0.0)[0][1])[1]["nonce"] for _ in range(5)}
    assert len(nonces) == 5


def test_applies_to_the_scenario_methods_but_never_ack_or_cancel() -> None:
    auth = authenticator()
    assert auth.applies_to("REGISTER")
    assert not auth.applies_to("INVITE")
    auth = authenticator(methods=frozenset({"INVITE", "REGISTER", "ACK", "CANCEL"}))
    assert auth.applies_to("INVITE") and auth.applies_to("REGISTER")
    assert not auth.applies_to("ACK")
    assert not auth.applies_to("CANCEL")
    assert not auth.applies_to("register")  # methods are case-sensitive (RFC 3261 §7.1)


def test_settings_it_cannot_use_fail_at_construction() -> None:
    with pytest.raises(ValueError):
        authenticator(algorithms=("SHA-1",))
    with pytest.raises(ValueError):
        authenticator(algorithms=())


# ---------------------------------------------------------------------- full exchange


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-512-256"])
def test_full_exchange_as_a_client_computes_it(algorithm: str) -> None:
    auth = authenticator(algorithms=("SHA-512-256", "SHA-256", "MD5"))
    challenge = challenge_params(auth.check(request(), now=0.0), algorithm)
    outcome = auth.check(request(credentials=(answer(challenge),), cseq=2), now=1.0)
    assert outcome == AuthOutcome("ok", username="printer")


def test_refresh_with_the_same_nonce_and_next_nonce_count() -> None:
    auth = authenticator()
    challenge = challenge_params(auth.check(request(), now=0.0))
    for nc in (1, 2, 3):
        credentials = answer(challenge, nc=nc, cnonce=f"c{nc}")
        assert auth.check(request(credentials=(credentials,), cseq=nc + 1), now=nc).kind == "ok"


def test_auth_int_covers_the_body() -> None:
    auth = authenticator(qop=("auth-int",), methods=frozenset({"MESSAGE"}))
    challenge = challenge_params(auth.check(request("MESSAGE"), now=0.0))
    body = "fax page 1"
    good = answer(challenge, method="MESSAGE", qop="auth-int", body=body.encode())
    outcome = auth.check(request("MESSAGE", credentials=(good,), body=body), now=1.0)
    assert outcome.kind == "ok"
    forged = answer(challenge, method="MESSAGE", qop="auth-int", nc=2, body=body.encode())
    tampered = auth.check(request("MESSAGE", credentials=(forged,), body="fax page 2"), now=1.0)
    assert tampered.kind == "challenge"


def test_the_response_covers_the_method() -> None:
    auth = authenticator(methods=frozenset({"INVITE", "REGISTER"}))
    challenge = challenge_params(auth.check(request(), now=0.0))
    for_invite = answer(challenge, method="INVITE")
    assert auth.check(request(credentials=(for_invite,)), now=1.0).kind == "challenge"
    assert auth.check(request("INVITE", credentials=(for_invite,)), now=1.0).kind == "ok"


def test_an_answer_with_an_algorithm_that_was_offered_but_not_first_is_fine() -> None:
    auth = authenticator(algorithms=("SHA-256", "MD5"))
    challenge = challenge_params(auth.check(request(), now=0.0), "MD5")
    assert auth.check(request(credentials=(answer(challenge),)), now=1.0).kind == "ok"


# ----------------------------------------------------------------------- stale, replay


def test_right_answer_with_an_expired_nonce_gets_stale_challenge() -> None:
    auth = authenticator(nonce_lifetime=30.0)
    challenge = challenge_params(auth.check(request(), now=0.0))
    assert auth.check(request(credentials=(answer(challenge),)), now=30.0).kind == "ok"
    outcome = auth.check(request(credentials=(answer(challenge, nc=2),), cseq=2), now=30.5)
    assert (outcome.kind, outcome.status, outcome.username) == ("challenge", 401, "printer")
    fresh = challenge_params(outcome)
    assert fresh["stale"] == "true"
    assert fresh["nonce"] != challenge["nonce"]
    assert all("stale=true" in value for _, value in outcome.headers)
    retry = auth.check(request(credentials=(answer(fresh),), cseq=3), now=31.0)
    assert retry.kind == "ok"


def test_right_answer_with_a_nonce_never_issued_here_gets_stale_challenge() -> None:
    auth = authenticator()
    other_server = authenticator()  # e.g. this server before a restart
    challenge = challenge_params(AuthOutcome("challenge", headers=other_server.challenge(0.0)))
    outcome = auth.check(request(credentials=(answer(challenge),)), now=1.0)
    assert outcome.kind == "challenge"
    assert challenge_params(outcome)["stale"] == "true"


def test_wrong_answer_with_an_expired_nonce_is_not_stale() -> None:
    auth = authenticator(nonce_lifetime=30.0)
    challenge = challenge_params(auth.check(request(), now=0.0))
    outcome = auth.check(request(credentials=(answer(challenge, password="nope"),)), now=40.0)
    assert outcome.kind == "challenge"
    assert "stale" not in challenge_params(outcome)


def test_replayed_nonce_count_gets_a_new_challenge() -> None:
    auth = authenticator()
    challenge = challenge_params(auth.check(request(), now=0.0))
    credentials = answer(challenge, nc=1)
    assert auth.check(request(credentials=(credentials,)), now=1.0).kind == "ok"
    replay = auth.check(request(credentials=(credentials,), cseq=2), now=2.0)
    assert (replay.kind, replay.status) == ("challenge", 401)
    assert "stale" not in challenge_params(replay)
    assert challenge_params(replay)["nonce"] != challenge["nonce"]
    lower = answer(challenge, nc=1, cnonce="other")
    assert auth.check(request(credentials=(lower,), cseq=3), now=3.0).kind == "challenge"
    higher = answer(challenge, nc=2)
    assert auth.check(request(credentials=(higher,), cseq=4), now=4.0).kind == "ok"


def test_replays_do_not_count_as_failed_attempts() -> None:
    auth = authenticator(max_attempts=1)
    challenge = challenge_params(auth.check(request(), now=0.0))
    credentials = answer(challenge)
    auth.check(request(credentials=(credentials,)), now=1.0)
    for _ in range(3):
        assert auth.check(request(credentials=(credentials,)), now=2.0).kind == "challenge"


# ------------------------------------------------------------------------ attempts


def test_wrong_password_is_rechallenged_then_403_at_max_attempts() -> None:
    auth = authenticator(max_attempts=3)
    challenge = challenge_params(auth.check(request(), now=0.0))
    kinds = []
    for attempt in range(1, 6):
        wrong = answer(challenge, password="wrong", nc=attempt)
        outcome = auth.check(request(credentials=(wrong,), cseq=attempt + 1), now=attempt)
        kinds.append((outcome.kind, outcome.status))
        challenge = challenge_params(outcome) if outcome.kind == "challenge" else challenge
    assert kinds == [
        ("challenge", 401), ("challenge", 401), ("forbidden", 403), ("forbidden", 403),
        ("forbidden", 403),
    ]


def test_attempts_are_counted_per_user_and_call_id() -> None:
    auth = authenticator(max_attempts=2)
    challenge = challenge_params(auth.check(request(), now=0.0))

    def wrong(user: str, call_id: str, nc: int) -> AuthOutcome:
        credentials = answer(challenge, user=user, password="wrong", nc=nc)
        return auth.check(request(credentials=(credentials,), call_id=call_id), now=1.0)

    assert wrong("printer", "call-1", 1).kind == "challenge"
    assert wrong("phone", "call-1", 2).kind == "challenge"  # another user: its own count
    assert wrong("printer", "call-2", 3).kind == "challenge"  # another Call-ID: its own count
    assert wrong("printer", "call-1", 4).kind == "forbidden"
    assert wrong("phone", "call-1", 5).kind == "forbidden"


def test_unknown_user_is_wrong_credentials_too() -> None:
    auth = authenticator(max_attempts=2)
    challenge = challenge_params(auth.check(request(), now=0.0))
    for nc, kind in ((1, "challenge"), (2, "forbidden")):
        credentials = answer(challenge, user="mallory", password="x", nc=nc)
        outcome = auth.check(request(credentials=(credentials,)), now=1.0)
        assert (outcome.kind, outcome.username) == (kind, "mallory")


def test_right_credentials_clear_the_count() -> None:
    auth = authenticator(max_attempts=2)
    challenge = challenge_params(auth.check(request(), now=0.0))
    wrong = answer(challenge, password="wrong", nc=1)
    assert auth.check(request(credentials=(wrong,)), now=1.0).kind == "challenge"
    assert auth.check(request(credentials=(answer(challenge, nc=2),)), now=2.0).kind == "ok"
    wrong = answer(challenge, password="wrong", nc=3)
    assert auth.check(request(credentials=(wrong,)), now=3.0).kind == "challenge"


def test_right_credentials_after_403_are_still_accepted() -> None:
    auth = authenticator(max_attempts=1)
    challenge = challenge_params(auth.check(request(), now=0.0))
    wrong = answer(challenge, password="wrong", nc=1)
    assert auth.check(request(credentials=(wrong,)), now=1.0).kind == "forbidden"
    assert auth.check(request(credentials=(answer(challenge, nc=2),)), now=2.0).kind == "ok"


def test_a_guesser_on_new_call_ids_is_locked_out_within_the_window() -> None:
    auth = authenticator(max_attempts=3, lockout=AuthLockout(attempts=4, window=60.0))
    challenge = challenge_params(auth.check(request(), now=0.0))
    outcomes = []
    for guess in range(1, 7):  # a new Call-ID for every guess: the per-call count stays at 1
        credentials = answer(challenge, password=f"guess-{guess}", nc=guess)
        outcome = auth.check(request(credentials=(credentials,), call_id=f"g{guess}"),
                             now=float(guess))
        outcomes.append(outcome.kind)
    assert outcomes == ["challenge"] * 3 + ["forbidden"] * 3
    # Locked out: even the right password is refused while the wrong answers are recent...
    right = answer(challenge, nc=10)
    assert auth.check(request(credentials=(right,), call_id="r"), now=30.0).status == 403
    # ...and accepted once the oldest of the last four wrong answers is a window old.
    fresh = challenge_params(auth.check(request(), now=70.0))
    outcome = auth.check(request(credentials=(answer(fresh),), call_id="r"), now=70.0)
    assert outcome.kind == "ok"


def test_the_lockout_counts_one_user_and_can_be_turned_off() -> None:
    auth = authenticator(max_attempts=9, lockout=AuthLockout(attempts=2, window=60.0))
    challenge = challenge_params(auth.check(request(), now=0.0))
    for nc, call_id in ((1, "a"), (2, "b")):
        credentials = answer(challenge, user="phone", password="x", nc=nc)
        auth.check(request(credentials=(credentials,), call_id=call_id), now=1.0)
    locked = answer(challenge, user="phone", password="s3cret", nc=3)
    assert auth.check(request(credentials=(locked,), call_id="c"), now=2.0).kind == "forbidden"
    other = answer(challenge, nc=4)  # printer is not phone
    assert auth.check(request(credentials=(other,), call_id="c"), now=2.0).kind == "ok"
    unlimited = authenticator(max_attempts=9, lockout=None)
    challenge = challenge_params(unlimited.check(request(), now=0.0))
    for nc in range(1, 20):
        credentials = answer(challenge, password="x", nc=nc)
        outcome = unlimited.check(request(credentials=(credentials,), call_id=f"c{nc}"), now=1.0)
        assert outcome.kind == "challenge"


def test_md5_alone_is_the_default_challenge() -> None:
    outcome = authenticator().check(request(), now=0.0)
    assert [parse_auth_params(value)[1]["algorithm"] for _, value in outcome.headers] == ["MD5"]


def test_rfc2069_answer_to_a_qop_challenge_is_accepted_and_reported() -> None:
    auth = authenticator()
    challenge = challenge_params(auth.check(request(), now=0.0))
    assert challenge["qop"] == "auth"
    outcome = auth.check(request(credentials=(answer(challenge, qop=None),)), now=1.0)
    assert outcome.kind == "ok" and outcome.username == "printer"
    assert outcome.notice is not None
    kind, text = outcome.notice
    assert kind == "digest-without-qop" and "RFC 7616 §3.4" in text


def test_rfc2069_answer_with_a_wrong_password_is_wrong_not_malformed() -> None:
    auth = authenticator(max_attempts=2)
    challenge = challenge_params(auth.check(request(), now=0.0))
    wrong = answer(challenge, password="wrong", qop=None)
    assert auth.check(request(credentials=(wrong,)), now=1.0).kind == "challenge"
    assert auth.check(request(credentials=(wrong,)), now=2.0).kind == "forbidden"


def test_qop_required_refuses_rfc2069_answers_with_403_after_the_attempts() -> None:
    auth = authenticator(qop_required=True, max_attempts=3)
    challenge = challenge_params(auth.check(request(), now=0.0))
    kinds = []
    for second in range(1, 4):
        outcome = auth.check(request(credentials=(answer(challenge, qop=None),)), now=second)
        kinds.append((outcome.kind, outcome.status))
        challenge = challenge_params(outcome) if outcome.kind == "challenge" else challenge
    assert kinds == [("challenge", 401), ("challenge", 401), ("forbidden", 403)]


def test_a_scenario_may_offer_no_qop_at_all() -> None:
    auth = authenticator(qop=())
    outcome = auth.check(request(), now=0.0)
    challenge = challenge_params(outcome)
    assert "qop" not in challenge
    assert "qop" not in outcome.headers[0][1]
    accepted = auth.check(request(credentials=(answer(challenge, qop=None),)), now=1.0)
    assert accepted.kind == "ok" and accepted.notice is None
    with_qop = auth.check(request(credentials=(answer(challenge, nc=1),)), now=2.0)
    assert with_qop.kind == "bad" and with_qop.reason is not None
    assert "not offered" in with_qop.reason


# -------------------------------------------------------------------------- proxy mode


def test_proxy_mode_challenges_with_407_and_reads_proxy_authorization() -> None:
    auth = authenticator(proxy=True, methods=frozenset({"INVITE"}))
    outcome = auth.check(request("INVITE"), now=0.0)
    assert (outcome.kind, outcome.status) == ("challenge", 407)
    assert {name for name, _ in outcome.headers} == {"Proxy-Authenticate"}
    challenge = challenge_params(outcome)
    credentials = answer(challenge, method="INVITE")
    ignored = auth.check(request("INVITE", credentials=(credentials,)), now=1.0)
    assert (ignored.kind, ignored.status) == ("challenge", 407)  # Authorization is not ours
    accepted = auth.check(
        request("INVITE", credentials=(credentials,), header="Proxy-Authorization"), now=1.0
    )
    assert accepted == AuthOutcome("ok", username="printer")


def test_proxy_mode_ends_in_403_too() -> None:
    auth = authenticator(proxy=True, max_attempts=1)
    challenge = challenge_params(auth.check(request(), now=0.0))
    wrong = answer(challenge, password="wrong")
    outcome = auth.check(request(credentials=(wrong,), header="Proxy-Authorization"), now=1.0)
    assert (outcome.kind, outcome.status) == ("forbidden", 403)


# ------------------------------------------------------------------- realms, schemes


def test_credentials_for_another_realm_are_ignored() -> None:
    auth = authenticator()
    challenge = challenge_params(auth.check(request(), now=0.0))
    elsewhere = answer({**challenge, "realm": "other.example"})
    outcome = auth.check(request(credentials=(elsewhere,)), now=1.0)
    assert outcome.kind == "challenge"
    both = auth.check(request(credentials=(elsewhere, answer(challenge))), now=2.0)
    assert both.kind == "ok"


def test_another_scheme_is_ignored_rfc4475_regaut01() -> None:
    message = parse_message((VECTORS / "regaut01.dat").read_bytes())
    assert isinstance(message, Request)
    outcome = authenticator().check(message, now=0.0)
    assert (outcome.kind, outcome.status) == ("challenge", 401)


# ----------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("credentials", "defect"),
    [
        ('Digest username="printer", realm="bench.example", uri="sip:x", response="00"',
         "lack"),
        ("Digest username=printer realm=x", "expected ','"),
        ('Digest realm="bench.example", realm="bench.example"', "twice"),
        ('Digest username="printer", nonce="n", uri="sip:x", response="0"', "realm"),
        ("Digest", "auth-scheme"),
    ],
)
def test_malformed_credentials_get_400_naming_the_defect(credentials: str, defect: str) -> None:
    outcome = authenticator().check(request(credentials=(credentials,)), now=0.0)
    assert (outcome.kind, outcome.status) == ("bad", 400)
    assert outcome.reason is not None
    assert outcome.reason.startswith("Malformed Authorization: ")
    assert defect in outcome.reason


@pytest.mark.parametrize(
    ("change", "defect"),
    [
        ({"nc": "1"}, "nc"),
        ({"algorithm": "SHA-256"}, "not offered"),
        ({"qop": "auth-int"}, "not offered"),
    ],
)
def test_unusable_digest_parameters_get_400(change: dict[str, str], defect: str) -> None:
    auth = authenticator(algorithms=("MD5",))
    challenge = challenge_params(auth.check(request(), now=0.0))
    _, params = parse_auth_params(answer(challenge))
    params.update(change)
    credentials = "Digest " + ", ".join(f'{k}="{v}"' for k, v in params.items())
    outcome = auth.check(request(credentials=(credentials,)), now=1.0)
    assert (outcome.kind, outcome.status) == ("bad", 400)
    assert outcome.reason is not None and defect in outcome.reason
    assert outcome.username is None or outcome.username == "printer"


def test_long_defects_are_cut_to_a_reasonable_reason_phrase() -> None:
    credentials = f'Digest algorithm="{"X" * 500}", realm="{REALM}", nonce="n", uri="u", ' \
        'response="r", username="printer", qop=auth, nc=00000001, cnonce="c"'
    outcome = authenticator().check(request(credentials=(credentials,)), now=0.0)
    assert outcome.kind == "bad" and outcome.reason is not None
    assert len(outcome.reason) <= 120 and outcome.reason.endswith("...")
