"""The DIS, DTC and DCS bit fields (ITU-T T.30 Table 2): capabilities offered and chosen.

Bit ``n`` of the field is ``1 << ((n - 1) % 8)`` of octet ``(n - 1) // 8`` (T.30 bit order);
bits 24, 32, 40 ... say that another octet follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from sipfault.fax.t4 import Compression
from sipfault.fax.t38 import DataType


class Resolution(Enum):
    """Vertical resolution (the horizontal is 8 pels/mm, about 204 dpi, for all three)."""

    STANDARD = "standard"  # 3.85 lines/mm, 98 dpi
    FINE = "fine"  # 7.7 lines/mm, 196 dpi
    SUPERFINE = "superfine"  # 15.4 lines/mm, 391 dpi

    @property
    def y_dpi(self) -> float:
        return {"standard": 98.0, "fine": 196.0, "superfine": 391.0}[self.value]

    @classmethod
    def from_dpi(cls, y_dpi: float) -> Resolution:
        if y_dpi > 300:
            return cls.SUPERFINE
        return cls.FINE if y_dpi > 150 else cls.STANDARD


BIT_T38 = 3
BIT_READY_TO_RECEIVE = 10
BITS_MODEM = (11, 12, 13, 14)
BIT_FINE = 15
BIT_2D = 16
BITS_SCAN_TIME = (21, 22, 23)
BIT_ECM = 27
BIT_FRAME_64 = 28
BIT_T6 = 31
BIT_SUPERFINE = 41
BIT_METRIC = 45


@dataclass(frozen=True)
class Modem:
    """One modulation at one rate, with the DCS code bits 11-14 that select it."""

    rate: int
    family: str
    dcs_bits: tuple[int, ...]
    data_type: DataType

    @property
    def name(self) -> str:
        return f"{self.family} {self.rate}"


# Fallback order (T.30 leaves it to the sender; this is the usual one).
MODEMS = (
    Modem(14400, "V.17", (14,), DataType.V17_14400),
    Modem(12000, "V.17", (12, 14), DataType.V17_12000),
    Modem(9600, "V.17", (11, 14), DataType.V17_9600),
    Modem(9600, "V.29", (11,), DataType.V29_9600),
    Modem(7200, "V.17", (11, 12, 14), DataType.V17_7200),
    Modem(7200, "V.29", (11, 12), DataType.V29_7200),
    Modem(4800, "V.27ter", (12,), DataType.V27_4800),
    Modem(2400, "V.27ter", (), DataType.V27_2400),
)
MODEM_OF_DATA_TYPE = {modem.data_type: modem for modem in MODEMS}

# DIS bits 11-14 and the modem families they offer.
_DIS_FAMILIES = {
    (): ("V.27ter",),  # fallback mode only: 2400
    (12,): ("V.27ter",),
    (11,): ("V.29",),
    (11, 12): ("V.27ter", "V.29"),
    (11, 12, 14): ("V.27ter", "V.29", "V.17"),
}

# Minimum scan line time, DIS/DCS bits 21-23 (the DCS value, in ms).
_SCAN_TIMES: dict[tuple[int, ...], int] = {(): 20, (23,): 40, (22,): 10, (21,): 5,
                                           (21, 22, 23): 0}
_SCAN_BITS = {value: key for key, value in _SCAN_TIMES.items()}
_SCAN_HALVED: dict[tuple[int, ...], int] = {(22, 23): 10, (21, 22): 20, (21, 23): 40}


def _set(octets: bytearray, bit: int) -> None:
    index = (bit - 1) // 8
    while len(octets) <= index:
        octets.append(0)
    octets[index] |= 1 << ((bit - 1) % 8)


def _test(octets: bytes, bit: int) -> bool:
    index = (bit - 1) // 8
    return index < len(octets) and bool(octets[index] >> ((bit - 1) % 8) & 1)


def _finish(octets: bytearray) -> bytes:
    """Set the extend bits so that every octet but the last says another one follows."""
    for index in range(2, len(octets) - 1):
        octets[index] |= 0x80
    return bytes(octets)


@dataclass(frozen=True)
class Capabilities:
    """What a DIS (or DTC) offers."""

    max_rate: int = 14400
    families: tuple[str, ...] = ("V.27ter", "V.29", "V.17")
    resolutions: tuple[Resolution, ...] = (Resolution.STANDARD, Resolution.FINE,
                                           Resolution.SUPERFINE)
    compressions: tuple[Compression, ...] = (Compression.MH, Compression.MR, Compression.MMR)
    ecm: bool = True
    t38: bool = True
    ready_to_receive: bool = True
    min_scan_ms: int = 0

    def modems(self) -> list[Modem]:
        """The modems offered, fastest first."""
        return [m for m in MODEMS if m.family in self.families and m.rate <= self.max_rate]

    def encode(self) -> bytes:
        octets = bytearray(3)
        if self.t38:
            _set(octets, BIT_T38)
        if self.ready_to_receive:
            _set(octets, BIT_READY_TO_RECEIVE)
        families = set(self.families)
        if self.max_rate < 4800:
            families = set()
        if "V.17" in families and self.max_rate > 9600:
            bits: tuple[int, ...] = (11, 12, 14)
        elif "V.29" in families and self.max_rate >= 7200:
            bits = (11, 12) if "V.27ter" in families else (11,)
        elif "V.27ter" in families:
            bits = (12,)
        else:
            bits = ()
        for bit in bits:
            _set(octets, bit)
        if Resolution.FINE in self.resolutions:
            _set(octets, BIT_FINE)
        if Compression.MR in self.compressions:
            _set(octets, BIT_2D)
        scan = _SCAN_BITS.get(self.min_scan_ms, (21, 22, 23))
        for bit in scan:
            _set(octets, bit)
        if self.ecm:
            _set(octets, BIT_ECM)
            if Compression.MMR in self.compressions:
                _set(octets, BIT_T6)
        if Resolution.SUPERFINE in self.resolutions:
            _set(octets, BIT_SUPERFINE)
        _set(octets, BIT_METRIC)
        _set(octets, 48)
        octets[5] &= 0x7F
        return _finish(octets)

    @classmethod
    def decode(cls, fif: bytes) -> Capabilities:
        bits = tuple(bit for bit in BITS_MODEM if _test(fif, bit))
        families = _DIS_FAMILIES.get(bits, ("V.27ter", "V.29"))
        max_rate = {(): 2400, (12,): 4800, (11,): 9600, (11, 12): 9600}.get(bits, 14400)
        resolutions = [Resolution.STANDARD]
        if _test(fif, BIT_FINE):
            resolutions.append(Resolution.FINE)
        if _test(fif, BIT_SUPERFINE):
            resolutions.append(Resolution.SUPERFINE)
        compressions = [Compression.MH]
        if _test(fif, BIT_2D):
            compressions.append(Compression.MR)
        ecm = _test(fif, BIT_ECM)
        if ecm and _test(fif, BIT_T6):
            compressions.append(Compression.MMR)
        scan_bits = tuple(bit for bit in BITS_SCAN_TIME if _test(fif, bit))
        # DIS codes 011, 110 and 101 allow halving at fine resolution; take the full value.
        scan = _SCAN_TIMES.get(scan_bits, _SCAN_HALVED.get(scan_bits, 20))
        return cls(max_rate, families, tuple(resolutions), tuple(compressions), ecm,
                   _test(fif, BIT_T38), _test(fif, BIT_READY_TO_RECEIVE), scan)

    def describe(self) -> str:
        parts = [f"{self.max_rate} bps"]
        parts.append("/".join(r.value for r in self.resolutions))
        parts.append("/".join(c.value for c in self.compressions))
        if self.ecm:
            parts.append("ECM")
        if not self.ready_to_receive:
            parts.append("cannot receive")
        return ", ".join(parts)


@dataclass(frozen=True)
class Session:
    """What a DCS sets up for the pages that follow."""

    modem: Modem = field(default_factory=lambda: MODEMS[0])
    resolution: Resolution = Resolution.FINE
    compression: Compression = Compression.MH
    ecm: bool = False
    frame_size: int = 256
    min_scan_ms: int = 0
    receive: bool = True
    t38: bool = True

    @property
    def rate(self) -> int:
        return self.modem.rate

    def encode(self) -> bytes:
        octets = bytearray(3)
        if self.t38:
            _set(octets, BIT_T38)
        if self.receive:
            _set(octets, BIT_READY_TO_RECEIVE)
        for bit in self.modem.dcs_bits:
            _set(octets, bit)
        if self.resolution is Resolution.FINE:
            _set(octets, BIT_FINE)
        if self.compression is Compression.MR:
            _set(octets, BIT_2D)
        scan = _SCAN_BITS.get(self.min_scan_ms, ())
        for bit in scan:
            _set(octets, bit)
        if self.ecm:
            _set(octets, BIT_ECM)
            if self.frame_size == 64:
                _set(octets, BIT_FRAME_64)
        if self.compression is Compression.MMR:
            _set(octets, BIT_T6)
        if self.resolution is Resolution.SUPERFINE:
            _set(octets, BIT_SUPERFINE)
        if len(octets) > 5:
            _set(octets, 48)
            octets[5] &= 0x7F
        return _finish(octets)

    @classmethod
    def decode(cls, fif: bytes) -> Session:
        bits = tuple(bit for bit in BITS_MODEM if _test(fif, bit))
        modem = next((m for m in MODEMS if m.dcs_bits == bits), None)
        if modem is None:
            raise ValueError(f"DCS modem bits {bits} select no modem")
        if _test(fif, BIT_T6):
            compression = Compression.MMR
        elif _test(fif, BIT_2D):
            compression = Compression.MR
        else:
            compression = Compression.MH
        if _test(fif, BIT_SUPERFINE):
            resolution = Resolution.SUPERFINE
        elif _test(fif, BIT_FINE):
            resolution = Resolution.FINE
        else:
            resolution = Resolution.STANDARD
        ecm = _test(fif, BIT_ECM)
        scan_bits = tuple(bit for bit in BITS_SCAN_TIME if _test(fif, bit))
        return cls(modem, resolution, compression, ecm,
                   64 if ecm and _test(fif, BIT_FRAME_64) else 256,
                   _SCAN_TIMES.get(scan_bits, 20), _test(fif, BIT_READY_TO_RECEIVE),
                   _test(fif, BIT_T38))

    def describe(self) -> str:
        parts = [f"{self.rate} bps", self.resolution.value, self.compression.value]
        if self.ecm:
            parts.append("ECM" if self.frame_size == 256 else "ECM 64")
        return ", ".join(parts)

    def min_row_bits(self) -> int:
        if self.ecm:
            return 0
        return self.rate * self.min_scan_ms // 1000
