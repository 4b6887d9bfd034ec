"""Where the rules live: the RFC section behind each finding, and what each timer is for.

A finding names what the client did wrong; the report cites the section that says it should
not have. A finding may also carry its own citation (``RFC 7616 §3.4`` in its text or details),
which is shown as well.
"""

from __future__ import annotations

import re

__all__ = ["FINDING_SECTIONS", "TIMER_NAMES", "finding_sections", "timer_name"]

FINDING_SECTIONS: dict[str, str] = {
    "no-ack": "RFC 3261 §17.2.1",
    "stray-ack": "RFC 3261 §17.2.3",
    "bad-request": "RFC 3261 §8.2",
    "auth-failed": "RFC 3261 §22.3",
    "digest-without-qop": "RFC 7616 §3.4",
    "no-prack": "RFC 3262 §3",
    "no-response": "RFC 3261 §17.1.2.2",
}
"""The section each finding kind of the core answers to."""

_NO_ACK_2XX = "RFC 3261 §13.3.1.4"
"""A 2xx left unacknowledged is the UAS core's matter, not the transaction's."""

_CITATION = re.compile(
    r"\b(?:RFC|ITU-T )\s?[A-Z]?\.?\d+(?:\.\d+)?\s*(?:§\s*(?:[A-Z]\.)?[\d.]*\d|Table \d+)")
"""``RFC 3261 §17.2.1``, ``ITU-T T.30 §A.1.3``, ``ITU-T T.30 Table 2``."""


def finding_sections(kind: str, text: str = "", details: object = None) -> list[str]:
    """The sections a finding answers to: its kind's, then any its text or details cite."""
    found: list[str] = []
    section = FINDING_SECTIONS.get(kind)
    if kind == "no-ack" and "2xx" in text:
        section = _NO_ACK_2XX
    if section:
        found.append(section)
    sources = [text]
    if isinstance(details, dict):
        sources.extend(str(value) for value in details.values())
    for source in sources:
        for match in _CITATION.findall(source):
            cited = re.sub(r"\s+", " ", match).replace("§ ", "§")
            if cited not in found:
                found.append(cited)
    return found


TIMER_NAMES: dict[str, str] = {
    "E": "Timer E: non-INVITE request retransmitted (RFC 3261 §17.1.2.2)",
    "F": "Timer F: non-INVITE transaction timed out (RFC 3261 §17.1.2.2)",
    "G": "Timer G: final response retransmitted (RFC 3261 §17.2.1)",
    "H": "Timer H: no ACK for the final response (RFC 3261 §17.2.1)",
    "I": "Timer I: ACK retransmissions absorbed (RFC 3261 §17.2.1)",
    "J": "Timer J: non-INVITE transaction ended (RFC 3261 §17.2.2)",
    "K": "Timer K: response retransmissions absorbed (RFC 3261 §17.1.2.2)",
    "L": "Timer L: accepted INVITE transaction ended (RFC 6026 §7.1)",
    "2xx": "2xx retransmitted until the ACK (RFC 3261 §13.3.1.4)",
    "2xx-timeout": "no ACK for the 2xx within 64*T1 (RFC 3261 §13.3.1.4)",
    "1xx": "reliable provisional retransmitted (RFC 3262 §3)",
    "prack-timeout": "no PRACK within 64*T1 (RFC 3262 §3)",
}
"""What each timer of :class:`sipfault.core.events.TimerFired` means when it fires."""


def timer_name(timer: str) -> str:
    """``Timer G: final response retransmitted (RFC 3261 §17.2.1)``, or the label itself."""
    return TIMER_NAMES.get(timer, f"timer {timer}")
