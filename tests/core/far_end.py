"""The far end's side of requests sipfault sends itself: pick them out, answer them."""

from __future__ import annotations

from typing import Protocol

from sipfault.sip.message import Message, Request

T38_ANSWER = (
    "v=0\r\no=alice 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=image 49172 udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n"
    "a=T38FaxRateManagement:transferredTCF\r\n"
)
"""What a printer answers to a T.38 offer."""


class _Sent(Protocol):
    @property
    def message(self) -> Message: ...


def requests_of(sent: list[_Sent], method: str) -> list[Request]:
    """The requests of ``method`` among what sipfault sent."""
    return [item.message for item in sent
            if isinstance(item.message, Request) and item.message.method == method]


def reply_to(ours: Request, status: int, body: str = "", reason: str = "Reason") -> bytes:
    """The far end's response to a request of ours."""
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {value}" for value in ours.headers.lines("Via")]
    lines += [f"From: {ours.headers.get('From')}", f"To: {ours.headers.get('To')}",
              f"Call-ID: {ours.call_id}", f"CSeq: {ours.headers.get('CSeq')}",
              "Contact: <sip:alice@127.0.0.1:5070;transport=udp>"]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
