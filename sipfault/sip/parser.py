"""Bytes to :class:`Request` / :class:`Response` (RFC 3261 §7, §18.3).

The parser checks framing: the start line, the SIP version, header-line syntax, and the
Content-Length against the bytes at hand. What a field means (Via, CSeq, From...) is checked by
:mod:`sipfault.sip.validate`. Any defect raises :class:`SipParseError`; no other exception
escapes (the property tests feed it arbitrary bytes).
"""

from __future__ import annotations

import re
from contextlib import suppress

from sipfault.sip.errors import SipParseError
from sipfault.sip.grammar import (
    FIELD_LINE_END_RE,
    FOLD_RE,
    HCOLON,
    METHOD_RE,
    REQUEST_LINE_RE,
    STATUS_LINE_RE,
    TOKEN,
    VERSION_RE,
    bounded_int,
)
from sipfault.sip.headers import Field, Headers, wire_field
from sipfault.sip.memo import Memo
from sipfault.sip.message import Message, Request, Response

MAX_MESSAGE_SIZE = 64 * 1024
"""Largest message sipfault accepts, head and body (RFC 3261 §21.5.7 513 beyond it)."""

# message-header = header-name HCOLON field-value (RFC 3261 §7.3.1, §25.1)
_HEADER_LINE_RE = re.compile(f"({TOKEN}){HCOLON}(.*)".encode(), re.S)

# What is read from a line is immutable, and clients repeat most lines message after message,
# so lines read recently are kept with what was read from them (see sipfault.sip.memo).
# bench/callrate.py: saves ~5 µs per INVITE parsed (7 of its 10 lines repeat; timeit).
_FIELDS: Memo[bytes, Field] = Memo("header lines", entries=2048, longest=256, size=len)
# bench/callrate.py: saves ~1 µs per request parsed (timeit).
_REQUEST_LINES: Memo[bytes, tuple[str, str, str]] = Memo(
    "Request-Lines", entries=2048, longest=256, size=len
)
"""Method, Request-URI and version of a Request-Line."""


def parse_message(data: bytes, *, stream: bool = False) -> Message:
    """Parse one whole message.

    For a datagram (``stream=False``) the body is framed by Content-Length when present: bytes
    beyond it are ignored (RFC 3261 §18.3, RFC 4475 §3.1.1.8) and a Content-Length larger than
    what arrived is a 400 (§3.1.2.2). Without Content-Length the body is the rest of the
    datagram. For a stream the framer has already cut exactly one message.
    """
    try:
        return _parse(data, stream)
    except SipParseError:
        raise
    except Exception as exc:  # a defect no rule foresaw must still be a clean 400
        raise SipParseError(f"Malformed message ({type(exc).__name__})") from None


def _parse(data: bytes, stream: bool) -> Message:
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError("Message Too Large", 513)
    data = data.lstrip(b"\r\n")  # §7.5: ignore CRLF before the start line
    if not data:
        raise SipParseError("Empty message")
    head, body = _split_head(data)
    start, line_break, rest = head.partition(b"\n")
    start_raw = start.removesuffix(b"\r")
    lines = FIELD_LINE_END_RE.split(rest) if line_break else []
    try:
        message = _parse_start_line(start_raw)
    except SipParseError as exc:
        exc.partial = _salvage_request(start_raw, lines)
        raise
    message.headers = _parse_header_lines(lines, message)
    try:
        message.body = _frame_body(message.headers, body, stream)
    except SipParseError as exc:
        exc.partial = message
        raise
    message.remember_start(start_raw)
    _check_version(message)
    return message


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """Split at the empty line; a message with no empty line is all head (lenient)."""
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        return data[:end], data[end + 4:]
    end = data.find(b"\n\n")
    if end >= 0:
        return data[:end], data[end + 2:]
    return data.removesuffix(b"\r\n"), b""


def _parse_start_line(line: bytes) -> Message:
    if line[:4].upper() == b"SIP/":
        status_match = STATUS_LINE_RE.match(line)
        if status_match is None:
            raise SipParseError("Malformed Status-Line")
        version, code, reason = status_match.groups()
        if len(code) != 3:
            raise SipParseError("Malformed Status-Code")
        status = int(code)
        if not 100 <= status <= 699:
            raise SipParseError("Status-Code out of range")
        try:
            version_text = version.decode("ascii")
        except UnicodeDecodeError:  # "SIP/2.\xc2\xb2": a digit, but not an ASCII one
            raise SipParseError("Malformed Status-Line: invalid characters") from None
        return Response(status, (reason or b"").decode("utf-8", "replace"), version=version_text)
    known = _REQUEST_LINES.get(line)
    if known is not None:
        return Request(known[0], known[1], version=known[2])
    request_match = REQUEST_LINE_RE.match(line)
    if request_match is None:
        raise SipParseError("Malformed Request-Line")
    method_raw, uri_raw, version_raw = request_match.groups()
    try:
        method = method_raw.decode("ascii")
        uri = uri_raw.decode("utf-8")
        version = version_raw.decode("ascii")
    except UnicodeDecodeError:
        raise SipParseError("Malformed Request-Line: invalid characters") from None
    if METHOD_RE.fullmatch(method) is None:
        raise SipParseError("Malformed Request-Line: invalid method")
    if uri.startswith("<"):
        raise SipParseError("Malformed Request-URI: angle brackets")  # RFC 4475 §3.1.2.7
    _REQUEST_LINES.remember(line, (method, uri, version))
    return Request(method, uri, version=version)



