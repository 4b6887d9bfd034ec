"""A generated page to send when no file is given: text drawn with a built-in 5x7 font.

The caller passes the date (this module reads no clock), the call's identity and the page
number; the page also carries a frame and a ruler so that damage is easy to see.
"""

from __future__ import annotations

from sipfault.fax.dis import Resolution
from sipfault.fax.t4 import WIDTH_A4, row_of
from sipfault.fax.tiff import Page

# Each glyph is seven rows of five pixels, '#' for ink.
_GLYPHS = """
A .###. #...# #...# ##### #...# #...# #...#
B ####. #...# #...# ####. #...# #...# ####.
C .###. #...# #.... #.... #.... #...# .###.
D ####. #...# #...# #...# #...# #...# ####.
E ##### #.... #.... ####. #.... #.... #####
F ##### #.... #.... ####. #.... #.... #....
G .###. #...# #.... #.### #...# #...# .####
H #...# #...# #...# ##### #...# #...# #...#
I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
J ..### ...#. ...#. ...#. ...#. #..#. .##..
K #...# #..#. #.#.. ##... #.#.. #..#. #...#
L #.... #.... #.... #.... #.... #.... #####
M #...# ##.## #.#.# #.#.# #...# #...# #...#
N #...# #...# ##..# #.#.# #..## #...# #...#
O .###. #...# #...# #...# #...# #...# .###.
P ####. #...# #...# ####. #.... #.... #....
Q .###. #...# #...# #...# #.#.# #..#. .##.#
R ####. #...# #...# ####. #.#.. #..#. #...#
S .#### #.... #.... .###. ....# ....# ####.
T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
U #...# #...# #...# #...# #...# #...# .###.
V #...# #...# #...# #...# #...# .#.#. ..#..
W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.
X #...# #...# .#.#. ..#.. .#.#. #...# #...#
Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..
Z ##### ....# ...#. ..#.. .#... #.... #####
0 .###. #...# #..## #.#.# ##..# #...# .###.
1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.
2 .###. #...# ....# ...#. ..#.. .#... #####
3 ####. ....# ....# .###. ....# ....# ####.
4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.
5 ##### #.... ####. ....# ....# #...# .###.
6 ..##. .#... #.... ####. #...# #...# .###.
7 ##### ....# ...#. ..#.. .#... .#... .#...
8 .###. #...# #...# .###. #...# #...# .###.
9 .###. #...# #...# .#### ....# ...#. .##..
- ..... ..... ..... ##### ..... ..... .....
: ..... ..#.. ..#.. ..... ..#.. ..#.. .....
. ..... ..... ..... ..... ..... .##.. .##..
/ ....# ....# ...#. ..#.. .#... #.... #....
@ .###. #...# #.### #.#.# #.### #.... .####
_ ..... ..... ..... ..... ..... ..... #####
+ ..... ..#.. ..#.. ##### ..#.. ..#.. .....
( ...#. ..#.. .#... .#... .#... ..#.. ...#.
) .#... ..#.. ...#. ...#. ...#. ..#.. .#...
"""
FONT: dict[str, tuple[str, ...]] = {
    line[0]: tuple(line[2:].split()) for line in _GLYPHS.strip().splitlines()}
FONT[" "] = ("....." ,) * 7


def _text_rows(text: str, scale: int) -> list[list[int]]:
    """Pixel runs (changing elements, before the left margin) of one line of text."""
    rows: list[list[int]] = []
    for glyph_row in range(7):
        bits: list[bool] = []
        for char in text.upper():
            pattern = FONT.get(char, FONT["."])[glyph_row]
            for pixel in pattern + ".":
                bits += [pixel == "#"] * scale
        rows += [_changes(bits)] * scale
    return rows


def _changes(bits: list[bool]) -> list[int]:
    out = []
    previous = False
    for index, bit in enumerate(bits):
        if bit != previous:
            out.append(index)
            previous = bit
    if previous:
        out.append(len(bits))
    return out


def test_page(date: str, call: str, number: int, total: int,
              resolution: Resolution = Resolution.FINE, width: int = WIDTH_A4) -> Page:
    """An A4-long page with the date, the call and ``PAGE number OF total`` on it."""
    length = {Resolution.STANDARD: 1143, Resolution.FINE: 2287,
              Resolution.SUPERFINE: 4575}[resolution]
    vertical = {Resolution.STANDARD: 1, Resolution.FINE: 2, Resolution.SUPERFINE: 4}[resolution]
    margin = 100
    blank = row_of([], width)
    frame_line = row_of([margin - 10, width - margin + 10], width)
    frame_sides = row_of([margin - 10, margin - 6, width - margin + 6, width - margin + 10],
                         width)
    rows = [blank] * 40 + [frame_line] * 4
    lines = [("SIPFAULT FAX TEST PAGE", 6), (date, 4), (f"CALL {call}", 4),
             (f"PAGE {number} OF {total}", 6)]
    for text, scale in lines:
        rows += [frame_sides] * (10 * vertical)
        for changes in _text_rows(text, scale):
            shifted = [margin + x for x in changes if margin + x < width - margin]
            if len(shifted) % 2:
                shifted.append(width - margin)
            merged = sorted({margin - 10, margin - 6, *shifted, width - margin + 6,
                             width - margin + 10})
            row = row_of(merged if len(merged) % 2 == 0 else merged[:-1], width)
            rows += [row] * vertical
    # A ruler: ticks every 8 pixels (1 mm), longer every 80.
    for tick_row in range(12 * vertical):
        ticks: list[int] = []
        for x in range(margin, width - margin, 8):
            if tick_row < 6 * vertical or x % 80 == margin % 80:
                ticks += [x, x + 2]
        rows.append(row_of(ticks, width))
    while len(rows) < length - 44:
        rows.append(frame_sides)
    rows += [frame_line] * 4 + [blank] * 40
    return Page(rows[:length], width, 204.0, resolution.y_dpi)
