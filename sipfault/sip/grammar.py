"""Pieces of the RFC 3261 §25.1 grammar as named regular expressions.

Each pattern quotes the ABNF it implements. Where sipfault is deliberately more lenient than the
grammar, the comment says so and why.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Concatenate, ParamSpec, TypeVar, cast

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
TOKEN_RE = re.compile(TOKEN)

# Method = INVITEm / ACKm / OPTIONSm / BYEm / CANCELm / REGISTERm / extension-method
# extension-method = token
METHOD_RE = re.compile(TOKEN)

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

# header-name = token
HEADER_NAME_RE = re.compile(TOKEN)

# LWS = [*WSP CRLF] 1*WSP ; folding is unfolded before any value is read.
FOLD_RE = re.compile(r"[ \t]*\r?\n[ \t]+")


# 1*DIGIT, ASCII only (str.isdigit() also accepts "²" and other digits int() refuses).
DIGITS_RE = re.compile(r"[0-9]+")


def bounded_int(text: str, limit: int) -> int | None:
    """The value of ``1*DIGIT`` text, or None when the text is not that.

    A value above ``limit`` comes back as ``limit + 1`` without converting every digit:
    ``int()`` refuses strings of more than 4300 digits (CVE-2020-10735 limit), and a peer can
    send a CSeq or Content-Length that long (RFC 4475 §3.1.2.4 sends oversized ones).
    """
    if not (text.isascii() and text.isdigit()):  # 1*DIGIT: isdigit() alone takes "²"
        return None
    if len(text) < 10:  # the usual case: int() is cheap and safe on a few digits
        value = int(text)
        return value if value <= limit else limit + 1
    significant = text.lstrip("0")
    if len(significant) > len(str(limit)):
        return limit + 1
    value = int(significant or "0")
    return value if value <= limit else limit + 1


_P = ParamSpec("_P")
_R = TypeVar("_R")

CACHED_VALUE_LENGTH = 512
"""Longest header value whose parse is cached; longer ones (up to 64 KiB) are parsed afresh."""


def cache_short_values(
    function: Callable[Concatenate[str, _P], _R],
) -> Callable[Concatenate[str, _P], _R]:
    """Memoise a parser of header values, for values of at most :data:`CACHED_VALUE_LENGTH`.

    Clients repeat the same From, To, Via and URIs call after call, so caching pays; but a cache
    keyed by any value would let a peer pin memory with distinct 60 KB values (4096 of them
    held 700 MiB). Longer values, rare in real traffic, skip the cache.
    """
    cached = cast(Callable[Concatenate[str, _P], _R], lru_cache(maxsize=4096)(function))

    @wraps(function)
    def parse(value: str, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if len(value) <= CACHED_VALUE_LENGTH:
            return cached(value, *args, **kwargs)
        return function(value, *args, **kwargs)

    return parse


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
