"""The one error type of the message layer.

Every defect the parser or a header reader finds is a :class:`SipParseError`; nothing else escapes
(see the property tests). The error carries the status a UAS answers it with (RFC 3261 §8.2, §21)
and, where the start line and some header fields could be read, the partial message so that the
answer can still copy Via, From, To, Call-ID and CSeq.
"""

from __future__ import annotations

from sipfault.sip.sanitize import safe_reason


class SipParseError(Exception):
    """A malformed or unacceptable message.

    ``status`` is the response code to answer with (400 Bad Request with ``reason`` naming the
    defect, 505 for an unsupported SIP version, 416 for an unsupported URI scheme, 513 for an
    oversized message). The reason goes on a status line, so what it quotes of the message is
    made printable ASCII (:func:`~sipfault.sip.sanitize.safe_reason`). ``partial`` is what
    could be read (a ``sipfault.sip.message`` message, typed loosely here so that this module
    imports nothing above it), or None.
    """

    def __init__(self, reason: str, status: int = 400, partial: object | None = None) -> None:
        reason = safe_reason(reason)
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.partial = partial

    def __repr__(self) -> str:
        return f"SipParseError({self.status}, {self.reason!r})"
