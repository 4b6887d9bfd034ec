"""Bi-level PNG and the generated test page (sent to spandsp, which must store it intact)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from sipfault.fax.phase_e import PhaseE
from sipfault.fax.png import PngError, read_png, write_png
from sipfault.fax.t30 import FaxTerminal, Role
from sipfault.fax.testpage import test_page as make_test_page
from sipfault.fax.tiff import Page
from tests.fax import spandsp
from tests.fax.harness import read_spandsp_pages, run_call
from tests.fax.images import random_rows, rows_of_image


def test_png_round_trip_and_pillow_reads_it() -> None:
    page = Page(random_rows(301, 40, seed=9), 301, 204.0, 196.0)
    blob = write_png(page)
    assert read_png(blob).rows == page.rows
    assert rows_of_image(Image.open(io.BytesIO(blob))) == page.rows


def test_png_reads_8_bit_grey_with_filters_from_pillow() -> None:
    page = Page(random_rows(64, 20, seed=3), 64)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(write_png(page))).convert("L").save(buffer, "PNG", optimize=True)
    assert read_png(buffer.getvalue()).rows == page.rows
    with pytest.raises(PngError):
        read_png(b"not a png")


def test_the_test_page_has_its_text_and_goes_through_spandsp(tmp_path: Path) -> None:
    spandsp.require()
    pages = [make_test_page("2024-05-01 12:00", "sip:fax@example.com", n, 2) for n in (1, 2)]
    assert pages[0].length == 2287 and pages[0].rows != pages[1].rows
    assert sum(bin(octet).count("1") for row in pages[0].rows for octet in row) > 10000
    theirs = spandsp.T38Terminal(calling=False, rx_file=tmp_path / "received.tif")
    ours = FaxTerminal(Role.SEND, pages=pages)
    call = run_call(ours, theirs)
    assert ours.result is PhaseE.OK and theirs.phase_e == PhaseE.OK, call.lines()
    received = read_spandsp_pages(tmp_path / "received.tif")
    assert [rows_of_image(image) for image in received] == [page.rows for page in pages]
