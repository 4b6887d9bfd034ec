"""Bi-level page coding: MH and MR (ITU-T T.4 §4.1, §4.2) and MMR (ITU-T T.6).

Rows are ``bytes`` of packed pixels, most significant bit first, 1 for black (the fax
convention, TIFF's WhiteIsZero). Internally a row is its list of *changing elements*: the
positions where the colour changes, starting from an imaginary white pixel before the row.

Coded data is in transmission order, the first bit in the most significant bit of the first
octet (TIFF FillOrder 1, and the octet order of T.38 image data). Decoding works on a string
of ``0`` and ``1`` characters so that searching for EOL and peeking at codes are C-speed
string operations.

- MH: every row is ``EOL`` + one-dimensional runs; a page ends with RTC (six EOLs).
- MR: every row is ``EOL`` + a tag bit (1: one-dimensional, 0: two-dimensional, coded against
  the row above); a one-dimensional row at least every K rows; RTC is six ``EOL 1``.
- MMR: two-dimensional rows only, no EOL, the first row against an all-white one; a page
  ends with EOFB (two EOLs).

Non-ECM pages (MH, MR) decode row by row between EOLs: a row that does not decode to the
page width is counted bad and replaced by the row above, as a fax receiver does.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import Enum

from sipfault.fax.t4_codes import EOL, HORIZONTAL, PASS, VERTICAL, run_codes


class Compression(Enum):
    MH = "MH"
    MR = "MR"
    MMR = "MMR"


class T4Error(ValueError):
    """Coded data that cannot be decoded."""


WIDTH_A4 = 1728
PEEK = 13  # the longest run code
MODE_PEEK = 7  # the longest mode code besides EOL and extensions

_RUN_CODES = (run_codes(False), run_codes(True))
_ENCODE = tuple({run: code for code, run in codes.items()} for codes in _RUN_CODES)


def _peek_table(codes: dict[str, int], width: int) -> list[tuple[int, int]]:
    """For every ``width``-bit value, the (length, value) of the code it starts with."""
    table = [(0, -1)] * (1 << width)
    for code, value in codes.items():
        free = width - len(code)
        base = int(code, 2) << free
        for low in range(1 << free):
            table[base | low] = (len(code), value)
    return table


_RUN_TABLES = (_peek_table(_RUN_CODES[0], PEEK), _peek_table(_RUN_CODES[1], PEEK))
MODE_PASS = 100
MODE_HORIZONTAL = 101
_MODE_TABLE = _peek_table(
    {PASS: MODE_PASS, HORIZONTAL: MODE_HORIZONTAL, **{code: delta for delta, code
                                                      in VERTICAL.items()}}, MODE_PEEK)
_BLACK_RUNS = re.compile(r"1+")
_BYTE_BITS = [format(value, "08b") for value in range(256)]


# -- rows -----------------------------------------------------------------------------------


def row_bytes(width: int) -> int:
    return (width + 7) // 8


def changes_of(row: bytes, width: int) -> list[int]:
    """The changing elements of a packed row."""
    bits = "".join([_BYTE_BITS[octet] for octet in row])[:width]
    out: list[int] = []
    for match in _BLACK_RUNS.finditer(bits):
        out.append(match.start())
        out.append(match.end())
    if out and out[-1] == width:
        out.pop()
    return out


def row_of(changes: list[int], width: int) -> bytes:
    """Pack a row from its changing elements."""
    value = 0
    edges = [*changes, width] if len(changes) % 2 else changes
    for start, end in zip(edges[0::2], edges[1::2], strict=True):
        if end > start:
            value |= ((1 << (end - start)) - 1) << (width - end)
    padded = row_bytes(width) * 8
    return (value << (padded - width)).to_bytes(padded // 8, "big")


def blank_row(width: int) -> bytes:
    return bytes(row_bytes(width))


# -- encoding -------------------------------------------------------------------------------


def _runs(out: list[str], run: int, black: bool) -> None:
    table = _ENCODE[black]
    while run >= 2560:
        out.append(table[2560])
        run -= 2560
    if run >= 64:
        out.append(table[run // 64 * 64])
        run %= 64
    out.append(table[run])


def _encode_1d(out: list[str], changes: list[int], width: int) -> None:
    position = 0
    black = False
    for change in [*changes, width]:
        _runs(out, change - position, black)
        position = change
        black = not black
        if position >= width:
            break


def _encode_2d(out: list[str], changes: list[int], reference: list[int], width: int) -> None:
    cur = [*changes, width, width]
    ref = [*reference, width, width]
    a0 = -1
    black = False
    i = 0  # index of a1 in cur
    j = 0  # index of b1 in ref
    while True:
        while cur[i] <= a0 and cur[i] < width:
            i += 1
        a1 = cur[i]
        j = max(j - 1, 0)
        if j % 2 != black:
            j += 1
        while ref[j] <= a0 and ref[j] < width:
            j += 2
        b1 = ref[j]
        b2 = ref[j + 1] if j + 1 < len(ref) else width
        if b2 < a1:
            out.append(PASS)
            a0 = b2
            j += 2
        elif abs(a1 - b1) <= 3:
            out.append(VERTICAL[a1 - b1])
            a0 = a1
            black = not black
            i += 1
        else:
            a2 = cur[i + 1] if i + 1 < len(cur) else width
            out.append(HORIZONTAL)
            _runs(out, a1 - max(a0, 0), black)
            _runs(out, a2 - a1, not black)
            a0 = a2
            i += 2
        if a0 >= width:
            return


def _pack(bits: str) -> bytes:
    if not bits:
        return b""
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def encode_page(rows: list[bytes], width: int, compression: Compression, *, k: int = 4,
                min_row_bits: int = 0, end_marker: bool = True) -> bytes:
    """Code a page. MH and MR rows start with EOL (zero fill before it brings a row up to
    ``min_row_bits``, the minimum scan line time at the modem rate) and end with RTC; MMR ends
    with EOFB. ``k`` is MR's K parameter: 2 at standard resolution, 4 at fine."""
    out: list[str] = []
    reference: list[int] = []
    for number, row in enumerate(rows):
        changes = changes_of(row, width)
        if compression is Compression.MMR:
            _encode_2d(out, changes, reference, width)
        else:
            line: list[str] = []
            if compression is Compression.MH:
                _encode_1d(line, changes, width)
            elif number % k == 0:
                line.append("1")
                _encode_1d(line, changes, width)
            else:
                line.append("0")
                _encode_2d(line, changes, reference, width)
            size = sum(map(len, line)) + len(EOL)
            if size < min_row_bits:
                out.append("0" * (min_row_bits - size))
            out.append(EOL)
            out.extend(line)
        reference = changes
    if end_marker:
        if compression is Compression.MMR:
            out.append(EOL * 2)
        elif compression is Compression.MH:
            out.append(EOL * 6)
        else:
            out.append((EOL + "1") * 6)
    return _pack("".join(out))


