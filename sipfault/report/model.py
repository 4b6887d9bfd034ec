"""A run as the report shows it: the journal's entries sorted into calls, and the counts.

:func:`build_run` reads the entries once, in order. An entry with a ``call_id`` belongs to
that call (one ladder per Call-ID); the rest (unreadable datagrams, expired bindings, records of
a type without a Call-ID) belong to the run. Counts follow the console's summary: requests by
method and responses by code count first transmissions only (RFC 3261 §17: a retransmission
is the same message again).

Entries of a type the report does not know are kept by type (:attr:`Run.other`), so that a
record type added later (media, fax, T.30) is shown as it is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sipfault.report.entries import Entry, as_text, number

__all__ = [
    "KNOWN_TYPES",
    "Binding",
    "Call",
    "Run",
    "build_run",
    "uri_user",
]

KNOWN_TYPES = frozenset({
    "message", "rule", "unmatched", "dropped", "finding", "fault_applied", "timer_fired",
    "binding_expired", "run", "summary",
})
"""Record types with a place of their own in the report; others are shown generically."""

_URI_USER = re.compile(r"sips?:([^@;>?\s:]+)(?::[^@;>?\s]*)?@|tel:([^;>?\s]+)", re.I)
_FROM = re.compile(r"^(?:from|f)[ \t]*:([^\r\n]*)", re.I | re.M)
_TO = re.compile(r"^(?:to|t)[ \t]*:([^\r\n]*)", re.I | re.M)
_CSEQ = re.compile(r"^cseq[ \t]*:[ \t]*(\d+)", re.I | re.M)
_TO_TAG = re.compile(r";\s*tag\s*=", re.I)
_CONTACT = re.compile(r"^(?:contact|m)[ \t]*:([^\r\n]*)", re.I | re.M)
_EXPIRES_PARAM = re.compile(r";\s*expires\s*=\s*(\d+)", re.I)
_ANGLE_URI = re.compile(r"<([^>]*)>")


def uri_user(text: str) -> str:
    """The user part of the first SIP, SIPS or tel URI in ``text``; "" without one."""
    match = _URI_USER.search(text)
    return (match.group(1) or match.group(2)) if match else ""


def _header(pattern: re.Pattern[str], raw: str) -> str:
    """The first value of a header field (``pattern``'s group 1), read from the head only."""
    end = raw.find("\r\n\r\n")
    match = pattern.search(raw, 0, end if end >= 0 else len(raw))
    return match.group(1).strip() if match else ""


def _address(value: object) -> str:
    if isinstance(value, dict):
        host, port = value.get("host"), value.get("port")
        host_text = f"[{host}]" if isinstance(host, str) and ":" in host else str(host)
        return f"{host_text}:{port}"
    return ""


def flow_ends(entry: Entry) -> tuple[str, str]:
    """(client, sipfault) of a message entry: ``udp 127.0.0.1:5070`` each."""
    transport = str(entry.get("transport") or "")
    src, dst = _address(entry.get("src")), _address(entry.get("dst"))
    if entry.get("direction") == "out":
        src, dst = dst, src
    return (f"{transport} {src}".strip(), f"{transport} {dst}".strip())


@dataclass
class Call:
    """Everything with one Call-ID, in journal order."""

    call_id: str
    """The Call-ID."""
    number: int
    """Its place among the run's calls, from 1, by first appearance."""
    entries: list[Entry] = field(default_factory=list)
    """Its journal entries, in order."""
    method: str = ""
    """The method of its first request ("" if no request was seen)."""
    uri: str = ""
    """The Request-URI of its first request."""
    user: str = ""
    """The Request-URI's user of its first request."""
    from_user: str = ""
    """The From user of its first request."""
    to_user: str = ""
    """The To user of its first request."""
    client: str = ""
    """The client's transport and address."""
    local: str = ""
    """sipfault's transport and address."""
    statuses: list[int] = field(default_factory=list)
    """Statuses sent, first transmissions, in order."""
    final: int | None = None
    """The last final status sent to an initial request of the first request's method (the
    first INVITE, or its resend with credentials after a 401 or 407; not a re-INVITE)."""
    findings: list[Entry] = field(default_factory=list)
    """Its findings."""
    faults: Counter[str] = field(default_factory=Counter)
    """Faults applied, by name."""
    messages: int = 0
    """Messages in and out, retransmissions included."""
    retransmissions: int = 0
    """Messages that were retransmissions."""
    t38: bool = False
    """Whether an SDP offered or answered an ``m=image`` stream (T.38, ITU-T T.38 Annex D)."""
    start: float = 0.0
    """Time of its first entry."""
    end: float = 0.0
    """Time of its last entry."""
    initial: set[str] = field(default_factory=set, repr=False)
    """CSeq numbers of its requests of that method sent outside a dialog (no To tag)."""

    @property
    def outcome(self) -> str:
        """``INVITE 486``, ``REGISTER 200``, ``INVITE no final response``..."""
        if not self.method:
            return "no request"
        if self.final is None:
            return f"{self.method} no final response"
        return f"{self.method} {self.final}"

    @property
    def users(self) -> list[str]:
        """The users it names: Request-URI, To and From, each once."""
        seen: list[str] = []
        for user in (self.user, self.to_user, self.from_user):
            if user and user not in seen:
                seen.append(user)
        return seen

    def add(self, entry: Entry) -> None:
        """Take one more entry of this call."""
        time = entry.get("time")
        if isinstance(time, int | float):
            if not self.entries:
                self.start = float(time)
            self.end = float(time)
        self.entries.append(entry)
        kind = entry.get("type")
        if kind == "message":
            self._add_message(entry)
        elif kind == "finding":
            self.findings.append(entry)
        elif kind == "fault_applied":
            self.faults[str(entry.get("fault"))] += 1

    def _add_message(self, entry: Entry) -> None:
        self.messages += 1
        if entry.get("retransmission"):
            self.retransmissions += 1
        status = entry.get("status")
        incoming = entry.get("direction") == "in"
        if not self.client:
            self.client, self.local = flow_ends(entry)
        raw = entry.get("raw")
        text = raw if isinstance(raw, str) else as_text(raw)
        if not self.t38 and "m=image" in text:
            self.t38 = True
        if incoming and status is None:
            if not self.method:
                first = str(entry.get("first_line") or "")
                parts = first.split()
                self.method = str(entry.get("method") or (parts[0] if parts else ""))
                self.uri = parts[1] if len(parts) > 1 else ""
                self.user = uri_user(self.uri)
                self.from_user = uri_user(_header(_FROM, text))
                self.to_user = uri_user(_header(_TO, text))
            if (entry.get("method") == self.method and not entry.get("retransmission")
                    and not _TO_TAG.search(_header(_TO, text))):
                self.initial.add(_header(_CSEQ, text))
        elif not incoming and isinstance(status, int) and not entry.get("retransmission"):
            self.statuses.append(status)
            if (status >= 200 and self.method and entry.get("method") == self.method
                    and _header(_CSEQ, text) in self.initial):
                self.final = status


@dataclass(frozen=True)
class Binding:
    """A registration, as the run's summary or its REGISTER answers tell it (RFC 3261 §10.3)."""

    aor: str
    """The address-of-record."""
    contact: str
    """The contact URI."""
    expires_at: float | None
    """Wall-clock time it ends, when known."""
    source: str
    """"summary" (the registrar's own list at the stop) or "answers" (read from the 200s)."""


@dataclass
class Run:
    """A whole run: its frame (run and summary entries), calls, counts and the rest."""

    run: Entry | None = None
    """The ``run`` entry, if the journal has one."""
    summary: Entry | None = None
    """The ``summary`` entry, if the journal has one."""
    calls: list[Call] = field(default_factory=list)
    """Calls by first appearance."""
    by_id: dict[str, Call] = field(default_factory=dict)
    """Calls by Call-ID."""
    loose: list[Entry] = field(default_factory=list)
    """Entries of no call (unreadable datagrams, expired bindings...)."""
    start: float | None = None
    """Time of the first entry."""
    end: float | None = None
    """Time of the last entry."""
    requests: Counter[str] = field(default_factory=Counter)
    """Requests received by method (first transmissions)."""
    responses: Counter[int] = field(default_factory=Counter)
    """Responses sent by status (first transmissions)."""
    retransmissions_in: int = 0
    """Requests received again."""
    retransmissions_out: int = 0
    """Responses sent again."""
    faults: Counter[str] = field(default_factory=Counter)
    """Faults applied by name, one per transmission they touched."""
    faults_dropped: Counter[str] = field(default_factory=Counter)
    """Of those, transmissions that left nothing on the wire."""
    findings: list[Entry] = field(default_factory=list)
    """Every finding, in order."""
    timers: Counter[str] = field(default_factory=Counter)
    """Timers fired by label."""
    unreadable: list[Entry] = field(default_factory=list)
    """``dropped`` entries: bytes that could not be answered."""
    other: dict[str, list[Entry]] = field(default_factory=dict)
    """Entries of types the report does not know, by type."""
    register_answers: list[Entry] = field(default_factory=list)
    """2xx sent to REGISTER requests, for the bindings when there is no summary."""
    expired: list[Entry] = field(default_factory=list)
    """``binding_expired`` entries."""
    entries: int = 0
    """How many entries were read."""
    bad_lines: list[int] = field(default_factory=list)
    """Journal lines that could not be read."""

    @property
    def duration(self) -> float:
        """Seconds from the first entry (or the run's start) to the last (or its stop)."""
        start = self.started
        stop = self.stopped
        if start is None or stop is None:
            return 0.0
        return max(0.0, stop - start)

    @property
    def started(self) -> float | None:
        """The run's start, or its first entry's time."""
        if self.run is not None and "time" in self.run:
            return number(self.run, "time")
        return self.start

    @property
    def stopped(self) -> float | None:
        """The run's stop, or its last entry's time."""
        if self.summary is not None and "time" in self.summary:
            return number(self.summary, "time")
        return self.end

    def outcomes(self) -> Counter[str]:
        """Calls by outcome (``INVITE 486``: 3...)."""
        return Counter(call.outcome for call in self.calls)

    def findings_by_kind(self) -> dict[str, list[Entry]]:
        """Findings grouped by kind, in order of first appearance."""
        grouped: dict[str, list[Entry]] = {}
        for finding in self.findings:
            grouped.setdefault(str(finding.get("kind")), []).append(finding)
        return grouped

    def bindings(self) -> list[Binding]:
        """Registrations current at the end: the summary's list, else read from the 200s to
        REGISTER (each lists every current contact of its AOR with its expiry, RFC 3261 §10.3
        step 8), less those a ``binding_expired`` entry ended."""
        if self.summary is not None and isinstance(self.summary.get("bindings"), list):
            stop = self.stopped or 0.0
            found = []
            listed = self.summary["bindings"]
            assert isinstance(listed, list)
            for item in listed:
                if isinstance(item, dict):
                    left = item.get("expires_in")
                    at = stop + left if isinstance(left, int | float) else None
                    found.append(Binding(str(item.get("aor")), str(item.get("contact")), at,
                                         "summary"))
            return found
        current: dict[str, dict[str, float | None]] = {}
        for answer in self.register_answers:
            time = number(answer, "time")
            raw = as_text(answer.get("raw"))
            aor_uri = _ANGLE_URI.search(_header(_TO, raw))
            aor = aor_uri.group(1) if aor_uri else _header(_TO, raw).split(";")[0]
            contacts: dict[str, float | None] = {}
            head = raw.split("\r\n\r\n", 1)[0]
            for value in _CONTACT.findall(head):
                for item in _split_contacts(value):
                    angle = _ANGLE_URI.search(item)
                    expires = _EXPIRES_PARAM.search(item.split(">", 1)[-1])
                    contacts[angle.group(1) if angle else item.split(";")[0].strip()] = (
                        time + int(expires.group(1)) if expires else None)
            current[aor] = contacts
        for expired in self.expired:
            contact = str(expired.get("contact") or "")
            for contacts in current.values():
                for uri in list(contacts):
                    if uri in contact:
                        del contacts[uri]
        end = self.stopped
        return [
            Binding(aor, uri, at, "answers")
            for aor, contacts in current.items() for uri, at in contacts.items()
            if at is None or end is None or at > end
        ]


def _split_contacts(value: str) -> list[str]:
    """A Contact field value split at the commas between contacts (not inside <...>)."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(value):
        if char == "<":
            depth += 1
        elif char == ">":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append(value[start:index].strip())
            start = index + 1
    items.append(value[start:].strip())
    return [item for item in items if item]


def build_run(entries: Iterable[Entry], bad_lines: Iterable[int] = ()) -> Run:
    """Sort the entries into calls and count what the summary shows."""
    run = Run(bad_lines=list(bad_lines))
    by_id = run.by_id
    for entry in entries:
        run.entries += 1
        kind = entry.get("type")
        time = entry.get("time")
        if isinstance(time, int | float):
            if run.start is None:
                run.start = float(time)
            run.end = float(time)
        if kind == "message":
            _count_message(run, entry)
        elif kind == "finding":
            run.findings.append(entry)
        elif kind == "fault_applied":
            name = str(entry.get("fault"))
            run.faults[name] += 1
            if entry.get("emitted") == 0:
                run.faults_dropped[name] += 1
        elif kind == "timer_fired":
            run.timers[str(entry.get("timer"))] += 1
        elif kind == "run":
            run.run = entry
            continue
        elif kind == "summary":
            run.summary = entry
            continue
        elif kind == "dropped":
            run.unreadable.append(entry)
        elif kind == "binding_expired":
            run.expired.append(entry)
        elif kind not in KNOWN_TYPES:
            run.other.setdefault(str(kind), []).append(entry)
        call_id = entry.get("call_id")
        if isinstance(call_id, str) and call_id:
            call = by_id.get(call_id)
            if call is None:
                call = by_id[call_id] = Call(call_id, len(run.calls) + 1)
                run.calls.append(call)
            call.add(entry)
        else:
            run.loose.append(entry)
    return run


def _count_message(run: Run, entry: Entry) -> None:
    incoming = entry.get("direction") == "in"
    status = entry.get("status")
    if entry.get("retransmission"):
        if incoming:
            run.retransmissions_in += 1
        else:
            run.retransmissions_out += 1
        return
    if incoming and status is None:
        run.requests[str(entry.get("method"))] += 1
    elif not incoming and isinstance(status, int):
        run.responses[status] += 1
        if 200 <= status < 300 and entry.get("method") == "REGISTER":
            run.register_answers.append(entry)
