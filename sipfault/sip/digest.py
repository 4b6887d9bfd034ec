"""HTTP Digest authentication for a SIP server, sans-I/O (RFC 3261 §22, RFC 7616, RFC 8760).

The pieces a UAS or registrar needs to challenge a request and judge the answer:

- :func:`parse_auth_params` reads an ``Authorization`` / ``Proxy-Authorization`` (or
  ``WWW-Authenticate``) value into its scheme and parameters; it raises :class:`DigestError`
  and nothing else.
- :func:`format_challenge` / :func:`format_challenges` write ``WWW-Authenticate`` /
  ``Proxy-Authenticate`` values, strongest algorithm first (RFC 8760 §2.3).
- :func:`ha1`, :func:`compute_response` and :func:`userhash` are the RFC 7616 §3.4 arithmetic.
- :class:`NonceStore` issues one fresh nonce per challenge and tracks its nonce-count; time is
  always an argument.
- :func:`verify` turns credentials into a :class:`Verdict`; the caller picks the response code.

Strings are hashed as UTF-8 (RFC 7616 §3.4.1, §4; SIP text is UTF-8 throughout, RFC 3261 §7).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from sipfault.sip.grammar import LWS, QUOTED_STRING, SWS, TOKEN, TOKEN_RE

__all__ = [
    "Algorithm",
    "DigestError",
    "NonceStatus",
    "NonceStore",
    "Verdict",
    "VerdictKind",
    "compute_response",
    "format_challenge",
    "format_challenges",
    "ha1",
    "parse_auth_params",
    "userhash",
    "verify",
]


class DigestError(ValueError):
    """Malformed authentication header, or input that digest arithmetic cannot use."""


# ---------------------------------------------------------------------------------------------
# Algorithms (RFC 7616 §3.2, §6.1; RFC 8760 §2.1)


class Algorithm(enum.StrEnum):
    """A digest algorithm, by its token on the wire."""

    MD5 = "MD5"
    MD5_SESS = "MD5-sess"
    SHA_256 = "SHA-256"
    SHA_256_SESS = "SHA-256-sess"
    SHA_512_256 = "SHA-512-256"
    SHA_512_256_SESS = "SHA-512-256-sess"

    @classmethod
    def from_token(cls, token: str) -> Algorithm:
        """The algorithm named by ``token``, compared case-insensitively (RFC 3261 §7.3.1)."""
        folded = token.lower()
        for algorithm in cls:
            if algorithm.value.lower() == folded:
                return algorithm
        raise DigestError(f"unknown digest algorithm {token!r}")

    @property
    def is_session(self) -> bool:
        """True for a ``-sess`` variant, whose A1 also covers nonce and cnonce (RFC 7616 §3.4.2)."""
        return self.value.endswith("-sess")

    def hexdigest(self, data: bytes) -> str:
        """The lower-case hex hash of ``data`` with this algorithm's hash function."""
        name = _HASHLIB_NAMES[self]
        try:
            return hashlib.new(name, data).hexdigest()
        except ValueError as exc:  # a build of OpenSSL without this hash
            raise DigestError(f"{self.value} is not available in this Python ({exc})") from exc


# SHA-512-256 is FIPS 180-4 SHA-512/256, with its own initial hash values: SHA-512 cut to 256
# bits gives a different answer (RFC 7616 §3.2; errata 4897 on the §3.9.2 example).
_HASHLIB_NAMES: dict[Algorithm, str] = {
    Algorithm.MD5: "md5",
    Algorithm.MD5_SESS: "md5",
    Algorithm.SHA_256: "sha256",
    Algorithm.SHA_256_SESS: "sha256",
    Algorithm.SHA_512_256: "sha512_256",
    Algorithm.SHA_512_256_SESS: "sha512_256",
}

# Preference when several challenges are offered, most preferred first (RFC 8760 §2.3).
_PREFERENCE: dict[Algorithm, int] = {
    Algorithm.SHA_512_256: 0,
    Algorithm.SHA_512_256_SESS: 1,
    Algorithm.SHA_256: 2,
    Algorithm.SHA_256_SESS: 3,
    Algorithm.MD5: 4,
    Algorithm.MD5_SESS: 5,
}


# ---------------------------------------------------------------------------------------------
# Grammar (RFC 3261 §25.1; RFC 7616 §3.3, §3.4)

