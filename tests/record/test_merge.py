"""Journals and pcaps of several processes merged into one file each, in time order."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from sipfault.record.jsonl import JsonLinesWriter
from sipfault.record.merge import merge_journals, merge_pcaps
from sipfault.record.pcap import PcapWriter


def write_journal(path: Path, records: list[dict[str, object]]) -> Path:
    with JsonLinesWriter.open(path) as writer:
        for record in records:
            writer.write(record)
    return path


def test_journals_interleave_by_time_between_the_first_and_last_records(tmp_path: Path) -> None:
    one = write_journal(tmp_path / "j.w0", [
        {"time": 1.0, "type": "run"}, {"time": 2.0, "type": "message", "n": "a"},
        {"time": 4.0, "type": "message", "n": "c"}, {"time": 9.0, "type": "summary"}])
    two = write_journal(tmp_path / "j.w1", [
        {"time": 1.5, "type": "run"}, {"time": 3.0, "type": "message", "n": "b"},
        {"time": 4.0, "type": "message", "n": "d"}, {"time": 5.0, "type": "message", "n": "e"}])
    with two.open("a", encoding="utf-8") as stream:
        stream.write("not json\n")  # a line cut short is skipped
    output = tmp_path / "j.jsonl"
    written = merge_journals([one, two], output, first={"time": 1.0, "type": "run"},
                             last={"time": 9.0, "type": "summary"},
                             keep=lambda record: record["type"] == "message")
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert written == len(records) == 7
    assert [record.get("n", record["type"]) for record in records] == [
        "run", "a", "b", "c", "d", "e", "summary"]  # equal times keep the parts' order


def test_pcaps_interleave_by_timestamp(tmp_path: Path) -> None:
    parts = []
    for index, times in enumerate(([1.0, 3.000001, 5.0], [2.0, 3.0, 6.5])):
        path = tmp_path / f"p.w{index}"
        with PcapWriter.open(path) as writer:
            for at in times:
                writer.write(at, "udp", ("127.0.0.1", 5070 + index), ("127.0.0.1", 5060),
                             b"OPTIONS sip:a SIP/2.0\r\n\r\n")
        parts.append(path)
    output = tmp_path / "p.pcap"
    assert merge_pcaps(parts, output) == 6
    data = output.read_bytes()
    assert data[:24] == parts[0].read_bytes()[:24]
    offset, seen = 24, []
    while offset < len(data):
        seconds, micros, kept, _ = struct.unpack_from("<IIII", data, offset)
        source = struct.unpack_from("!H", data, offset + 16 + 20)[0]  # the UDP source port
        seen.append((seconds + micros / 1e6, source))
        offset += 16 + kept
    assert offset == len(data)
    assert seen == [(1.0, 5070), (2.0, 5071), (3.0, 5071), (3.000001, 5070), (5.0, 5070),
                    (6.5, 5071)]
