"""The findings sipfault reports about a client, each with the RFC section it rests on.

A finding is something the client did wrong (or failed to do) that a test or a QA bench wants
to know: it never stops the server. The core reports them as ``Finding`` events whose text ends
with the section, e.g. ``no retransmission of the INVITE in 1 s while nothing reached the client
(RFC 3261 §17.1.1.2)``; ``docs/findings.md`` explains each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["FINDINGS", "FindingKind", "cite"]


@dataclass(frozen=True)
class FindingKind:
    """What a finding means and where the rule it rests on is written."""

    section: str
    """The section the client did not follow, ``RFC 3261 §17.1.1.2``; "" for none."""
    description: str
    """One line: what the client did."""
    group: str
    """The heading it is listed under."""


def _kind(section: str, description: str, group: str) -> FindingKind:
    return FindingKind(section, description, group)


FINDINGS: Mapping[str, FindingKind] = MappingProxyType(
    {
        # -- requests ----------------------------------------------------------------------
        "bad-request": _kind(
            "RFC 3261 §8.2", "a request so malformed it was refused (400, 416, 505...)",
            "requests"),
        "branch-reused": _kind(
            "RFC 3261 §8.1.1.7", "a Via branch reused for a different request (another "
            "Call-ID, From tag, CSeq or Request-URI)", "requests"),
        # -- retransmission ----------------------------------------------------------------
        "no-retransmission": _kind(
            "RFC 3261 §17.1.1.2", "no retransmission over UDP while no response reached the "
            "client (Timer A or E; §17.1.2.2 for non-INVITE)", "retransmission"),
        "early-retransmission": _kind(
            "RFC 3261 §17.1.1.2", "the first retransmission came sooner than T1",
            "retransmission"),
        "no-backoff": _kind(
            "RFC 3261 §17.1.1.2", "the retransmission interval did not double (up to T2 for "
            "non-INVITE, §17.1.2.2)", "retransmission"),
        "retransmission-after-final": _kind(
            "RFC 3261 §17.1.1.2", "the request was retransmitted after its final response "
            "reached the client", "retransmission"),
        # -- Retry-After ---------------------------------------------------------------------
        "retry-after-ignored": _kind(
            "RFC 3261 §20.33", "a new request sooner than the Retry-After of a 480, 486, 503, "
            "600 or 603 given to the same client", "retry-after"),
        # -- registration --------------------------------------------------------------------
        "late-refresh": _kind(
            "RFC 3261 §10.2.4", "a binding refreshed after it expired instead of before",
            "registration"),
        "no-refresh": _kind(
            "RFC 3261 §10.2.4", "a binding left to expire with no refresh (none within 64*T1 "
            "after)", "registration"),
        "register-storm": _kind(
            "RFC 3261 §10.2.4", "more REGISTERs for one address-of-record in a minute than "
            "refreshing needs", "registration"),
        # -- ACK and CANCEL ------------------------------------------------------------------
        "no-ack": _kind(
            "RFC 3261 §17.2.1", "no ACK for a final response within 64*T1 (§13.3.1.4 for a "
            "2xx)", "ack-cancel"),
        "stray-ack": _kind(
            "RFC 3261 §17.2.3", "an ACK that matches no transaction or dialog", "ack-cancel"),
        "ack-branch-mismatch": _kind(
            "RFC 3261 §17.1.1.3", "the ACK of a non-2xx with a branch other than its INVITE's",
            "ack-cancel"),
        "ack-wrong-to-tag": _kind(
            "RFC 3261 §13.2.2.4", "the ACK of a 2xx with a To tag other than the 2xx's",
            "ack-cancel"),
        "ack-wrong-cseq": _kind(
            "RFC 3261 §13.2.2.4", "the ACK of a 2xx with a CSeq number other than the INVITE's",
            "ack-cancel"),
        "early-cancel": _kind(
            "RFC 3261 §9.1", "a CANCEL before any provisional response reached the client",
            "ack-cancel"),
        "no-prack": _kind(
            "RFC 3262 §3", "no PRACK for a reliable provisional within 64*T1", "ack-cancel"),
        # -- forking -------------------------------------------------------------------------
        "fork-no-ack": _kind(
            "RFC 3261 §13.2.2.4", "no ACK for the 2xx of an extra fork", "forking"),
        "fork-not-ended": _kind(
            "RFC 3261 §13.2.2.4", "the dialogs of several 2xx forks all kept 64*T1 later (the "
            "extra ones should get a BYE)", "forking"),
        # -- authentication ------------------------------------------------------------------
        "auth-failed": _kind(
            "RFC 3261 §22.3", "wrong credentials until refused with 403", "authentication"),
        "auth-not-as-challenged": _kind(
            "RFC 3261 §22.2", "Digest credentials in the other header field, or for another "
            "realm, than the challenge's (§22.3)", "authentication"),
        "auth-algorithm-not-offered": _kind(
            "RFC 8760 §2.4", "a digest answer with an algorithm the challenges did not offer",
            "authentication"),
        "digest-without-qop": _kind(
            "RFC 7616 §3.4", "a digest answer without qop to a challenge that offered qop",
            "authentication"),
        # -- requests of sipfault's own ------------------------------------------------------
        "no-response": _kind(
            "RFC 3261 §17.1.2.2", "no final response to a request sipfault sent (a BYE)",
            "own-requests"),
        "internal-error": _kind(
            "", "a failure inside sipfault, reported instead of stopping the server",
            "own-requests"),
    }
)
"""Every finding by kind."""


def cite(kind: str, text: str) -> str:
    """``text`` ending with its kind's section in parentheses, unless it cites one already."""
    entry = FINDINGS.get(kind)
    if entry is None or not entry.section or "RFC " in text:
        return text
    return f"{text} ({entry.section})"
