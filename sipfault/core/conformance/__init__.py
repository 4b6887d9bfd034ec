"""Findings about the client: what it did that the RFCs say it should not have.

``conduct.py`` (:class:`~sipfault.core.conformance.conduct.ClientConduct`) is what the UAS
talks to; each other module watches one matter with bounded state (every table that grows with
traffic has a bound). Findings go out through a :data:`Report` callable; the kinds and the
sections they rest on are listed in ``sipfault.model.findings``.

- ``retransmission.py``: retransmissions over UDP (RFC 3261 §17.1.1.2, §17.1.2.2);
- ``retry_after.py``: new requests sooner than a Retry-After (§20.33);
- ``registration.py``: late refreshes, no refresh, REGISTER storms (§10.2.4);
- ``acks.py``: ACKs that match leniently (§17.1.1.3, §13.2.2.4);
- ``branches.py``: a branch reused for another request (§8.1.1.7);
- ``sipfault.core.forking``: forks not acknowledged or not ended (§13.2.2.4).
"""

from __future__ import annotations

from collections.abc import Callable

from sipfault.core.events import Finding, Peer
from sipfault.model.findings import cite

__all__ = ["Report", "finding"]

Report = Callable[[Finding], None]
"""Where a watch puts its findings (the UAS's event list)."""


def finding(
    now: float, kind: str, text: str, call_id: str | None, peer: Peer | None,
    details: dict[str, str] | None = None,
) -> Finding:
    """A finding whose text cites the section its kind rests on."""
    return Finding(now, kind, cite(kind, text), call_id, peer, details or {})
