"""Small parsed SIP messages for tests of records and journals, with their bytes."""

from __future__ import annotations

from sipfault.core.events import Peer
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message

PEER = Peer("udp", ("127.0.0.1", 40000), ("127.0.0.1", 5060))
"""The client of these messages: they came from (and answers go to) 127.0.0.1:40000."""

_DIALOG = (
    "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1\r\n"
    "From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>{to_tag}\r\n"
    "Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
)


def request(method: str, call_id: str = "c1") -> tuple[Request, bytes]:
    """A ``method`` request to alice, parsed, and its bytes."""
    data = (f"{method} sip:alice@127.0.0.1 SIP/2.0\r\n"
            + _DIALOG.format(to_tag="", call_id=call_id, method=method)).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message, data


def response(status: int, reason: str, method: str = "INVITE",
             call_id: str = "c1") -> tuple[Response, bytes]:
    """A response to :func:`request`'s request, with a To-tag, parsed, and its bytes."""
    data = (f"SIP/2.0 {status} {reason}\r\n"
            + _DIALOG.format(to_tag=";tag=2", call_id=call_id, method=method)).encode()
    message = parse_message(data)
    assert isinstance(message, Response)
    return message, data
