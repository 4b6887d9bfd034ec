"""Run a fax call between our terminal and spandsp's, in process, on a manual clock.

IFP packets go both ways through UDPTL (our sender and receiver at each end), so packet
faults and redundancy are exercised too. The clock advances in 20 ms steps: spandsp is told
the samples that passed, our terminal is given the time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from sipfault.fax.events import FaxEvent
from sipfault.fax.faults import UdptlFaults
from sipfault.fax.session import FaxSession
from sipfault.fax.t30 import FaxTerminal
from sipfault.fax.tiff import Page
from sipfault.fax.udptl import UDPTLReceiver, UDPTLSender
from tests.fax import spandsp
from tests.fax.images import to_image

STEP_SAMPLES = 160
STEP = STEP_SAMPLES / spandsp.SAMPLE_RATE


@dataclass
class CallResult:
    ours: FaxTerminal
    theirs: spandsp.T38Terminal
    events: list[FaxEvent] = field(default_factory=list)
    seconds: float = 0.0
    their_packets: list[bytes] = field(default_factory=list)
    """Every IFP packet spandsp sent, as it sent it (before ``tamper``)."""

    def lines(self) -> list[str]:
        return [event.line() for event in self.events]


def write_pages_for_spandsp(pages: list[Page], path: Path) -> None:
    """A multi-page G4 TIFF written by libtiff (Pillow), for spandsp to send."""
    images = [to_image(page) for page in pages]
    images[0].save(path, "TIFF", compression="group4", save_all=True,
                   append_images=images[1:], dpi=(pages[0].x_dpi, pages[0].y_dpi))


def read_spandsp_pages(path: Path) -> list[Image.Image]:
    image = Image.open(path)
    frames = []
    for number in range(image.n_frames):
        image.seek(number)
        frames.append(image.copy())
    return frames


def run_call(ours: FaxTerminal, theirs: spandsp.T38Terminal, *, limit: float = 400.0,
             our_faults: UdptlFaults | None = None, redundancy: int = 2,
             linger: float = 1.0,
             tamper: Callable[[bytes], bytes] | None = None) -> CallResult:
    """Run until both ends reach phase E (and ``linger`` seconds more) or ``limit``.

    ``tamper`` may change each IFP packet of spandsp's on its way to us (damage on the line).
    """
    result = CallResult(ours, theirs)
    version = theirs.version
    session = FaxSession(ours, version=version, redundancy=redundancy, faults=our_faults)
    to_us = UDPTLSender(redundancy=redundancy)
    their_rx = UDPTLReceiver(version=version)
    now = 0.0
    session.start(now)
    finished_at: float | None = None
    while now < limit:
        theirs.advance(STEP_SAMPLES)
        for ifp in theirs.take():
            result.their_packets.append(ifp)
            if tamper is not None:
                ifp = tamper(ifp)
            session.datagram_received(to_us.wrap(ifp), now)
        deadline = session.next_deadline()
        if deadline is not None and deadline <= now:
            session.handle_timer(now)
        for datagram in session.datagrams_to_send():
            for delivery in their_rx.receive(datagram):
                if delivery.ifp is not None:
                    theirs.feed(delivery.ifp, delivery.seq)
        result.events += ours.take_events()
        now += STEP
        if ours.done and theirs.phase_e is not None:
            finished_at = now if finished_at is None else finished_at
            if now - finished_at >= linger:
                break
    result.seconds = now
    return result