# -- decoding -------------------------------------------------------------------------------


_EOL_ENDS = re.compile(r"0{11,}1")


def eols_end_on_octets(data: bytes) -> bool:
    """Whether MH or MR data has fill (T.4 §4.1.3) before every EOL so that each EOL ends on
    an octet boundary: TIFF's ``T4Options`` bit 2 says exactly this of a strip."""
    ends = [match.end() for match in _EOL_ENDS.finditer(bit_string(data))]
    return bool(ends) and all(end % 8 == 0 for end in ends)


def bit_string(data: bytes) -> str:
    if not data:
        return ""
    return format(int.from_bytes(data, "big"), f"0{len(data) * 8}b")


class _Reader:
    """Decodes codes from a bit string; ``pos`` is the next bit."""

    __slots__ = ("bits", "end", "pos")

    def __init__(self, bits: str, pos: int = 0, end: int | None = None) -> None:
        self.bits = bits
        self.pos = pos
        self.end = len(bits) if end is None else end

    def peek(self, width: int) -> int:
        chunk = self.bits[self.pos:min(self.pos + width, self.end)]
        if not chunk:
            raise T4Error("data ends inside a row")
        return int(chunk, 2) << (width - len(chunk))

    def run(self, black: bool) -> int:
        """One run: make-up codes and the terminating code after them."""
        table = _RUN_TABLES[black]
        total = 0
        while True:
            length, value = table[self.peek(PEEK)]
            if length == 0 or self.pos + length > self.end:
                raise T4Error(f"no {'black' if black else 'white'} run code at bit {self.pos}")
            self.pos += length
            total += value
            if value < 64:
                return total

    def mode(self) -> int:
        length, value = _MODE_TABLE[self.peek(MODE_PEEK)]
        if length == 0 or self.pos + length > self.end:
            raise T4Error(f"no mode code at bit {self.pos}")
        self.pos += length
        return value


def _decode_1d(reader: _Reader, width: int) -> list[int]:
    changes: list[int] = []
    position = 0
    black = False
    while position < width:
        position += reader.run(black)
        if position > width:
            raise T4Error(f"row of {position} pixels is wider than {width}")
        if position < width:
            changes.append(position)
        black = not black
    return changes


