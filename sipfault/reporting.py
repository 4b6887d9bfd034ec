"""What ``sipfault run`` prints: one line per message, and a summary at exit.

Each line is a record's own line (:mod:`sipfault.record.records`) after its wall-clock time, so
the console reads as the Python API's message ladder does: ``<-`` for a message received from
the client, ``->`` for one sipfault sent.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.record.fax_records import FaxPageRecord, FaxRecord, T30Record
from sipfault.record.jsonl import valid_text
from sipfault.record.records import (
    CALL_ID_WIDTH,
    DroppedRecord,
    FaultRecord,
    FindingRecord,
    KeepAliveRecord,
    MediaRecord,
    MessageRecord,
    OtherRecord,
    OutcomeRecord,
    Record,
    RuleRecord,
    SheddingRecord,
    UnmatchedRecord,
)
from sipfault.sip.message import Request, Response

if TYPE_CHECKING:
    from sipfault.endpoint import Endpoint


def format_clock(wall: float) -> str:
    """``02:38:17.099``: local time of day to the millisecond."""
    return datetime.datetime.fromtimestamp(wall).strftime("%H:%M:%S.%f")[:-3]


_PENDING_LIMIT = 4096
"""Responses whose first transmission a fault withheld, kept until one goes out: the oldest
are forgotten past this many (a ``drop`` fault never lets one go)."""


MEDIA_CALLS_LISTED = 20
"""Calls whose media streams the summary lists one by one, the latest ones; the rest are in
the ``media:`` totals, so a load run of 100,000 calls neither keeps nor prints them all."""


OTHER_METHOD = "other"
"""How the summary counts a request whose method sipfault does not know (RFC 3261 §8.2.1
extension methods, garbage): one counter for all of them, so a flood of invented methods
cannot grow the counts (and the printed line) without bound."""


def counted_method(method: str) -> str:
    """The method's own name when sipfault knows it, else :data:`OTHER_METHOD`."""
    return method if method in KNOWN_METHODS else OTHER_METHOD


