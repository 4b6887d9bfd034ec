"""The records of a fax call: each T.30 frame, each page with its files, and the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sipfault.core.events import FaxOutcome, FaxPage, T30Frame

__all__ = ["FaxPageRecord", "FaxRecord", "T30Record", "fax_record"]

_INDENT = "   "


def _short(call_id: str) -> str:
    return f"[{call_id[:8]}]"


@dataclass(frozen=True, slots=True)
class T30Record:
    """A T.30 frame sent or received: ``t30 <- DCS 14400 bps, fine, MMR, ECM``."""

    type: ClassVar[str] = "t30"

    time: float
    call_id: str
    direction: str
    frame: str

    @property
    def label(self) -> str:
        return f"t30 {self.direction} {self.frame}"

    def line(self) -> str:
        return f"{_INDENT}{self.label} {_short(self.call_id)}"

    def to_json(self) -> dict[str, object]:
        # "out" for sipfault's frames, "in" for the far end's: the report draws arrows.
        return {"time": self.time, "type": self.type, "call_id": self.call_id,
                "direction": "out" if self.direction == "->" else "in", "frame": self.frame}


@dataclass(frozen=True, slots=True)
class FaxPageRecord:
    """A page received (with its TIFF and PNG) or sent."""

    type: ClassVar[str] = "fax_page"

    time: float
    call_id: str
    number: int
    sent: bool
    width: int
    rows: int
    resolution: str
    compression: str
    bad_rows: int
    response: str
    tiff: str | None
    png: str | None

    @property
    def label(self) -> str:
        verb = "sent" if self.sent else "received"
        files = f" -> {self.png}" if self.png else ""
        return (f"fax page {self.number} {verb}: {self.width}x{self.rows}, {self.resolution}, "
                f"{self.compression}, {self.bad_rows} bad rows, {self.response}{files}")

    def line(self) -> str:
        return f"{_INDENT}{self.label} {_short(self.call_id)}"

    def to_json(self) -> dict[str, object]:
        return {"time": self.time, "type": self.type, "call_id": self.call_id,
                "number": self.number, "sent": self.sent, "width": self.width,
                "rows": self.rows, "resolution": self.resolution,
                "compression": self.compression, "bad_rows": self.bad_rows,
                "response": self.response, "tiff": self.tiff, "png": self.png}


@dataclass(frozen=True, slots=True)
class FaxRecord:
    """How a fax call ended: ``fax received: 3 pages, 14400 bps, ECM, 0 bad rows``."""

    type: ClassVar[str] = "fax"

    time: float
    call_id: str
    role: str
    pages: int
    rate: int
    ecm: bool
    bad_rows: int
    result: str
    text: str
    ok: bool
    tiff: str | None

    @property
    def label(self) -> str:
        verb = "received" if self.role == "receive" else "sent"
        ecm = ", ECM" if self.ecm else ""
        outcome = "" if self.ok else f" ({self.result}: {self.text})"
        return (f"fax {verb}: {self.pages} pages, {self.rate} bps{ecm}, {self.bad_rows} bad "
                f"rows{outcome}")

    def line(self) -> str:
        return f"{_INDENT}{self.label} {_short(self.call_id)}"

    def to_json(self) -> dict[str, object]:
        return {"time": self.time, "type": self.type, "call_id": self.call_id,
                "role": self.role, "pages": self.pages, "rate": self.rate, "ecm": self.ecm,
                "bad_rows": self.bad_rows, "result": self.result, "text": self.text,
                "ok": self.ok, "tiff": self.tiff}


def fax_record(event: T30Frame | FaxPage | FaxOutcome,
               wall: float) -> T30Record | FaxPageRecord | FaxRecord:
    """The record of a fax event at wall-clock time ``wall``."""
    if isinstance(event, T30Frame):
        return T30Record(wall, event.call_id, event.direction, event.frame)
    if isinstance(event, FaxPage):
        return FaxPageRecord(wall, event.call_id, event.number, event.sent, event.width,
                             event.rows, event.resolution, event.compression, event.bad_rows,
                             event.response, event.tiff, event.png)
    return FaxRecord(wall, event.call_id, event.role, event.pages, event.rate, event.ecm,
                     event.bad_rows, event.result, event.text, event.ok, event.tiff)