# token, LWS, SWS and quoted-string are RFC 3261's, from sipfault.sip.grammar.
# credentials = auth-scheme LWS auth-param *(COMMA auth-param)
# challenge   = auth-scheme LWS auth-param *(COMMA auth-param)
_SCHEME_RE = re.compile(f"{SWS}({TOKEN}){LWS}")
# auth-param = auth-param-name EQUAL ( token / quoted-string ) ; EQUAL = SWS "=" SWS
# Leniency: every parameter may be a token or a quoted-string, whatever RFC 3261 prescribes
# for it (clients send qop="auth" and algorithm="MD5"); the value means the same either way.
_PARAM_RE = re.compile(f"({TOKEN}){SWS}={SWS}(?:({TOKEN})|({QUOTED_STRING}))")
# COMMA = SWS "," SWS
_COMMA_RE = re.compile(f"{SWS},{SWS}")
_END_RE = re.compile(f"{SWS}\\Z")
# Inside a quoted-string: a quoted-pair, or a fold (read as one SP, RFC 3261 §7.3.1).
_UNQUOTE_RE = re.compile(r"\\(.)|\r\n[ \t]+", re.DOTALL)
# nonce-count = "nc" EQUAL 8LHEX. Leniency: upper-case hex too; the response covers the
# value exactly as sent, so accepting it costs nothing.
_NC_RE = re.compile(r"[0-9A-Fa-f]{8}")


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """Read ``scheme k=v, k="quoted"...`` into the scheme and its parameters.

    The scheme is returned as written (compare it case-insensitively); parameter names are
    lower-cased, values unquoted with quoted-pairs and folds resolved (RFC 3261 §25.1, RFC 7616
    §3.4). Raises :class:`DigestError` on malformed input, or on a parameter given twice (RFC
    7616 §3.4), and never anything else.
    """
    match = _SCHEME_RE.match(value)
    if match is None:
        raise DigestError("expected an auth-scheme followed by whitespace")
    scheme = match.group(1)
    params: dict[str, str] = {}
    pos = match.end()
    while True:
        match = _PARAM_RE.match(value, pos)
        if match is None:
            raise DigestError(f"expected name=value at offset {pos}")
        name = match.group(1).lower()
        if name in params:
            raise DigestError(f"parameter {name!r} given twice")
        token, quoted = match.group(2), match.group(3)
        params[name] = token if token is not None else _unquote(quoted[1:-1])
        pos = match.end()
        if _END_RE.match(value, pos):
            return scheme, params
        match = _COMMA_RE.match(value, pos)
        if match is None:
            raise DigestError(f"expected ',' at offset {pos}")
        pos = match.end()


def _unquote(text: str) -> str:
    return _UNQUOTE_RE.sub(lambda m: m.group(1) if m.group(1) is not None else " ", text)