def _decode_2d(reader: _Reader, reference: list[int], width: int) -> list[int]:
    ref = [*reference, width, width]
    changes: list[int] = []
    a0 = -1
    black = False
    j = 0
    while a0 < width:
        j = max(j - 1, 0)
        if j % 2 != black:
            j += 1
        while ref[j] <= a0 and ref[j] < width:
            j += 2
        b1 = ref[j]
        mode = reader.mode()
        if mode == MODE_PASS:
            b2 = ref[j + 1] if j + 1 < len(ref) else width
            a0 = b2
            j += 2
        elif mode == MODE_HORIZONTAL:
            start = max(a0, 0)
            a1 = start + reader.run(black)
            a2 = a1 + reader.run(not black)
            if a2 > width:
                raise T4Error(f"row of {a2} pixels is wider than {width}")
            if a1 < width:
                changes.append(a1)
            if a2 < width:
                changes.append(a2)
            a0 = a2
        else:
            a1 = b1 + mode
            if a1 < max(a0, 0) or a1 > width or (a1 == a0 and a0 >= 0):
                raise T4Error(f"vertical mode to {a1} outside the row")
            if a1 < width:
                changes.append(a1)
            a0 = a1
            black = not black
    if any(later <= earlier for earlier, later in itertools.pairwise(changes)):
        raise T4Error("changing elements out of order")
    return changes


@dataclass
class DecodedPage:
    rows: list[bytes]
    width: int
    bad_rows: int = 0
    longest_bad_run: int = 0
    first_bad_row: int | None = None
    """The 1-based number of the first row that could not be decoded, if any."""
    complete: bool = True
    """The end marker (RTC or EOFB) was found."""


def _finish(page: DecodedPage, flags: list[bool]) -> DecodedPage:
    run = 0
    for bad in flags:
        run = run + 1 if bad else 0
        page.longest_bad_run = max(page.longest_bad_run, run)
    page.bad_rows = sum(flags)
    page.first_bad_row = flags.index(True) + 1 if page.bad_rows else None
    return page


def _decode_lines(bits: str, width: int, compression: Compression) -> DecodedPage:
    """MH or MR: rows between EOLs; RTC (six EOLs, after tag bits in MR) ends the page."""
    rows: list[bytes] = []
    flags: list[bool] = []
    reference: list[int] = []
    previous = blank_row(width)
    starts = []
    position = bits.find(EOL)
    while position >= 0:
        starts.append(position + len(EOL))
        position = bits.find(EOL, position + len(EOL))
    empty = 0
    complete = False
    for index, start in enumerate(starts):
        end = starts[index + 1] - len(EOL) if index + 1 < len(starts) else len(bits)
        segment_data = bits[start:end]
        content = segment_data[1:] if compression is Compression.MR else segment_data
        if "1" not in content:
            empty += 1
            if empty >= 2:
                # RTC is six EOLs, but two in a row already end the page: what follows
                # (the rest of RTC, fill) is no image.
                complete = True
                break
            continue
        empty = 0
        reader = _Reader(bits, start, end)
        try:
            if compression is Compression.MR:
                two_d = reader.bits[reader.pos] == "0"
                reader.pos += 1
                changes = (_decode_2d(reader, reference, width) if two_d
                           else _decode_1d(reader, width))
            else:
                changes = _decode_1d(reader, width)
            if "1" in bits[reader.pos:end]:
                raise T4Error("bits left after the row")
        except (T4Error, IndexError):
            rows.append(previous)
            flags.append(True)
            continue
        reference = changes
        previous = row_of(changes, width)
        rows.append(previous)
        flags.append(False)
    return _finish(DecodedPage(rows, width, complete=complete), flags)


def _decode_mmr(bits: str, width: int) -> DecodedPage:
    rows: list[bytes] = []
    reference: list[int] = []
    reader = _Reader(bits)
    flags: list[bool] = []
    last_one = bits.rfind("1")
    while reader.pos <= last_one:
        if bits.startswith(EOL, reader.pos):  # EOFB
            return _finish(DecodedPage(rows, width, complete=True), flags)
        try:
            reference = _decode_2d(reader, reference, width)
        except (T4Error, IndexError):
            # Without EOLs nothing after an error can be placed: the page ends here.
            return _finish(DecodedPage(rows, width, complete=False), [*flags, True])
        rows.append(row_of(reference, width))
        flags.append(False)
    return _finish(DecodedPage(rows, width, complete=False), flags)


def decode_page(data: bytes, width: int, compression: Compression) -> DecodedPage:
    """Decode a whole page; bad rows are counted (MH, MR) or end the page (MMR)."""
    bits = bit_string(data)
    if compression is Compression.MMR:
        return _decode_mmr(bits, width)
    return _decode_lines(bits, width, compression)
