"""Received pages in TIFF Class F hold the coded data as spandsp sent it (RFC 2306, T.4, T.6).

spandsp sends MH, MR and MMR pages, with and without ECM; the IFP packets it sent are taken
apart here, independently of the terminal, to find each page's coded data: the
t4-non-ecm-data of the page's signal, or the data of its FCD frames in frame order. The strip
of each page in our TIFF file must be those octets, libtiff (Pillow) must read the source
pixels back, and the tags must say how the strip is coded.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from sipfault.fax.hdlc import FCF, decode_frame, from_wire
from sipfault.fax.phase_e import PhaseE
from sipfault.fax.t4 import Compression, bit_string, encode_page
from sipfault.fax.t30 import FaxConfig, FaxTerminal, Role
from sipfault.fax.t38 import Field, FieldType, IFPPacket, Indicator, decode_ifp, encode_ifp
from sipfault.fax.tiff import Page, read_tiff, write_tiff
from tests.fax import spandsp
from tests.fax.harness import CallResult, run_call, write_pages_for_spandsp
from tests.fax.images import random_rows, rows_of_image

WIDTH = 1728
COMPRESSION, FILL_ORDER, STRIP_OFFSETS, STRIP_BYTE_COUNTS = 259, 266, 273, 279
IMAGE_LENGTH, X_RESOLUTION, Y_RESOLUTION, RESOLUTION_UNIT = 257, 282, 283, 296
T4_OPTIONS, T6_OPTIONS = 292, 293
BAD_FAX_LINES, CLEAN_FAX_DATA, CONSECUTIVE_BAD_FAX_LINES = 326, 327, 328
TRAININGS = {indicator for indicator in Indicator if indicator.name.endswith("TRAINING")}

CASES = [
    pytest.param(False, Compression.MH, id="non-ECM-MH"),
    pytest.param(False, Compression.MR, id="non-ECM-MR"),
    pytest.param(True, Compression.MH, id="ECM-MH"),
    pytest.param(True, Compression.MR, id="ECM-MR"),
    pytest.param(True, Compression.MMR, id="ECM-MMR"),
]


@pytest.fixture(autouse=True)
def _library() -> None:
    spandsp.require()


def source_pages(count: int, rows: int, y_dpi: float) -> list[Page]:
    return [Page(random_rows(WIDTH, rows, seed=40 + number), WIDTH, 204.0, y_dpi)
            for number in range(count)]


def non_ecm_pages_sent(packets: list[bytes], version: int) -> list[bytes]:
    """The t4-non-ecm-data of each image signal spandsp sent, TCF (all zeros) left out."""
    signals: list[bytes] = []
    current: bytearray | None = None
    for raw in packets:
        packet = decode_ifp(raw, version)
        if packet.indicator in TRAININGS:
            current = bytearray()
            continue
        for item in packet.fields:
            if current is None:
                continue
            if item.type in (FieldType.T4_NON_ECM_DATA, FieldType.T4_NON_ECM_SIG_END):
                current += item.data
            if item.type is FieldType.T4_NON_ECM_SIG_END:
                signals.append(bytes(current))
                current = None
    return [signal for signal in signals if any(signal)]


def ecm_pages_sent(packets: list[bytes], version: int) -> list[bytes]:
    """The data of each page's FCD frames as T.38 carried it, frame after frame of each block
    (a PPS closes a block; one with a post-page command closes the page)."""
    frames: list[bytes] = []
    gathering = bytearray()
    for raw in packets:
        packet = decode_ifp(raw, version)
        for item in packet.fields:
            if item.type is FieldType.HDLC_DATA:
                gathering += item.data
            elif item.type in (FieldType.HDLC_FCS_OK, FieldType.HDLC_FCS_OK_SIG_END):
                frames.append(bytes(gathering + item.data))
                gathering.clear()
    pages: list[bytes] = []
    page = bytearray()
    block: dict[int, bytes] = {}
    for wire in frames:
        frame = decode_frame(from_wire(wire))
        if frame.fcf is FCF.FCD:
            # Address, control, FCF and frame number come first; the rest is image data,
            # which T.38 carries with the first bit on the line most significant.
            block[frame.fif[0]] = wire[4:]
        elif frame.fcf is FCF.PPS:
            page += b"".join(block[number] for number in sorted(block))
            block.clear()
            if frame.fif[0] & 0xFE:
                pages.append(bytes(page))
                page.clear()
    return pages


def spandsp_sends(tmp_path: Path, pages: list[Page], ecm: bool, compression: Compression,
                  tamper: Callable[[bytes], bytes] | None = None) -> CallResult:
    write_pages_for_spandsp(pages, tmp_path / "send.tif")
    theirs = spandsp.T38Terminal(calling=True, tx_file=tmp_path / "send.tif", ecm=ecm)
    ours = FaxTerminal(Role.RECEIVE, FaxConfig(ecm=ecm, compressions=(compression,)))
    call = run_call(ours, theirs, tamper=tamper)
    assert ours.result is PhaseE.OK and theirs.phase_e == PhaseE.OK, call.lines()
    return call


def strips(blob: bytes, image: Image.Image) -> list[bytes]:
    out = []
    for number in range(image.n_frames):
        image.seek(number)
        (offset,), (size,) = image.tag_v2[STRIP_OFFSETS], image.tag_v2[STRIP_BYTE_COUNTS]
        out.append(blob[offset:offset + size])
    return out


@pytest.mark.parametrize(("ecm", "compression"), CASES)
def test_each_strip_is_the_coded_page_as_spandsp_sent_it(tmp_path: Path, ecm: bool,
                                                          compression: Compression) -> None:
    pages = source_pages(2, 120, 196.0)
    call = spandsp_sends(tmp_path, pages, ecm, compression)
    received = call.ours.received_pages
    sent = (ecm_pages_sent if ecm else non_ecm_pages_sent)(call.their_packets,
                                                          call.theirs.version)
    assert len(sent) == 2
    assert [page.coded for page in received] == sent
    blob = write_tiff(received)
    image = Image.open(io.BytesIO(blob))
    assert image.n_frames == 2
    assert strips(blob, image) == sent
    for number, page in enumerate(pages):
        image.seek(number)
        assert rows_of_image(image) == page.rows  # libtiff reads the strip as received
        tags = image.tag_v2
        assert tags[COMPRESSION] == (4 if compression is Compression.MMR else 3)
        if compression is Compression.MMR:
            assert tags[T6_OPTIONS] == 0 and T4_OPTIONS not in tags
        else:
            # spandsp puts no fill before EOLs to align them: bit 2 stays clear.
            assert tags[T4_OPTIONS] == (1 if compression is Compression.MR else 0)
        assert tags[FILL_ORDER] == 1
        assert (tags[X_RESOLUTION], tags[Y_RESOLUTION], tags[RESOLUTION_UNIT]) == (204, 196, 2)
        assert tags[IMAGE_LENGTH] == 120
        assert (tags[BAD_FAX_LINES], tags[CLEAN_FAX_DATA],
                tags[CONSECUTIVE_BAD_FAX_LINES]) == (0, 0, 0)
    assert [page.rows for page in read_tiff(blob)] == [page.rows for page in pages]


@pytest.mark.parametrize(("y_dpi", "fine_name"), [(98.0, "standard"), (391.0, "superfine")])
def test_the_resolution_tags_follow_the_dcs(tmp_path: Path, y_dpi: float,
                                            fine_name: str) -> None:
    pages = source_pages(1, 60, y_dpi)
    call = spandsp_sends(tmp_path, pages, False, Compression.MH)
    assert f"t30 <- DCS 14400 bps, {fine_name}, MH" in call.lines()
    image = Image.open(io.BytesIO(write_tiff(call.ours.received_pages)))
    assert (image.tag_v2[X_RESOLUTION], image.tag_v2[Y_RESOLUTION]) == (204, y_dpi)
    assert image.tag_v2[RESOLUTION_UNIT] == 2
    assert rows_of_image(image) == pages[0].rows


class DamageSecondImagePacket:
    """Inverts a few octets in the middle of the second packet of page data (not TCF), and
    keeps every packet as it went on to our terminal."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.image_packets = 0
        self.delivered: list[bytes] = []

    def __call__(self, raw: bytes) -> bytes:
        self.delivered.append(self._damage(raw))
        return self.delivered[-1]

    def _damage(self, raw: bytes) -> bytes:
        packet = decode_ifp(raw, self.version)
        image = [item for item in packet.fields if item.type is FieldType.T4_NON_ECM_DATA]
        if not image or not any(image[0].data) or len(image[0].data) < 8:
            return raw
        self.image_packets += 1
        if self.image_packets != 2:
            return raw
        assert packet.data_type is not None
        data = bytearray(image[0].data)
        middle = len(data) // 2
        data[middle:middle + 3] = bytes(0xFF ^ octet for octet in data[middle:middle + 3])
        fields = [Field(item.type, bytes(data)) if item is image[0] else item
                  for item in packet.fields]
        return encode_ifp(IFPPacket.data(packet.data_type, *fields), self.version)


