"""The live view's tiny HTTP/1.1 parser: what it takes, and the status it gives the rest."""

from __future__ import annotations

import asyncio

import pytest

from sipfault.live.http import (
    MAX_BODY,
    HttpError,
    json_response,
    parse_head,
    read_request,
    response_head,
)


def test_a_request_head() -> None:
    request = parse_head(b"GET /calls/a%40b?follow=0&x=1 HTTP/1.1\r\nHost: h:1\r\n"
                         b"Accept: a\r\naccept: b\r\nX-Empty:\r\n")
    assert (request.method, request.version) == ("GET", "HTTP/1.1")
    assert request.path == "/calls/a@b"
    assert request.query == {"follow": ["0"], "x": ["1"]}
    assert request.headers == {"host": "h:1", "accept": "a, b", "x-empty": ""}


@pytest.mark.parametrize(("head", "status"), [
    (b"GET /", 400),
    (b"GET  / HTTP/1.1", 400),
    (b"G(T / HTTP/1.1", 400),
    (b"GET / HTTP/2.0", 505),
    (b"GET http://x/ HTTP/1.1", 400),
    (b"GET / HTTP/1.1\r\nNo colon here", 400),
    (b"GET / HTTP/1.1\r\nBad Name: x", 400),
])
def test_malformed_heads(head: bytes, status: int) -> None:
    with pytest.raises(HttpError) as caught:
        parse_head(head)
    assert caught.value.status == status
    assert caught.value.body()["error"]


async def _read(data: bytes, limit: int = 2 ** 16) -> object:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    return await read_request(reader)


async def test_a_body_by_content_length() -> None:
    request = await _read(b"POST /faults HTTP/1.1\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 27\r\n\r\n{\"name\": \"x\", \"on\": true}  ")
    assert request is not None
    assert request.json() == {"name": "x", "on": True}  # type: ignore[attr-defined]


async def test_read_errors() -> None:
    assert await _read(b"") is None
    for data, status in [
        (b"GET / HTTP/1.1\r\nHost: x", 400),  # ended before the blank line
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 300 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (f"POST / HTTP/1.1\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode(), 413),
    ]:
        with pytest.raises(HttpError) as caught:
            await _read(data, limit=256)
        assert caught.value.status == status, data


@pytest.mark.parametrize(("content_type", "body", "status"), [
    ("text/plain", b"{}", 415),
    ("application/json", b"{nope", 400),
    ("application/json", b"[1]", 400),
])
def test_json_bodies(content_type: str, body: bytes, status: int) -> None:
    request = parse_head(f"POST / HTTP/1.1\r\nContent-Type: {content_type}".encode())
    request = type(request)(request.method, request.target, request.version, request.headers,
                            body)
    with pytest.raises(HttpError) as caught:
        request.json()
    assert caught.value.status == status


def test_responses_close_the_connection() -> None:
    head = response_head(200, "text/plain", 3)
    assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           b"Content-Length: 3\r\n")
    assert b"Connection: close\r\n" in head and head.endswith(b"\r\n\r\n")
    streamed = response_head(200, "text/event-stream")
    assert b"Content-Length" not in streamed
    reply = json_response(501, {"error": "x"})
    assert reply.startswith(b"HTTP/1.1 501 Not Implemented\r\n")
    assert reply.endswith(b'"error": "x"\n}\n')
