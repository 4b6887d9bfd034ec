"""Whole fax calls between our terminal and spandsp's (libspandsp2) over T.38 and UDPTL.

spandsp sends a multi-page fax to us and our decoded pages must be its source pixels;
we send to spandsp and it must store our pixels with no bad rows. Both with and without
ECM, at 9600 and 14400 bps, in MH, MR and MMR (MMR only with ECM, as T.30 requires).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sipfault.fax.dis import Resolution
from sipfault.fax.phase_e import PhaseE
from sipfault.fax.t4 import Compression
from sipfault.fax.t30 import FaxConfig, FaxTerminal, Role
from sipfault.fax.tiff import Page
from tests.fax import spandsp
from tests.fax.harness import read_spandsp_pages, run_call, write_pages_for_spandsp
from tests.fax.images import random_rows, rows_of_image

WIDTH = 1728
CASES = [
    pytest.param(False, 9600, Compression.MH, id="non-ECM-9600-MH"),
    pytest.param(False, 14400, Compression.MH, id="non-ECM-14400-MH"),
    pytest.param(False, 9600, Compression.MR, id="non-ECM-9600-MR"),
    pytest.param(False, 14400, Compression.MR, id="non-ECM-14400-MR"),
    pytest.param(True, 14400, Compression.MH, id="ECM-14400-MH"),
    pytest.param(True, 9600, Compression.MR, id="ECM-9600-MR"),
    pytest.param(True, 9600, Compression.MMR, id="ECM-9600-MMR"),
    pytest.param(True, 14400, Compression.MMR, id="ECM-14400-MMR"),
]


def pages_for_test(count: int = 3, rows: int = 150, y_dpi: float = 196.0) -> list[Page]:
    return [Page(random_rows(WIDTH, rows, seed=10 + number), WIDTH, 204.0, y_dpi)
            for number in range(count)]


@pytest.fixture(autouse=True)
def _library() -> None:
    spandsp.require()


@pytest.mark.parametrize(("ecm", "rate", "compression"), CASES)
def test_spandsp_sends_to_us(tmp_path: Path, ecm: bool, rate: int,
                             compression: Compression) -> None:
    pages = pages_for_test()
    write_pages_for_spandsp(pages, tmp_path / "send.tif")
    theirs = spandsp.T38Terminal(calling=True, tx_file=tmp_path / "send.tif", ecm=ecm,
                                 max_rate=rate)
    ours = FaxTerminal(Role.RECEIVE, FaxConfig(ecm=ecm, max_rate=rate,
                                               compressions=(compression,)))
    call = run_call(ours, theirs)
    assert ours.result is PhaseE.OK, call.lines()
    assert theirs.phase_e == PhaseE.OK
    stats = theirs.stats()
    assert (stats.pages_tx, stats.bit_rate, stats.ecm) == (3, rate, ecm)
    assert [page.rows for page in ours.received_pages] == [page.rows for page in pages]
    assert all(page.bad_rows == 0 for page in ours.received_pages)
    assert ours.remote_ident == "spandsp"
    dcs = next(line for line in call.lines() if line.startswith("t30 <- DCS"))
    assert dcs == (f"t30 <- DCS {rate} bps, fine, {compression.value}" + (", ECM" if ecm else ""))


@pytest.mark.parametrize(("ecm", "rate", "compression"), CASES)
def test_we_send_to_spandsp(tmp_path: Path, ecm: bool, rate: int,
                            compression: Compression) -> None:
    pages = pages_for_test()
    theirs = spandsp.T38Terminal(calling=False, rx_file=tmp_path / "received.tif", ecm=ecm,
                                 max_rate=rate, compressions=("MH", compression.value))
    ours = FaxTerminal(Role.SEND, FaxConfig(ecm=ecm, max_rate=14400), pages=pages)
    call = run_call(ours, theirs)
    assert ours.result is PhaseE.OK, call.lines()
    assert theirs.phase_e == PhaseE.OK, call.lines()
    stats = theirs.stats()
    assert (stats.pages_rx, stats.bit_rate, stats.ecm, stats.bad_rows) == (3, rate, ecm, 0)
    assert ours.session is not None and ours.session.compression is compression
    received = read_spandsp_pages(tmp_path / "received.tif")
    assert [rows_of_image(image) for image in received] == [page.rows for page in pages]
    assert [image.info["dpi"][1] for image in received] == pytest.approx([196.0] * 3, abs=1)


@pytest.mark.parametrize("version", [0, 3])
@pytest.mark.parametrize("direction", ["send", "receive"])
def test_t38_versions_and_standard_resolution(tmp_path: Path, version: int,
                                              direction: str) -> None:
    pages = pages_for_test(count=2, rows=80, y_dpi=98.0)
    if direction == "receive":
        write_pages_for_spandsp(pages, tmp_path / "send.tif")
        theirs = spandsp.T38Terminal(calling=True, tx_file=tmp_path / "send.tif",
                                     version=version)
        ours = FaxTerminal(Role.RECEIVE)
    else:
        theirs = spandsp.T38Terminal(calling=False, rx_file=tmp_path / "received.tif",
                                     version=version)
        ours = FaxTerminal(Role.SEND, pages=pages)
    call = run_call(ours, theirs)
    assert ours.result is PhaseE.OK and theirs.phase_e == PhaseE.OK, call.lines()
    assert ours.session is not None and ours.session.resolution is Resolution.STANDARD
    if direction == "receive":
        assert [page.rows for page in ours.received_pages] == [page.rows for page in pages]
        assert ours.received_pages[0].y_dpi == 98.0
    else:
        received = read_spandsp_pages(tmp_path / "received.tif")
        assert [rows_of_image(image) for image in received] == [page.rows for page in pages]


def test_pages_survive_lost_datagrams_through_redundancy(tmp_path: Path) -> None:
    from sipfault.fax.faults import UdptlFaults

    pages = pages_for_test(count=2)
    theirs = spandsp.T38Terminal(calling=False, rx_file=tmp_path / "received.tif")
    ours = FaxTerminal(Role.SEND, pages=pages)
    call = run_call(ours, theirs, our_faults=UdptlFaults(seed=7, drop_rate=0.2,
                                                         duplicate_rate=0.1), redundancy=3)
    assert ours.result is PhaseE.OK and theirs.phase_e == PhaseE.OK, call.lines()
    received = read_spandsp_pages(tmp_path / "received.tif")
    assert [rows_of_image(image) for image in received] == [page.rows for page in pages]


def test_the_journal_lines_read_like_t30(tmp_path: Path) -> None:
    pages = pages_for_test(count=1, rows=40)
    write_pages_for_spandsp(pages, tmp_path / "send.tif")
    theirs = spandsp.T38Terminal(calling=True, tx_file=tmp_path / "send.tif")
    call = run_call(FaxTerminal(Role.RECEIVE), theirs)
    lines = call.lines()
    assert lines[:3] == ["t30 -> CED", 't30 -> CSI "sipfault"',
                         "t30 -> DIS 14400 bps, standard/fine/superfine, MH/MR/MMR, ECM"]
    assert 't30 <- TSI "spandsp"' in lines
    assert "t30 <- DCS 14400 bps, fine, MMR, ECM" in lines
    assert "t30 -> CFR" in lines and "t30 <- DCN" in lines
    assert lines[-1] == "t30 phase E T30_ERR_OK (completed), 1 pages"
