"""Where each call stands, for the live view: a transition table fed with the run's records.

A call is everything with one Call-ID. It starts when its first request arrives and ends when
the exchange is over: a final response to a request outside an INVITE dialog, an INVITE
refused, a BYE answered, or a finding that sipfault gave up (no ACK, no answer to its BYE).
The states are those a person watching a bench cares about, not the RFC 3261 §17 transaction
states (the core keeps those).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipfault.record.records import FindingRecord, MessageRecord, Record

__all__ = ["ENDED", "TRANSITIONS", "LiveCall", "call_event"]

ENDED = "ended"

TRANSITIONS: dict[tuple[str, str], str] = {
    ("trying", "provisional"): "ringing",
    ("trying", "answered"): "answered",
    ("ringing", "provisional"): "ringing",
    ("ringing", "answered"): "answered",
    ("trying", "refused"): ENDED,
    ("ringing", "refused"): ENDED,
    ("trying", "done"): ENDED,
    ("answered", "ack"): "confirmed",
    ("answered", "bye-answered"): ENDED,
    ("confirmed", "bye-answered"): ENDED,
    ("answered", "gave-up"): ENDED,
    ("confirmed", "gave-up"): ENDED,
    ("trying", "gave-up"): ENDED,
    ("ringing", "gave-up"): ENDED,
}
"""(state, what happened) -> next state; what the table does not list leaves the state."""

_GAVE_UP = frozenset({"no-ack", "no-response", "no-prack"})


def call_event(record: Record, first_method: str) -> str | None:
    """What a record means for its call's state, or None."""
    if isinstance(record, FindingRecord):
        return "gave-up" if record.kind in _GAVE_UP else None
    if not isinstance(record, MessageRecord) or record.retransmission:
        return None
    status = record.status
    if status is None:
        return "ack" if record.received and record.method == "ACK" else None
    if record.method == "BYE" and status >= 200:
        return "bye-answered"
    if record.method == "INVITE" and first_method == "INVITE" and not record.received:
        if status >= 300:
            return "refused"
        if status >= 200:
            return "answered"
        return "provisional" if status > 100 else None
    if (first_method != "INVITE" and record.method == first_method and status >= 200
            and not record.received):
        return "done"
    return None


@dataclass
class LiveCall:
    """One call as the live view shows it."""

    call_id: str
    started: float
    """Wall-clock time of its first record."""
    method: str = ""
    """Method of its first request."""
    user: str = ""
    """Request-URI user of its first request."""
    from_user: str = ""
    """From user of its first request."""
    client: str = ""
    """The client's transport and address."""
    state: str = "trying"
    updated: float = 0.0
    """Wall-clock time of its last record."""
    ended_at: float | None = None
    statuses: list[int] = field(default_factory=list)
    """Statuses sent, first transmissions."""
    findings: int = 0
    entries: list[dict[str, object]] = field(default_factory=list)
    """Its journal objects, for its ladder."""

    @property
    def ended(self) -> bool:
        """Whether the exchange is over."""
        return self.state == ENDED

    @property
    def outcome(self) -> str:
        """``INVITE 486`` or ``REGISTER 200``: the method and the last final status sent."""
        finals = [status for status in self.statuses if status >= 200]
        return f"{self.method} {finals[-1]}" if finals else f"{self.method} {self.state}"

    def take(self, record: Record, entry: dict[str, object], keep: bool) -> None:
        """Update with one of its records; keep the entry for the ladder if ``keep``."""
        self.updated = record.time
        if keep:
            self.entries.append(entry)
        if isinstance(record, MessageRecord):
            if record.received and record.is_request and not self.method:
                self.method = record.method
                self.user = _user(record.uri or "")
                self.from_user = _user(record.header("From") or "")
                self.client = record.source_text
            elif not record.received and record.status is not None and not record.retransmission:
                self.statuses.append(record.status)
        elif isinstance(record, FindingRecord):
            self.findings += 1
        event = call_event(record, self.method)
        if event is not None:
            state = TRANSITIONS.get((self.state, event), self.state)
            if state == ENDED and self.ended_at is None:
                self.ended_at = record.time
            self.state = state

    def view(self) -> dict[str, object]:
        """The JSON the live page shows."""
        return {"call_id": self.call_id, "method": self.method, "user": self.user,
                "from": self.from_user, "client": self.client, "state": self.state,
                "started": self.started, "updated": self.updated, "ended": self.ended_at,
                "statuses": self.statuses[-6:], "findings": self.findings,
                "outcome": self.outcome}


def _user(text: str) -> str:
    for scheme in ("sip:", "sips:", "tel:"):
        start = text.lower().find(scheme)
        if start >= 0:
            rest = text[start + len(scheme):]
            user, at, _ = rest.partition("@")
            return user if at else ""
    return ""
