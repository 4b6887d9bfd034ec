"""Dial-a-code: the Request-URI user names the response code (``sip:486@bench``)."""

from __future__ import annotations

from sipfault.model.scenario import DialACode, Reply
from sipfault.sip.codes import CATALOGUE
from sipfault.sip.grammar import bounded_int

REDIRECT_USER = "200"
"""A dialled 3xx redirects to this number at the same server, which answers."""


def dial_a_code_steps(
    settings: DialACode, user: str, method: str, redirect_contact: str
) -> tuple[Reply, ...]:
    """The reply steps for a dialled code.

    INVITE: 100 Trying, 180 Ringing for final codes, then the code (a 1xx rings on until
    CANCEL; 200 carries an SDP answer; a 3xx redirects to ``sip:200@`` this server). Other
    methods get the code at once (a 1xx cannot end a non-INVITE transaction, so it becomes
    200). A user that is not a catalogued code gets ``settings.fallback``.
    """
    dialled = bounded_int(user, 999) if len(user) == 3 else None
    code = dialled if dialled is not None and dialled in CATALOGUE else settings.fallback
    sdp = "answer" if 200 <= code < 300 and method == "INVITE" else None
    # A redirect points at the number that answers, so a client that follows it gets a call.
    headers = (("Contact", redirect_contact),) if 300 <= code < 400 else ()
    if method != "INVITE":
        return (Reply(code if code >= 200 else 200, sdp=sdp, headers=headers),)
    if code < 200:
        return (Reply(100),) if code == 100 else (Reply(100), Reply(code, after=settings.ring))
    return (
        Reply(100),
        Reply(180, after=settings.ring),
        Reply(code, after=settings.answer_after, sdp=sdp, headers=headers),
    )
