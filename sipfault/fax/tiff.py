"""TIFF Class F: multi-page fax files written from received pages and read to send.

TIFF 6.0 (Adobe, 1992) with the Class F fields of TIFF-F (RFC 2306): one IFD per page,
``NewSubfileType`` 2 (a page of a multi-page document), bi-level ``WhiteIsZero`` pixels,
``Compression`` 3 (T.4, with ``T4Options`` bit 0 set for MR and bit 2 when fill puts every EOL
on an octet boundary) or 4 (T.6), the resolution in pixels per inch, ``PageNumber``, and the
bad-row tags ``BadFaxLines``/``CleanFaxData``/``ConsecutiveBadFaxLines`` of a received page.

A received page keeps its coded data (:attr:`Page.coded`) and its one strip holds those octets
as they arrived: the T.4/T.6 rows, fill and the RTC or EOFB that ended the page, with
``ImageLength`` the rows decoded, so that a reader stops before the end marker. T.38 carries
image data with the first bit on the line in the most significant bit of each octet (ECM frame
data too, once the frame's own bit order is undone), which is TIFF's ``FillOrder`` 1. A page
without coded data (a page made here) is coded with the compression asked for.

The reader takes any bi-level TIFF page coded uncompressed (1), MH/MR (3) or MMR (4), in
either fill order and photometric interpretation, and gives rows with 1 for black.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sipfault.fax.t4 import (
    Compression,
    T4Error,
    decode_page,
    encode_page,
    eols_end_on_octets,
    row_bytes,
)

NEW_SUBFILE_TYPE = 254
IMAGE_WIDTH = 256
IMAGE_LENGTH = 257
BITS_PER_SAMPLE = 258
COMPRESSION = 259
PHOTOMETRIC = 262
FILL_ORDER = 266
STRIP_OFFSETS = 273
ORIENTATION = 274
SAMPLES_PER_PIXEL = 277
ROWS_PER_STRIP = 278
STRIP_BYTE_COUNTS = 279
X_RESOLUTION = 282
Y_RESOLUTION = 283
RESOLUTION_UNIT = 296
PAGE_NUMBER = 297
SOFTWARE = 305
T4_OPTIONS = 292
T6_OPTIONS = 293
BAD_FAX_LINES = 326
CLEAN_FAX_DATA = 327
CONSECUTIVE_BAD_FAX_LINES = 328

SHORT, LONG, RATIONAL, ASCII = 3, 4, 5, 2
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}

TIFF_COMPRESSION = {Compression.MH: 3, Compression.MR: 3, Compression.MMR: 4}


class TiffError(ValueError):
    """A file this reader cannot turn into bi-level pages."""


@dataclass
class Page:
    """A bi-level page: packed rows (1 = black) and its resolution in pixels per inch."""

    rows: list[bytes]
    width: int
    x_dpi: float = 204.0
    y_dpi: float = 196.0
    bad_rows: int = 0
    longest_bad_run: int = 0
    first_bad_row: int | None = None
    """The 1-based number of the first row that could not be decoded, if any."""
    coded: bytes | None = None
    """A received page's coded data as it arrived (T.38 octet order, RTC or EOFB included)."""
    coding: Compression | None = None
    """How :attr:`coded` is coded (the DCS's choice)."""

    @property
    def length(self) -> int:
        return len(self.rows)

    def pixel(self, x: int, y: int) -> int:
        return self.rows[y][x >> 3] >> (7 - (x & 7)) & 1


def _rational(value: float) -> tuple[int, int]:
    return round(value * 100), 100


T4_OPTION_2D = 1
T4_OPTION_FILL = 4
CLEAN, UNCLEAN = 0, 2
"""``CleanFaxData``: no bad rows, or bad rows left as received (1, regenerated, is unused)."""


def _strip(page: Page, compression: Compression) -> tuple[bytes, Compression]:
    """The page's strip: its coded data as received, or the rows coded now."""
    if page.coded is not None and page.coding is not None:
        return page.coded, page.coding
    k = 4 if page.y_dpi > 150 else 2
    return encode_page(page.rows, page.width, compression, k=k, end_marker=False), compression


def _coding_tag(data: bytes, compression: Compression) -> tuple[int, int, int, int]:
    """``T6Options`` 0, or ``T4Options`` with bit 0 for MR and bit 2 for octet-aligned EOLs."""
    if compression is Compression.MMR:
        return T6_OPTIONS, LONG, 1, 0
    options = T4_OPTION_2D if compression is Compression.MR else 0
    if eols_end_on_octets(data):
        options |= T4_OPTION_FILL
    return T4_OPTIONS, LONG, 1, options


