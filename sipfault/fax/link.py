"""Between IFP packets and T.30: HDLC frames, image data and signals (ITU-T T.38 §5, §6).

:class:`LinkReceiver` reassembles the data fields of IFP packets into whole HDLC frames (good
or bad FCS), image data and the ends of signals; :class:`LinkSender` builds the IFP packets
that send frames, training, TCF and image data, each small enough for one datagram.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipfault.fax.hdlc import from_wire, to_wire
from sipfault.fax.t38 import DataType, Field, FieldType, IFPPacket, Indicator

MAX_HDLC = 260


@dataclass(frozen=True, slots=True)
class HdlcReceived:
    """A whole HDLC frame (T.30 bit order) and whether its FCS was good."""

    data: bytes
    ok: bool
    data_type: DataType


@dataclass(frozen=True, slots=True)
class ImageReceived:
    """Non-ECM image data (or TCF), octets as T.38 carries them (first bit most significant)."""

    data: bytes
    data_type: DataType


@dataclass(frozen=True, slots=True)
class SignalEnded:
    """The modem signal carrying frames or image data has stopped."""

    hdlc: bool
    data_type: DataType | None


@dataclass(frozen=True, slots=True)
class SignalStarted:
    indicator: Indicator


LinkEvent = HdlcReceived | ImageReceived | SignalEnded | SignalStarted

_HDLC_END = {FieldType.HDLC_FCS_OK: (True, False), FieldType.HDLC_FCS_BAD: (False, False),
             FieldType.HDLC_FCS_OK_SIG_END: (True, True),
             FieldType.HDLC_FCS_BAD_SIG_END: (False, True)}


class LinkReceiver:
    """Turns received IFP packets into :data:`LinkEvent` values."""

    def __init__(self) -> None:
        self._frame = bytearray()
        self._damaged = False

    def lost(self) -> None:
        """Packets were lost: the frame being gathered cannot be trusted."""
        self._damaged = True

    def feed(self, packet: IFPPacket) -> list[LinkEvent]:
        if packet.indicator is not None:
            self._frame.clear()
            self._damaged = False
            return [SignalStarted(packet.indicator)]
        assert packet.data_type is not None
        events: list[LinkEvent] = []
        for item in packet.fields:
            kind = item.type
            if kind is FieldType.HDLC_DATA:
                self._frame += from_wire(item.data)
                if len(self._frame) > MAX_HDLC:
                    self._damaged = True
                    self._frame.clear()
            elif kind in _HDLC_END:
                ok, ended = _HDLC_END[kind]
                self._frame += from_wire(item.data)
                if self._frame:
                    events.append(HdlcReceived(bytes(self._frame), ok and not self._damaged,
                                               packet.data_type))
                self._frame.clear()
                self._damaged = False
                if ended:
                    events.append(SignalEnded(True, packet.data_type))
            elif kind is FieldType.HDLC_SIG_END:
                if self._frame:
                    events.append(HdlcReceived(bytes(self._frame), False, packet.data_type))
                self._frame.clear()
                self._damaged = False
                events.append(SignalEnded(True, packet.data_type))
            elif kind is FieldType.T4_NON_ECM_DATA:
                events.append(ImageReceived(item.data, packet.data_type))
            elif kind is FieldType.T4_NON_ECM_SIG_END:
                if item.data:
                    events.append(ImageReceived(item.data, packet.data_type))
                events.append(SignalEnded(False, packet.data_type))
        return events


TRAINING = {
    DataType.V27_2400: Indicator.V27_2400_TRAINING,
    DataType.V27_4800: Indicator.V27_4800_TRAINING,
    DataType.V29_7200: Indicator.V29_7200_TRAINING,
    DataType.V29_9600: Indicator.V29_9600_TRAINING,
    DataType.V17_7200: Indicator.V17_7200_LONG_TRAINING,
    DataType.V17_9600: Indicator.V17_9600_LONG_TRAINING,
    DataType.V17_12000: Indicator.V17_12000_LONG_TRAINING,
    DataType.V17_14400: Indicator.V17_14400_LONG_TRAINING,
}
SHORT_TRAINING = {
    DataType.V17_7200: Indicator.V17_7200_SHORT_TRAINING,
    DataType.V17_9600: Indicator.V17_9600_SHORT_TRAINING,
    DataType.V17_12000: Indicator.V17_12000_SHORT_TRAINING,
    DataType.V17_14400: Indicator.V17_14400_SHORT_TRAINING,
}
DATA_TYPE_OF_TRAINING = {indicator: data_type for data_type, indicator in TRAINING.items()}
DATA_TYPE_OF_TRAINING.update({indicator: data_type for data_type, indicator
                              in SHORT_TRAINING.items()})


@dataclass
class LinkSender:
    """Builds IFP packets; ``chunk`` bounds the octets of data in one packet."""

    chunk: int = 256

    def frames(self, frames: list[bytes], data_type: DataType = DataType.V21,
               *, start: bool = True, end: bool = True) -> list[IFPPacket]:
        """HDLC frames (T.30 bit order): preamble or training, the frames, then no-signal."""
        packets: list[IFPPacket] = []
        if start:
            packets.append(IFPPacket.signal(
                Indicator.V21_PREAMBLE if data_type is DataType.V21 else TRAINING[data_type]))
        for number, frame in enumerate(frames):
            wire = to_wire(frame)
            pieces = [wire[offset:offset + self.chunk]
                      for offset in range(0, len(wire), self.chunk)] or [b""]
            last_frame = end and number == len(frames) - 1
            closing = FieldType.HDLC_FCS_OK_SIG_END if last_frame else FieldType.HDLC_FCS_OK
            for index, piece in enumerate(pieces):
                fields = [Field(FieldType.HDLC_DATA, piece)]
                if index == len(pieces) - 1:
                    fields.append(Field(closing))
                packets.append(IFPPacket.data(data_type, *fields))
        if end:
            packets.append(IFPPacket.signal(Indicator.NO_SIGNAL))
        return packets

    def image(self, data: bytes, data_type: DataType) -> list[IFPPacket]:
        """Training, non-ECM data (T.38 octet order) and the end of the signal."""
        packets = [IFPPacket.signal(TRAINING[data_type])]
        for offset in range(0, len(data), self.chunk):
            packets.append(IFPPacket.data(
                data_type, Field(FieldType.T4_NON_ECM_DATA, data[offset:offset + self.chunk])))
        packets.append(IFPPacket.data(data_type, Field(FieldType.T4_NON_ECM_SIG_END)))
        packets.append(IFPPacket.signal(Indicator.NO_SIGNAL))
        return packets