def _quote(value: str, what: str) -> str:
    """``value`` as a quoted-string; control characters and lone surrogates are refused."""
    for char in value:
        code = ord(char)
        if (code < 0x20 and char != "\t") or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            raise DigestError(f"{what} holds control character {char!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------
# Challenges (RFC 3261 §22.1, §22.4; RFC 7616 §3.3; RFC 8760 §2.3)


def format_challenge(
    realm: str,
    nonce: str,
    algorithm: Algorithm,
    qop: Sequence[str] = ("auth",),
    opaque: str | None = None,
    stale: bool = False,
    userhash: bool = False,
) -> str:
    """A ``WWW-Authenticate`` / ``Proxy-Authenticate`` value for one Digest challenge.

    ``algorithm`` is always written, MD5 too (RFC 8760 §2.3). An empty ``qop`` leaves it out
    (RFC 2069 style): a scenario may offer no qop at all. ``stale=True`` tells the
    client to retry with the new nonce without asking its user again (RFC 7616 §3.3).
    """
    qops = (qop,) if isinstance(qop, str) else tuple(qop)
    for value in qops:
        if not TOKEN_RE.fullmatch(value):
            raise DigestError(f"qop value {value!r} is not a token")
    parts = [f"realm={_quote(realm, 'realm')}", f"nonce={_quote(nonce, 'nonce')}"]
    if opaque is not None:
        parts.append(f"opaque={_quote(opaque, 'opaque')}")
    if stale:
        parts.append("stale=true")
    parts.append(f"algorithm={algorithm.value}")
    if qops:
        # qop-options = "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT
        parts.append(f'qop="{",".join(qops)}"')
    if userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


def format_challenges(
    realm: str,
    nonce: str,
    algorithms: Iterable[Algorithm],
    qop: Sequence[str] = ("auth",),
    opaque: str | None = None,
    stale: bool = False,
    userhash: bool = False,
) -> list[str]:
    """One challenge per algorithm, most preferred first (RFC 8760 §2.3: SHA-512-256, SHA-256,
    MD5), all with the same nonce; each goes in its own header field."""
    ordered = sorted(set(algorithms), key=_PREFERENCE.__getitem__)
    return [
        format_challenge(realm, nonce, algorithm, qop, opaque, stale, userhash)
        for algorithm in ordered
    ]


# ---------------------------------------------------------------------------------------------
# Arithmetic (RFC 7616 §3.4.1-§3.4.4; RFC 3261 §22.4)


def _h(algorithm: Algorithm, text: str) -> str:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DigestError("text is not encodable as UTF-8") from exc
    return algorithm.hexdigest(data)


def ha1(
    algorithm: Algorithm,
    username: str,
    realm: str,
    password: str,
    nonce: str = "",
    cnonce: str = "",
) -> str:
    """H(A1): H(username:realm:password), and for a ``-sess`` algorithm
    H(H(username:realm:password):nonce:cnonce) (RFC 7616 §3.4.2)."""
    secret = _h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.is_session:
        return _h(algorithm, f"{secret}:{nonce}:{cnonce}")
    return secret


def compute_response(
    algorithm: Algorithm,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: int | str,
    cnonce: str,
    qop: str | None,
    body: bytes = b"",
) -> str:
    """The ``response`` parameter a client with this password sends (RFC 7616 §3.4.1).

    ``nc`` is the nonce-count as sent (8 hex digits) or an int to format so. ``qop`` is
    ``"auth"``, ``"auth-int"`` (A2 also covers H(body), RFC 7616 §3.4.3) or None for the
    RFC 2069 form H(HA1:nonce:HA2), where ``nc`` and ``cnonce`` take no part.
    """
    secret = ha1(algorithm, username, realm, password, nonce, cnonce)
    kind = None if qop is None else qop.lower()
    if kind == "auth-int":
        a2 = f"{method}:{uri}:{algorithm.hexdigest(body)}"
    elif kind in (None, "auth"):
        a2 = f"{method}:{uri}"
    else:
        raise DigestError(f"unknown qop {qop!r}")
    ha2 = _h(algorithm, a2)
    if qop is None:
        return _h(algorithm, f"{secret}:{nonce}:{ha2}")
    count = f"{nc:08x}" if isinstance(nc, int) else nc
    return _h(algorithm, f"{secret}:{nonce}:{count}:{cnonce}:{qop}:{ha2}")


def userhash(algorithm: Algorithm, username: str, realm: str) -> str:
    """The hashed user name sent when the challenge says ``userhash=true``:
    H(username:realm) (RFC 7616 §3.4.4)."""
    return _h(algorithm, f"{username}:{realm}")


# ---------------------------------------------------------------------------------------------
# Nonces (RFC 7616 §3.3 stale, §3.4 nonce-count, §5.4)


class NonceStatus(enum.Enum):
    """What :meth:`NonceStore.check` found."""

    VALID = "valid"
    """Issued here, within its lifetime, and the nonce-count went up."""
    STALE = "stale"
    """Issued here but older than the lifetime: challenge again with ``stale=true``."""
    UNKNOWN = "unknown"
    """Never issued here, or long forgotten."""
    REPLAY = "replay"
    """The nonce-count is not greater than the last one accepted for this nonce."""


class NonceStore:
    """Nonces this server issued, with when and the highest nonce-count seen for each.

    A nonce lives ``lifetime`` seconds; it is remembered (and reported STALE) up to twice that,
    then forgotten. At most ``capacity`` nonces are kept, the oldest dropped first, so memory is
    bounded whatever the clients do. ``random_bytes`` (default :func:`secrets.token_bytes`) is
    the entropy source; a nonce is ``nonce_bytes`` of it in base64.
    """

    def __init__(
        self,
        lifetime: float = 300.0,
        capacity: int = 4096,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        nonce_bytes: int = 24,
    ) -> None:
        if lifetime <= 0 or capacity <= 0 or nonce_bytes <= 0:
            raise ValueError("lifetime, capacity and nonce_bytes must be positive")
        self.lifetime = lifetime
        self.capacity = capacity
        self._random_bytes = random_bytes
        self._nonce_bytes = nonce_bytes
        # nonce -> (issued at, highest nonce-count accepted); insertion order is issue order.
        self._nonces: dict[str, tuple[float, int]] = {}

    def __len__(self) -> int:
        return len(self._nonces)

    def __contains__(self, nonce: object) -> bool:
        return nonce in self._nonces

    def issue(self, now: float) -> str:
        """A fresh nonce for one challenge (RFC 3261 §22.4: a new nonce each time)."""
        self._forget(now)
        while len(self._nonces) >= self.capacity:
            del self._nonces[next(iter(self._nonces))]
        for _ in range(8):
            nonce = base64.b64encode(self._random_bytes(self._nonce_bytes)).decode("ascii")
            if nonce not in self._nonces:
                self._nonces[nonce] = (now, 0)
                return nonce
        raise RuntimeError("the random source keeps repeating itself")

    def check(self, nonce: str, nc: int | None, now: float) -> NonceStatus:
        """Judge ``nonce`` used with nonce-count ``nc``; a VALID use records ``nc``.

        ``nc`` is None for RFC 2069 credentials, which carry no count: the nonce only has to be
        one of ours and fresh, and a replay cannot be told from a retry.
        """
        self._forget(now)
        entry = self._nonces.get(nonce)
        if entry is None:
            return NonceStatus.UNKNOWN
        issued, last_nc = entry
        if now - issued > self.lifetime:
            return NonceStatus.STALE
        if nc is None:
            return NonceStatus.VALID
        if nc <= last_nc:
            return NonceStatus.REPLAY
        self._nonces[nonce] = (issued, nc)
        return NonceStatus.VALID

    def _forget(self, now: float) -> None:
        horizon = 2 * self.lifetime
        while self._nonces:
            oldest = next(iter(self._nonces))
            if now - self._nonces[oldest][0] <= horizon:
                break
            del self._nonces[oldest]


# ---------------------------------------------------------------------------------------------
# Verification (RFC 3261 §22.4, RFC 7616 §3.4)


class VerdictKind(enum.Enum):
    """The outcome of :func:`verify`."""

    OK = "ok"
    """The credentials are right and fresh."""
    STALE = "stale"
    """Right password, but the nonce expired or is not known: challenge with ``stale=true``."""
    BAD_CREDENTIALS = "bad-credentials"
    """Unknown user or wrong password."""
    REPLAY = "replay"
    """Right password, but the nonce-count did not go up: a replayed request."""
    MALFORMED = "malformed"
    """Unusable credentials: a missing or bad parameter, another realm, an algorithm or qop
    that was not offered."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :func:`verify` concluded; the caller chooses 200, 401 or 403 from it."""

    kind: VerdictKind
    """The outcome."""
    username: str | None = None
    """The user the credentials name, when they could be read."""
    reason: str = ""
    """Why, for MALFORMED (fit for a reason phrase or a log)."""
    without_qop: bool = False
    """The credentials had no qop: the RFC 2069 form, H(HA1:nonce:HA2) (RFC 2617 §3.2.2)."""


_DEFAULT_QOPS = ("auth", "auth-int")


def verify(
    params: Mapping[str, str],
    *,
    method: str,
    body: bytes,
    passwords: Mapping[str, str],
    store: NonceStore,
    now: float,
    expected_realm: str,
    allowed_algorithms: Collection[Algorithm],
    allowed_qops: Collection[str] = _DEFAULT_QOPS,
) -> Verdict:
    """Judge Digest credentials, as :func:`parse_auth_params` returns them, for one request.

    ``passwords`` maps user name to password (and is searched when the client hashed the user
    name, RFC 7616 §3.4.4). The nonce-count is recorded only once the response is right, so
    forged requests cannot use up a client's nonce. A stale or unknown nonce is reported STALE
    only with a right response, as RFC 7616 §3.3 asks; otherwise BAD_CREDENTIALS. Never raises
    for any mapping of strings.
    """
    try:
        return _verify(
            params,
            method,
            body,
            passwords,
            store,
            now,
            expected_realm,
            allowed_algorithms,
            allowed_qops,
        )
    except DigestError as exc:
        return Verdict(VerdictKind.MALFORMED, reason=str(exc))


def _verify(
    params: Mapping[str, str],
    method: str,
    body: bytes,
    passwords: Mapping[str, str],
    store: NonceStore,
    now: float,
    expected_realm: str,
    allowed_algorithms: Collection[Algorithm],
    allowed_qops: Collection[str],
) -> Verdict:
    for name in ("realm", "nonce", "uri", "response"):
        if name not in params:
            raise DigestError(f"credentials lack {name}")
    realm, nonce, uri = params["realm"], params["nonce"], params["uri"]
    if realm != expected_realm:
        raise DigestError(f"credentials are for realm {realm!r}")
    algorithm = Algorithm.from_token(params.get("algorithm", "MD5"))  # MD5 when absent, §3.4
    if algorithm not in allowed_algorithms:
        raise DigestError(f"algorithm {algorithm.value} was not offered")
    qop = params.get("qop")
    nc: int | None = None
    nc_text = cnonce = ""
    if qop is not None:
        if qop.lower() not in {q.lower() for q in allowed_qops}:
            raise DigestError(f"qop {qop!r} was not offered")
        if "cnonce" not in params or "nc" not in params:
            raise DigestError("credentials with qop lack cnonce or nc")
        nc_text, cnonce = params["nc"], params["cnonce"]
        if not _NC_RE.fullmatch(nc_text):
            raise DigestError(f"nc {nc_text!r} is not 8 hex digits")
        nc = int(nc_text, 16)
        if nc == 0:
            raise DigestError("nc 00000000: the count starts at 1")
    # Without qop: the RFC 2069 form, which RFC 2617 §3.2.2 keeps for backward compatibility
    # and many devices still send; judged here, and left to the caller to accept or refuse.
    without_qop = qop is None

    claimed = _claimed_username(params)
    hashed = params.get("userhash", "false").lower()
    if hashed not in ("true", "false"):
        raise DigestError(f"userhash {params['userhash']!r} is neither true nor false")
    if hashed == "true":
        if "username*" in params:
            raise DigestError("username* together with userhash=true")
        username = _unhash(algorithm, claimed, realm, passwords)
    else:
        username = claimed if claimed in passwords else None
    if username is None:
        return Verdict(VerdictKind.BAD_CREDENTIALS, username=claimed)

    expected = compute_response(
        algorithm,
        username,
        realm,
        passwords[username],
        method,
        uri,
        nonce,
        nc_text,
        cnonce,
        qop,
        body,
    )
    # Compared as bytes: compare_digest refuses non-ASCII str. LHEX is lower case; an upper-case
    # answer is accepted as the same number.
    given = params["response"].lower().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        return Verdict(VerdictKind.BAD_CREDENTIALS, username=username, without_qop=without_qop)

    status = store.check(nonce, nc, now)
    if status is NonceStatus.VALID:
        kind = VerdictKind.OK
    elif status is NonceStatus.REPLAY:
        kind = VerdictKind.REPLAY
    else:
        kind = VerdictKind.STALE
    return Verdict(kind, username=username, without_qop=without_qop)


def _claimed_username(params: Mapping[str, str]) -> str:
    """``username``, or ``username*`` in RFC 8187 ext-value form (RFC 7616 §3.4.4), not both."""
    plain, extended = params.get("username"), params.get("username*")
    if plain is not None and extended is not None:
        raise DigestError("both username and username* given")
    if plain is not None:
        return plain
    if extended is None:
        raise DigestError("credentials lack username")
    # ext-value = charset "'" [ language ] "'" value-chars ; only UTF-8 is allowed here
    charset, sep1, rest = extended.partition("'")
    _language, sep2, encoded = rest.partition("'")
    if not (sep1 and sep2) or charset.lower() != "utf-8":
        raise DigestError(f"username* {extended!r} is not UTF-8''<percent-encoded>")
    if re.search(r"%(?![0-9A-Fa-f]{2})", encoded):
        raise DigestError(f"username* {extended!r} has a bad percent escape")
    try:
        return unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeError as exc:
        raise DigestError(f"username* {extended!r} is not UTF-8") from exc


def _unhash(
    algorithm: Algorithm, hashed: str, realm: str, passwords: Mapping[str, str]
) -> str | None:
    """The user whose H(username:realm) is ``hashed`` (RFC 7616 §3.4.4), or None."""
    given = hashed.lower().encode("utf-8", "surrogatepass")
    for candidate in passwords:
        if hmac.compare_digest(userhash(algorithm, candidate, realm).encode("ascii"), given):
            return candidate
    return None
