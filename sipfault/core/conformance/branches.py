"""A branch reused for another request (RFC 3261 §8.1.1.7).

A request matches a server transaction by its branch, sent-by and method (§17.2.3), so a client
that reuses a branch for a new request sees it absorbed as a retransmission of the old one. A
retransmission is the same request: the same Call-ID, From tag, CSeq and Request-URI.
"""

from __future__ import annotations

from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request

__all__ = ["reuse_difference"]


def reuse_difference(original: Request, again: Request) -> str | None:
    """What differs between a request and one that matched its transaction, or None."""
    try:
        if again.call_id != original.call_id:
            return f"Call-ID {again.call_id} instead of {original.call_id}"
        if again.from_.tag != original.from_.tag:
            return f"From tag {again.from_.tag} instead of {original.from_.tag}"
        if again.cseq[0] != original.cseq[0]:
            return f"CSeq {again.cseq[0]} instead of {original.cseq[0]}"
    except SipParseError:
        return None
    if again.uri != original.uri:
        return f"Request-URI {again.uri} instead of {original.uri}"
    return None
