"""MH, MR and MMR coding (ITU-T T.4, T.6) and TIFF Class F, checked against libtiff (Pillow)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from sipfault.fax.t4 import (
    Compression,
    T4Error,
    changes_of,
    decode_page,
    encode_page,
    row_of,
)
from sipfault.fax.tiff import Page, TiffError, read_tiff, write_tiff
from tests.fax.images import random_rows, rows_of_image, to_image

WIDTH = 1728


@pytest.mark.parametrize("compression", list(Compression))
def test_round_trip_of_a_page(compression: Compression) -> None:
    rows = random_rows(WIDTH, 120, seed=1)
    rows[3] = bytes(WIDTH // 8)
    rows[4] = rows[5] = b"\xff" * (WIDTH // 8)
    page = decode_page(encode_page(rows, WIDTH, compression), WIDTH, compression)
    assert page.rows == rows
    assert page.bad_rows == 0 and page.complete


@given(width=st.integers(1, 300), data=st.data())
@settings(max_examples=150, deadline=None)
def test_round_trip_of_any_rows(width: int, data: st.DataObject) -> None:
    stride = (width + 7) // 8
    spare = -width % 8
    rows = [row[:-1] + bytes((row[-1] & (0xFF << spare) & 0xFF,))
            for row in data.draw(st.lists(st.binary(min_size=stride, max_size=stride),
                                          min_size=1, max_size=8))]
    for row in rows:
        assert row_of(changes_of(row, width), width) == row
    for compression in Compression:
        decoded = decode_page(encode_page(rows, width, compression, k=2), width, compression)
        assert decoded.rows == rows, compression


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_decoding_garbage_raises_nothing(blob: bytes) -> None:
    for compression in Compression:
        page = decode_page(blob, 64, compression)
        assert all(len(row) == 8 for row in page.rows)


def test_a_damaged_mh_row_is_counted_and_replaced_by_the_row_above() -> None:
    rows = random_rows(WIDTH, 30, seed=2)
    data = bytearray(encode_page(rows, WIDTH, Compression.MH))
    middle = len(data) // 2
    data[middle:middle + 3] = b"\x00\x00\x00"  # wipes part of a row (and makes an EOL)
    page = decode_page(bytes(data), WIDTH, Compression.MH)
    assert 1 <= page.bad_rows <= 3
    assert page.longest_bad_run >= 1
    assert page.complete


def test_min_row_bits_pads_each_mh_row_with_fill() -> None:
    rows = [bytes(WIDTH // 8)] * 5
    plain = encode_page(rows, WIDTH, Compression.MH)
    padded = encode_page(rows, WIDTH, Compression.MH, min_row_bits=400)
    assert len(padded) > len(plain) + 5 * 40
    assert decode_page(padded, WIDTH, Compression.MH).rows == rows


@pytest.mark.parametrize(("compression", "pillow_name"), [
    (Compression.MH, "group3"), (Compression.MMR, "group4")])
def test_we_decode_what_libtiff_encodes(compression: Compression, pillow_name: str) -> None:
    rows = random_rows(WIDTH, 60, seed=3)
    buffer = io.BytesIO()
    to_image(Page(rows, WIDTH)).save(buffer, "TIFF", compression=pillow_name)
    assert read_tiff(buffer.getvalue())[0].rows == rows


@pytest.mark.parametrize("compression", list(Compression))
def test_libtiff_reads_our_multi_page_tiff(compression: Compression) -> None:
    pages = [Page(random_rows(WIDTH, 80, seed=4), WIDTH, 204, 98),
             Page(random_rows(WIDTH, 40, seed=5), WIDTH, 204, 196)]
    blob = write_tiff(pages, compression)
    image = Image.open(io.BytesIO(blob))
    assert image.n_frames == 2
    expected_compression = {Compression.MMR: "group4"}.get(compression, "group3")
    for number, page in enumerate(pages):
        image.seek(number)
        assert image.info["compression"] == expected_compression
        assert image.info["dpi"] == (page.x_dpi, page.y_dpi)
        assert image.tag_v2[266] == 1 and image.tag_v2[262] == 0
        if compression is not Compression.MMR:
            assert image.tag_v2[292] == (1 if compression is Compression.MR else 0)
        assert rows_of_image(image) == page.rows
    assert [page.rows for page in read_tiff(blob)] == [page.rows for page in pages]


def test_not_a_tiff() -> None:
    with pytest.raises(TiffError):
        read_tiff(b"GIF89a")
    with pytest.raises(T4Error):
        raise T4Error("the error type exists")


def test_a_damaged_row_is_named_by_its_number() -> None:
    """Non-ECM page data damaged on the line (T.4 §4.1): the rows before the damage decode as
    sent, and the page says which row was the first that could not be decoded."""
    rows = random_rows(WIDTH, 40, seed=1)
    data = bytearray(encode_page(rows, WIDTH, Compression.MH))
    middle = len(data) // 2
    for index in range(middle, middle + 6):
        data[index] ^= 0xFF
    page = decode_page(bytes(data), WIDTH, Compression.MH)
    assert page.bad_rows >= 1 and page.first_bad_row is not None
    assert 10 < page.first_bad_row < 30  # in the middle, where the bytes were damaged
    assert page.rows[: page.first_bad_row - 1] == rows[: page.first_bad_row - 1]
    clean = decode_page(encode_page(rows, WIDTH, Compression.MH), WIDTH, Compression.MH)
    assert clean.first_bad_row is None
