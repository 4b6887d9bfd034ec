"""T.30 HDLC frames and their facsimile control fields (ITU-T T.30 §5.3.6).

A frame is ``address (0xFF) | control | FCF | FIF``; over T.38 the flags and FCS are not
sent (``hdlc-fcs-OK`` stands for a good FCS). Frames here are in T.30's bit order: the
first bit sent is the least significant bit of each octet, so FCF ``[0000 0001]`` (DIS) is
``0x80`` and bit ``n`` of the FIF is ``1 << ((n - 1) % 8)`` of octet ``(n - 1) // 8``. T.38
carries octets the other way round (first bit most significant): :func:`to_wire` and
:func:`from_wire` turn one into the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

ADDRESS = 0xFF
CONTROL = 0x03
CONTROL_FINAL = 0x13
X_BIT = 0x01

_REVERSED = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


def reverse_bits(data: bytes) -> bytes:
    return bytes(data).translate(_REVERSED)


to_wire = reverse_bits
from_wire = reverse_bits


class FCF(IntEnum):
    """Facsimile control fields (the FCFs of T.30 §5.3.6) in T.30 bit order, without the X
    bit."""

    # Initial identification (no X bit: DIS and DTC differ in that position).
    DIS = 0x80
    CSI = 0x40
    NSF = 0x20
    DTC = 0x81
    CIG = 0x41
    NSC = 0x21
    # Commands and responses with the X bit in the low position.
    DCS = 0x82
    TSI = 0x42
    NSS = 0x22
    SUB = 0xC2
    SID = 0xA2
    PWD = 0xC1
    CTC = 0x12
    CFR = 0x84
    FTT = 0x44
    CTR = 0xC4
    EOM = 0x8E
    MPS = 0x4E
    EOP = 0x2E
    PRI_EOM = 0x9E
    PRI_MPS = 0x5E
    PRI_EOP = 0x3E
    PPS = 0xBE
    EOR = 0xCE
    RR = 0x6E
    MCF = 0x8C
    RTP = 0xCC
    RTN = 0x4C
    PIP = 0xAC
    PIN = 0x2C
    PPR = 0xBC
    RNR = 0xEC
    ERR = 0x1C
    DCN = 0xFA
    CRP = 0x1A
    FNV = 0xCA
    FCD = 0x06
    RCP = 0x86
    NULL = 0x00


_INITIAL = {FCF.DIS, FCF.CSI, FCF.NSF, FCF.DTC, FCF.CIG, FCF.NSC, FCF.PWD}
_BY_VALUE = {int(item): item for item in FCF}


def classify(octet: int) -> FCF | None:
    """The FCF an octet stands for, ignoring the X bit where T.30 has one."""
    if octet in _BY_VALUE and _BY_VALUE[octet] in _INITIAL:
        return _BY_VALUE[octet]
    return _BY_VALUE.get(octet & ~X_BIT & 0xFF)


@dataclass(frozen=True, slots=True)
class Frame:
    """A T.30 frame: its FCF, the octets after it and whether it is the last one sent."""

    fcf: FCF
    fif: bytes = b""
    final: bool = True
    x_bit: bool = False

    def encode(self) -> bytes:
        fcf = int(self.fcf)
        if self.x_bit and self.fcf not in _INITIAL:
            fcf |= X_BIT
        return bytes((ADDRESS, CONTROL_FINAL if self.final else CONTROL, fcf)) + self.fif

    @property
    def name(self) -> str:
        return self.fcf.name.replace("_", "-")


class FrameError(ValueError):
    pass


def decode_frame(data: bytes) -> Frame:
    """Parse a frame (T.30 bit order); raises :class:`FrameError` if it is no T.30 frame."""
    if len(data) < 3 or data[0] != ADDRESS or data[1] not in (CONTROL, CONTROL_FINAL):
        raise FrameError(f"not a T.30 frame: {data[:3].hex()}")
    fcf = classify(data[2])
    if fcf is None:
        raise FrameError(f"unknown FCF 0x{data[2]:02x}")
    return Frame(fcf, bytes(data[3:]), data[1] == CONTROL_FINAL, bool(data[2] & X_BIT))


def encode_ident(text: str) -> bytes:
    """A 20-character identity (CSI, TSI, CIG, SUB): sent last character first (T.30 §5.3.6.2.4)."""
    return text[:20].rjust(20).encode("ascii", "replace")[::-1]


def decode_ident(fif: bytes) -> str:
    return fif[::-1].decode("ascii", "replace").strip()
