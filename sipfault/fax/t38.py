"""IFP packets: the T.38 Internet Facsimile Protocol's messages (ITU-T T.38 §7, Annex A).

An IFP packet is ASN.1 ``IFPPacket ::= SEQUENCE { type-of-msg, data-field OPTIONAL }`` in
PER aligned encoding::

    type-of-msg  CHOICE { t30-indicator ENUMERATED {..., ...}, data ENUMERATED {..., ...} }
    data-field   SEQUENCE OF SEQUENCE {
                     field-type ENUMERATED {...},
                     field-data OCTET STRING (SIZE (1..65535)) OPTIONAL }

Both enumerations of ``type-of-msg`` carry an extension bit in every version: the values after
the marker (V.8 and V.34 signals, V.33) are a normally small number after it. ``field-type``
differs: the 1998 text (version 0) has no extension marker, so the type is three bits and
a field without data leaves the next one starting mid-octet; versions 1 to 3 added the
marker (one bit, then three) and each field starts on an octet, as every implementation
sends it. Extension values cannot be sent in version 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class T38Error(ValueError):
    """The only error decoding (or encoding an impossible) IFP packet raises."""


class Indicator(IntEnum):
    """``t30-indicator`` (ITU-T T.38 Annex A): which signal the sender has started."""

    NO_SIGNAL = 0
    CNG = 1
    CED = 2
    V21_PREAMBLE = 3
    V27_2400_TRAINING = 4
    V27_4800_TRAINING = 5
    V29_7200_TRAINING = 6
    V29_9600_TRAINING = 7
    V17_7200_SHORT_TRAINING = 8
    V17_7200_LONG_TRAINING = 9
    V17_9600_SHORT_TRAINING = 10
    V17_9600_LONG_TRAINING = 11
    V17_12000_SHORT_TRAINING = 12
    V17_12000_LONG_TRAINING = 13
    V17_14400_SHORT_TRAINING = 14
    V17_14400_LONG_TRAINING = 15
    # Extensions (not in version 0).
    V8_ANSAM = 16
    V8_SIGNAL = 17
    V34_CNTL_CHANNEL_1200 = 18
    V34_PRI_CHANNEL = 19
    V34_CC_RETRAIN = 20
    V33_12000_TRAINING = 21
    V33_14400_TRAINING = 22


class DataType(IntEnum):
    """``data`` (ITU-T T.38 Annex A): the modulation the data was (or would be) sent with."""

    V21 = 0
    V27_2400 = 1
    V27_4800 = 2
    V29_7200 = 3
    V29_9600 = 4
    V17_7200 = 5
    V17_9600 = 6
    V17_12000 = 7
    V17_14400 = 8
    # Extensions (not in version 0).
    V8 = 9
    V34_PRI_RATE = 10
    V34_CC_1200 = 11
    V34_PRI_CH = 12
    V33_12000 = 13
    V33_14400 = 14


class FieldType(IntEnum):
    """``field-type`` (ITU-T T.38 Annex A): what a data field carries."""

    HDLC_DATA = 0
    HDLC_SIG_END = 1
    HDLC_FCS_OK = 2
    HDLC_FCS_BAD = 3
    HDLC_FCS_OK_SIG_END = 4
    HDLC_FCS_BAD_SIG_END = 5
    T4_NON_ECM_DATA = 6
    T4_NON_ECM_SIG_END = 7
    # Extensions (not in version 0).
    CM_MESSAGE = 8
    JM_MESSAGE = 9
    CI_MESSAGE = 10
    V34RATE = 11


ROOT_INDICATORS = 16
ROOT_DATA_TYPES = 9
ROOT_FIELD_TYPES = 8
VERSIONS = (0, 1, 2, 3)
MAX_FIELD_DATA = 65535

INDICATOR_NAMES = {item: item.name.lower().replace("_", "-") for item in Indicator}
DATA_TYPE_NAMES = {item: item.name.lower().replace("_", "-") for item in DataType}
FIELD_TYPE_NAMES = {item: item.name.lower().replace("_", "-") for item in FieldType}

RATE_OF_DATA_TYPE = {
    DataType.V21: 300, DataType.V27_2400: 2400, DataType.V27_4800: 4800,
    DataType.V29_7200: 7200, DataType.V29_9600: 9600, DataType.V17_7200: 7200,
    DataType.V17_9600: 9600, DataType.V17_12000: 12000, DataType.V17_14400: 14400,
    DataType.V33_12000: 12000, DataType.V33_14400: 14400,
}
"""Bits per second of each data type (V.34 rates are negotiated, not implied)."""


@dataclass(frozen=True, slots=True)
class Field:
    """One element of ``data-field``; empty ``data`` means ``field-data`` is absent."""

    type: FieldType
    data: bytes = b""

    def __repr__(self) -> str:
        return f"Field({FIELD_TYPE_NAMES[self.type]}, {len(self.data)} octets)"


@dataclass(frozen=True, slots=True)
class IFPPacket:
    """An indicator packet (``indicator`` set) or a data packet (``data_type`` set)."""

    indicator: Indicator | None = None
    data_type: DataType | None = None
    fields: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        if (self.indicator is None) == (self.data_type is None):
            raise T38Error("an IFP packet is an indicator or data, not both or neither")
        if self.indicator is not None and self.fields:
            raise T38Error("an indicator packet has no data field")

    @classmethod
    def signal(cls, indicator: Indicator) -> IFPPacket:
        return cls(indicator=indicator)

    @classmethod
    def data(cls, data_type: DataType, *fields: Field) -> IFPPacket:
        return cls(data_type=data_type, fields=tuple(fields))

    def describe(self) -> str:
        """A short text such as ``v21 hdlc-data(3) hdlc-fcs-OK`` for logs."""
        if self.indicator is not None:
            return INDICATOR_NAMES[self.indicator]
        assert self.data_type is not None
        parts = [DATA_TYPE_NAMES[self.data_type]]
        for field in self.fields:
            name = FIELD_TYPE_NAMES[field.type]
            parts.append(f"{name}({len(field.data)})" if field.data else name)
        return " ".join(parts)


# -- the length determinant (X.691 §10.9), shared with UDPTL --------------------------------

FRAGMENT = 16384


def encode_length(count: int) -> tuple[bytes, int]:
    """The determinant for ``count`` items and how many it covers (fragments are 16K * m)."""
    if count < 0x80:
        return bytes((count,)), count
    if count < FRAGMENT:
        return bytes((0x80 | count >> 8, count & 0xFF)), count
    multiplier = min(count // FRAGMENT, 4)
    return bytes((0xC0 | multiplier,)), multiplier * FRAGMENT


def decode_length(data: bytes, offset: int) -> tuple[int, int, bool]:
    """``(count, new offset, more fragments follow)``; raises :class:`T38Error` when cut."""
    if offset >= len(data):
        raise T38Error("length determinant missing")
    first = data[offset]
    if not first & 0x80:
        return first, offset + 1, False
    if not first & 0x40:
        if offset + 1 >= len(data):
            raise T38Error("two-octet length determinant cut short")
        return (first & 0x3F) << 8 | data[offset + 1], offset + 2, False
    multiplier = first & 0x3F
    if not 1 <= multiplier <= 4:
        raise T38Error(f"fragment multiplier {multiplier} out of range")
    return multiplier * FRAGMENT, offset + 1, True


# -- bit-level helpers for the version 0 field list -----------------------------------------


class _Bits:
    """Write bits most significant first, with octet alignment on demand."""

    __slots__ = ("bits", "out")

    def __init__(self) -> None:
        self.out = bytearray()
        self.bits = 0  # bits used in the last octet of ``out`` (0 = aligned)

    def put(self, value: int, width: int) -> None:
        for shift in range(width - 1, -1, -1):
            if self.bits == 0:
                self.out.append(0)
            if value >> shift & 1:
                self.out[-1] |= 0x80 >> self.bits
            self.bits = (self.bits + 1) % 8

    def octets(self, data: bytes) -> None:
        self.bits = 0
        self.out += data


def _encode_type_of_msg(packet: IFPPacket, version: int, has_fields: bool) -> bytes:
    present = 0x80 if has_fields else 0
    if packet.indicator is not None:
        value, root, choice = int(packet.indicator), ROOT_INDICATORS, 0
    else:
        assert packet.data_type is not None
        value, root, choice = int(packet.data_type), ROOT_DATA_TYPES, 0x40
    if value < root:
        return bytes((present | choice | value << 1,))
    if version == 0:
        raise T38Error(f"value {value} is an extension, which version 0 cannot send")
    extension = value - root
    # Extension bit, then a normally small number: a 0 bit and six bits of value.
    return bytes((present | choice | 0x20 | extension >> 2, extension << 6 & 0xC0))


def _field_data(field: Field) -> bytes:
    if len(field.data) > MAX_FIELD_DATA:
        raise T38Error(f"field data of {len(field.data)} octets exceeds {MAX_FIELD_DATA}")
    if not field.data:
        return b""
    size = len(field.data) - 1
    return bytes((size >> 8, size & 0xFF)) + field.data


def _encode_fields(fields: tuple[Field, ...], version: int) -> bytes:
    out = _Bits()
    done = 0
    while True:
        determinant, covered = encode_length(len(fields) - done)
        out.octets(determinant)
        for field in fields[done:done + covered]:
            present = 1 if field.data else 0
            if version == 0:
                if field.type >= ROOT_FIELD_TYPES:
                    raise T38Error(f"field type {field.type.name} cannot be sent in version 0")
                out.put(present << 3 | int(field.type), 4)
            elif field.type < ROOT_FIELD_TYPES:
                out.octets(bytes((present << 7 | int(field.type) << 3,)))
            else:
                extension = int(field.type) - ROOT_FIELD_TYPES
                out.octets(bytes((present << 7 | 0x40 | extension >> 2, extension << 6 & 0xC0)))
            if present:
                out.octets(_field_data(field))
        done += covered
        if done == len(fields) and covered < FRAGMENT:
            return bytes(out.out)


def encode_ifp(packet: IFPPacket, version: int = 3) -> bytes:
    """The PER encoding of ``packet`` for T.38 ``version`` (0 to 3)."""
    if version not in VERSIONS:
        raise T38Error(f"T.38 version {version} is not 0 to 3")
    head = _encode_type_of_msg(packet, version, bool(packet.fields))
    if not packet.fields:
        return head
    return head + _encode_fields(packet.fields, version)


def decode_ifp(data: bytes, version: int = 3) -> IFPPacket:
    """Decode one whole IFP packet; trailing octets are an error."""
    packet, end = decode_ifp_prefix(data, version)
    if end != len(data):
        raise T38Error(f"{len(data) - end} octets after the IFP packet")
    return packet


def _decode_type_of_msg(data: bytes) -> tuple[bool, Indicator | DataType, int]:
    if not data:
        raise T38Error("empty IFP packet")
    first = data[0]
    present = bool(first & 0x80)
    is_data = bool(first & 0x40)
    if first & 0x20:
        if len(data) < 2:
            raise T38Error("extension value cut short")
        if first & 0x10:
            raise T38Error("extension value beyond the normally small range")
        value = ((first & 0x0F) << 2 | data[1] >> 6) + (ROOT_DATA_TYPES if is_data
                                                        else ROOT_INDICATORS)
        offset = 2
    else:
        value = first >> 1 & 0x0F
        offset = 1
    try:
        kind: Indicator | DataType = DataType(value) if is_data else Indicator(value)
    except ValueError:
        raise T38Error(f"unknown {'data type' if is_data else 'indicator'} {value}") from None
    if not is_data and present:
        raise T38Error("indicator packet with a data field")
    return present, kind, offset


def decode_ifp_prefix(data: bytes, version: int = 3) -> tuple[IFPPacket, int]:
    """Decode an IFP packet at the start of ``data``: the packet and the octets it used."""
    if version not in VERSIONS:
        raise T38Error(f"T.38 version {version} is not 0 to 3")
    data = bytes(data)
    present, kind, offset = _decode_type_of_msg(data)
    if isinstance(kind, Indicator):
        return IFPPacket(indicator=kind), offset
    if not present:
        return IFPPacket(data_type=kind), offset
    fields: list[Field] = []
    half = False  # version 0: the next field starts in the low nibble of data[offset]
    more = True
    while more:
        count, offset, more = decode_length(data, offset)
        for _ in range(count):
            if offset >= len(data):
                raise T38Error("data field cut short")
            octet = data[offset]
            if version == 0:
                nibble = octet & 0x0F if half else octet >> 4
                has_data, type_value = bool(nibble & 0x08), nibble & 0x07
                if half or has_data:
                    offset += 1
                    half = False
                else:
                    half = True
            else:
                has_data = bool(octet & 0x80)
                if octet & 0x40:
                    if offset + 1 >= len(data):
                        raise T38Error("field type extension cut short")
                    if octet & 0x20:
                        raise T38Error("field type beyond the normally small range")
                    type_value = ROOT_FIELD_TYPES + ((octet & 0x1F) << 2 | data[offset + 1] >> 6)
                    offset += 2
                else:
                    type_value = octet >> 3 & 0x07
                    offset += 1
            try:
                field_type = FieldType(type_value)
            except ValueError:
                raise T38Error(f"unknown field type {type_value}") from None
            payload = b""
            if has_data:
                if offset + 2 > len(data):
                    raise T38Error("field data length cut short")
                size = (data[offset] << 8 | data[offset + 1]) + 1
                offset += 2
                if offset + size > len(data):
                    raise T38Error(f"field data of {size} octets cut short")
                payload = data[offset:offset + size]
                offset += size
            fields.append(Field(field_type, payload))
        if half and more:
            raise T38Error("fragment boundary inside an octet")
    if half:
        offset += 1
    return IFPPacket(data_type=kind, fields=tuple(fields)), offset
