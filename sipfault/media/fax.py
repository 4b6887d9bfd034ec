"""The fax terminal of a T.38 stream, as the core drives it (``core.fax_streams.FaxStream``).

:class:`FaxCall` joins a :class:`~sipfault.fax.session.FaxSession` (ITU-T T.38 §9.1 UDPTL,
T.30) to the core: it builds the terminal from a rule's ``fax`` settings, turns what the
terminal reports into core events (``T30Frame``, ``FaxPage``, ``FaxOutcome``, ``Finding``
citing ITU-T T.30) and writes received pages into the receive directory: one multi-page TIFF
Class F per call (RFC 2306) and a PNG per page, named by Call-ID.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from sipfault.core.events import Event, FaxOutcome, FaxPage, Finding, T30Frame
from sipfault.fax.dis import Resolution
from sipfault.fax.events import FaultEvent, FrameEvent, Outcome, PageEvent, SignalEvent
from sipfault.fax.events import Finding as FaxFinding
from sipfault.fax.faults import FaxFaults
from sipfault.fax.phase_e import DESCRIPTIONS, PhaseE
from sipfault.fax.png import read_png, write_png
from sipfault.fax.session import FaxSession
from sipfault.fax.t4 import Compression
from sipfault.fax.t30 import FaxConfig, FaxTerminal, Role
from sipfault.fax.testpage import test_page
from sipfault.fax.tiff import Page, read_tiff, write_tiff
from sipfault.model.scenario import TEST_PAGE, FaxSettings

__all__ = ["FINDING_SECTIONS", "FaxCall", "make_fax_call", "pages_to_send"]

FINDING_SECTIONS = {
    "rate-not-offered": "ITU-T T.30 Table 2, bits 11-14 (a DCS selects a rate the DIS offered)",
    "coding-not-offered": "ITU-T T.30 Table 2, bits 16 and 31 (a DCS selects a coding the DIS "
                          "offered)",
    "bad-dcs": "ITU-T T.30 Table 2, bits 11-14 (the rates a DCS can select)",
    "no-repeat": "ITU-T T.30 §5.4.3.1, timer T4, and the flow diagrams of §5.2 (a command left "
                 "unanswered is repeated when T4 expires)",
    "ignored-ppr": "ITU-T T.30 §A.1.3 (the frames a PPR names are sent again)",
    "sent-after-dcn": "ITU-T T.30 §3.3 (DCN begins phase E, the release of the call)",
}
"""The part of ITU-T T.30 each finding of the fax terminal rests on: a clause where its number
was checked against the Recommendation's text or table of contents, else the table and bits."""


