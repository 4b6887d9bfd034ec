"""The faults a reply step can name, each with a line saying what it does to the response.

Names only: ``sipfault.core.faults`` holds the functions that apply them, keyed by these names,
so the model and its validators can know every fault without importing the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["FAULTS"]

FAULTS: Mapping[str, str] = MappingProxyType(
    {
        "malformed-status": "send the step's code as written, even outside 100-699",
        "drop": "never send the response (nor its retransmissions)",
        "drop-first": "lose the first transmission; retransmissions get through",
        "duplicate": "send every transmission twice",
        "no-content-length": "leave Content-Length out (RFC 3261 §20.14)",
        "wrong-content-length": "claim 10 bytes more body than sent",
        "no-to-tag": "strip the To tag (RFC 3261 §8.2.6.2 requires one)",
        "truncate": "send only the first half of the message",
        "bare-lf": "end lines with LF instead of CRLF (RFC 3261 §7)",
    }
)
"""Every fault by name, with what it does to the response on the wire."""
