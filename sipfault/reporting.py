"""What ``sipfault run`` prints: one line per message, and a summary at exit.

Each line is a record's own line (:mod:`sipfault.record.records`) after its wall-clock time, so
the console reads as the Python API's message ladder does: ``<-`` for a message received from
the client, ``->`` for one sipfault sent.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import TYPE_CHECKING, TextIO

from sipfault.record.records import (
    CALL_ID_WIDTH,
    DroppedRecord,
    FindingRecord,
    MediaRecord,
    MessageRecord,
    OutcomeRecord,
    Record,
)

if TYPE_CHECKING:
    from sipfault.endpoint import Endpoint


def format_clock(wall: float) -> str:
    """``02:38:17.099``: local time of day to the millisecond."""
    return datetime.datetime.fromtimestamp(wall).strftime("%H:%M:%S.%f")[:-3]


class MessageCounts:
    """Requests by method and responses by code, in and out, first transmissions only."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: Counter[int] = Counter()
        self.retransmissions_in = 0
        self.retransmissions_out = 0
        self.dropped = 0
        self.findings: Counter[str] = Counter()
        self.media: dict[str, list[MediaRecord]] = {}
        """The streams that stopped, by Call-ID, in order."""

    def on_record(self, record: Record) -> None:
        """Count one record."""
        if isinstance(record, MessageRecord):
            if record.retransmission:
                if record.received:
                    self.retransmissions_in += 1
                else:
                    self.retransmissions_out += 1
            elif record.received and record.is_request:
                self.requests[record.method] += 1
            elif not record.received and record.status is not None:
                self.responses[record.status] += 1
        elif isinstance(record, DroppedRecord):
            self.dropped += 1
        elif isinstance(record, FindingRecord):
            self.findings[record.kind] += 1
        elif isinstance(record, MediaRecord) and record.event == "stop":
            self.media.setdefault(record.call_id, []).append(record)


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
            print(line, file=self.out, flush=True)

    def format(self, record: Record) -> str | None:
        """The line of a message, a drop or a finding (with the whole message under it when
        verbose); None for the records the console leaves to the journal."""
        if not isinstance(record, MessageRecord | DroppedRecord | FindingRecord | MediaRecord
                          | OutcomeRecord):
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
        """Requests by method, responses by code, retransmissions, drops and findings."""
        counts = self.counts
        requests = " ".join(f"{m}={n}" for m, n in sorted(counts.requests.items()))
        responses = " ".join(f"{c}={n}" for c, n in sorted(counts.responses.items()))
        lines = [
            f"summary: scenario {server.scenario.name}, seed {server.seed}",
            f"requests: {requests or '-'}",
            f"responses: {responses or '-'}",
            f"retransmissions: in={counts.retransmissions_in} out={counts.retransmissions_out}",
            f"dropped: {counts.dropped}",
        ]
        if counts.findings:
            lines.append("findings: " + " ".join(
                f"{kind}={n}" for kind, n in sorted(counts.findings.items())))
        for call_id, stopped in counts.media.items():
            lines.append(f"media [{call_id[:CALL_ID_WIDTH]}] " + "; ".join(
                _stream_summary(record) for record in stopped))
        now = server.now()
        for aor, registered in sorted(server.bindings().items()):
            for binding in registered:
                lines.append(f"binding: {aor} -> {binding.uri} "
                             f"(expires in {binding.remaining(now)} s)")
        print("\n".join(lines), file=self.out, flush=True)


def _stream_summary(record: MediaRecord) -> str:
    """``audio#0 250 packets 43000 bytes (RTP 250, UDPTL 0, lost 0)``."""
    totals = record.totals
    if totals is None:
        return record.name
    return (f"{record.name} {totals.packets} packets {totals.bytes} bytes "
            f"(RTP {totals.rtp}, UDPTL {totals.udptl}, lost {totals.lost})")
