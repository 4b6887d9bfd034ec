"""A mutational fuzzer's mutations, in pure Python, driven by one seeded ``random.Random``.

Each call of :meth:`Mutator.mutate` stacks one to ``max_stack`` mutations ("havoc", as AFL
calls it) on a copy of its input:

- bytes: flip a bit, set a byte to an interesting value, insert random bytes, delete a range,
  duplicate a range, truncate;
- structure: splice with another corpus entry (at a line boundary or anywhere), duplicate a
  header line many times, drop or swap lines, fold a line, switch CRLF and LF;
- grammar: insert or overwrite a dictionary token from the RFC 3261 / RFC 4566 / RFC 7616
  grammar, replace a number with a boundary value.

The same seed and corpus give the same sequence of inputs, so any failure found in CI is
reproduced by re-running with the seed it printed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

MAX_SIZE = 70_000
"""Mutants are cut to this size: a bit over the parser's 64 KiB message bound, so both sides of
it are tried."""

# Tokens of the grammars the targets read: RFC 3261 §25 (SIP), RFC 4566 (SDP), RFC 7616 (digest)
# and YAML punctuation for the scenario loader, plus the byte values that broke parsers before.
SIP_TOKENS: tuple[bytes, ...] = (
    b"SIP/2.0", b"SIP/2.0/UDP ", b"SIP/2.0/TCP ", b"SIP/3.0", b"INVITE", b"ACK", b"BYE",
    b"CANCEL", b"OPTIONS", b"REGISTER", b"PRACK", b"UPDATE", b"SUBSCRIBE", b"NOTIFY",
    b"sip:", b"sips:", b"tel:", b"urn:", b"mailto:", b"@", b":", b";", b",", b"=", b"?", b"&",
    b"<", b">", b'"', b"\\", b"[", b"]", b"::1", b"[::1]", b"%", b"%00", b"%zz", b"*",
    b"Via: ", b"v: ", b"From: ", b"f: ", b"To: ", b"t: ", b"Call-ID: ", b"i: ", b"CSeq: ",
    b"Contact: ", b"m: ", b"Content-Length: ", b"l: ", b"Content-Type: ", b"c: ",
    b"Max-Forwards: ", b"Expires: ", b"Require: ", b"Supported: ", b"Route: ",
    b"Record-Route: ", b"RSeq: ", b"RAck: ", b"Session-Expires: ", b"Min-SE: ",
    b"Authorization: ", b"Proxy-Authorization: ", b"Accept: ", b"Content-Encoding: ",
    b";branch=z9hG4bK", b";branch=", b";tag=", b";rport", b";received=", b";lr", b";maddr=",
    b";transport=tcp", b";expires=", b";q=", b";user=phone", b"application/sdp",
    b"multipart/mixed; boundary=", b"100rel", b"timer", b";refresher=uac",
    b"\r\n", b"\r\n ", b"\r\n\t", b"\n", b"\r", b"\r\n\r\n", b" ", b"\t", b"\x00", b"\xff",
    b"\xc3", b"\xc2\xb2", b"\xd9\xa1", b"\xef\xbb\xbf", b"\xed\xa0\x80",
)  # fmt: skip
SDP_TOKENS: tuple[bytes, ...] = (
    b"v=0\r\n", b"o=- 1 1 IN IP4 192.0.2.1\r\n", b"s=-\r\n", b"c=IN IP4 ", b"c=IN IP6 ",
    b"t=0 0\r\n", b"m=audio ", b"m=video ", b"m=image ", b"m=application ", b" RTP/AVP ",
    b" RTP/SAVP ", b" udptl t38", b"a=rtpmap:", b"a=fmtp:", b"a=sendonly", b"a=recvonly",
    b"a=inactive", b"a=sendrecv", b"a=T38FaxVersion:0", b"a=T38FaxUdpEC:t38UDPRedundancy",
    b"telephone-event/8000", b"PCMU/8000", b"/2", b"0-16",
)  # fmt: skip
DIGEST_TOKENS: tuple[bytes, ...] = (
    b"Digest ", b"Basic ", b"username=", b"realm=", b"nonce=", b"uri=", b"response=",
    b"algorithm=", b"MD5", b"MD5-sess", b"SHA-256", b"SHA-256-sess", b"SHA-512-256",
    b"cnonce=", b"nc=", b"00000001", b"ffffffff", b"qop=", b"auth", b"auth-int", b"opaque=",
    b"userhash=true", b"username*=UTF-8''", b"stale=true", b'""', b'"\\"', b", ", b",,",
)  # fmt: skip
YAML_TOKENS: tuple[bytes, ...] = (
    b"rules:\n", b"  - match: {method: INVITE}\n", b"    reply: [", b"]\n", b"{", b"}",
    b"- ", b": ", b"---\n", b"...\n", b"&a ", b"*a", b"<<: ", b"!!python/object ", b"!!binary ",
    b"|\n", b">-\n", b"'", b'"', b"#", b"%YAML 1.1\n", b"~", b"null", b"yes", b"1e999",
    b".nan", b"0x1f", b"0o17", b"2m", b"200ms", b"1.5s", b"25%", b"{to_user}", b"(", b".*",
    b"code: ", b"after: ", b"sdp: answer", b"fault: ", b"drop: true", b"probability: ",
    b"headers: ", b"timers: {t1: ", b"auth:\n", b"registrar:\n", b"defaults:\n",
    b"unmatched: ", b"dial_a_code: ", b"\t", b"\x85", b"\xe2\x80\xa8",
)  # fmt: skip
NUMBERS: tuple[bytes, ...] = (
    b"0", b"1", b"-1", b"70", b"65535", b"65536", b"2147483647", b"2147483648", b"4294967295",
    b"4294967296", b"18446744073709551616", b"9" * 40, b"9" * 5000, b"0" * 5000 + b"1",
    b"1.5", b"1e9", b"0x10", b"\xc2\xb2", b"",
)  # fmt: skip

INTERESTING_BYTES = (0x00, 0x01, 0x09, 0x0A, 0x0D, 0x20, 0x22, 0x25, 0x2C, 0x3A, 0x3B, 0x3C,
                     0x3E, 0x40, 0x5C, 0x7F, 0x80, 0xC0, 0xFF)

_DIGITS = re.compile(rb"\d+")


class Mutator:
    """Mutates byte strings; ``corpus`` is what splices take their second half from."""

    def __init__(
        self,
        rng: random.Random,
        dictionary: Sequence[bytes] = SIP_TOKENS,
        corpus: Sequence[bytes] = (),
        max_stack: int = 6,
    ) -> None:
        self.rng = rng
        self.dictionary = tuple(dictionary) + NUMBERS
        self.corpus = list(corpus)
        self.max_stack = max_stack
        self._operations: tuple[Callable[[bytearray], None], ...] = (
            self.flip_bit, self.set_byte, self.insert_random, self.delete_range,
            self.duplicate_range, self.truncate, self.splice, self.duplicate_line,
            self.drop_line, self.swap_lines, self.fold_line, self.line_endings,
            self.insert_token, self.overwrite_token, self.replace_number,
            # The grammar-aware ones reach deeper than blind bytes: drawn twice as often.
            self.insert_token, self.overwrite_token, self.replace_number, self.duplicate_line,
        )  # fmt: skip

    def mutate(self, data: bytes) -> bytes:
        """``data`` with one to ``max_stack`` mutations, at most :data:`MAX_SIZE` bytes."""
        buffer = bytearray(data)
        for _ in range(self.rng.randint(1, self.max_stack)):
            self.rng.choice(self._operations)(buffer)
            del buffer[MAX_SIZE:]  # after each, so no mutation works on megabytes
        return bytes(buffer)

    # ------------------------------------------------------------------------------ bytes

    def _at(self, buffer: bytearray, end: bool = False) -> int:
        """A position in ``buffer`` (``end``: the end is a position too)."""
        size = len(buffer) + (1 if end else 0)
        return self.rng.randrange(size) if size else 0

    def flip_bit(self, buffer: bytearray) -> None:
        if buffer:
            buffer[self._at(buffer)] ^= 1 << self.rng.randrange(8)

    def set_byte(self, buffer: bytearray) -> None:
        if buffer:
            buffer[self._at(buffer)] = self.rng.choice(INTERESTING_BYTES)

    def insert_random(self, buffer: bytearray) -> None:
        at = self._at(buffer, end=True)
        buffer[at:at] = self.rng.randbytes(self.rng.randint(1, 16))

    def delete_range(self, buffer: bytearray) -> None:
        if buffer:
            at = self._at(buffer)
            del buffer[at:at + self.rng.randint(1, 64)]

    def duplicate_range(self, buffer: bytearray) -> None:
        if buffer:
            at = self._at(buffer)
            piece = buffer[at:at + self.rng.randint(1, 128)]
            to = self._at(buffer, end=True)
            buffer[to:to] = piece * self.rng.randint(1, 4)

    def truncate(self, buffer: bytearray) -> None:
        if buffer:
            del buffer[self._at(buffer):]

    def splice(self, buffer: bytearray) -> None:
        """Our head and another entry's tail, cut at line boundaries half of the time."""
        if not self.corpus:
            return
        other = self.rng.choice(self.corpus)
        if self.rng.random() < 0.5:
            ours, theirs = _line_starts(buffer), _line_starts(other)
            cut = self.rng.choice(ours) if ours else 0
            from_ = self.rng.choice(theirs) if theirs else 0
        else:
            cut, from_ = self._at(buffer, end=True), self.rng.randrange(len(other) + 1)
        buffer[cut:] = other[from_:]

    # -------------------------------------------------------------------------- structure

    def _line(self, buffer: bytearray) -> tuple[int, int]:
        """Start and end (past its LF) of a random line."""
        starts = _line_starts(buffer)
        start = self.rng.choice(starts) if starts else 0
        end = buffer.find(b"\n", start)
        return start, (len(buffer) if end < 0 else end + 1)

    def duplicate_line(self, buffer: bytearray) -> None:
        """One line repeated: a header field given many times (RFC 3261 §7.3)."""
        start, end = self._line(buffer)
        line = bytes(buffer[start:end])
        if line and not line.endswith(b"\n"):
            line += b"\r\n"
        count = self.rng.choice((1, 2, 3, 8, 64, 500))
        buffer[start:start] = line * min(count, MAX_SIZE // max(len(line), 1))

    def drop_line(self, buffer: bytearray) -> None:
        start, end = self._line(buffer)
        del buffer[start:end]

    def swap_lines(self, buffer: bytearray) -> None:
        starts = _line_starts(buffer)
        if len(starts) < 3:
            return
        lines = bytes(buffer).split(b"\n")
        i, j = self.rng.randrange(len(lines)), self.rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        buffer[:] = b"\n".join(lines)

    def fold_line(self, buffer: bytearray) -> None:
        """A line break inside a value, with or without the whitespace that makes it a fold."""
        at = self._at(buffer, end=True)
        buffer[at:at] = self.rng.choice((b"\r\n ", b"\r\n\t", b"\r\n", b"\n "))

    def line_endings(self, buffer: bytearray) -> None:
        if self.rng.random() < 0.5:
            buffer[:] = bytes(buffer).replace(b"\r\n", b"\n")
        else:
            buffer[:] = bytes(buffer).replace(b"\r\n", b"\r")

    # ---------------------------------------------------------------------------- grammar

    def insert_token(self, buffer: bytearray) -> None:
        at = self._at(buffer, end=True)
        buffer[at:at] = self.rng.choice(self.dictionary)

    def overwrite_token(self, buffer: bytearray) -> None:
        token = self.rng.choice(self.dictionary)
        at = self._at(buffer, end=True)
        buffer[at:at + len(token)] = token

    def replace_number(self, buffer: bytearray) -> None:
        numbers = list(_DIGITS.finditer(buffer))
        if not numbers:
            self.insert_token(buffer)
            return
        found = self.rng.choice(numbers)
        buffer[found.start():found.end()] = self.rng.choice(NUMBERS)


def _line_starts(data: bytes | bytearray) -> list[int]:
    starts = [0]
    at = data.find(b"\n")
    while at >= 0 and len(starts) < 512:
        starts.append(at + 1)
        at = data.find(b"\n", at + 1)
    return starts
