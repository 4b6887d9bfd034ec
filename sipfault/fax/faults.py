"""Faults a fax terminal can inject on purpose, named and seedable.

T.30 faults change what the terminal answers or sends (ITU-T T.30 §5): answer chosen pages
with RTN or RTP, never answer MPS or EOP, send DCN in the middle of a page, answer TCF with
FTT, answer a command with CRP, leave out chosen ECM frames (forcing PPR), offer a DIS the far
end cannot use, fall silent for a while. UDPTL faults drop or repeat datagrams.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sipfault.fax.dis import Capabilities


@dataclass(frozen=True)
class FaxFaults:
    seed: int = 0
    page_response: dict[int, str] = field(default_factory=dict)
    """Page number (from 1) -> ``RTN`` or ``RTP``: how the receiver answers that page."""
    never_answer: frozenset[str] = frozenset()
    """Post-page commands (``MPS``, ``EOP``, ``EOM``, and ``PPS`` for ECM) left unanswered."""
    dcn_mid_page: int | None = None
    """Send DCN in the middle of this page (number from 1), as sender or receiver."""
    ftt_on_tcf: int = 0
    """Answer this many TCFs with FTT, however good they were."""
    crp_on: frozenset[str] = frozenset()
    """Commands (``DCS``, ``MPS``, ``EOP``, ``PPS``) answered once with CRP."""
    drop_ecm_frames: frozenset[int] = frozenset()
    """ECM frame numbers left out of the first sending of each block (sender), or treated as
    lost (receiver), so that the far end must use PPR."""
    drop_ecm_random: int = 0
    """Besides the chosen ones, this many frames of the first block picked with ``seed``."""
    dis: Capabilities | None = None
    """A DIS offered instead of the terminal's own capabilities."""
    silence_after: str | None = None
    """After sending this frame (``DIS``, ``CFR``, ``MCF``, ``DCS``, ``page``) send nothing..."""
    silence_seconds: float = 0.0
    """... for this long."""

    def rng(self) -> random.Random:
        return random.Random(self.seed)


@dataclass
class UdptlFaults:
    """Drop or duplicate outgoing datagrams: chosen sequence numbers or a seeded rate."""

    seed: int = 0
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    drop_seqs: frozenset[int] = frozenset()
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def apply(self, seq: int, datagram: bytes) -> list[bytes]:
        """What goes on the wire for one datagram: nothing, it, or it twice."""
        if seq in self.drop_seqs or (self.drop_rate and self._rng.random() < self.drop_rate):
            return []
        if self.duplicate_rate and self._rng.random() < self.duplicate_rate:
            return [datagram, datagram]
        return [datagram]
