"""Journal entries as the report reads them: plain JSON objects, from a file or from records.

An entry is one journal object (:mod:`sipfault.record.records`, :mod:`sipfault.record.run`):
a ``dict`` with ``time`` and ``type``. The report reads them, never the records themselves, so
that a journal file and a test's in-memory journal (each record's ``to_json()``) render alike,
and so that a record type added later (media, fax, T.30...) is shown without a change here.

Bytes come in three shapes: text (the journal file's UTF-8), ``{"base64": ...}`` (bytes that
are not UTF-8) and ``bytes`` (``to_json()`` before the writer converts them); :func:`as_text`
and :func:`as_bytes` read all three.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Entry",
    "JournalFile",
    "as_bytes",
    "as_text",
    "entries_of",
    "integer",
    "number",
    "read_journal",
]

Entry = dict[str, object]
"""One journal object."""


class HasJson(Protocol):
    """A record: anything with the journal's ``to_json()``."""

    def to_json(self) -> dict[str, object]:
        """The journal object."""
        ...


@dataclass
class JournalFile:
    """The entries of a journal file, and the lines that were not JSON objects."""

    entries: list[Entry] = field(default_factory=list)
    """Every object, in file order."""
    bad_lines: list[int] = field(default_factory=list)
    """Numbers (from 1) of lines that could not be read, e.g. the last one of a killed run."""


def read_journal(path: str | os.PathLike[str]) -> JournalFile:
    """Read a JSON-lines journal; lines that are not JSON objects are counted, not fatal."""
    journal = JournalFile()
    loads = json.loads
    with open(path, encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                value = loads(line)
            except ValueError:
                journal.bad_lines.append(number)
                continue
            if isinstance(value, dict) and isinstance(value.get("type"), str):
                journal.entries.append(value)
            else:
                journal.bad_lines.append(number)
    return journal


def entries_of(records: Iterable[HasJson]) -> Iterator[Entry]:
    """The journal objects of records (a test's in-memory journal)."""
    for record in records:
        yield record.to_json()


def as_bytes(value: object) -> bytes | None:
    """Bytes from text, ``{"base64": ...}`` or bytes; None for anything else."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def as_text(value: object) -> str:
    """Readable text of a journal value: bytes decoded (undecodable ones replaced)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raw = as_bytes(value)
    if raw is not None:
        return raw.decode("utf-8", "replace")
    return str(value)


def number(entry: Entry, name: str, default: float = 0.0) -> float:
    """A numeric field as a float (``time``, ``duration``...), else ``default``."""
    value = entry.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def integer(entry: Entry, name: str) -> int | None:
    """An integer field (``status``, ``attempt``, ``emitted``...), else None."""
    value = entry.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
