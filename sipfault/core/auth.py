"""Digest authentication of requests, sans-I/O (RFC 3261 §22, RFC 7616, RFC 8760).

:class:`Authenticator` decides, for one request, whether its credentials pass, or whether it gets
a challenge (401/407), a 403 or a 400; the UAS builds and sends the response. The arithmetic,
nonces and credential parsing are :mod:`sipfault.sip.digest`'s; this module adds the policy
the scenario sets (users, realm, methods, algorithms, qop, nonce lifetime, attempts).
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from sipfault.model.scenario import AuthSettings
from sipfault.sip.digest import (
    Algorithm,
    DigestError,
    NonceStore,
    VerdictKind,
    format_challenge,
    parse_auth_params,
    verify,
)
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request
from sipfault.sip.sanitize import safe_reason

__all__ = ["NEVER_CHALLENGED", "AuthOutcome", "Authenticator"]

NEVER_CHALLENGED: frozenset[str] = frozenset({"ACK", "CANCEL"})
"""Methods that cannot be challenged: ACK and CANCEL cannot be resubmitted (RFC 3261 §22.1)."""

_MAX_TRACKED = 4096  # failure counters (per user and Call-ID, per user) kept at most
_MAX_REASON = 120  # a reason phrase quoting client input is cut to this length


@dataclass(frozen=True)
class AuthOutcome:
    """What :meth:`Authenticator.check` decided for one request."""

    kind: Literal["ok", "challenge", "forbidden", "bad"]
    """ok: go on serving the request; challenge: answer 401/407; forbidden: 403; bad: 400."""
    status: int = 0
    """The status code to answer with; 0 for ok."""
    reason: str | None = None
    """Reason phrase; None uses the standard one (a 400 names the defect)."""
    headers: tuple[tuple[str, str], ...] = ()
    """Header fields to add: the challenges of a 401/407."""
    username: str | None = None
    """The user the credentials name, when they could be read."""
    notice: tuple[str, str] | None = None
    """A finding about the client that did not stop the request: (kind, text)."""


class Authenticator:
    """Challenges requests and judges the answers, as an :class:`AuthSettings` says.

    - Which requests: :meth:`applies_to` (``settings.methods``, never ACK or CANCEL).
    - Challenge: 401 with one WWW-Authenticate per algorithm, or with ``settings.proxy`` 407 with
      one Proxy-Authenticate per algorithm, in ``settings.algorithms`` order (the scenario's
      preference; RFC 8760 §2.4 asks for the strongest first), all with one fresh nonce and the
      ``settings.qop`` values (RFC 3261 §22.1, RFC 7616 §3.3).
    - Credentials are read from Authorization (Proxy-Authorization with ``settings.proxy``);
      other schemes (RFC 4475 §3.3.7) and Digest credentials for another realm are ignored
      (RFC 3261 §22.3), so a request with only those is challenged.
    - The answer is verified with the request's method and body (``auth-int``, RFC 7616 §3.4.3).
      The digest-uri is taken as the client wrote it: a proxy on the way may have rewritten the
      Request-URI.
    - A right answer with a nonce older than ``settings.nonce_lifetime``, or one this server no
      longer knows, gets a new challenge with ``stale=true`` (RFC 7616 §3.3).
    - A right answer whose nonce-count did not go up (a replay, RFC 7616 §3.4) gets a new
      challenge, without ``stale``.
    - Wrong credentials (wrong password or unknown user) are counted per user name and Call-ID:
      a UA retries with the Call-ID of the challenged request (RFC 3261 §8.1.3.5, §10.2), so a
      device with a wrong password ends in 403, while other devices that share the user name
      and other calls of the same device keep their own count. The ``settings.max_attempts``-th
      wrong answer, and every later one, gets 403; earlier ones are challenged again. Right
      credentials clear the count.
    - With ``settings.lockout``, wrong answers are also counted per user name across Call-IDs
      within a window: once there are ``lockout.attempts`` of them, every request naming that
      user gets 403 until the oldest is ``lockout.window`` old, so a password guesser that
      starts a new call for each guess is stopped.
    - Credentials without qop (the RFC 2069 form, kept by RFC 2617 §3.2.2) to a challenge that
      offered qop are verified as RFC 2069 digest and accepted, with a ``digest-without-qop``
      notice naming RFC 7616 §3.4; with ``settings.qop_required`` they count as wrong
      credentials (challenged again, 403 after ``max_attempts``).
    - Digest credentials that cannot be used (a parameter missing or malformed, an algorithm or
      qop that was not offered) get 400 with a reason phrase naming the defect.
    """

    def __init__(
        self,
        settings: AuthSettings,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.settings = settings
        self.algorithms = tuple(Algorithm.from_token(name) for name in settings.algorithms)
        if not self.algorithms:
            raise ValueError("auth needs at least one algorithm")
        # Fails now, not at the first REGISTER, on a realm or qop that cannot be written.
        format_challenge(settings.realm, "nonce", self.algorithms[0], settings.qop)
        self._passwords: Mapping[str, str] = dict(settings.users)
        self._nonces = NonceStore(lifetime=settings.nonce_lifetime, random_bytes=random_bytes)
        self._failures: dict[tuple[str, str], int] = {}
        # user name -> times of wrong answers within the lockout window, oldest first
        self._wrong_by_user: dict[str, deque[float]] = {}

    @property
    def status(self) -> int:
        """The status of a challenge: 407 in proxy mode, else 401 (RFC 3261 §22.3)."""
        return 407 if self.settings.proxy else 401

    @property
    def challenge_header(self) -> str:
        """WWW-Authenticate, or Proxy-Authenticate in proxy mode."""
        return "Proxy-Authenticate" if self.settings.proxy else "WWW-Authenticate"

    @property
    def credentials_header(self) -> str:
        """Authorization, or Proxy-Authorization in proxy mode."""
        return "Proxy-Authorization" if self.settings.proxy else "Authorization"

    def applies_to(self, method: str) -> bool:
        """Whether requests of ``method`` must authenticate (never ACK or CANCEL, §22.1)."""
        return method in self.settings.methods and method not in NEVER_CHALLENGED

    def challenge(self, now: float, stale: bool = False) -> tuple[tuple[str, str], ...]:
        """The header fields of a 401/407: one challenge per algorithm, one fresh nonce."""
        nonce = self._nonces.issue(now)
        return tuple(
            (
                self.challenge_header,
                format_challenge(
                    self.settings.realm, nonce, algorithm, self.settings.qop, stale=stale
                ),
            )
            for algorithm in self.algorithms
        )

    def check(self, request: Request, now: float) -> AuthOutcome:
        """Judge the credentials of ``request`` at ``now`` (a new transaction, not a
        retransmission: a nonce-count is accepted once)."""
        try:
            params = self._our_credentials(request)
        except DigestError as exc:
            return self._bad(str(exc))
        if params is None:
            outcome = self._challenge(now)
            misplaced = self._misplaced_credentials(request)
            if misplaced is None:
                return outcome
            return AuthOutcome(outcome.kind, outcome.status, headers=outcome.headers,
                               notice=("auth-not-as-challenged", misplaced))
        claimed = params.get("username")
        if claimed is not None and self._locked_out(claimed, now):
            return AuthOutcome("forbidden", 403, "Forbidden (Too Many Failed Attempts)",
                               username=claimed)
        verdict = verify(
            params,
            method=request.method,
            body=request.body,
            passwords=self._passwords,
            store=self._nonces,
            now=now,
            expected_realm=self.settings.realm,
            allowed_algorithms=self.algorithms,
            allowed_qops=self.settings.qop,
        )
        offered_qop = bool(self.settings.qop)
        if (verdict.without_qop and offered_qop and self.settings.qop_required
                and verdict.kind is not VerdictKind.MALFORMED):
            return self._wrong(request, verdict.username, now)
        if verdict.kind is VerdictKind.OK:
            self._failures.pop((verdict.username or "", _call_id(request)), None)
            notice = None
            if verdict.without_qop and offered_qop:
                notice = ("digest-without-qop",
                          "credentials without qop (RFC 2069 form) to a challenge that offered "
                          f"qop={','.join(self.settings.qop)} (RFC 7616 §3.4)")
            return AuthOutcome("ok", username=verdict.username, notice=notice)
        if verdict.kind is VerdictKind.STALE:
            return self._challenge(now, stale=True, username=verdict.username)
        if verdict.kind is VerdictKind.REPLAY:
            return self._challenge(now, username=verdict.username)
        if verdict.kind is VerdictKind.MALFORMED:
            bad = self._bad(verdict.reason, verdict.username)
            reason = verdict.reason
            if reason.startswith("unknown digest algorithm") or (
                    reason.startswith("algorithm ") and "not offered" in reason):
                offered = ", ".join(algorithm.value for algorithm in self.algorithms)
                return AuthOutcome(bad.kind, bad.status, bad.reason, username=bad.username,
                                   notice=("auth-algorithm-not-offered",
                                           f"digest answer with {verdict.reason} (offered: "
                                           f"{offered})"))
            return bad
        return self._wrong(request, verdict.username, now)

    # ------------------------------------------------------------------------ internals

    def _our_credentials(self, request: Request) -> dict[str, str] | None:
        """The first Digest credentials for our realm, or None; DigestError when malformed."""
        for value in request.headers.lines(self.credentials_header):
            scheme = value.split(None, 1)[0] if value.strip() else ""
            if scheme.lower() != "digest":
                continue  # another scheme: not ours to judge (RFC 4475 §3.3.7)
            _, params = parse_auth_params(value)
            realm = params.get("realm")
            if realm is None:
                raise DigestError("credentials lack realm")
            if realm == self.settings.realm:
                return params
        return None

    def _misplaced_credentials(self, request: Request) -> str | None:
        """Digest credentials the client sent where this server's challenge does not look:
        in the other header field (RFC 3261 §22.2, §22.3), or for another realm."""
        other = "Authorization" if self.settings.proxy else "Proxy-Authorization"
        for name in (self.credentials_header, other):
            for value in request.headers.lines(name):
                scheme = value.split(None, 1)[0] if value.strip() else ""
                if scheme.lower() != "digest":
                    continue
                try:
                    _, params = parse_auth_params(value)
                except DigestError:
                    continue
                realm = params.get("realm")
                if name != self.credentials_header:
                    return (f"Digest credentials in {name}, but the challenge was a "
                            f"{self.status} asking for {self.credentials_header}")
                if realm != self.settings.realm:
                    return (f"Digest credentials for realm {realm!r}, but the challenge's realm "
                            f"is {self.settings.realm!r}")
        return None

    def _challenge(
        self, now: float, stale: bool = False, username: str | None = None
    ) -> AuthOutcome:
        return AuthOutcome(
            "challenge", self.status, headers=self.challenge(now, stale), username=username
        )

    def _bad(self, defect: str, username: str | None = None) -> AuthOutcome:
        reason = f"Malformed {self.credentials_header}: {defect}"
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 3] + "..."
        # Cut before escaping, so that no %XX escape is cut in two.
        return AuthOutcome("bad", 400, safe_reason(reason), username=username)

    def _wrong(self, request: Request, username: str | None, now: float) -> AuthOutcome:
        key = (username or "", _call_id(request))
        count = self._failures.pop(key, 0) + 1
        self._failures[key] = count  # re-inserted: most recent last
        while len(self._failures) > _MAX_TRACKED:
            del self._failures[next(iter(self._failures))]
        if self._count_wrong_for_user(username or "", now):
            return AuthOutcome("forbidden", 403, "Forbidden (Too Many Failed Attempts)",
                               username=username)
        if count >= self.settings.max_attempts:
            return AuthOutcome("forbidden", 403, username=username)
        return self._challenge(now, username=username)

    def _recent_wrong(self, username: str, now: float) -> deque[float] | None:
        """The user's wrong answers still inside the lockout window (older ones dropped)."""
        lockout = self.settings.lockout
        times = self._wrong_by_user.get(username)
        if lockout is None or times is None:
            return None
        while times and now - times[0] >= lockout.window:
            times.popleft()
        if not times:
            del self._wrong_by_user[username]
            return None
        return times

    def _locked_out(self, username: str, now: float) -> bool:
        lockout = self.settings.lockout
        times = self._recent_wrong(username, now)
        return lockout is not None and times is not None and len(times) >= lockout.attempts

    def _count_wrong_for_user(self, username: str, now: float) -> bool:
        """Record one wrong answer for ``username``; True once the user is locked out."""
        lockout = self.settings.lockout
        if lockout is None:
            return False
        times = self._recent_wrong(username, now)
        if times is None:
            times = self._wrong_by_user[username] = deque(maxlen=lockout.attempts)
        else:  # most recent last, so the least recently failing user goes first
            del self._wrong_by_user[username]
            self._wrong_by_user[username] = times
        times.append(now)
        while len(self._wrong_by_user) > _MAX_TRACKED:
            del self._wrong_by_user[next(iter(self._wrong_by_user))]
        return len(times) >= lockout.attempts


def _call_id(request: Request) -> str:
    try:
        return request.call_id
    except SipParseError:
        return ""
