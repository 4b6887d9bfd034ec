"""A real fax over a SIP call and real UDPTL sockets: spandsp (libspandsp2, in this process,
on its own UDP socket and on wall time) against sipfault's fax terminal.

A printer calls with audio; sipfault answers and, as the receive-as-gateway scenario does,
sends the T.38 re-INVITE itself; the printer accepts it and the fax runs over UDPTL between
the printer's socket and the stream's port. spandsp's clock advances by the samples of wall
time that passed (``t38_terminal_send_timeout``); T.30 timers stay real, and without modem
pacing a two-page fax over T.38 takes a few seconds.
"""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import pytest
from PIL import Image

from sipfault import Server
from sipfault.api.faxes import FaxResult
from sipfault.fax.phase_e import PhaseE
from sipfault.fax.png import read_png
from sipfault.fax.tiff import Page, read_tiff
from sipfault.fax.udptl import UDPTLReceiver, UDPTLSender
from sipfault.model.scenario import Scenario
from sipfault.scenario.loader import load_scenario_text
from tests.fax import spandsp
from tests.fax.harness import read_spandsp_pages, write_pages_for_spandsp
from tests.fax.images import random_rows, rows_of_image
from tests.testing.sip_client import SipClient

WIDTH = 1728
AUDIO_OFFER = (
    "v=0\r\no=printer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
T38_ANSWER = (
    "v=0\r\no=printer 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=image {port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n"
    "a=T38FaxRateManagement:transferredTCF\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n"
)
LIMIT = 60.0


@pytest.fixture(autouse=True)
def _library() -> None:
    spandsp.require()


def _pages(count: int = 2, rows: int = 120) -> list[Page]:
    return [Page(random_rows(WIDTH, rows, seed=40 + number), WIDTH, 204.0, 196.0)
            for number in range(count)]


class Printer:
    """A SIP UAC on a plain socket and spandsp's T.38 terminal on a UDP socket beside it."""

    def __init__(self, server: Server, terminal: spandsp.T38Terminal) -> None:
        self.sip = SipClient(server.host, server.port)
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind(("127.0.0.1", 0))
        self.media.setblocking(False)
        self.port = self.media.getsockname()[1]
        self.call_id = f"fax-{self.port}@printer"
        self.terminal = terminal
        self.to_far = UDPTLSender(redundancy=2)
        self.from_far = UDPTLReceiver(version=0)
        self.far: tuple[str, int] | None = None

    async def call(self) -> None:
        """INVITE with audio, then answer sipfault's T.38 re-INVITE with 200 and T.38."""
        invite = self.sip.request("INVITE", "fax", call_id=self.call_id,
                                  headers=(("Content-Type", "application/sdp"),),
                                  body=AUDIO_OFFER.format(port=self.port).encode())
        self.sip.send(invite)
        final = (await asyncio.to_thread(self.sip.until_final))[-1]
        assert final.status == 200
        to = final.headers["to"]
        self.sip.send("\r\n".join([
            f"ACK sip:fax@{self.sip.server[0]}:{self.sip.server[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.sip.local[0]}:{self.sip.local[1]};branch=z9hG4bKack1",
            "Max-Forwards: 70", f"From: <sip:tester@{self.sip.local[0]}>;tag=client1",
            f"To: {to}", f"Call-ID: {self.call_id}", "CSeq: 1 ACK", "Content-Length: 0",
            "", ""]).encode())
        reinvite = await asyncio.to_thread(self.sip.sock.recv, 65535)
        assert reinvite.startswith(b"INVITE "), reinvite[:80]
        head, _, offer = reinvite.partition(b"\r\n\r\n")
        found = re.search(rb"m=image (\d+) udptl t38", offer)
        assert found is not None, offer
        self.far = (self.sip.server[0], int(found.group(1)))
        lines = head.decode().split("\r\n")

        def fields(name: str) -> list[str]:
            return [line.split(":", 1)[1].strip() for line in lines
                    if line.lower().startswith(name.lower() + ":")]

        body = T38_ANSWER.format(port=self.port).encode()
        self.sip.send("\r\n".join([
            "SIP/2.0 200 OK", *(f"Via: {value}" for value in fields("Via")),
            f"From: {fields('From')[0]}", f"To: {fields('To')[0]}",
            f"Call-ID: {fields('Call-ID')[0]}", f"CSeq: {fields('CSeq')[0]}",
            f"Contact: <sip:fax@{self.sip.local[0]}:{self.sip.local[1]}>",
            "Content-Type: application/sdp", f"Content-Length: {len(body)}", "", ""]).encode()
            + body)
        ack = await asyncio.to_thread(self.sip.sock.recv, 65535)
        assert ack.startswith(b"ACK "), ack[:80]

    async def run_fax(self, server: Server, limit: float = LIMIT) -> None:
        """Drive spandsp on wall time until it and sipfault both reach phase E."""
        assert self.far is not None
        loop = asyncio.get_running_loop()
        last = started = loop.time()
        while loop.time() - started < limit:
            now = loop.time()
            samples = int((now - last) * spandsp.SAMPLE_RATE)
            if samples:
                self.terminal.advance(samples)
                last += samples / spandsp.SAMPLE_RATE
            for ifp in self.terminal.take():
                self.media.sendto(self.to_far.wrap(ifp), self.far)
            while True:
                try:
                    datagram = self.media.recv(65535)
                except BlockingIOError:
                    break
                for delivery in self.from_far.receive(datagram):
                    if delivery.ifp is not None:
                        self.terminal.feed(delivery.ifp, delivery.seq)
            faxes = server.faxes()
            if (self.terminal.phase_e is not None and faxes
                    and faxes[0].outcome is not None):
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"the fax did not end within {limit} s: {server.faxes()}")

    def close(self) -> None:
        self.sip.close()
        self.media.close()
        self.terminal.close()


