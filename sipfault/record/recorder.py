"""Write a run's records to a journal file (JSON lines) and a pcap, as they happen.

A :class:`Recorder` is a server listener (``server.add_listener(recorder.on_record)``): it
writes each record's JSON object (:mod:`sipfault.record.records` lists them) as one line of the
journal, and each message (and each dropped datagram) as a packet of the pcap, with its real
addresses and ports (see :mod:`sipfault.record.pcap` for reading it with tshark on a port other
than 5060). Both writers flush after every record, so a run that is killed keeps what it saw.

Times are the records' wall-clock times (``time.time()``, seconds since the Unix epoch), as pcap
requires; the server maps its loop's clock to them (:meth:`sipfault.endpoint.Endpoint.wall_time`).
"""

from __future__ import annotations

import os
from typing import TextIO

from sipfault.record.jsonl import JsonLinesWriter
from sipfault.record.pcap import PcapWriter
from sipfault.record.records import DroppedRecord, MessageRecord, Record
from sipfault.record.run import RunRecord, SummaryRecord

__all__ = ["Recorder"]


class Recorder:
    """Writes each record to a JSON-lines journal and/or a pcap file, flushing as it goes.

    A failing write (a full disk) stops that writer and is kept in :attr:`errors`; the server
    goes on answering.
    """

    def __init__(self, journal: JsonLinesWriter | None = None,
                 pcap: PcapWriter | None = None) -> None:
        """Write to ``journal`` and ``pcap``, either of which may be None."""
        self.journal = journal
        """The journal file's writer, or None."""
        self.pcap = pcap
        """The capture's writer, or None."""
        self.errors: list[str] = []
        """What went wrong writing, one line each."""

    @classmethod
    def open(
        cls,
        journal: str | os.PathLike[str] | None = None,
        pcap: str | os.PathLike[str] | None = None,
    ) -> Recorder:
        """Create (or truncate) the files given; raise OSError if one cannot be created."""
        journal_writer = JsonLinesWriter.open(journal) if journal is not None else None
        try:
            pcap_writer = PcapWriter.open(pcap) if pcap is not None else None
        except BaseException:
            if journal_writer is not None:
                journal_writer.close()
            raise
        return cls(journal_writer, pcap_writer)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def writing(self) -> bool:
        """Whether there is a file left to write to."""
        return self.journal is not None or self.pcap is not None

    def on_record(self, record: Record | RunRecord | SummaryRecord) -> None:
        """Write one record (the server's listener; ``sipfault run`` adds the run and summary
        records that frame the journal)."""
        if self.journal is not None:
            try:
                self.journal.write(record.to_json())
            except (OSError, ValueError, TypeError) as exc:
                self.errors.append(f"journal: {exc}; no more records are written")
                self.journal = None
        if self.pcap is not None and isinstance(record, MessageRecord | DroppedRecord):
            try:
                if record.raw:
                    self.pcap.write(record.time, record.transport, record.source,
                                    record.destination, record.raw)
            except (OSError, ValueError) as exc:
                self.errors.append(f"pcap: {exc}; no more packets are written")
                self.pcap = None

    def close(self) -> None:
        """Flush and close both writers."""
        for writer in (self.journal, self.pcap):
            if writer is not None:
                writer.close()

    def report_errors(self, err: TextIO) -> None:
        """Print what went wrong writing, if anything."""
        for line in self.errors:
            print(f"sipfault: {line}", file=err)