class MessageCounts:
    """Requests by method and responses by code, in and out, first transmissions only.

    A response whose first transmission a fault withheld counts in ``withheld``, and in
    ``responses`` when a retransmission of it gets through; copies a fault duplicated are
    counted in ``faults`` only. Every counter has a bounded set of keys: methods beyond
    ``KNOWN_METHODS`` count as ``other``, status codes are three digits, findings and faults
    come from fixed lists.
    """

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: Counter[int] = Counter()
        self.withheld: Counter[int] = Counter()
        """Responses by code whose first transmission a fault withheld."""
        self.faults: Counter[str] = Counter()
        """Transmissions a fault dropped, altered or duplicated, by fault name."""
        self._pending: dict[int, None] = {}  # ids of withheld responses not yet sent
        self.retransmissions_in = 0
        self.retransmissions_out = 0
        self.dropped = 0
        self.keepalives = 0
        self.findings: Counter[str] = Counter()
        self.unmatched: Counter[tuple[str, int]] = Counter()
        """Requests no rule took, by method and the status the default answered."""
        self.media: dict[str, list[MediaRecord]] = {}
        """The streams that stopped, by Call-ID, in order: the last :data:`MEDIA_CALLS_LISTED`
        calls."""
        self.media_calls = 0
        """Calls with a stream that stopped, all of them."""
        self.media_streams = 0
        self.media_packets = 0
        self.media_bytes = 0
        self.faxes: list[FaxRecord] = []
        """The outcome of each fax call."""
        self.shedding_episodes = 0
        """Times load shedding began."""
        self.shed_refused = 0
        """New INVITEs and REGISTERs refused with 503 under load, in episodes that ended."""
        self.shedding_seconds = 0.0
        """How long load shedding lasted, in episodes that ended."""
        self._counters: dict[type[object], Callable[[Any], None]] = {
            MessageRecord: self._count_message, DroppedRecord: self._count_dropped,
            KeepAliveRecord: self._count_keepalive, FindingRecord: self._count_finding,
            UnmatchedRecord: self._count_unmatched, FaultRecord: self._count_fault,
            MediaRecord: self._count_media_record, FaxRecord: self._count_fax,
            SheddingRecord: self._count_shedding, RuleRecord: self._count_nothing,
            OutcomeRecord: self._count_nothing, T30Record: self._count_nothing,
            FaxPageRecord: self._count_nothing, OtherRecord: self._count_nothing,
        }
        """How each kind of record is counted, by its exact class: one look-up per record."""

    def on_record(self, record: Record) -> None:
        """Count one record."""
        count = self._counters.get(type(record))
        if count is not None:
            count(record)
        else:
            self._count_by_kind(record)

    def _count_by_kind(self, record: Record) -> None:
        """:meth:`on_record` for a record whose exact class is not in ``_counters``: counted
        as the nearest class it derives from; an unknown kind is not counted."""
        for base in type(record).__mro__[1:]:
            count = self._counters.get(base)
            if count is not None:
                count(record)
                return

    def _count_message(self, record: MessageRecord) -> None:
        # Read once: a server under load counts several of these per call.
        message = record.message
        if record.direction == "in":
            if record.retransmission:
                self.retransmissions_in += 1
            elif isinstance(message, Request):
                self.requests[counted_method(message.method)] += 1
            return
        if record.fault_effect == "duplicated":
            return
        pending = self._pending
        if pending and id(message) in pending:
            del pending[id(message)]  # the first copy of it that went out
            if isinstance(message, Response):
                self.responses[message.status] += 1
        elif record.retransmission:
            self.retransmissions_out += 1
        elif isinstance(message, Response):
            self.responses[message.status] += 1

    def _count_dropped(self, record: DroppedRecord) -> None:
        self.dropped += 1

    def _count_keepalive(self, record: KeepAliveRecord) -> None:
        self.keepalives += 1

    def _count_finding(self, record: FindingRecord) -> None:
        self.findings[record.kind] += 1

    def _count_unmatched(self, record: UnmatchedRecord) -> None:
        self.unmatched[counted_method(record.method), record.status] += 1

    def _count_media_record(self, record: MediaRecord) -> None:
        if record.event != "stop":  # a stream's start and first packets are not counted
            return
        stopped = self.media.get(record.call_id)
        if stopped is None:
            self.media_calls += 1
            if len(self.media) >= MEDIA_CALLS_LISTED:
                del self.media[next(iter(self.media))]
            stopped = self.media[record.call_id] = []
        stopped.append(record)
        self.media_streams += 1
        if record.totals is not None:
            self.media_packets += record.totals.packets
            self.media_bytes += record.totals.bytes

    def _count_fax(self, record: FaxRecord) -> None:
        self.faxes.append(record)

    def _count_shedding(self, record: SheddingRecord) -> None:
        if record.shedding.active:
            self.shedding_episodes += 1
        else:
            self.shed_refused += record.shedding.refused
            self.shedding_seconds += record.shedding.duration

    def _count_nothing(self, record: Record) -> None:
        pass

    def totals(self) -> dict[str, object]:
        """The counters as JSON (``sipfault run --workers`` sends each worker's to the
        parent, which adds them up with :meth:`add`); media as totals, faxes left out."""
        return {"requests": dict(self.requests),
                "responses": {str(code): n for code, n in self.responses.items()},
                "withheld": {str(code): n for code, n in self.withheld.items()},
                "faults": dict(self.faults), "findings": dict(self.findings),
                "unmatched": [[method, status, n]
                              for (method, status), n in self.unmatched.items()],
                "retransmissions_in": self.retransmissions_in,
                "retransmissions_out": self.retransmissions_out,
                "dropped": self.dropped, "keepalives": self.keepalives,
                "media": [self.media_calls, self.media_streams, self.media_packets,
                          self.media_bytes],
                "shedding": [self.shedding_episodes, self.shed_refused,
                             self.shedding_seconds]}

    def add(self, totals: Mapping[str, Any]) -> None:
        """Add the counters of :meth:`totals` (another process's) to these."""
        self.requests.update(totals["requests"])
        self.responses.update({int(code): n for code, n in totals["responses"].items()})
        self.withheld.update({int(code): n for code, n in totals["withheld"].items()})
        self.faults.update(totals["faults"])
        self.findings.update(totals["findings"])
        for method, status, n in totals["unmatched"]:
            self.unmatched[method, status] += n
        self.retransmissions_in += totals["retransmissions_in"]
        self.retransmissions_out += totals["retransmissions_out"]
        self.dropped += totals["dropped"]
        self.keepalives += totals["keepalives"]
        calls, streams, packets, octets = totals.get("media", (0, 0, 0, 0))
        self.media_calls += calls
        self.media_streams += streams
        self.media_packets += packets
        self.media_bytes += octets
        episodes, refused, seconds = totals.get("shedding", (0, 0, 0.0))
        self.shedding_episodes += episodes
        self.shed_refused += refused
        self.shedding_seconds += seconds

    def _count_fault(self, record: FaultRecord) -> None:
        if record.effect != "passed":
            self.faults[record.fault] += 1
        if record.withheld and not record.retransmission:
            self.withheld[record.status] += 1
            if len(self._pending) >= _PENDING_LIMIT:
                del self._pending[next(iter(self._pending))]
            self._pending[id(record.message)] = None


