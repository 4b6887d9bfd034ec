"""The fax calls of a run, read from the journal: pages, T.30 ladder, outcome."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sipfault.record.fax_records import FaxPageRecord, FaxRecord, T30Record
from sipfault.record.records import Record

__all__ = ["FaxResult", "fax_results"]


@dataclass
class FaxResult:
    """One call's fax: ``.pages`` (width, rows, resolution, compression, bad_rows, tiff, png),
    ``.outcome`` (phase E; None while the fax runs) and ``.frames`` (the T.30 ladder)."""

    call_id: str
    pages: list[FaxPageRecord] = field(default_factory=list)
    frames: list[T30Record] = field(default_factory=list)
    outcome: FaxRecord | None = None

    @property
    def ladder(self) -> list[str]:
        """The T.30 frames as ``t30 <- DCS 14400 bps, fine, MMR, ECM`` lines."""
        return [frame.label for frame in self.frames]


def fax_results(records: Iterable[Record]) -> list[FaxResult]:
    """Every call with a T.30 frame, page or outcome, in order of its first record."""
    found: dict[str, FaxResult] = {}
    for record in records:
        if isinstance(record, T30Record | FaxPageRecord | FaxRecord):
            result = found.setdefault(record.call_id, FaxResult(record.call_id))
            if isinstance(record, T30Record):
                result.frames.append(record)
            elif isinstance(record, FaxPageRecord):
                result.pages.append(record)
            else:
                result.outcome = record
    return list(found.values())
