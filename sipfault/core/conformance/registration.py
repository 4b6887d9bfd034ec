"""How a client keeps its registration (RFC 3261 §10.2.4).

A UA refreshes each binding before it expires. Watched here:

- ``late-refresh``: a REGISTER for a contact whose binding already expired (a refresh that came
  after the expiry instead of before it);
- ``no-refresh``: a binding that expired and saw no REGISTER for its contact within 64*T1;
- ``register-storm``: more than :attr:`RegistrationWatch.storm` REGISTERs for one
  address-of-record within :data:`STORM_WINDOW` seconds (reported once per window).

Bindings a scenario fault dropped early (``forced_expiry``) are not held against the client: it
was never told. Every table is bounded.
"""

from __future__ import annotations

from collections import deque
from typing import TypeVar

from sipfault.core.registrar import Binding, address_of_record
from sipfault.sip.address import parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request

__all__ = ["STORM", "STORM_WINDOW", "RegistrationWatch"]

STORM = 20
"""REGISTERs per address-of-record per :data:`STORM_WINDOW` beyond which it is a storm: a
refresh every 60 s (the usual Min-Expires) with a digest challenge makes two a minute."""
STORM_WINDOW = 60.0
"""Seconds the storm count spans."""

K = TypeVar("K")
V = TypeVar("V")


class RegistrationWatch:
    """Expired bindings awaiting a refresh, and recent REGISTERs per address-of-record."""

    __slots__ = ("_expired", "_recent", "_stormy", "size", "storm")

    def __init__(self, storm: int = STORM, size: int = 4096) -> None:
        self.storm = storm
        self.size = size
        self._expired: dict[tuple[str, str], tuple[Binding, float]] = {}
        self._recent: dict[str, deque[float]] = {}
        self._stormy: dict[str, float] = {}  # aor -> end of the window already reported

    def expired(self, binding: Binding, forced: bool, now: float) -> bool:
        """A binding expired at ``now``; True when it should be checked for ``no-refresh``."""
        if forced:
            return False
        key = (binding.aor, binding.uri)
        self._expired.pop(key, None)
        self._expired[key] = (binding, now)
        _bound(self._expired, self.size)
        return True

    def still_unrefreshed(self, binding: Binding) -> bool:
        """Asked 64*T1 after the expiry: True (and forgotten) when no REGISTER came since."""
        key = (binding.aor, binding.uri)
        entry = self._expired.get(key)
        if entry is None or entry[0] is not binding:
            return False
        del self._expired[key]
        return True

    def register(self, request: Request, now: float) -> list[tuple[str, str]]:
        """A REGISTER arrived (a new transaction): the findings it makes, (kind, text) each."""
        try:
            aor = address_of_record(request.to.uri)
        except SipParseError:
            return []
        if aor is None:
            return []
        found = self._storm(aor, now)
        for value in request.headers.values("Contact"):
            if value.strip() == "*":
                continue
            try:
                uri = parse_address(value, "Contact").uri.text
            except SipParseError:
                continue
            entry = self._expired.pop((aor, uri), None)
            if entry is not None:
                expired_at = entry[1]
                found.append(("late-refresh",
                              f"{uri} refreshed {now - expired_at:.1f} s after its binding to "
                              f"{aor} expired"))
        return found

    def _storm(self, aor: str, now: float) -> list[tuple[str, str]]:
        times = self._recent.pop(aor, None)
        if times is None:
            times = deque(maxlen=self.storm + 1)
        self._recent[aor] = times  # most recent last
        _bound(self._recent, self.size)
        times.append(now)
        while times and now - times[0] > STORM_WINDOW:
            times.popleft()
        if len(times) <= self.storm:
            return []
        if self._stormy.get(aor, -1.0) > now:
            return []
        self._stormy.pop(aor, None)
        self._stormy[aor] = now + STORM_WINDOW
        _bound(self._stormy, self.size)
        return [("register-storm",
                 f"{len(times)} REGISTERs for {aor} within {now - times[0]:.1f} s (more than "
                 f"{self.storm} in {STORM_WINDOW:g} s)")]


def _bound(table: dict[K, V], size: int) -> None:
    """Forget the oldest entries past ``size``."""
    while len(table) > size:
        del table[next(iter(table))]
