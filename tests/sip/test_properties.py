"""Property tests: nothing but SipParseError ever escapes the message layer.

Arbitrary bytes and mutated RFC 4475 vectors (byte flips, truncation, insertion, deletion,
repeated lines) go into parse_message, validate_request, the header readers (vias, from_, to,
cseq...) and StreamFramer.feed. Any other exception would reach the transport as a crash: a
datagram left unanswered, a TCP connection dropped by asyncio. The example counts are bounded so
that the file runs in well under a minute.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.sip.address import parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.framer import KeepAlivePing, StreamFramer
from sipfault.sip.message import Message, Request
from sipfault.sip.parser import MAX_MESSAGE_SIZE, parse_message
from sipfault.sip.uri import parse_uri
from sipfault.sip.validate import validate_request
from sipfault.sip.via import parse_via

_CANDIDATES = (
    os.environ.get("SIPFAULT_RFC4475_DIR", ""),
    str(Path(__file__).resolve().parents[1] / "vectors" / "rfc4475"),
    "/work/shared/vectors/rfc4475",
)


def _load_vectors() -> list[bytes]:
    for candidate in _CANDIDATES:
        directory = Path(candidate) if candidate else None
        if directory is not None and (directory / "MANIFEST.tsv").is_file():
            return [path.read_bytes() for path in sorted(directory.glob("*.dat"))]
    return []


VECTORS = _load_vectors()
needs_vectors = pytest.mark.skipif(not VECTORS, reason="RFC 4475 vectors not found")

# A seed corpus that works without the vector files too.
SEED = (
    b"INVITE sip:bob@[2001:db8::1]:5060;transport=tcp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::2]:5060;branch=z9hG4bK776;rport;received=192.0.2.1,"
    b" SIP/2.0/TCP b.example.com\r\n"
    b'From: "Alice \\"A\\"" <sip:alice@example.com>;tag=1928301774\r\n'
    b"t: Bob <sip:bob@example.com>\r\n"
    b"i: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Max-Forwards: 70\r\n"
    b"Contact: <sip:alice@pc33.example.com>;expires=60, *\r\n"
    b"Subject: folded\r\n value\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)
CORPUS = [SEED, *VECTORS]
# Valid messages survive a mutation more often than refused ones: draw them more often.
WELL_FORMED = [SEED, *(v for v in VECTORS if b"\r\nContent-Length: 0\r\n" in v)]

# Bytes that matter to the grammar, inserted by the mutations.
INTERESTING = [
    b"\r\n", b"\r\n ", b"\n", b"\r", b" ", b"\t", b";", b",", b":", b"=", b"<", b">", b'"', b"\\",
    b"@", b"[", b"]", b"?", b"%", b"%00", b"\x00", b"\xff", b"\xc3", b"/", b"SIP/2.0",
    b"sip:", b"tel:", b";tag=", b";branch=z9hG4bK", b";rport", b"Content-Length: ",
    b"l: ", b"CSeq: ", b"\r\n\r\n", b"9" * 12, b"9" * 4400, b"0" * 4400, b"\xc2\xb2",
    b"\xd9\xa1", b"Via: SIP/2.0/UDP h\r\n", b"Max-Forwards: ", b"Expires: ",
]  # fmt: skip

# Header values built from the pieces that broke parsers before: numbers int() refuses or
# misreads, unbalanced quotes and brackets, list separators.
NUMBERS = st.sampled_from(
    ["0", "70", "2147483648", "4294967296", "9" * 4400, "0" * 4400 + "7", "-1", "\u00b2",
     "\u0661", "1.5", "0x10", ""]
)  # fmt: skip
VALUE_PIECES = st.sampled_from(
    ['"', "<", ">", ",", ";", "=", " ", "\\", "sip:a@b", "<sip:a@[::1]:5060>", ";tag=",
     ";expires=", ";q=", "SIP/2.0/UDP h", ";branch=z9hG4bK", ";rport=", "OPTIONS", "INVITE",
     "tel:+1", "*", '"a, b"', "\udce9"]
)  # fmt: skip
VALUES = st.lists(NUMBERS | VALUE_PIECES, min_size=1, max_size=6).map("".join) | st.lists(
    NUMBERS | VALUE_PIECES, min_size=1, max_size=4
).map(" ".join)


PARSED_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# A header value swapped for a hostile one reaches deepest into the readers: weigh it most.
MUTATIONS = ["flip", "truncate", "insert", "delete", "repeat", *["value"] * 5]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A corpus message with a few byte flips, truncations, insertions, deletions or copies."""
    data = bytearray(draw(st.sampled_from(WELL_FORMED) | st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(MUTATIONS))
        # Mostly past the start line: a broken start line stops the parser before the rest.
        first = 0 if draw(st.integers(0, 4)) == 0 else data.find(b"\n") + 1
        at = draw(st.integers(first, len(data)))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            piece = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=8))
            data[at:at] = piece
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "repeat":
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            line = bytes(data[start : end + 1]) if end >= 0 else b""
            data[start:start] = line * draw(st.integers(1, 3))
        elif kind == "value":
            # Replace the value of one header line with a hostile one.
            head_end = data.find(b"\r\n\r\n")
            lines = bytes(data[:head_end]).split(b"\r\n") if head_end > 0 else []
            if len(lines) > 1:
                index = draw(st.integers(1, len(lines) - 1))
                name, colon, _ = lines[index].partition(b":")
                if colon:
                    value = draw(VALUES).encode("utf-8", "surrogateescape")
                    lines[index] = name + b": " + value
                    data[:head_end] = b"\r\n".join(lines)
    return bytes(data)


