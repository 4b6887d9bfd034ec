"""Media for SIPp to play (``<exec play_pcap_audio=...>``, ``play_pcap_image``), and the media
records of a ``sipfault run --journal`` file.

SIPp replays the UDP payloads of a pcap file from its media port to the port the far end's SDP
names, keeping the packets' spacing: a file of RTP packets is an audio leg, one of UDPTL
packets a T.38 leg (ITU-T T.38 §9.1).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sipfault.fax.udptl import UDPTLPacket, encode_udptl

_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # LINKTYPE_ETHERNET
_START = 1_700_000_000.0


def rtp_packet(sequence: int, ssrc: int = 0x5EED, payload_type: int = 0) -> bytes:
    """An RTP packet (RFC 3550 §5.1) with 20 ms of G.711 silence (160 octets)."""
    return (bytes((0x80, payload_type)) + sequence.to_bytes(2, "big")
            + (sequence * 160).to_bytes(4, "big") + ssrc.to_bytes(4, "big") + b"\xff" * 160)


def udptl_packet(sequence: int) -> bytes:
    """A UDPTL packet carrying a T.38 indicator IFP (CNG), with one redundant copy."""
    primary = b"\x00\x10"  # t30-indicator: cng (ITU-T T.38 Annex A)
    return encode_udptl(UDPTLPacket(sequence, primary, (primary,) if sequence else ()))


def write_pcap(path: Path, payloads: Sequence[bytes], interval: float = 0.02) -> Path:
    """A pcap file of UDP datagrams 127.0.0.1:6000 -> :6000, ``interval`` seconds apart."""
    with path.open("wb") as out:
        out.write(_PCAP_HEADER)
        for index, payload in enumerate(payloads):
            udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index, 0, 64, 17, 0,
                             bytes((127, 0, 0, 1)), bytes((127, 0, 0, 1)))
            frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
            stamp = _START + index * interval
            out.write(struct.pack("<IIII", int(stamp), round((stamp % 1) * 1e6),
                                  len(frame), len(frame)))
            out.write(frame)
    return path


def journal_records(path: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The JSON objects of a journal file, of one ``type`` when given."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    return [record for record in records if kind is None or record.get("type") == kind]


def media_stops(path: Path) -> list[dict[str, Any]]:
    """The journal's "media" records of streams that stopped, in order."""
    return [record for record in journal_records(path, "media") if record["event"] == "stop"]