async def fax_call(scenario: Scenario, terminal: spandsp.T38Terminal) -> list[FaxResult]:
    """The printer calls sipfault, the call goes T.38, the fax runs to phase E on both ends:
    sipfault's faxes then."""
    async with Server(scenario) as server:
        printer = Printer(server, terminal)
        try:
            await printer.call()
            await printer.run_fax(server)
        finally:
            printer.close()
        return server.faxes()


SCENARIO = """
timers: {{t1: 100ms}}
rules:
  - match: {{method: INVITE, in_dialog: false}}
    fax: {fax}
    reply: [{{code: 200, sdp: answer}}]
    then: [{{after: 200ms, send: reinvite, sdp: t38}}]
"""


async def test_a_printer_sends_two_pages_that_sipfault_receives(tmp_path: Path) -> None:
    pages = _pages()
    write_pages_for_spandsp(pages, tmp_path / "send.tif")
    received = tmp_path / "received"
    scenario = load_scenario_text(SCENARIO.format(fax=f"{{receive: '{received}'}}"))
    terminal = spandsp.T38Terminal(calling=True, tx_file=tmp_path / "send.tif", pacing=False)
    faxes = await fax_call(scenario, terminal)
    assert terminal.phase_e == PhaseE.OK
    assert len(faxes) == 1
    fax = faxes[0]
    assert fax.outcome is not None and fax.outcome.ok, fax.ladder
    assert (fax.outcome.role, fax.outcome.pages, fax.outcome.bad_rows) == ("receive", 2, 0)
    assert fax.outcome.label.startswith("fax received: 2 pages, 14400 bps, ECM, 0 bad rows")
    assert [(page.number, page.width, page.rows, page.resolution, page.bad_rows)
            for page in fax.pages] == [(1, WIDTH, 120, "fine", 0), (2, WIDTH, 120, "fine", 0)]
    assert any(line.startswith("t30 <- DCS 14400 bps, fine") for line in fax.ladder)
    assert fax.ladder[0] == "t30 -> CED"
    # The files: one TIFF for the call, one PNG per page, all with the source pixels.
    tiff = fax.pages[-1].tiff
    assert tiff is not None and Path(tiff).parent == received
    assert [page.rows for page in read_tiff(Path(tiff).read_bytes())] == [p.rows for p in pages]
    with Image.open(tiff) as image:  # libtiff reads the MMR strips stored as received
        image.seek(1)
        assert (image.tag_v2[259], image.tag_v2[266]) == (4, 1)
    assert [rows_of_image(image) for image in read_spandsp_pages(Path(tiff))] == [
        p.rows for p in pages]
    for record, page in zip(fax.pages, pages, strict=True):
        assert record.png is not None
        assert read_png(Path(record.png).read_bytes()).rows == page.rows


async def test_sipfault_sends_the_test_page_to_a_receiving_printer(tmp_path: Path) -> None:
    scenario = load_scenario_text(SCENARIO.format(fax="{send: testpage}"))
    terminal = spandsp.T38Terminal(calling=False, rx_file=tmp_path / "received.tif",
                                   pacing=False)
    faxes = await fax_call(scenario, terminal)
    assert terminal.phase_e == PhaseE.OK, faxes
    stats = terminal.stats()
    assert (stats.pages_rx, stats.bad_rows) == (1, 0)
    images = read_spandsp_pages(tmp_path / "received.tif")
    assert len(images) == 1 and len(rows_of_image(images[0])) == 2287
    fax = faxes[0]
    assert fax.outcome is not None and fax.outcome.ok and fax.outcome.role == "send"
    assert [page.sent for page in fax.pages] == [True]
    assert any(line.startswith("t30 -> DCS") for line in fax.ladder)
