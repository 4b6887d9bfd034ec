"""A tiny HTTP/1.1 server side (RFC 9112): read one request, write one response.

Just what the live view needs: a request line, header fields, a body sized by Content-Length;
no chunked request bodies, no pipelining, one request per connection (every response says
``Connection: close``, RFC 9112 §9.6), which is also how a response of unknown length (a
server-sent event stream, the journal followed as it grows) ends: when the connection closes
(RFC 9112 §6.3, rule 8).

:func:`parse_head` is pure; :func:`read_request` reads one from an ``asyncio.StreamReader``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "MAX_BODY",
    "MAX_HEAD",
    "HttpError",
    "HttpRequest",
    "json_response",
    "parse_head",
    "read_request",
    "response_head",
]

MAX_HEAD = 16 * 1024
"""Longest request line and header section accepted (431 beyond, RFC 6585 §5)."""
MAX_BODY = 64 * 1024
"""Largest request body accepted (413 beyond, RFC 9110 §15.5.14)."""

REASONS = {
    200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 411: "Length Required",
    413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 505: "HTTP Version Not Supported",
}

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HttpError(Exception):
    """A request that gets an error status instead of an answer."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, object]:
        """The JSON error body: ``{"error": message, ...}``."""
        return {"error": self.message, **self.extra}


@dataclass(frozen=True)
class HttpRequest:
    """One request: method, target split into path and query, header fields, body."""

    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)
    """Field values by lower-case name; repeated fields joined with ", " (RFC 9110 §5.3)."""
    body: bytes = b""

    @property
    def path(self) -> str:
        """The target's path, percent-decoded."""
        return unquote(urlsplit(self.target).path)

    @property
    def query(self) -> dict[str, list[str]]:
        """The target's query parameters."""
        return parse_qs(urlsplit(self.target).query)

    def json(self) -> dict[str, object]:
        """The body as a JSON object; 415 unless it says it is JSON, 400 if it is not."""
        media = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise HttpError(415, "send the body as application/json")
        try:
            value = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise HttpError(400, f"the body is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise HttpError(400, "the body must be a JSON object")
        return value


def parse_head(head: bytes) -> HttpRequest:
    """The request line and header fields (without the body); HttpError if malformed."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "undecodable request") from None
    lines = text.split("\r\n")
    request_line = lines[0]
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[0] or not set(parts[0]) <= _TOKEN:
        raise HttpError(400, f"malformed request line {request_line[:80]!r}")
    method, target, version = parts
    if not version.startswith("HTTP/1."):
        raise HttpError(505, f"unsupported version {version[:20]!r}")
    if not target.startswith("/"):
        raise HttpError(400, "only origin-form targets are served")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or not set(name) <= _TOKEN:
            raise HttpError(400, f"malformed header field {line[:80]!r}")
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return HttpRequest(method, target, version, headers)


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; None when the connection closed before one began."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "the request ended early") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request head too large") from None
    request = parse_head(head[:-4])
    if "transfer-encoding" in request.headers:
        raise HttpError(501, "chunked request bodies are not supported; send Content-Length")
    length_text = request.headers.get("content-length", "0")
    if not length_text.isdigit():
        raise HttpError(400, "malformed Content-Length")
    length = int(length_text)
    if length > MAX_BODY:
        raise HttpError(413, f"body larger than {MAX_BODY} bytes")
    body = await reader.readexactly(length) if length else b""
    return HttpRequest(request.method, request.target, request.version, request.headers, body)


def response_head(status: int, content_type: str | None = None, length: int | None = None,
                  extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    """Status line and header fields of a response; no length means it ends at the close."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += ["Cache-Control: no-store", "X-Content-Type-Options: nosniff",
              "Connection: close"]
    lines += [f"{name}: {value}" for name, value in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_response(status: int, value: object, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A whole JSON response."""
    body = (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return response_head(status, "application/json", len(body), extra) + body
