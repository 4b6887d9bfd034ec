"""Text from a request made safe to write into a response (RFC 3261 §7.2, §25.1).

A response must not echo a control character a client sent: a CR or LF would end a line early
(and let a client inject header fields), a NUL or BEL breaks the parsers of other stacks.
Reason-Phrase admits ``escaped`` (``%`` HEXDIG HEXDIG), and the fields a response copies (Via,
From, To, Call-ID, CSeq) take ``%`` in their tokens and words, so a character that must not go
out is written as the percent escapes of its UTF-8 bytes: BEL becomes ``%07``, § ``%C2%A7``.

:func:`safe_reason` is the one way a reason phrase built from an error (a parse defect, a
digest defect, a registrar refusal) is made: printable ASCII only. :func:`safe_value` keeps
UTF-8, which header values and scenario reason phrases may hold, and escapes control
characters only.
"""

from __future__ import annotations

import re

__all__ = ["CONTROL_RE", "control_character", "safe_reason", "safe_value"]

CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""A control character that no header value or reason phrase may hold as it stands: C0 but
HTAB, and DEL (§25.1 allows HTAB as whitespace, the others only escaped)."""

_NOT_PRINTABLE_ASCII_RE = re.compile(r"[^\x20-\x7e]")


def _escape(match: re.Match[str]) -> str:
    try:
        data = match.group().encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        return "%3F"
    return "".join(f"%{byte:02X}" for byte in data)


def safe_reason(text: str) -> str:
    """A reason phrase of printable ASCII: anything else as ``%XX`` escapes of its UTF-8."""
    if text.isascii() and text.isprintable():  # the usual case, without a regex
        return text
    return _NOT_PRINTABLE_ASCII_RE.sub(_escape, text)


def safe_value(text: str) -> str:
    """A header value or reason phrase with every control character (but HTAB) escaped;
    UTF-8 (legal in values, §25.1 UTF8-NONASCII) is kept."""
    if text.isprintable():  # no control character (nor HTAB): the usual case
        return text
    return CONTROL_RE.sub(_escape, text)


# quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): a backslash may escape any control
# character but LF and CR (RFC 4475 §3.1.1.2 escapes BEL, NUL and DEL in a display name).
_UNESCAPED_CONTROL_RE = re.compile(r"(?<!\\)[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|[\r\n]")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` that the grammar does not allow, as ``0x07``:
    any but HTAB, unless a backslash escapes it (a quoted-pair, §25.1; never CR or LF).
    None when there is none."""
    if text.isprintable():
        return None
    found = _UNESCAPED_CONTROL_RE.search(text)
    return f"0x{ord(found.group()):02X}" if found is not None else None
