"""How much state the UAS holds right now, for tests, the API and the run summary.

Every table of the core that grows with traffic is bounded by a lifetime times the rate: a
server transaction lives until Timer J (non-INVITE, 64*T1 over UDP), Timer H or I (a rejected
INVITE) or Timer L (an accepted one, RFC 6026 §7.1) ends it (RFC 3261 §17.2); a dialog until
its BYE, or 64*T1 after an unacknowledged 2xx (§13.3.1.4); a client transaction of ours until
its final response or Timer F (§17.1.2). Once the traffic stops and those timers have run,
every count here is back to zero (the registrar's expiry timer aside, while bindings last).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LiveCounts"]


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """Sizes of the UAS's live tables at one moment."""

    transactions: int
    """Server transactions not yet terminated (RFC 3261 §17.2)."""
    dialogs: int
    """Dialogs early or confirmed (§12)."""
    timers: int
    """Timers pending (cancelled ones not counted)."""
    client_transactions: int
    """Requests of our own (a BYE) still waiting for a final response (§17.1.2)."""
    connections: int = 0
    """TCP and TLS connections open: the peers the endpoint holds state for (the sans-I/O
    core has none, so its own counts say 0)."""

    def line(self) -> str:
        """``transactions=0 dialogs=0 timers=0 client_transactions=0 connections=0``."""
        return (f"transactions={self.transactions} dialogs={self.dialogs} "
                f"timers={self.timers} client_transactions={self.client_transactions} "
                f"connections={self.connections}")
