"""What one media stream received: the counts behind the journal's media records.

:class:`StreamAccount` reads each datagram as the stream's media type suggests (UDPTL first on
a T.38 stream, RTP first on an audio one: a UDPTL sequence number of 0x8000 or more looks like
an RTP version field), counts packets and bytes by kind, and counts sequence gaps: per SSRC for
RTP (RFC 3550 §A.1, without its probation), per stream for UDPTL (ITU-T T.38 §9.1). A gap is
the number of sequence numbers skipped; a late or repeated packet is not a gap.

:meth:`StreamAccount.feed` says when a kind of packet arrives for the first time since the
account started, changed media type or was watched, so the caller reports only those moments.
"""

from __future__ import annotations

from sipfault.core.events import MediaTotals
from sipfault.fax.udptl import UDPTLError, decode_udptl
from sipfault.media.rtp import is_rtcp, parse_rtp

__all__ = ["KINDS", "StreamAccount", "classify"]

KINDS = ("rtp", "udptl", "other")
"""The kinds of packet a stream tells apart (RTCP counts as other)."""

_NOTHING = MediaTotals()
_HALF = 0x8000
_SEQ = 0x10000


def classify(datagram: bytes, media: str) -> tuple[str, int | None, int | None, int | None]:
    """(kind, sequence number, SSRC, payload type) of a datagram on a stream of ``media``;
    for UDPTL the last is the error recovery: 0 none, 1 redundancy, 2 FEC."""
    if media == "image":
        found = _udptl(datagram)
        if found is not None:
            return found
    if not is_rtcp(datagram):
        header = parse_rtp(datagram)
        if header is not None:
            return ("rtp", header.sequence, header.ssrc, header.payload_type)
    if media != "image":
        found = _udptl(datagram)
        if found is not None:
            return found
    return ("other", None, None, None)


def _udptl(datagram: bytes) -> tuple[str, int | None, int | None, int | None] | None:
    try:
        packet = decode_udptl(datagram)
    except UDPTLError:
        return None
    recovery = 2 if packet.fec is not None else 1 if packet.secondary else 0
    return ("udptl", packet.seq, None, recovery)


class StreamAccount:
    """Counts of one stream while it carries one media type."""

    __slots__ = ("_bytes", "_counts", "_echoed", "_last", "_lost", "_packets", "_payloads",
                 "_recovery", "_seen", "media")

    def __init__(self, media: str) -> None:
        self.media = media
        self._reset()

    def _reset(self) -> None:
        self._packets = 0
        self._bytes = 0
        self._counts = dict.fromkeys(KINDS, 0)
        self._lost = 0
        self._last: dict[int | None, int] = {}  # SSRC (None for UDPTL) -> highest sequence
        self._payloads: dict[int, None] = {}
        self._recovery = [0, 0, 0]  # UDPTL packets with no error recovery, redundancy, FEC
        self._echoed = 0
        self._seen: set[str] = set()

    def feed(self, datagram: bytes) -> str | None:
        """Count a datagram; its kind when it is the first of that kind to be reported."""
        kind, sequence, ssrc, detail = classify(datagram, self.media)
        self._packets += 1
        self._bytes += len(datagram)
        self._counts[kind] += 1
        if detail is not None:
            if kind == "rtp":
                self._payloads.setdefault(detail, None)
            else:
                self._recovery[detail] += 1
        if sequence is not None:
            self._sequence(ssrc, sequence)
        if kind in self._seen:
            return None
        self._seen.add(kind)
        return kind

    def _sequence(self, source: int | None, sequence: int) -> None:
        last = self._last.get(source)
        if last is None:
            self._last[source] = sequence
            return
        step = (sequence - last) % _SEQ
        if 0 < step < _HALF:  # ahead: anything skipped is a gap
            self._lost += step - 1
            self._last[source] = sequence

    def echoed(self) -> None:
        """A packet was sent back."""
        self._echoed += 1

    def watch(self) -> None:
        """Report the next packet of each kind again."""
        self._seen.clear()

    def totals(self) -> MediaTotals:
        """The counts so far."""
        if not self._packets and not self._echoed:
            return _NOTHING  # the usual end of a load test's call: nothing was sent
        return MediaTotals(
            packets=self._packets, bytes=self._bytes, rtp=self._counts["rtp"],
            udptl=self._counts["udptl"], udptl_redundancy=self._recovery[1],
            udptl_fec=self._recovery[2], other=self._counts["other"], lost=self._lost,
            payload_types=tuple(self._payloads),
            ssrcs=sum(1 for source in self._last if source is not None),
            echoed=self._echoed,
        )

    def begin(self, media: str) -> None:
        """Count afresh, for a stream of ``media`` (a socket reused for another stream)."""
        self.media = media
        self._reset()

    def restart(self, media: str) -> MediaTotals:
        """The stream now carries ``media``: the counts so far, and a fresh start."""
        totals = self.totals()
        self.media = media
        self._reset()
        return totals
