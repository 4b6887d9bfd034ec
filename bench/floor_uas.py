"""The floor of CPU per call for a Python UAS: canned answers over asyncio, nothing else.

Answers each INVITE and BYE with 200 built by copying the request's Via, From, To (a fixed tag
added), Call-ID and CSeq lines, the INVITE's with a fixed SDP answer; ACKs are read and dropped.
No parsing beyond splitting lines, no transactions, no timers, no checks: the least work any
UAS written on the standard library's asyncio does per message. ``bench/callrate.py --targets
floor`` runs it beside sipfault and SIPp's UAS, so the CPU per call that asyncio itself costs on
the machine is measured in the same run. ``--blocking`` answers from a plain blocking socket
loop instead, without asyncio.

Not a SIP server: it never retransmits and answers only well-formed requests from SIPp.

    python bench/floor_uas.py --seconds 60            # prints "listening 127.0.0.1 PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import time

_COPIED = (b"via:", b"from", b"to: ", b"call", b"cseq")
_SDP = (b"v=0\r\no=floor 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
_INVITE_TAIL = (b"\r\nContact: <sip:floor@127.0.0.1>\r\nContent-Type: application/sdp\r\n"
                b"Content-Length: " + str(len(_SDP)).encode() + b"\r\n\r\n" + _SDP)
_BYE_TAIL = b"\r\nContent-Length: 0\r\n\r\n"


def answer(request: bytes) -> bytes | None:
    """The canned 200 to an INVITE or BYE; None for anything else."""
    if not request.startswith((b"INVITE ", b"BYE ")):
        return None
    head = request.partition(b"\r\n\r\n")[0]
    copied = []
    for line in head.split(b"\r\n")[1:]:
        start = line[:4].lower()
        if start in _COPIED:
            copied.append(line + b";tag=floor" if start == b"to: " and b"tag=" not in line
                          else line)
    tail = _INVITE_TAIL if request.startswith(b"INVITE") else _BYE_TAIL
    return b"SIP/2.0 200 OK\r\n" + b"\r\n".join(copied) + tail


async def serve_asyncio(seconds: float) -> None:
    """Read every queued datagram at each wake-up of the loop, as sipfault's UDP transport
    does (one datagram per wake-up costs about twice the CPU per call)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    host, port = sock.getsockname()[:2]

    def readable() -> None:
        for _ in range(64):
            try:
                data, address = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            reply = answer(data)
            if reply is not None:
                with contextlib.suppress(BlockingIOError):
                    sock.sendto(reply, address)

    loop.add_reader(sock.fileno(), readable)
    print(f"listening {host} {port}", flush=True)
    await asyncio.sleep(seconds)
    loop.remove_reader(sock.fileno())
    sock.close()


def serve_blocking(seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    host, port = sock.getsockname()[:2]
    print(f"listening {host} {port}", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data, address = sock.recvfrom(65535)
        except TimeoutError:
            continue
        reply = answer(data)
        if reply is not None:
            sock.sendto(reply, address)
    sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=600.0,
                        help="stop after this long (default: %(default)s)")
    parser.add_argument("--blocking", action="store_true",
                        help="a blocking socket loop instead of asyncio")
    args = parser.parse_args(argv)
    if args.blocking:
        serve_blocking(args.seconds)
    else:
        asyncio.run(serve_asyncio(args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
