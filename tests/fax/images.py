"""Test images: seeded random bi-level rows and conversion to and from Pillow."""

from __future__ import annotations

import random

from PIL import Image

from sipfault.fax.tiff import Page


def random_rows(width: int, count: int, seed: int) -> list[bytes]:
    """Rows of runs of mixed lengths, like text and lines on a page."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        bits: list[str] = []
        while len(bits) < width:
            run = rng.choice([rng.randint(1, 5), rng.randint(1, 80), rng.randint(50, 900)])
            bits += ["1" if rng.random() < 0.35 else "0"] * run
        stride = (width + 7) // 8
        padded = "".join(bits[:width]).ljust(stride * 8, "0")
        rows.append(int(padded, 2).to_bytes(stride, "big"))
    return rows


def to_image(page: Page) -> Image.Image:
    """A Pillow mode '1' image (1 = white) of a page (1 = black)."""
    raw = b"".join(bytes(0xFF ^ octet for octet in row) for row in page.rows)
    return Image.frombytes("1", (page.width, page.length), raw)


def rows_of_image(image: Image.Image) -> list[bytes]:
    """Packed rows (1 = black) of a Pillow image."""
    mono = image.convert("1")
    stride = (mono.width + 7) // 8
    raw = bytes(0xFF ^ octet for octet in mono.tobytes())
    rows = [raw[index * stride:(index + 1) * stride] for index in range(mono.height)]
    spare = -mono.width % 8
    if spare:
        rows = [row[:-1] + bytes((row[-1] & (0xFF << spare) & 0xFF,)) for row in rows]
    return rows