def _salvage_request(line: bytes, header_lines: list[bytes]) -> Request | None:
    """What can be read of a request whose Request-Line is malformed, so it can be answered.

    ``INVITE <sip:user@example.com> SIP/2.0`` and ``INVITE sip:user@example.com; lr SIP/2.0``
    still name a method and a version (RFC 4475 §3.1.2.7, §3.1.2.8 ask for a 400, which needs
    the Via, From, To, Call-ID and CSeq). Anything that does not start with a method token and
    end with a SIP-Version is not taken for a request.
    """
    method_raw, space, rest = line.partition(b" ")
    uri_raw, space, version_raw = rest.strip(b" ").rpartition(b" ")
    method = method_raw.decode("latin-1")
    version = version_raw.decode("latin-1")
    if not space or METHOD_RE.fullmatch(method) is None or VERSION_RE.fullmatch(version) is None:
        return None
    request = Request(method, uri_raw.strip(b" ").decode("utf-8", "replace"), version=version)
    with suppress(SipParseError):  # the fields read before a defect stay on the request
        request.headers = _parse_header_lines(header_lines, request)
    return request


def _parse_header_lines(lines: list[bytes], message: Message) -> Headers:
    """Read header lines, each with its folds (RFC 3261 §7.3.1) and its final CR.

    ``header-name HCOLON value``: the name is a token, whitespace may stand before the colon.
    Every line is read even after a defect, so the partial message keeps what was readable.
    """
    fields: list[Field] = []
    append = fields.append
    known = _FIELDS.get
    defect: str | None = None
    for raw in lines:
        field = known(raw)
        if field is None:
            field = _read_field(raw.removesuffix(b"\r"))
            if field is None:
                text = raw.removesuffix(b"\r")[:30].decode("utf-8", "replace")
                defect = defect or f"Malformed header line {text!r}"
                continue
            _FIELDS.remember(raw, field)
        append(field)
    headers = Headers.of_fields(fields)
    if defect is not None:
        message.headers = headers
        raise SipParseError(defect, partial=message)
    return headers


# What stands before the colon of a line (the name, and any blanks before the colon) repeats
# in every message even when the value does not (a Via's branch, a new Call-ID): the name
# read from it is kept, and the pattern only reads a line whose name is new.
# bench/core_calls.py: 0.5 µs, not 1.2 µs, a line not seen before (timeit).
_NAMES: Memo[bytes, str] = Memo("header names", entries=1024, longest=64, size=len)


def _read_field(raw: bytes) -> Field | None:
    """One ``name: value`` line (folds already joined, CR removed), or None when malformed."""
    # A token holds no colon, so the first colon is the HCOLON's: what precedes it is the
    # name and its blanks, what follows it the value, as the pattern would read them.
    head, colon, rest = raw.partition(b":")
    if not colon:
        return None
    name = _NAMES.get(head)
    if name is None:
        found = _HEADER_LINE_RE.match(raw)
        if found is None:
            return None
        name = found.group(1).decode("ascii")
        _NAMES.remember(head, name)
    value = rest.decode("utf-8", "surrogateescape")
    if "\n" in value:
        value = FOLD_RE.sub(" ", value)
    return wire_field(name, value.strip(" \t\r"), raw)


def content_length(headers: Headers) -> int | None:
    """The Content-Length (§20.14): None when absent; 400 when malformed or conflicting.

    Any length beyond :data:`MAX_MESSAGE_SIZE` comes back as ``MAX_MESSAGE_SIZE + 1``.
    """
    lines = headers.lines("Content-Length")
    if not lines:
        return None
    value = lines[0].strip()
    if len(lines) > 1 and any(other.strip() != value for other in lines):
        raise SipParseError("Conflicting Content-Length")  # RFC 4475 §3.3.9
    length = bounded_int(value, MAX_MESSAGE_SIZE)
    if length is None:
        raise SipParseError("Invalid Content-Length")  # RFC 4475 §3.1.2.3
    return length


def _frame_body(headers: Headers, rest: bytes, stream: bool) -> bytes:
    length = content_length(headers)
    if length is None:
        return b"" if stream else rest
    if length > MAX_MESSAGE_SIZE:
        raise SipParseError("Message Too Large", 513)
    if length > len(rest):
        raise SipParseError("Content-Length larger than the message body")  # RFC 4475 §3.1.2.2
    return rest[:length]


def _check_version(message: Message) -> None:
    """RFC 3261 §8.2 and §21.5.6: anything but SIP/2.0 gets 505."""
    if message.version == "SIP/2.0":
        return
    version_match = VERSION_RE.fullmatch(message.version)
    if version_match is None:
        raise SipParseError("Malformed SIP-Version", partial=message)
    if version_match.groups() != ("2", "0"):
        raise SipParseError("Version Not Supported", 505, partial=message)
