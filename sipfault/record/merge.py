"""Merge the journals and pcaps of several processes into one file each, in time order.

``sipfault run --workers N`` runs N processes, each writing its own journal and pcap; at the
end they become the one journal and the one capture asked for. Each part is already in time
order (a process writes its records as they happen), so the merge is a streaming k-way merge
(:func:`heapq.merge`) on the records' wall-clock times: equal times keep the parts' order.
"""

from __future__ import annotations

import heapq
import json
import os
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import BinaryIO

from sipfault.record.jsonl import encode_line

__all__ = ["merge_journals", "merge_pcaps"]

Path = str | os.PathLike[str]

_PCAP_HEADER = 24
_PACKET_HEADER = struct.Struct("<IIII")  # seconds, microseconds, length kept, length on wire


def _journal_lines(path: Path, keep: Callable[[dict[str, object]], bool]
                   ) -> Iterator[tuple[float, str]]:
    """(time, line) of each record ``keep`` takes; a line that is no JSON object is skipped."""
    with open(path, encoding="utf-8", newline="\n") as stream:
        for line in stream:
            try:
                record = json.loads(line)
                at = float(record["time"])
            except (ValueError, TypeError, KeyError):
                continue
            if keep(record):
                yield at, line if line.endswith("\n") else line + "\n"


def merge_journals(parts: Sequence[Path], output: Path, *,
                   first: Mapping[str, object] | None = None,
                   last: Mapping[str, object] | None = None,
                   keep: Callable[[dict[str, object]], bool] = lambda record: True) -> int:
    """Write the records of ``parts`` that ``keep`` takes to ``output`` in time order, after
    ``first`` and before ``last`` (records of the whole run, such as ``run`` and ``summary``);
    return the number of records written."""
    streams = [_journal_lines(part, keep) for part in parts]
    written = 0
    with open(output, "w", encoding="utf-8", newline="\n") as out:
        if first is not None:
            out.write(encode_line(first))
            written += 1
        for _, line in heapq.merge(*streams, key=lambda item: item[0]):
            out.write(line)
            written += 1
        if last is not None:
            out.write(encode_line(last))
            written += 1
    return written


def _packets(stream: BinaryIO) -> Iterator[tuple[tuple[int, int], bytes]]:
    """((seconds, microseconds), header and packet) of each record after the file header."""
    while True:
        header = stream.read(_PACKET_HEADER.size)
        if len(header) < _PACKET_HEADER.size:
            return
        seconds, micros, kept, _ = _PACKET_HEADER.unpack(header)
        packet = stream.read(kept)
        if len(packet) < kept:
            return  # a record cut short: the writer was killed mid-way
        yield (seconds, micros), header + packet


def merge_pcaps(parts: Iterable[Path], output: Path) -> int:
    """Write the packets of the pcap files ``parts`` (as :class:`~sipfault.record.pcap.
    PcapWriter` writes them: little-endian, microseconds) to ``output`` in time order, under
    the first part's file header; return the number of packets written."""
    streams = [open(part, "rb") for part in parts]  # noqa: SIM115 - closed below
    try:
        headers = [stream.read(_PCAP_HEADER) for stream in streams]
        written = 0
        with open(output, "wb") as out:
            out.write(next((header for header in headers if len(header) == _PCAP_HEADER),
                           b""))
            for _, record in heapq.merge(*(_packets(stream) for stream in streams),
                                         key=lambda item: item[0]):
                out.write(record)
                written += 1
        return written
    finally:
        for stream in streams:
            stream.close()