def only_sip_errors(action: Callable[[], object]) -> None:
    """Run ``action``: it may succeed or raise SipParseError, nothing else."""
    try:
        action()
    except SipParseError as error:
        assert isinstance(error.status, int)
        assert 400 <= error.status <= 599
        assert error.reason


READERS = ("vias", "top_via", "from_", "to", "cseq", "call_id", "content_type")


def exercise(message: Message) -> None:
    """Every reader, validation, and serialization of a parsed message."""
    for reader in READERS:
        only_sip_errors(lambda reader=reader: getattr(message, reader))  # type: ignore[misc]
    for field in message.headers:
        only_sip_errors(lambda key=field.key: message.headers.values(key))  # type: ignore[misc]
    if isinstance(message, Request):
        try:
            validate_request(message, KNOWN_METHODS)
        except SipParseError:
            pass
        else:
            # What the UAS reads after validation must not fail any more.
            for field in message.headers:
                message.headers.values(field.key)
            for value in message.headers.values("Contact"):
                if value != "*":
                    parse_address(value, "Contact")
    message.first_line()
    message.to_bytes()


def check_message_layer(data: bytes) -> None:
    for stream in (False, True):
        try:
            message = parse_message(data, stream=stream)
        except SipParseError as error:
            assert 400 <= error.status <= 599
            if error.partial is not None:
                exercise(error.partial)
            continue
        exercise(message)


def check_framer(data: bytes, cuts: list[int]) -> None:
    framer = StreamFramer()
    start = 0
    try:
        for cut in [*sorted(cuts), len(data)]:
            for item in framer.feed(data[start:cut]):
                if not isinstance(item, KeepAlivePing):
                    assert item  # never an empty message
                    only_sip_errors(lambda item=item: parse_message(item, stream=True))  # type: ignore[misc]
            start = cut
            assert framer.buffered <= MAX_MESSAGE_SIZE + len(data)
    except SipParseError as error:
        assert error.status in (400, 513)
        framer.pending_head()


@PARSED_SETTINGS
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_into_the_message_layer(data: bytes) -> None:
    check_message_layer(data)


@PARSED_SETTINGS
@given(
    st.lists(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=12), max_size=60).map(
        b"".join
    )
)
def test_grammar_soup_into_the_message_layer(data: bytes) -> None:
    check_message_layer(b"OPTIONS sip:a@b SIP/2.0\r\n" + data)
    check_message_layer(b"SIP/2.0 200 OK\r\n" + data)


@settings(PARSED_SETTINGS, max_examples=600)
@given(mutated())
def test_mutated_vectors_into_the_message_layer(data: bytes) -> None:
    check_message_layer(data)


@PARSED_SETTINGS
@given(mutated(), st.lists(st.integers(0, 4000), max_size=8))
def test_mutated_vectors_into_the_stream_framer(data: bytes, cuts: list[int]) -> None:
    check_framer(data, [min(cut, len(data)) for cut in cuts])


@PARSED_SETTINGS
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=8))
def test_arbitrary_bytes_into_the_stream_framer(data: bytes, cuts: list[int]) -> None:
    check_framer(data, [min(cut, len(data)) for cut in cuts])


@PARSED_SETTINGS
@given(st.lists(mutated(), min_size=2, max_size=4), st.sampled_from([b"", b"\r\n", b"\r\n\r\n"]))
def test_several_mutated_messages_in_one_stream(parts: list[bytes], glue: bytes) -> None:
    check_framer(glue.join(parts), [])


TEXT = st.text(
    alphabet=st.sampled_from(
        list(" \t\r\n;,:=<>\"\\@[]?%/.-_+*!~'`")
        + list("abcSIPsiptelz9hG4bK0129")
        + ["\u00b2", "\udce9"]
    ),
    max_size=80,
)


@PARSED_SETTINGS
@given(TEXT | VALUES | st.tuples(NUMBERS, VALUES).map(" ".join))
def test_header_value_readers_on_arbitrary_values(value: str) -> None:
    names = ("Via", "From", "To", "CSeq", "Call-ID", "Contact", "Max-Forwards", "Expires",
             "Content-Length", "Require", "Supported", "Record-Route", "Route")  # fmt: skip
    for name in names:
        data = (
            b"OPTIONS sip:a@b SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP h;branch=z9hG4bKp\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\n"
            b"Call-ID: x\r\nCSeq: 1 OPTIONS\r\n"
        )
        data += name.encode() + b": " + value.encode("utf-8", "surrogateescape") + b"\r\n\r\n"
        check_message_layer(data)
    only_sip_errors(lambda: parse_uri(value))
    only_sip_errors(lambda: parse_via(value))
    only_sip_errors(lambda: parse_address(value))


@settings(PARSED_SETTINGS, max_examples=100)
@given(mutated())
def test_what_parses_serializes_to_what_parses_alike(data: bytes) -> None:
    """A parsed message's bytes parse again to the same bytes (serialization is stable)."""
    try:
        message = parse_message(data)
    except SipParseError:
        return
    out = message.to_bytes()
    again = parse_message(out)
    assert again.to_bytes() == out
    assert [(h.key, h.value) for h in again.headers] == [(h.key, h.value) for h in message.headers]
    assert again.body == message.body
