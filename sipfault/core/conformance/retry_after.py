"""New requests sooner than the Retry-After a client was given (RFC 3261 §20.33).

After a 480, 486, 600 or 603 with Retry-After, the callee is not to be tried again before that
time; after a 503 with Retry-After, the server is not to be sent requests before it (§21.5.4).
The client is known by its From URI and by its Contact URI, so a new call with another Call-ID
counts. For a 503 any new request counts; for the others, a new request of the same method to
the same Request-URI user. Each Retry-After is reported once, and forgotten when it runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipfault.sip.address import parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request, Response

__all__ = ["RETRY_AFTER_CODES", "RetryAfterWatch"]

RETRY_AFTER_CODES = frozenset({480, 486, 503, 600, 603})
"""Codes whose Retry-After asks the client to wait (RFC 3261 §20.33)."""

_EXEMPT = frozenset({"ACK", "CANCEL", "PRACK"})
"""Methods that finish an exchange rather than start one."""


@dataclass(slots=True)
class _Wait:
    until: float
    given_at: float
    status: int
    seconds: int
    method: str
    ruri_user: str


class RetryAfterWatch:
    """The Retry-After times in force, by client, at most :attr:`size` of them."""

    __slots__ = ("_waits", "size")

    def __init__(self, size: int = 4096) -> None:
        self._waits: dict[str, _Wait] = {}
        self.size = size

    def __len__(self) -> int:
        return len(self._waits)

    def answered(self, request: Request, response: Response, ruri_user: str,
                 now: float) -> None:
        """A response went to ``request``: remember its Retry-After if it asks for a wait."""
        if response.status not in RETRY_AFTER_CODES:
            return
        seconds = _seconds(response.headers.get("Retry-After"))
        if not seconds:
            return
        wait = _Wait(now + seconds, now, response.status, seconds, request.method, ruri_user)
        for key in _clients(request):
            self._waits.pop(key, None)
            self._waits[key] = wait
        while len(self._waits) > self.size:
            del self._waits[next(iter(self._waits))]

    def new_request(self, request: Request, ruri_user: str, now: float) -> str | None:
        """The text of a ``retry-after-ignored`` finding for a new request, or None."""
        if request.method in _EXEMPT or not self._waits:
            return None
        for key in _clients(request):
            wait = self._waits.get(key)
            if wait is None:
                continue
            if now >= wait.until:
                del self._waits[key]
                continue
            if wait.status != 503 and (request.method != wait.method
                                       or ruri_user != wait.ruri_user):
                continue
            for other in _clients(request):
                if self._waits.get(other) is wait:
                    del self._waits[other]
            return (f"{request.method} {now - wait.given_at:.1f} s after a {wait.status} with "
                    f"Retry-After: {wait.seconds} (from {key})")
        return None


def _seconds(value: str | None) -> int:
    """The delta-seconds of a Retry-After (``30``, ``30 (lunch);duration=60``), 0 if none."""
    if not value:
        return 0
    digits = value.strip().split(";")[0].split("(")[0].strip()
    return int(digits) if digits.isdigit() else 0


def _clients(request: Request) -> list[str]:
    """How the client is known: its From URI and its first Contact URI."""
    keys: list[str] = []
    for name in ("From", "Contact"):
        value = request.headers.get(name)
        if not value or value.strip() == "*":
            continue
        try:
            keys.append(parse_address(value, name).uri.text)
        except SipParseError:
            continue
    return keys