def _safe_name(call_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", call_id)[:120] or "call"


def pages_to_send(source: str, call_id: str) -> list[Page]:
    """The pages of ``send``: a TIFF's pages, a PNG page, or the built-in test page."""
    if source == TEST_PAGE:
        date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return [test_page(date, call_id[:24], 1, 1)]
    data = Path(source).read_bytes()
    if source.lower().endswith(".png"):
        return [read_png(data)]
    return read_tiff(data)


class FaxCall:
    """One call's fax terminal on UDPTL, reporting core events."""

    def __init__(self, settings: FaxSettings, call_id: str, index: int, version: int) -> None:
        self.settings = settings
        self.call_id = call_id
        self.index = index
        role = Role.SEND if settings.send is not None else Role.RECEIVE
        config = FaxConfig(
            ident=settings.ident, max_rate=settings.max_rate, ecm=settings.ecm,
            compressions=tuple(Compression(name) for name in settings.compressions),
            resolutions=tuple(Resolution(name) for name in settings.resolutions),
        )
        f = settings.faults
        faults = FaxFaults(
            seed=f.seed, page_response=dict(f.page_response),
            never_answer=frozenset(f.never_answer), dcn_mid_page=f.dcn_mid_page,
            ftt_on_tcf=f.ftt_on_tcf, crp_on=frozenset(f.crp_on),
            drop_ecm_frames=frozenset(f.drop_ecm_frames), drop_ecm_random=f.drop_ecm_random,
            silence_after=f.silence_after, silence_seconds=f.silence_seconds,
        )
        pages = pages_to_send(settings.send, call_id) if settings.send is not None else []
        self.terminal = FaxTerminal(role, config, pages, faults)
        self.session = FaxSession(self.terminal, version=version)
        self.directory = Path(settings.receive) if settings.receive is not None else None
        self.tiff: Path | None = None
        self.received: list[Page] = []
        self._events: list[Event] = []
        self._rate = 0
        self._ecm = False
        self._outcome_reported = False

    # -- FaxStream ----------------------------------------------------------------------

    def start(self, now: float) -> None:
        self.session.start(now)

    def datagram(self, data: bytes, now: float) -> None:
        self.session.datagram_received(data, now)

    def next_deadline(self) -> float | None:
        return None if self.terminal.done else self.session.next_deadline()

    def handle_timer(self, now: float) -> None:
        self.session.handle_timer(now)

    def take_datagrams(self) -> list[bytes]:
        return self.session.datagrams_to_send()

    def take_events(self) -> list[Event]:
        for event in self.terminal.take_events():
            self._translate(event)
        out, self._events = self._events, []
        return out

    def close(self, now: float, reason: str) -> None:
        self.take_events()
        if not self._outcome_reported:
            result = self.terminal.result
            label = result.label if result is not None else "NOT_FINISHED"
            self._outcome(now, label, f"the stream closed ({reason}) before the fax ended",
                          False)

    # -- events -------------------------------------------------------------------------

    def _translate(self, event: object) -> None:
        call_id = self.call_id
        if isinstance(event, FrameEvent):
            if event.name == "DCS" and self.terminal.session is not None:
                self._rate = self.terminal.session.rate
                self._ecm = self.terminal.session.ecm
            text = f"{event.name} {event.detail}".rstrip()
            self._events.append(T30Frame(event.at, call_id, "->" if event.sent else "<-", text))
        elif isinstance(event, SignalEvent):
            self._events.append(T30Frame(event.at, call_id, "->" if event.sent else "<-",
                                         event.text))
        elif isinstance(event, FaultEvent):
            self._events.append(T30Frame(event.at, call_id, "->",
                                         f"fault {event.name}: {event.text}"))
        elif isinstance(event, PageEvent):
            self._page(event)
        elif isinstance(event, FaxFinding):
            section = FINDING_SECTIONS.get(event.code, "ITU-T T.30")
            self._events.append(Finding(event.at, f"t30-{event.code}",
                                        f"{event.text} ({section})", call_id,
                                        details={"section": section}))
        elif isinstance(event, Outcome):
            text = DESCRIPTIONS.get(event.result, event.result.name.lower())
            self._outcome(event.at, event.result.label, text, event.result is PhaseE.OK)

    def _page(self, event: PageEvent) -> None:
        session = self.terminal.session
        page = event.page
        compression = session.compression.value if session is not None else "?"
        resolution = Resolution.from_dpi(page.y_dpi).value
        tiff = png = None
        if not event.sent and event.response != "RTN":
            self.received.append(page)
            tiff, png = self._write(page, len(self.received))
            if page.bad_rows:
                self._events.append(Finding(
                    event.at, "fax-bad-rows",
                    f"page {event.number}: {page.bad_rows} rows could not be decoded, the "
                    f"first at row {page.first_bad_row or '?'} (longest run "
                    f"{page.longest_bad_run}) (ITU-T T.4 §4.1)", self.call_id,
                    details={"page": str(event.number), "bad_rows": str(page.bad_rows),
                             "row": str(page.first_bad_row or "")}))
        self._events.append(FaxPage(event.at, self.call_id, event.number, event.sent,
                                    page.width, page.length, resolution, compression,
                                    page.bad_rows, event.response, tiff, png))

    def _write(self, page: Page, number: int) -> tuple[str | None, str | None]:
        if self.directory is None:
            return None, None
        self.directory.mkdir(parents=True, exist_ok=True)
        base = self.directory / _safe_name(self.call_id)
        self.tiff = base.with_suffix(".tif")
        self.tiff.write_bytes(write_tiff(self.received))
        png = base.parent / f"{base.name}-page{number}.png"
        png.write_bytes(write_png(page))
        return str(self.tiff), str(png)

    def _outcome(self, at: float, label: str, text: str, ok: bool) -> None:
        self._outcome_reported = True
        role = "send" if self.settings.send is not None else "receive"
        pages = len(self.received) if role == "receive" else self.terminal.pages_sent
        bad = sum(page.bad_rows for page in self.received)
        self._events.append(FaxOutcome(at, self.call_id, role, pages, self._rate, self._ecm,
                                       bad, label, text, ok,
                                       str(self.tiff) if self.tiff else None))


def make_fax_call(settings: FaxSettings, call_id: str, index: int, version: int) -> FaxCall:
    """The ``FaxFactory`` the endpoint gives the core."""
    return FaxCall(settings, call_id, index, version)
