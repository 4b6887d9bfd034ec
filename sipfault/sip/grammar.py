"""Pieces of the RFC 3261 §25.1 grammar as named regular expressions, and their readers.

The one place the ABNF is spelled: the parsers of each field build their patterns from these
pieces rather than writing a token or a quoted-string again. Each pattern quotes the ABNF it
implements. Where sipfault is deliberately more lenient than the grammar, the comment says so
and why.
"""

from __future__ import annotations

import datetime
import re

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
TOKEN_RE = re.compile(TOKEN)

# Method = INVITEm / ACKm / OPTIONSm / BYEm / CANCELm / REGISTERm / extension-method
# extension-method = token
METHOD_RE = TOKEN_RE

# SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT   (the "SIP" literal is case-insensitive, §7.1)
VERSION_RE = re.compile(r"[Ss][Ii][Pp]/(\d+)\.(\d+)")

# Request-Line = Method SP Request-URI SP SIP-Version CRLF
# Leniency: the version may be followed by trailing whitespace (RFC 4475 §3.1.2.10 allows
# accepting it), and runs of SP between the parts are accepted (§3.1.2.9).
REQUEST_LINE_RE = re.compile(rb"^(\S+) +(\S+) +(\S+) *$")

# Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
# Status-Code = 3DIGIT; Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII /
#               UTF8-CONT / SP / HTAB). Leniency: a missing SP before an empty reason phrase.
STATUS_LINE_RE = re.compile(rb"^([Ss][Ii][Pp]/\S+) +(\d+)(?: (.*))?$")

# HCOLON = *( SP / HTAB ) ":" SWS   (the SWS is stripped from the value that follows)
HCOLON = r"[ \t]*:"

# LWS = [*WSP CRLF] 1*WSP; SWS = [LWS]
# message-header = (Accept / ... / extension-header) CRLF
# A line break followed by SP or HTAB is a fold inside a field line (§7.3.1); any other ends
# the line. Leniency: a bare LF ends a line too, where RFC 3261 §7 asks for CRLF.
FIELD_LINE_END_RE = re.compile(rb"\n(?![ \t])")
# Header values have their folds undone by the parser: a fold and the blanks around it read
# as one SP (§7.3.1).
FOLD_RE = re.compile(r"[ \t]*\r?\n[ \t]*")
# Where text may still hold folds (an Authorization value as written), LWS is written one
# whitespace unit at a time so that no run of blanks can be split two ways (no backtracking
# blow-up). Leniency: several folds in a row are accepted.
_WS_UNIT = r"(?:[ \t]|\r\n[ \t])"
SWS = _WS_UNIT + "*"
LWS = _WS_UNIT + "+"

# quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
# qdtext        = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
# quoted-pair   = "\" (%x00-09 / %x0B-0C / %x0E-7F)
# (UTF8-NONASCII as Python text: any code point above U+007F but lone surrogates.)
QDTEXT = r"[\t \x21\x23-\x5b\x5d-\x7e\x80-\ud7ff\ue000-\U0010ffff]|\r\n[ \t]"
QUOTED_PAIR = r"\\[\x00-\x09\x0b\x0c\x0e-\x7f]"
QUOTED_STRING = f'"(?:{QDTEXT}|{QUOTED_PAIR})*"'
# The same, as the parameters and display names of any header are read. Leniency: any
# character but an unescaped DQUOTE stands inside, and a backslash escapes any character
# (compile with re.S); what a peer quoted is kept as written, never interpreted.
LENIENT_QUOTED_STRING = r'"(?:[^"\\]|\\.)*"'

# IPv6reference = "[" IPv6address "]"
# Leniency: hex digits, colons and dots in any order inside the brackets.
IPV6_REFERENCE = r"\[[0-9A-Fa-f:.]+\]"

# port = 1*DIGIT; at most five digits are read, and the reader checks the value is 65535 or less.
PORT = r"[0-9]{1,5}"


# Content-Length, Max-Forwards, Expires, CSeq numbers: mostly small, written without leading
# zeros. Read by a lookup; any other spelling ("070", "2000") by the digits.
_SMALL_NUMBERS: dict[str, int] = {str(number): number for number in range(1000)}


def bounded_int(text: str, limit: int) -> int | None:
    """The value of ``1*DIGIT`` text, or None when the text is not that.

    A value above ``limit`` comes back as ``limit + 1`` without converting every digit:
    ``int()`` refuses strings of more than 4300 digits (CVE-2020-10735 limit), and a peer can
    send a CSeq or Content-Length that long (RFC 4475 §3.1.2.4 sends oversized ones).
    """
    known = _SMALL_NUMBERS.get(text)
    if known is not None:  # "0", "70", "200": one lookup (0.05 µs, not 0.25 µs; timeit)
        return known if known <= limit else limit + 1
    if not (text.isascii() and text.isdigit()):  # 1*DIGIT: isdigit() alone takes "²"
        return None
    if len(text) < 10:  # int() is safe on a few digits: 0.15 µs, not 0.22 µs (timeit)
        value = int(text)
        return value if value <= limit else limit + 1
    significant = text.lstrip("0")
    if len(significant) > len(str(limit)):
        return limit + 1
    value = int(significant or "0")
    return value if value <= limit else limit + 1


# SIP-date = rfc1123-date (RFC 3261 §25.1, §20.17), always in GMT:
# rfc1123-date = wkday "," SP date1 SP time SP "GMT"; date1 = 2DIGIT SP month SP 4DIGIT
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def sip_date(seconds: float) -> str:
    """A Date header value for ``seconds`` since the Unix epoch, e.g.
    ``Sat, 13 Nov 2010 23:29:00 GMT``; the day and month names never follow the locale."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return (
        f"{_WEEKDAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
        f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT"
    )
