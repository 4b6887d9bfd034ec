"""Digest authentication: RFC vectors, a UAS's challenge/response round trips, nonce lifetime and
replay on an injected clock, and the parser's one-error-type promise."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipfault.sip.digest import (
    Algorithm,
    DigestError,
    NonceStatus,
    NonceStore,
    Verdict,
    VerdictKind,
    compute_response,
    format_challenge,
    format_challenges,
    ha1,
    parse_auth_params,
    userhash,
    verify,
)

# RFC 7616 §3.9.1
RFC_REALM = "http-auth@example.org"
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_MD5_RESPONSE = "8ca523f5e9506fed4657c9700eebdbec"
RFC_SHA256_RESPONSE = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

# RFC 7616 §3.9.2, with the values of errata 4897: the RFC as printed has username
# 488869477b... and response ae66e67d6b..., worked out with a draft SHA-512/256 whose initial
# values were not FIPS 180-4's.
RFC_UTF8_USER = "J\u00e4s\u00f8n Doe"
RFC_UTF8_PASSWORD = "Secret, or not?"
RFC_UTF8_REALM = "api@example.org"
RFC_UTF8_NONCE = "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"
RFC_UTF8_CNONCE = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"
RFC_UTF8_USERHASH = "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"
RFC_UTF8_RESPONSE = "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"

ALL = tuple(Algorithm)


def rfc_authorization(algorithm: str, response: str) -> str:
    """The RFC 7616 §3.9.1 Authorization value, folded over lines as printed there."""
    return (
        'Digest username="Mufasa",\r\n'
        f'    realm="{RFC_REALM}",\r\n'
        '    uri="/dir/index.html",\r\n'
        f"    algorithm={algorithm},\r\n"
        f'    nonce="{RFC_NONCE}",\r\n'
        "    nc=00000001,\r\n"
        f'    cnonce="{RFC_CNONCE}",\r\n'
        "    qop=auth,\r\n"
        f'    response="{response}",\r\n'
        f'    opaque="{RFC_OPAQUE}"'
    )


def store_issuing(nonce: str) -> NonceStore:
    """A store whose first nonce is ``nonce`` (its random source yields the decoded bytes)."""
    raw = base64.b64decode(nonce)
    store = NonceStore(lifetime=30.0, random_bytes=lambda n: raw[:n], nonce_bytes=len(raw))
    assert store.issue(now=0.0) == nonce
    return store


def counting_random() -> Callable[[int], bytes]:
    counter = itertools.count(1)
    return lambda n: next(counter).to_bytes(n, "big")


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def judge(
    header: str,
    store: NonceStore,
    *,
    now: float = 1.0,
    method: str = "REGISTER",
    realm: str = "sipfault",
    passwords: dict[str, str] | None = None,
    algorithms: tuple[Algorithm, ...] = ALL,
    body: bytes = b"",
) -> Verdict:
    scheme, params = parse_auth_params(header)
    assert scheme.lower() == "digest"
    return verify(
        params,
        method=method,
        body=body,
        passwords={"alice": "wonderland"} if passwords is None else passwords,
        store=store,
        now=now,
        expected_realm=realm,
        allowed_algorithms=algorithms,
    )


def client_answer(
    challenge: str,
    *,
    username: str = "alice",
    password: str = "wonderland",
    method: str = "REGISTER",
    uri: str = "sip:127.0.0.1",
    cnonce: str = "0a4f113b",
    nc: int = 1,
    qop: str = "auth",
    body: bytes = b"",
) -> str:
    """What a conforming client sends back for ``challenge``."""
    _, offer = parse_auth_params(challenge)
    algorithm = Algorithm.from_token(offer["algorithm"])
    response = compute_response(
        algorithm,
        username,
        offer["realm"],
        password,
        method,
        uri,
        offer["nonce"],
        nc,
        cnonce,
        qop,
        body,
    )
    return (
        f'Digest username="{username}", realm="{offer["realm"]}", nonce="{offer["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm={algorithm}, '
        f'cnonce="{cnonce}", qop={qop}, nc={nc:08x}'
    )


# --- hashing and the RFC vectors ----------------------------------------------------------------


def test_rfc7616_md5_example() -> None:
    response = compute_response(
        Algorithm.MD5,
        "Mufasa",
        RFC_REALM,
        "Circle of Life",
        "GET",
        "/dir/index.html",
        RFC_NONCE,
        1,
        RFC_CNONCE,
        "auth",
    )
    assert response == RFC_MD5_RESPONSE


def test_rfc7616_sha256_example() -> None:
    response = compute_response(
        Algorithm.SHA_256,
        "Mufasa",
        RFC_REALM,
        "Circle of Life",
        "GET",
        "/dir/index.html",
        RFC_NONCE,
        "00000001",
        RFC_CNONCE,
        "auth",
    )
    assert response == RFC_SHA256_RESPONSE


def test_rfc7616_sha512_256_userhash_example() -> None:
    assert userhash(Algorithm.SHA_512_256, RFC_UTF8_USER, RFC_UTF8_REALM) == RFC_UTF8_USERHASH
    response = compute_response(
        Algorithm.SHA_512_256,
        RFC_UTF8_USER,
        RFC_UTF8_REALM,
        RFC_UTF8_PASSWORD,
        "GET",
        "/doe.json",
        RFC_UTF8_NONCE,
        1,
        RFC_UTF8_CNONCE,
        "auth",
    )
    assert response == RFC_UTF8_RESPONSE


def test_sha512_256_is_fips_180_4_not_truncated_sha512() -> None:
    # FIPS 180-4 / NIST example for SHA-512/256("abc")
    assert Algorithm.SHA_512_256.hexdigest(b"abc") == (
        "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
    )
    assert Algorithm.SHA_512_256.hexdigest(b"abc") != hashlib.sha512(b"abc").hexdigest()[:64]


def test_rfc2617_md5_qop_auth_matches_an_independent_computation() -> None:
    # RFC 2617 §3.5 values; the expected response is also the one RFC 2617 prints.
    user, realm, password = "Mufasa", "testrealm@host.com", "Circle Of Life"
    nonce, cnonce, uri = "dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b", "/dir/index.html"
    by_hand = md5(
        f"{md5(f'{user}:{realm}:{password}')}:{nonce}:00000001:{cnonce}:auth:{md5('GET:' + uri)}"
    )
    ours = compute_response(
        Algorithm.MD5, user, realm, password, "GET", uri, nonce, 1, cnonce, "auth"
    )
    assert ours == by_hand == "6629fae49393a05397450978507c4ef1"


def test_auth_int_covers_the_body() -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
    args = (Algorithm.MD5, "alice", "sipfault", "pw", "INVITE", "sip:bob@127.0.0.1", "n", 2, "c")
    by_hand = md5(
        f"{md5('alice:sipfault:pw')}:n:00000002:c:auth-int:"
        f"{md5('INVITE:sip:bob@127.0.0.1:' + hashlib.md5(body).hexdigest())}"
    )
    assert compute_response(*args, "auth-int", body) == by_hand
    assert compute_response(*args, "auth-int", body + b"x") != by_hand


def test_sess_variant_and_rfc2069_form() -> None:
    inner = md5("alice:sipfault:pw")
    assert ha1(Algorithm.MD5, "alice", "sipfault", "pw") == inner
    assert ha1(Algorithm.MD5_SESS, "alice", "sipfault", "pw", "n", "c") == md5(f"{inner}:n:c")
    # RFC 2069: no qop, so neither nc nor cnonce take part
    no_qop = md5(f"{inner}:n:{md5('REGISTER:sip:127.0.0.1')}")
    for nc, cnonce in ((1, "c"), (7, "other")):
        assert (
            compute_response(
                Algorithm.MD5,
                "alice",
                "sipfault",
                "pw",
                "REGISTER",
                "sip:127.0.0.1",
                "n",
                nc,
                cnonce,
                None,
            )
            == no_qop
        )


def test_unknown_qop_and_algorithm_raise_digest_error() -> None:
    with pytest.raises(DigestError):
        compute_response(Algorithm.MD5, "a", "r", "p", "GET", "/", "n", 1, "c", "auth-conf")
    with pytest.raises(DigestError):
        Algorithm.from_token("SHA-1")
    assert Algorithm.from_token("sha-512-256-SESS") is Algorithm.SHA_512_256_SESS


# --- parsing --------------------------------------------------------------------------------------


def test_parse_rfc7616_challenge_with_folds() -> None:
    challenge = (
        "Digest\r\n"
        f'    realm="{RFC_REALM}",\r\n'
        '    qop="auth, auth-int",\r\n'
        "    algorithm=SHA-256,\r\n"
        f'    nonce="{RFC_NONCE}",\r\n'
        f'    opaque="{RFC_OPAQUE}"'
    )
    assert parse_auth_params(challenge) == (
        "Digest",
        {
            "realm": RFC_REALM,
            "qop": "auth, auth-int",
            "algorithm": "SHA-256",
            "nonce": RFC_NONCE,
            "opaque": RFC_OPAQUE,
        },
    )


def test_parse_unquotes_and_lowercases_names() -> None:
    scheme, params = parse_auth_params(
        'digest  Realm = "a \\"quoted\\", with\\\\ escapes" ,NC=00000001,\tqop="auth",x=""'
    )
    assert scheme == "digest"
    assert params == {
        "realm": 'a "quoted", with\\ escapes',
        "nc": "00000001",
        "qop": "auth",
        "x": "",
    }


def test_parse_keeps_utf8_and_reads_a_fold_inside_quotes_as_one_space() -> None:
    _, params = parse_auth_params("Digest realm=\"caf\u00e9\r\n \tbar\", username*=UTF-8''J%C3%A4")
    assert params == {"realm": "caf\u00e9 bar", "username*": "UTF-8''J%C3%A4"}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Digest",
        "Digest ",
        'Digest realm="unterminated',
        'Digest realm="x",',
        'Digest ,realm="x"',
        'Digest realm="x",,nonce="y"',
        'Digest realm="x" nonce="y"',
        'Digest realm="x", realm="y"',
        'Digest realm="x", REALM="y"',
        'Digest realm="bad \\\r escape"',
        'Digest realm="a line break \r\nnot folded"',
        'Digest realm="lone \n lf"',
        'Digest realm="lone \r cr"',
        'Digest realm="x"\r\n',
        "Digest realm=",
        "Digest =x",
        "Digest realm=a b",
        'Digest realm="x";nonce="y"',
        "Digest realm=caf\u00e9",
        'Digest realm="\ud800"',
        'Digest realm="nul \x00"',
        'Dig\u00e9st realm="x"',
        'Digest realm="x"junk',
        "Basic dXNlcjpwYXNz",
    ],
)
def test_parse_rejects_malformed_values(value: str) -> None:
    with pytest.raises(DigestError):
        parse_auth_params(value)


@given(st.text())
def test_parse_raises_only_digest_error_on_any_text(value: str) -> None:
    with contextlib.suppress(DigestError):
        parse_auth_params(value)


_PIECES = [
    "Digest",
    " ",
    "\t",
    "\r\n",
    "\r\n ",
    ",",
    "=",
    '"',
    "\\",
    "realm",
    "nc",
    "a",
    "\u00e9",
    "\x00",
    "\x7f",
    "\ud800",
    "'",
    "%",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_parse_raises_only_digest_error_near_the_grammar(value: str) -> None:
    try:
        scheme, params = parse_auth_params(value)
    except DigestError:
        return
    assert scheme and params
    assert all(name == name.lower() for name in params)


_QUOTABLE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(['"', "\\", "\t", " "])
)


@given(realm=_QUOTABLE, nonce=_QUOTABLE, opaque=_QUOTABLE)
def test_challenge_values_survive_quoting(realm: str, nonce: str, opaque: str) -> None:
    scheme, params = parse_auth_params(format_challenge(realm, nonce, Algorithm.MD5, opaque=opaque))
    assert scheme == "Digest"
    assert (params["realm"], params["nonce"], params["opaque"]) == (realm, nonce, opaque)


# --- challenges -----------------------------------------------------------------------------------


def test_format_challenge_exact_text() -> None:
    assert format_challenge("sipfault", "abc", Algorithm.SHA_256) == (
        'Digest realm="sipfault", nonce="abc", algorithm=SHA-256, qop="auth"'
    )
    assert format_challenge(
        'a"b',
        "n",
        Algorithm.MD5,
        qop=("auth", "auth-int"),
        opaque="o",
        stale=True,
        userhash=True,
    ) == (
        'Digest realm="a\\"b", nonce="n", opaque="o", stale=true, algorithm=MD5, '
        'qop="auth,auth-int", userhash=true'
    )
    assert format_challenge("r", "n", Algorithm.MD5, qop=()) == (
        'Digest realm="r", nonce="n", algorithm=MD5'
    )


def test_format_challenge_refuses_header_injection() -> None:
    with pytest.raises(DigestError):
        format_challenge("evil\r\nContact: <sip:x>", "n", Algorithm.MD5)
    with pytest.raises(DigestError):
        format_challenge("r", "n", Algorithm.MD5, qop=('auth", x="y',))


def test_challenges_come_strongest_first_with_one_nonce() -> None:
    values = format_challenges("r", "n", [Algorithm.MD5, Algorithm.SHA_256, Algorithm.SHA_512_256])
    offered = [parse_auth_params(v)[1] for v in values]
    assert [p["algorithm"] for p in offered] == ["SHA-512-256", "SHA-256", "MD5"]
    assert {p["nonce"] for p in offered} == {"n"}


# --- the nonce store ------------------------------------------------------------------------------


def test_nonces_are_fresh_and_drawn_from_the_random_source() -> None:
    drawn: list[int] = []

    def source(n: int) -> bytes:
        drawn.append(n)
        return bytes([len(drawn)]) * n

    store = NonceStore(random_bytes=source, nonce_bytes=6)
    first, second = store.issue(0.0), store.issue(0.0)
    assert first == base64.b64encode(b"\x01" * 6).decode()
    assert second == base64.b64encode(b"\x02" * 6).decode()
    assert drawn == [6, 6]


def test_a_repeating_random_source_is_drawn_again_not_reused() -> None:
    outputs = iter([b"\x01" * 4, b"\x01" * 4, b"\x02" * 4])
    store = NonceStore(random_bytes=lambda n: next(outputs), nonce_bytes=4)
    assert store.issue(0.0) != store.issue(0.0)
    stuck = NonceStore(random_bytes=lambda n: b"\x00" * n)
    stuck.issue(0.0)
    with pytest.raises(RuntimeError):
        stuck.issue(0.0)


def test_nonce_count_must_increase() -> None:
    store = NonceStore(random_bytes=counting_random())
    nonce = store.issue(now=10.0)
    assert store.check(nonce, 1, now=11.0) is NonceStatus.VALID
    assert store.check(nonce, 1, now=11.0) is NonceStatus.REPLAY
    assert store.check(nonce, 3, now=12.0) is NonceStatus.VALID  # a skipped count is fine
    assert store.check(nonce, 2, now=12.0) is NonceStatus.REPLAY
    assert store.check("never-issued", 1, now=12.0) is NonceStatus.UNKNOWN


def test_nonce_goes_stale_after_its_lifetime_then_is_forgotten() -> None:
    store = NonceStore(lifetime=30.0, random_bytes=counting_random())
    nonce = store.issue(now=100.0)
    assert store.check(nonce, 1, now=130.0) is NonceStatus.VALID  # exactly the lifetime
    assert store.check(nonce, 2, now=130.5) is NonceStatus.STALE
    assert store.check(nonce, 2, now=160.0) is NonceStatus.STALE
    assert store.check(nonce, 2, now=160.5) is NonceStatus.UNKNOWN
    assert nonce not in store


def test_memory_is_bounded() -> None:
    store = NonceStore(lifetime=30.0, capacity=3, random_bytes=counting_random())
    nonces = [store.issue(now=float(i)) for i in range(5)]
    assert len(store) == 3
    assert store.check(nonces[0], 1, now=5.0) is NonceStatus.UNKNOWN  # oldest went first
    assert store.check(nonces[4], 1, now=5.0) is NonceStatus.VALID
    for i in range(1000):  # a flood spread over time keeps only what is young enough
        store.issue(now=100.0 + i)
    assert len(store) == 3


# --- verification ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "response"), [("MD5", RFC_MD5_RESPONSE), ("SHA-256", RFC_SHA256_RESPONSE)]
)
def test_rfc7616_authorization_verifies(algorithm: str, response: str) -> None:
    verdict = judge(
        rfc_authorization(algorithm, response),
        store_issuing(RFC_NONCE),
        method="GET",
        realm=RFC_REALM,
        passwords={"Mufasa": "Circle of Life"},
    )
    assert verdict == Verdict(VerdictKind.OK, username="Mufasa")


def test_rfc7616_userhash_and_username_star_verify() -> None:
    common = (
        f'realm="{RFC_UTF8_REALM}", uri="/doe.json", algorithm=SHA-512-256, '
        f'nonce="{RFC_UTF8_NONCE}", nc=00000001, cnonce="{RFC_UTF8_CNONCE}", qop=auth, '
        f'response="{RFC_UTF8_RESPONSE}", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS"'
    )
    passwords = {"someone else": "x", RFC_UTF8_USER: RFC_UTF8_PASSWORD}
    for credentials in (
        f'Digest username="{RFC_UTF8_USERHASH}", {common}, userhash=true',
        f"Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, {common}",
    ):
        verdict = judge(
            credentials,
            store_issuing(RFC_UTF8_NONCE),
            method="GET",
            realm=RFC_UTF8_REALM,
            passwords=passwords,
        )
        assert verdict == Verdict(VerdictKind.OK, username=RFC_UTF8_USER), credentials


@pytest.mark.parametrize("algorithm", ALL, ids=str)
def test_challenge_response_round_trip(algorithm: Algorithm) -> None:
    store = NonceStore(random_bytes=counting_random())
    challenge = format_challenge("sipfault", store.issue(now=0.0), algorithm)
    answer = client_answer(challenge)
    assert judge(answer, store, now=1.0) == Verdict(VerdictKind.OK, username="alice")
    # the same credentials again are a replay; the next count is fine
    assert judge(answer, store, now=2.0) == Verdict(VerdictKind.REPLAY, username="alice")
    assert judge(client_answer(challenge, nc=2), store, now=3.0).kind is VerdictKind.OK


def test_auth_int_round_trip_checks_the_body() -> None:
    store = NonceStore(random_bytes=counting_random())
    challenge = format_challenge(
        "sipfault", store.issue(0.0), Algorithm.SHA_256, qop=("auth", "auth-int")
    )
    answer = client_answer(challenge, method="INVITE", qop="auth-int", body=b"v=0\r\n")
    tampered = judge(answer, store, method="INVITE", body=b"v=1\r\n")
    assert tampered == Verdict(VerdictKind.BAD_CREDENTIALS, username="alice")
    ok = judge(answer, store, method="INVITE", body=b"v=0\r\n")
    assert ok == Verdict(VerdictKind.OK, username="alice")


def test_wrong_password_and_unknown_user() -> None:
    store = NonceStore(random_bytes=counting_random())
    challenge = format_challenge("sipfault", store.issue(0.0), Algorithm.SHA_256)
    wrong = judge(client_answer(challenge, password="guess"), store)
    assert wrong == Verdict(VerdictKind.BAD_CREDENTIALS, username="alice")
    nobody = judge(client_answer(challenge, username="mallory"), store)
    assert nobody == Verdict(VerdictKind.BAD_CREDENTIALS, username="mallory")
    # failed attempts did not use up the nonce-count: the real client still gets in
    assert judge(client_answer(challenge), store).kind is VerdictKind.OK


def test_stale_nonce_on_an_injected_clock() -> None:
    store = NonceStore(lifetime=30.0, random_bytes=counting_random())
    challenge = format_challenge("sipfault", store.issue(now=1000.0), Algorithm.SHA_256)
    late = judge(client_answer(challenge), store, now=1031.0)
    assert late == Verdict(VerdictKind.STALE, username="alice")
    # stale only for a right response (RFC 7616 §3.3); a wrong one is just wrong
    wrong = judge(client_answer(challenge, password="guess", nc=2), store, now=1031.0)
    assert wrong.kind is VerdictKind.BAD_CREDENTIALS
    # the re-challenge carries stale=true and a fresh nonce that works
    again = format_challenge("sipfault", store.issue(now=1031.0), Algorithm.SHA_256, stale=True)
    assert parse_auth_params(again)[1]["stale"] == "true"
    assert judge(client_answer(again), store, now=1032.0).kind is VerdictKind.OK


def test_a_nonce_this_server_never_issued_is_stale_not_ok() -> None:
    store = NonceStore(random_bytes=counting_random())
    forged = format_challenge("sipfault", "not-from-us", Algorithm.MD5)
    assert judge(client_answer(forged), store).kind is VerdictKind.STALE


def _params(**changes: str | None) -> dict[str, str]:
    params = {
        "username": "alice",
        "realm": "sipfault",
        "nonce": "bm9uY2U=",
        "uri": "sip:127.0.0.1",
        "response": "0" * 32,
        "algorithm": "MD5",
        "cnonce": "c",
        "qop": "auth",
        "nc": "00000001",
    }
    for name, value in changes.items():
        if value is None:
            params.pop(name.replace("_star", "*"), None)
        else:
            params[name.replace("_star", "*")] = value
    return params


@pytest.mark.parametrize(
    "changes",
    [
        {"username": None},
        {"realm": None},
        {"nonce": None},
        {"uri": None},
        {"response": None},
        {"realm": "elsewhere"},
        {"algorithm": "SHA-1"},
        {"algorithm": "SHA-256"},  # not offered below
        {"qop": "auth-conf"},
        {"cnonce": None},
        {"nc": None},
        {"nc": "1"},
        {"nc": "0000000g"},
        {"nc": "00000000"},
        {"username_star": "UTF-8''alice"},
        {"username": None, "username_star": "ISO-8859-1''alice"},
        {"username": None, "username_star": "UTF-8''%C3"},
        {"username": None, "username_star": "UTF-8''%zz"},
        {"username": None, "username_star": "alice"},
        {"userhash": "maybe"},
    ],
    ids=repr,
)
def test_malformed_credentials(changes: dict[str, str | None]) -> None:
    verdict = verify(
        _params(**changes),
        method="REGISTER",
        body=b"",
        passwords={"alice": "wonderland"},
        store=NonceStore(random_bytes=counting_random()),
        now=0.0,
        expected_realm="sipfault",
        allowed_algorithms=(Algorithm.MD5,),
    )
    assert verdict.kind is VerdictKind.MALFORMED
    assert verdict.reason


def test_rfc2069_credentials_without_qop_are_verified_and_marked() -> None:
    store = NonceStore(random_bytes=counting_random())
    nonce = store.issue(0.0)
    response = compute_response(Algorithm.MD5, "alice", "sipfault", "wonderland", "REGISTER",
                                "sip:sipfault", nonce, 0, "", None)
    params = {"username": "alice", "realm": "sipfault", "nonce": nonce, "uri": "sip:sipfault",
              "response": response}
    def judge(credentials: dict[str, str], now: float) -> Verdict:
        return verify(credentials, method="REGISTER", body=b"", passwords={"alice": "wonderland"},
                      store=store, now=now, expected_realm="sipfault",
                      allowed_algorithms=(Algorithm.MD5,))

    verdict = judge(params, 1.0)
    assert (verdict.kind, verdict.without_qop) == (VerdictKind.OK, True)
    # No nonce-count to go up: the same answer again is accepted while the nonce is fresh...
    assert judge(params, 2.0).kind is VerdictKind.OK
    # ...and is stale once it is not.
    assert judge(params, 1000.0).kind is VerdictKind.STALE
    assert judge({**params, "response": "0" * 32}, 3.0).kind is VerdictKind.BAD_CREDENTIALS


_NAMES = [
    "username",
    "username*",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "cnonce",
    "qop",
    "nc",
    "userhash",
    "opaque",
]


@given(
    st.dictionaries(
        st.sampled_from(_NAMES),
        st.one_of(st.text(), st.sampled_from(["MD5", "auth", "00000001", "true", "sipfault"])),
    )
)
def test_verify_never_raises(params: dict[str, str]) -> None:
    verdict = verify(
        params,
        method="REGISTER",
        body=b"",
        passwords={"alice": "wonderland", "\u00e9": "x"},
        store=NonceStore(random_bytes=counting_random()),
        now=0.0,
        expected_realm="sipfault",
        allowed_algorithms=ALL,
    )
    assert verdict.kind in (VerdictKind.MALFORMED, VerdictKind.BAD_CREDENTIALS)


# --- what real clients send -----------------------------------------------------------------------


def test_sipp_and_pjsip_style_register_to_127_0_0_1() -> None:
    """SIPp (createAuthHeaderDigest) and PJSIP answer a qop=auth MD5 challenge with
    nc=00000001 and a random cnonce; the response is worked out here with hashlib alone."""
    store = NonceStore(random_bytes=counting_random())
    nonce = store.issue(now=0.0)
    challenge = format_challenge("sipfault", nonce, Algorithm.MD5)
    assert parse_auth_params(challenge)[1]["qop"] == "auth"

    def response(cnonce: str, nc: str) -> str:
        ha1_ = md5("alice:sipfault:wonderland")
        ha2 = md5("REGISTER:sip:127.0.0.1")
        return md5(f"{ha1_}:{nonce}:{nc}:{cnonce}:auth:{ha2}")

    sipp_cnonce = "6b8b4567327b23c6"  # "%08x%08x" of two random words
    sipp = (
        f'Digest username="alice",realm="sipfault",cnonce="{sipp_cnonce}",nc=00000001,'
        f'qop=auth,uri="sip:127.0.0.1",nonce="{nonce}",'
        f'response="{response(sipp_cnonce, "00000001")}",algorithm=MD5'
    )
    assert judge(sipp, store) == Verdict(VerdictKind.OK, username="alice")

    pjsip_cnonce = "5f7f1d2f0ab44b3e9d9b3b1f7c6e2a10"  # a GUID without dashes
    pjsip = (
        f'Digest username="alice", realm="sipfault", nonce="{nonce}", uri="sip:127.0.0.1", '
        f'response="{response(pjsip_cnonce, "00000002")}", algorithm=MD5, '
        f'cnonce="{pjsip_cnonce}", qop=auth, nc=00000002'
    )
    # the next REGISTER on the same nonce counts on
    assert judge(pjsip, store) == Verdict(VerdictKind.OK, username="alice")
    assert judge(pjsip, store) == Verdict(VerdictKind.REPLAY, username="alice")
