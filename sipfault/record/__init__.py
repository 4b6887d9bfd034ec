"""The record of a run: one record per core event, and the files written from them.

:func:`~sipfault.record.records.to_record` turns each core event into a record
(:mod:`sipfault.record.records`); the server hands every listener these records. The journal is
the list of records: in memory for tests (:class:`sipfault.api.journal.Journal`), or a JSON-lines
file; ``Recorder.open(journal="run.jsonl", pcap="run.pcap")`` gives a listener for
``Endpoint.add_listener`` that writes both. ``sipfault run`` frames the journal with a
:class:`~sipfault.record.run.RunRecord` and a :class:`~sipfault.record.run.SummaryRecord`
(:mod:`sipfault.record.run`).
"""

from sipfault.record.jsonl import JsonLinesWriter
from sipfault.record.pcap import PcapWriter
from sipfault.record.recorder import Recorder
from sipfault.record.records import (
    DroppedRecord,
    FaultRecord,
    FindingRecord,
    MediaRecord,
    MessageRecord,
    OtherRecord,
    OutcomeRecord,
    Record,
    RuleRecord,
    UnmatchedRecord,
    to_record,
)
from sipfault.record.run import BindingState, RunRecord, SummaryRecord

__all__ = [
    "BindingState",
    "DroppedRecord",
    "FaultRecord",
    "FindingRecord",
    "JsonLinesWriter",
    "MediaRecord",
    "MessageRecord",
    "OtherRecord",
    "OutcomeRecord",
    "PcapWriter",
    "Record",
    "Recorder",
    "RuleRecord",
    "RunRecord",
    "SummaryRecord",
    "UnmatchedRecord",
    "to_record",
]
