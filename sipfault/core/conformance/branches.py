"""A branch reused for another request (RFC 3261 §8.1.1.7).

A request matches a server transaction by its branch, sent-by and method (§17.2.3), so a client
that reuses a branch for a new request sees it absorbed as a retransmission of the old one. A
retransmission is the same request: the same Call-ID, From tag, CSeq and Request-URI.
"""

from __future__ import annotations

from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request

__all__ = ["RequestIdentity", "request_identity", "reuse_difference"]

RequestIdentity = tuple[str, str, int, str]
"""What a retransmission repeats: Call-ID, From tag, CSeq number and Request-URI."""


def request_identity(request: Request) -> RequestIdentity:
    """The identity of a request that opened a transaction (its fields were validated)."""
    return (request.call_id, request.from_.tag or "", request.cseq[0], request.uri)


def reuse_difference(original: RequestIdentity, again: Request) -> str | None:
    """What differs between a request and one that matched its transaction, or None."""
    call_id, from_tag, number, uri = original
    try:
        if again.call_id != call_id:
            return f"Call-ID {again.call_id} instead of {call_id}"
        if (again.from_.tag or "") != from_tag:
            return f"From tag {again.from_.tag} instead of {from_tag}"
        if again.cseq[0] != number:
            return f"CSeq {again.cseq[0]} instead of {number}"
    except SipParseError:
        return None
    if again.uri != uri:
        return f"Request-URI {again.uri} instead of {uri}"
    return None
