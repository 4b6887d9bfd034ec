"""A minimal PNG writer and reader for bi-level pages (PNG, ISO/IEC 15948, with zlib).

Written as 1-bit greyscale (0 black, 1 white); read from 1-bit or 8-bit greyscale with any
row filter, thresholded at half grey. Rows are the fax convention: packed, 1 for black.
"""

from __future__ import annotations

import struct
import zlib

from sipfault.fax.tiff import Page

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(ValueError):
    pass


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def write_png(page: Page) -> bytes:
    header = struct.pack(">IIBBBBB", page.width, page.length, 1, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(0xFF ^ octet for octet in row) for row in page.rows)
    # pHYs: pixels per metre from the page's dots per inch.
    phys = struct.pack(">IIB", round(page.x_dpi / 0.0254), round(page.y_dpi / 0.0254), 1)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"pHYs", phys)
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(data: bytes, stride: int, height: int, bpp: int) -> list[bytes]:
    rows: list[bytes] = []
    previous = bytes(stride)
    for index in range(height):
        start = index * (stride + 1)
        kind = data[start]
        line = bytearray(data[start + 1:start + 1 + stride])
        if len(line) != stride:
            raise PngError("image data cut short")
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise PngError(f"unknown row filter {kind}")
        previous = bytes(line)
        rows.append(previous)
    return rows


def read_png(data: bytes) -> Page:
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file")
    offset = len(SIGNATURE)
    header = b""
    idat = bytearray()
    x_dpi = y_dpi = 0.0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        body = data[offset + 8:offset + 8 + size]
        offset += 12 + size
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"pHYs" and len(body) == 9 and body[8] == 1:
            x_ppm, y_ppm = struct.unpack(">II", body[:8])
            x_dpi, y_dpi = x_ppm * 0.0254, y_ppm * 0.0254
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise PngError("IHDR missing")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if colour != 0 or depth not in (1, 8) or interlace:
        raise PngError("only non-interlaced 1-bit or 8-bit greyscale is read")
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise PngError(f"image data does not inflate: {exc}") from None
    stride = (width * depth + 7) // 8
    lines = _unfilter(raw, stride, height, 1)
    rows = []
    spare = -width % 8
    for line in lines:
        if depth == 8:
            bits = "".join("1" if value < 128 else "0" for value in line)
            bits += "0" * spare
            row = int(bits, 2).to_bytes((width + 7) // 8, "big") if bits else b""
        else:
            row = bytes(0xFF ^ octet for octet in line)
            if spare:
                row = row[:-1] + bytes((row[-1] & (0xFF << spare) & 0xFF,))
        rows.append(row)
    return Page(rows, width, round(x_dpi) or 204.0, round(y_dpi) or 196.0)