def write_tiff(pages: list[Page], compression: Compression = Compression.MMR,
               software: str = "sipfault") -> bytes:
    """A multi-page TIFF Class F file of ``pages``: received pages as their coded data
    arrived, other pages coded with ``compression``."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    previous_link = 4
    for number, page in enumerate(pages):
        data, coding = _strip(page, compression)
        if len(out) % 2:
            out.append(0)
        strip_offset = len(out)
        out += data
        if len(out) % 2:
            out.append(0)
        extra = bytearray()
        extra_base = len(out)
        sw = software.encode("ascii", "replace") + b"\x00"
        tags: list[tuple[int, int, int, bytes | int]] = [
            (NEW_SUBFILE_TYPE, LONG, 1, 2),
            (IMAGE_WIDTH, LONG, 1, page.width),
            (IMAGE_LENGTH, LONG, 1, page.length),
            (BITS_PER_SAMPLE, SHORT, 1, 1),
            (COMPRESSION, SHORT, 1, TIFF_COMPRESSION[coding]),
            (PHOTOMETRIC, SHORT, 1, 0),
            (FILL_ORDER, SHORT, 1, 1),
            (STRIP_OFFSETS, LONG, 1, strip_offset),
            (ORIENTATION, SHORT, 1, 1),
            (SAMPLES_PER_PIXEL, SHORT, 1, 1),
            (ROWS_PER_STRIP, LONG, 1, max(page.length, 1)),
            (STRIP_BYTE_COUNTS, LONG, 1, len(data)),
            (X_RESOLUTION, RATIONAL, 1, struct.pack("<II", *_rational(page.x_dpi))),
            (Y_RESOLUTION, RATIONAL, 1, struct.pack("<II", *_rational(page.y_dpi))),
            (RESOLUTION_UNIT, SHORT, 1, 2),
            (PAGE_NUMBER, SHORT, 2, struct.pack("<HH", number, len(pages))),
            (SOFTWARE, ASCII, len(sw), sw),
            (BAD_FAX_LINES, LONG, 1, page.bad_rows),
            (CLEAN_FAX_DATA, SHORT, 1, CLEAN if page.bad_rows == 0 else UNCLEAN),
            (CONSECUTIVE_BAD_FAX_LINES, LONG, 1, page.longest_bad_run),
            _coding_tag(data, coding),
        ]
        tags.sort()
        entries = bytearray()
        ifd_size = 2 + 12 * len(tags) + 4
        for tag, kind, count, value in tags:
            if isinstance(value, int):
                packed = struct.pack("<H", value) + b"\0\0" if kind == SHORT else struct.pack(
                    "<I", value)
            elif len(value) <= 4:
                packed = value.ljust(4, b"\0")
            else:
                packed = struct.pack("<I", extra_base + ifd_size + len(extra))
                extra += value
                if len(extra) % 2:
                    extra.append(0)
            entries += struct.pack("<HHI", tag, kind, count) + packed
        ifd_offset = len(out)
        out += struct.pack("<H", len(tags)) + entries + b"\0\0\0\0"
        assert len(out) == extra_base + ifd_size
        out += extra
        struct.pack_into("<I", out, previous_link, ifd_offset)
        previous_link = ifd_offset + 2 + 12 * len(tags)
    return bytes(out)


# -- reading --------------------------------------------------------------------------------

_REVERSED = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


def reverse_bits(data: bytes) -> bytes:
    """Each octet's bits in the other order (FillOrder 2, and T.30's frame order)."""
    return data.translate(_REVERSED)


def _read_ifd(data: bytes, offset: int, order: str) -> tuple[dict[int, list[float]], int]:
    if offset + 2 > len(data):
        raise TiffError("IFD outside the file")
    (count,) = struct.unpack_from(order + "H", data, offset)
    if offset + 2 + 12 * count + 4 > len(data):
        raise TiffError("IFD runs past the end of the file")
    tags: dict[int, list[float]] = {}
    for index in range(count):
        tag, kind, number, raw = struct.unpack_from(order + "HHI4s", data, offset + 2 + 12 * index)
        size = _TYPE_SIZES.get(kind)
        if size is None:
            continue
        total = size * number
        if total <= 4:
            blob = raw[:total]
        else:
            (where,) = struct.unpack(order + "I", raw)
            if where + total > len(data):
                raise TiffError(f"tag {tag} points outside the file")
            blob = data[where:where + total]
        values: list[float] = []
        if kind in (3, 8):
            values = list(struct.unpack(f"{order}{number}{'H' if kind == 3 else 'h'}", blob))
        elif kind in (4, 9):
            values = list(struct.unpack(f"{order}{number}{'I' if kind == 4 else 'i'}", blob))
        elif kind in (5, 10):
            pairs = struct.unpack(f"{order}{2 * number}{'I' if kind == 5 else 'i'}", blob)
            values = [top / bottom if bottom else 0.0 for top, bottom in zip(pairs[0::2],
                                                                             pairs[1::2],
                                                                             strict=True)]
        elif kind in (1, 6, 7):
            values = list(blob)
        tags[tag] = values
    (next_offset,) = struct.unpack_from(order + "I", data, offset + 2 + 12 * count)
    return tags, next_offset


def _first(tags: dict[int, list[float]], tag: int, default: float | None = None) -> float:
    values = tags.get(tag)
    if values:
        return values[0]
    if default is None:
        raise TiffError(f"tag {tag} missing")
    return default


def read_tiff(data: bytes) -> list[Page]:
    """Every bi-level page of a TIFF file."""
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        raise TiffError("not a TIFF file")
    order = "<" if data[:2] == b"II" else ">"
    if struct.unpack_from(order + "H", data, 2)[0] != 42:
        raise TiffError("not a TIFF file (no 42)")
    (offset,) = struct.unpack_from(order + "I", data, 4)
    pages: list[Page] = []
    seen: set[int] = set()
    while offset and offset not in seen:
        seen.add(offset)
        tags, offset = _read_ifd(data, offset, order)
        pages.append(_read_page(data, tags))
    return pages


def _read_page(data: bytes, tags: dict[int, list[float]]) -> Page:
    width = int(_first(tags, IMAGE_WIDTH))
    length = int(_first(tags, IMAGE_LENGTH))
    if int(_first(tags, BITS_PER_SAMPLE, 1)) != 1 or int(_first(tags, SAMPLES_PER_PIXEL, 1)) != 1:
        raise TiffError("not a bi-level page")
    compression = int(_first(tags, COMPRESSION, 1))
    photometric = int(_first(tags, PHOTOMETRIC, 0))
    fill_order = int(_first(tags, FILL_ORDER, 1))
    rows_per_strip = int(_first(tags, ROWS_PER_STRIP, length)) or length
    offsets = [int(value) for value in tags.get(STRIP_OFFSETS, [])]
    counts = [int(value) for value in tags.get(STRIP_BYTE_COUNTS, [])]
    if not offsets or len(offsets) != len(counts):
        raise TiffError("strips missing")
    unit = int(_first(tags, RESOLUTION_UNIT, 2))
    scale = 2.54 if unit == 3 else 1.0
    x_dpi = _first(tags, X_RESOLUTION, 204.0) * scale
    y_dpi = _first(tags, Y_RESOLUTION, 196.0) * scale
    t4_options = int(_first(tags, T4_OPTIONS, 0))
    rows: list[bytes] = []
    for start, size in zip(offsets, counts, strict=True):
        strip = data[start:start + size]
        if fill_order == 2:
            strip = reverse_bits(strip)
        wanted = min(rows_per_strip, length - len(rows))
        if compression == 1:
            stride = row_bytes(width)
            rows += [strip[index * stride:(index + 1) * stride] for index in range(wanted)]
            continue
        if compression == 3:
            scheme = Compression.MR if t4_options & 1 else Compression.MH
        elif compression == 4:
            scheme = Compression.MMR
        else:
            raise TiffError(f"compression {compression} is not a fax coding")
        try:
            decoded = decode_page(strip, width, scheme)
        except T4Error as exc:
            raise TiffError(f"strip does not decode: {exc}") from None
        rows += decoded.rows[:wanted]
    rows += [bytes(row_bytes(width))] * (length - len(rows))
    if photometric == 1:
        rows = [bytes(0xFF ^ octet for octet in row) for row in rows]
        rows = [_clear_padding(row, width) for row in rows]
    return Page(rows[:length], width, x_dpi, y_dpi)


def _clear_padding(row: bytes, width: int) -> bytes:
    spare = -width % 8
    if not spare:
        return row
    return row[:-1] + bytes((row[-1] & (0xFF << spare) & 0xFF,))