class ConsoleReporter:
    """Prints the message ladder as it happens and the summary at the end."""

    def __init__(self, out: TextIO, *, verbose: bool = False, quiet: bool = False) -> None:
        self.out = out
        self.verbose = verbose
        self.quiet = quiet
        self.counts = MessageCounts()

    def on_record(self, record: Record) -> None:
        """Count the record and print its line (the server's listener)."""
        self.counts.on_record(record)
        if self.quiet:
            return
        line = self.format(record)
        if line is not None:
            # Bytes that were not UTF-8 are shown as \xNN, as the journal writes them: a
            # console in strict UTF-8 cannot print the surrogates the parser keeps them as.
            print(valid_text(line), file=self.out, flush=True)

    def format(self, record: Record) -> str | None:
        """The line of a message, a drop or a finding (with the whole message under it when
        verbose; keep-alives too when verbose); None for the records the console leaves to
        the journal."""
        if isinstance(record, KeepAliveRecord) and self.verbose:
            return f"{format_clock(record.time)} {record.line()}"
        if isinstance(record, FaultRecord) and not record.withheld:
            return None  # the copies that went out carry the fault on their own lines
        if not isinstance(record, MessageRecord | DroppedRecord | FindingRecord | FaultRecord
                          | MediaRecord | OutcomeRecord | T30Record | FaxPageRecord | FaxRecord
                          | SheddingRecord):
            return None
        line = f"{format_clock(record.time)} {record.line()}"
        if self.verbose and isinstance(record, MessageRecord):
            text = record.raw.decode("utf-8", "replace").rstrip("\r\n")
            line += "\n" + "\n".join(f"    {row}" for row in text.split("\r\n"))
        return line

    def flush(self) -> None:
        """Flush the output stream."""
        self.out.flush()

    def print_summary(self, server: Endpoint) -> None:
        """Requests by method, responses by code, retransmissions, drops and findings, and
        what the server still holds (``live:``, see :class:`sipfault.core.counts.LiveCounts`)."""
        counts = self.counts
        lines = [f"summary: scenario {server.scenario.name}, seed {server.seed}",
                 *count_lines(counts), *shedding_lines(counts, server), *media_lines(counts),
                 f"live: {server.counts().line()}", *fax_lines(counts),
                 *binding_lines(server)]
        print("\n".join(lines), file=self.out, flush=True)


def count_lines(counts: MessageCounts) -> list[str]:
    """The summary's lines of counts, ``requests:`` to ``findings:``."""
    requests = " ".join(f"{m}={n}" for m, n in sorted(counts.requests.items()))
    responses = " ".join(f"{c}={n}" for c, n in sorted(counts.responses.items()))
    if counts.withheld:
        responses = f"{responses or '-'} (withheld by faults: " + " ".join(
            f"{c}={n}" for c, n in sorted(counts.withheld.items())) + ")"
    lines = [
        f"requests: {requests or '-'}",
        f"responses: {responses or '-'}",
        f"retransmissions: in={counts.retransmissions_in} out={counts.retransmissions_out}",
        f"dropped: {counts.dropped}",
        f"keepalives: {counts.keepalives}",
    ]
    if counts.faults:
        lines.append("faults: " + " ".join(
            f"{name}={n}" for name, n in sorted(counts.faults.items())))
    if counts.unmatched:
        lines.append("unmatched: " + ", ".join(
            f"{method}={n} -> {status}"
            for (method, status), n in sorted(counts.unmatched.items())))
    if counts.findings:
        lines.append("findings: " + " ".join(
            f"{kind}={n}" for kind, n in sorted(counts.findings.items())))
    return lines


def shedding_lines(counts: MessageCounts, server: Endpoint | None = None) -> list[str]:
    """``load shedding: ...`` when it happened; with ``server``, an episode still going
    counts too."""
    if not counts.shedding_episodes:
        return []
    refused, seconds = counts.shed_refused, counts.shedding_seconds
    if server is not None and server.uas.admission.shedding:  # still going as the run ends
        admission = server.uas.admission
        refused += admission.refused
        seconds += server.now() - admission.since
    return [f"load shedding: {counts.shedding_episodes} episode(s), "
            f"{seconds:.1f} s, {refused} INVITE/REGISTER refused with 503"]


def media_lines(counts: MessageCounts) -> list[str]:
    """One ``media [call-id] ...`` line per call whose streams stopped, the last
    :data:`MEDIA_CALLS_LISTED`, after a ``media:`` line of totals when there were more."""
    lines = []
    if counts.media_calls > len(counts.media):
        listed = f" (the last {len(counts.media)} calls below)" if counts.media else ""
        lines.append(f"media: {counts.media_calls} calls, {counts.media_streams} streams, "
                     f"{counts.media_packets} packets, {counts.media_bytes} bytes{listed}")
    return lines + [f"media [{call_id[:CALL_ID_WIDTH]}] " + "; ".join(
        _stream_summary(record) for record in stopped)
        for call_id, stopped in counts.media.items()]


def fax_lines(counts: MessageCounts) -> list[str]:
    """One line per fax call: its outcome."""
    return [f"{fax.label} [{fax.call_id[:CALL_ID_WIDTH]}]" for fax in counts.faxes]


def binding_lines(server: Endpoint) -> list[str]:
    """``binding: AOR -> URI (expires in N s)`` for each registration still current."""
    now = server.now()
    return [f"binding: {aor} -> {binding.uri} (expires in {binding.remaining(now)} s)"
            for aor, registered in sorted(server.bindings().items())
            for binding in registered]


def _stream_summary(record: MediaRecord) -> str:
    """``audio#0 250 packets 43000 bytes (RTP 250, UDPTL 0, lost 0)``."""
    totals = record.totals
    if totals is None:
        return record.name
    return (f"{record.name} {totals.packets} packets {totals.bytes} bytes "
            f"(RTP {totals.rtp}, UDPTL {totals.udptl}, lost {totals.lost})")