@pytest.mark.parametrize("compression", [Compression.MH, Compression.MR])
def test_a_damaged_page_is_stored_as_received_and_its_tags_say_so(
        tmp_path: Path, compression: Compression) -> None:
    pages = source_pages(1, 200, 196.0)
    version = 0
    damage = DamageSecondImagePacket(version)
    call = spandsp_sends(tmp_path, pages, False, compression, tamper=damage)
    page = call.ours.received_pages[0]
    sent = non_ecm_pages_sent(call.their_packets, version)
    damaged = non_ecm_pages_sent(damage.delivered, version)
    assert damaged != sent and page.coded == damaged[0]
    assert page.bad_rows >= 1 and page.longest_bad_run >= 1
    blob = write_tiff(call.ours.received_pages)
    image = Image.open(io.BytesIO(blob))
    assert strips(blob, image) == damaged
    tags = image.tag_v2
    assert tags[BAD_FAX_LINES] == page.bad_rows
    assert tags[CONSECUTIVE_BAD_FAX_LINES] == page.longest_bad_run
    assert tags[CLEAN_FAX_DATA] == 2  # bad rows present, left as they came
    assert tags[IMAGE_LENGTH] == page.length
    # libtiff still reads the page: the rows above the damage are the source's.
    assert page.first_bad_row is not None and page.first_bad_row > 1
    above = page.first_bad_row - 1
    assert rows_of_image(image)[:above] == pages[0].rows[:above]


def test_t4_options_bit_2_says_the_eols_are_octet_aligned() -> None:
    """Four zeros of fill (T.4 §4.1.3) before each 12-bit EOL that starts an octet put the
    EOL's end on the next octet boundary; coded without fill, bit 2 stays clear."""
    rows = random_rows(WIDTH, 12, seed=9)
    eol = "000000000001"
    pieces = []
    for row in rows:
        coded = bit_string(encode_page([row], WIDTH, Compression.MH, end_marker=False))
        piece = "0000" + coded
        pieces.append(piece + "0" * (-len(piece) % 8))
    pieces.append(("0000" + eol) * 6)
    aligned = bytes(int(piece[index:index + 8], 2) for piece in pieces
                    for index in range(0, len(piece), 8))
    plain = encode_page(rows, WIDTH, Compression.MH)
    for data, options in ((aligned, 4), (plain, 0)):
        page = Page(rows, WIDTH, 204.0, 196.0, coded=data, coding=Compression.MH)
        image = Image.open(io.BytesIO(write_tiff([page])))
        assert image.tag_v2[T4_OPTIONS] == options
        assert rows_of_image(image) == rows
