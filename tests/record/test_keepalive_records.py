"""Keep-alives and connections that end mid-message, as the console, the journal file and the
summary show them."""

from __future__ import annotations

import io
import json

from sipfault.core.events import KeepAliveReceived, MessageDropped, Peer
from sipfault.record.jsonl import JsonLinesWriter
from sipfault.record.records import DroppedRecord, KeepAliveRecord, to_record
from sipfault.reporting import ConsoleReporter, MessageCounts

PHONE = Peer("udp", ("127.0.0.1", 40000), ("127.0.0.1", 5060))
STREAM = Peer("tcp", ("::1", 40001), ("::1", 5060), connection=4)


def test_a_keepalive_is_its_own_record_in_the_journal() -> None:
    record = to_record(KeepAliveReceived(1.0, PHONE, "stun"), 1000.0)
    assert record == KeepAliveRecord(1000.0, "stun", "udp", ("127.0.0.1", 40000),
                                     ("127.0.0.1", 5060))
    assert record.to_json() == {
        "time": 1000.0, "type": "keepalive", "kind": "stun", "transport": "udp",
        "src": {"host": "127.0.0.1", "port": 40000}, "dst": {"host": "127.0.0.1", "port": 5060},
    }
    assert record.line() == ".. udp 127.0.0.1:40000 keep-alive (stun)"
    crlf = to_record(KeepAliveReceived(2.0, STREAM, "crlf"), 1001.0)
    assert crlf.line() == ".. tcp [::1]:40001 keep-alive (crlf)"


def test_keepalives_are_counted_and_shown_only_when_verbose() -> None:
    counts = MessageCounts()
    records = [to_record(KeepAliveReceived(float(n), PHONE, "crlf"), 1000.0 + n)
               for n in range(3)]
    for record in records:
        counts.on_record(record)
    assert (counts.keepalives, counts.dropped) == (3, 0)
    assert ConsoleReporter(io.StringIO()).format(records[0]) is None
    verbose = ConsoleReporter(io.StringIO(), verbose=True).format(records[0])
    assert verbose is not None and verbose.endswith(".. udp 127.0.0.1:40000 keep-alive (crlf)")


def test_a_connection_closed_mid_message_is_a_journal_line() -> None:
    held = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2."
    assert len(held) == 44
    record = to_record(MessageDropped(3.0, STREAM, held,
                                      f"connection closed with {len(held)} bytes not parsed"),
                       1003.0)
    assert isinstance(record, DroppedRecord)
    out = io.StringIO()
    writer = JsonLinesWriter(out)
    writer.write(record.to_json())
    line = json.loads(out.getvalue())
    assert line["type"] == "dropped"
    assert line["reason"] == "connection closed with 44 bytes not parsed"
    assert line["raw"] == held.decode()
