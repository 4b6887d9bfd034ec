"""Dial-a-code: the Request-URI user names the response code (``sip:486@bench``)."""

from __future__ import annotations

from sipfault.scenario.model import DialACode, Reply
from sipfault.sip.codes import CATALOGUE
from sipfault.sip.grammar import bounded_int


def dial_a_code_steps(settings: DialACode, user: str, method: str) -> tuple[Reply, ...]:
    """The reply steps for a dialled code.

    INVITE: 100 Trying, 180 Ringing for final codes, then the code (a 1xx rings on until
    CANCEL; 200 carries an SDP answer). Other methods get the code at once (a 1xx cannot end
    a non-INVITE transaction, so it becomes 200). A user that is not a catalogued code gets
    ``settings.fallback``.
    """
    dialled = bounded_int(user, 999) if len(user) == 3 else None
    code = dialled if dialled is not None and dialled in CATALOGUE else settings.fallback
    sdp = "answer" if 200 <= code < 300 and method == "INVITE" else None
    if method != "INVITE":
        return (Reply(code if code >= 200 else 200, sdp=sdp),)
    if code < 200:
        return (Reply(100),) if code == 100 else (Reply(100), Reply(code, after=settings.ring))
    return (
        Reply(100),
        Reply(180, after=settings.ring),
        Reply(code, after=settings.answer_after, sdp=sdp),
    )
