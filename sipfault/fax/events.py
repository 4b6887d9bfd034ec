"""What a fax terminal reports: frames, pages, findings about the far end, the outcome."""

from __future__ import annotations

from dataclasses import dataclass

from sipfault.fax.phase_e import DESCRIPTIONS, PhaseE
from sipfault.fax.tiff import Page


@dataclass(frozen=True)
class FrameEvent:
    """A T.30 frame sent (``->``) or received (``<-``), with its decoded content."""

    at: float
    sent: bool
    name: str
    detail: str = ""

    def line(self) -> str:
        arrow = "->" if self.sent else "<-"
        return f"t30 {arrow} {self.name} {self.detail}".rstrip()


@dataclass(frozen=True)
class SignalEvent:
    """CNG, CED, training, TCF or page data sent or received."""

    at: float
    sent: bool
    text: str

    def line(self) -> str:
        return f"t30 {'->' if self.sent else '<-'} {self.text}"


@dataclass(frozen=True)
class PageEvent:
    """A page received (with its rows) or sent, and how it was answered."""

    at: float
    sent: bool
    number: int
    page: Page
    response: str
    detail: str = ""

    def line(self) -> str:
        verb = "sent" if self.sent else "received"
        bad = f", {self.page.bad_rows} bad rows" if self.page.bad_rows else ""
        return (f"t30 page {self.number} {verb}: {self.page.width}x{self.page.length}"
                f"{bad} {self.detail} -> {self.response}").replace("  ", " ")


@dataclass(frozen=True)
class Finding:
    """Something the far end did that T.30 says it should not (or should have) done."""

    at: float
    code: str
    text: str

    def line(self) -> str:
        return f"t30 finding {self.code}: {self.text}"


@dataclass(frozen=True)
class FaultEvent:
    """A fault this terminal injected on purpose."""

    at: float
    name: str
    text: str

    def line(self) -> str:
        return f"t30 fault {self.name}: {self.text}"


@dataclass(frozen=True)
class Outcome:
    """Phase E: how the call ended."""

    at: float
    result: PhaseE
    pages: int

    def line(self) -> str:
        text = DESCRIPTIONS.get(self.result, self.result.name.lower())
        return f"t30 phase E {self.result.label} ({text}), {self.pages} pages"


FaxEvent = FrameEvent | SignalEvent | PageEvent | Finding | FaultEvent | Outcome
