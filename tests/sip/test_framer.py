"""StreamFramer: cutting a TCP byte stream into SIP messages (RFC 3261 §18.3, §7.5;
RFC 5626 §4.4.1 keep-alives)."""

from __future__ import annotations

import pytest

from sipfault.sip.errors import SipParseError
from sipfault.sip.framer import PING, KeepAlivePing, StreamFramer
from sipfault.sip.parser import MAX_MESSAGE_SIZE, parse_message


def message(body: bytes = b"", *, length: str | None = None, cseq: int = 1) -> bytes:
    """A small OPTIONS over TCP with ``body`` and a Content-Length (``length`` overrides it)."""
    head = (
        "OPTIONS sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP client.example.com;branch=z9hG4bK{cseq}\r\n"
        "To: <sip:bob@example.com>\r\n"
        "From: <sip:alice@example.com>;tag=1\r\n"
        "Call-ID: framer@example.com\r\n"
        f"CSeq: {cseq} OPTIONS\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n"
        "\r\n"
    )
    return head.encode() + body


def feed_all(framer: StreamFramer, chunks: list[bytes]) -> list[bytes | KeepAlivePing]:
    out: list[bytes | KeepAlivePing] = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    return out


def test_one_message_in_one_read() -> None:
    data = message(b"hello")
    framer = StreamFramer()
    assert framer.feed(data) == [data]
    assert framer.buffered == 0


def test_one_byte_at_a_time() -> None:
    data = message(b"body with\r\n\r\nan empty line inside")
    framer = StreamFramer()
    out = feed_all(framer, [data[i : i + 1] for i in range(len(data))])
    assert out == [data]
    assert framer.buffered == 0


def test_every_split_into_two_reads() -> None:
    data = message(b"0123456789")
    for cut in range(len(data) + 1):
        framer = StreamFramer()
        first = framer.feed(data[:cut])
        assert first == ([data] if cut == len(data) else [])
        assert first + framer.feed(data[cut:]) == [data], cut


def test_several_messages_in_one_read_and_a_part_of_the_next() -> None:
    one, two, three = message(b"1", cseq=1), message(b"", cseq=2), message(b"333", cseq=3)
    framer = StreamFramer()
    assert framer.feed(one + two + three[:10]) == [one, two]
    assert framer.buffered == 10
    assert framer.feed(three[10:]) == [three]


def test_the_body_is_framed_by_content_length_not_by_empty_lines() -> None:
    body = b"\r\n\r\nOPTIONS sip:x SIP/2.0\r\n\r\n"
    data = message(body)
    assert StreamFramer().feed(data + message(cseq=2)) == [data, message(cseq=2)]
    parsed = parse_message(data, stream=True)
    assert parsed.body == body


def test_content_length_spellings() -> None:
    for line in (b"l: 3", b"CONTENT-LENGTH: 3", b"content-length   :   3", b"L:3"):
        data = message(b"abc").replace(b"Content-Length: 3", line)
        assert StreamFramer().feed(data + data) == [data, data], line


def test_a_stream_message_without_content_length_has_no_body() -> None:
    """Lenient: RFC 3261 §18.3 makes it mandatory on streams; without it nothing follows."""
    data = message().replace(b"Content-Length: 0\r\n", b"")
    framer = StreamFramer()
    assert framer.feed(data + b"v=0\r\n") == [data]
    assert framer.buffered == 5


# --- keep-alives -------------------------------------------------------------------------------


def test_double_crlf_is_a_ping() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == [PING]
    assert framer.buffered == 0


def test_every_ping_on_an_idle_connection_is_reported() -> None:
    """RFC 5626 §4.4.1: each CRLFCRLF gets its CRLF pong, not only the first."""
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == [PING]
    assert framer.feed(b"\r\n\r\n") == [PING]
    assert framer.feed(b"\r\n\r\n\r\n\r\n") == [PING, PING]
    assert feed_all(framer, [b"\r", b"\n", b"\r", b"\n"]) == [PING]


def test_a_single_crlf_between_messages_is_skipped_silently() -> None:
    """RFC 3261 §7.5: CRLFs before a start line are ignored."""
    data = message()
    framer = StreamFramer()
    assert framer.feed(b"\r\n" + data + b"\r\n" + data) == [data, data]


def test_pings_between_messages_keep_their_place() -> None:
    data = message()
    framer = StreamFramer()
    stream = b"\r\n\r\n" + data + b"\r\n\r\n" + data + b"\r\n\r\n"
    assert framer.feed(stream) == [PING, data, PING, data, PING]
    framer = StreamFramer()
    assert feed_all(framer, [stream[i : i + 1] for i in range(len(stream))]) == [
        PING,
        data,
        PING,
        data,
        PING,
    ]


# --- defects and limits --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-999", "abc", "", "1.5", "0x10", "\u00b2"])
def test_malformed_content_length_is_400(value: str) -> None:
    data = message(b"abc").replace(b"Content-Length: 3", f"Content-Length: {value}".encode())
    framer = StreamFramer()
    with pytest.raises(SipParseError) as caught:
        framer.feed(data)
    assert caught.value.status == 400
    assert framer.pending_head().startswith(b"OPTIONS sip:bob@example.com SIP/2.0\r\n")


def test_conflicting_content_length_is_400() -> None:
    """RFC 4475 §3.3.9."""
    data = message(b"abc").replace(b"Content-Length: 3", b"Content-Length: 3\r\nl: 5")
    with pytest.raises(SipParseError) as caught:
        StreamFramer().feed(data)
    assert (caught.value.status, caught.value.reason) == (400, "Conflicting Content-Length")


def test_a_body_announced_beyond_64_kib_is_513_before_it_is_buffered() -> None:
    framer = StreamFramer()
    with pytest.raises(SipParseError) as caught:
        framer.feed(message(length=str(MAX_MESSAGE_SIZE)))
    assert caught.value.status == 513
    assert framer.buffered < 1024  # the head only: the body was never waited for


@pytest.mark.parametrize("digits", [12, 4301, 10000])
def test_content_length_of_many_digits_is_513_not_a_crash(digits: int) -> None:
    framer = StreamFramer()
    with pytest.raises(SipParseError) as caught:
        framer.feed(message(length="9" * digits))
    assert caught.value.status == 513


def test_content_length_with_leading_zeros() -> None:
    data = message(b"abc", length="0" * 5000 + "3")
    assert StreamFramer().feed(data) == [data]


def test_a_head_that_never_ends_is_513_once_past_64_kib() -> None:
    framer = StreamFramer()
    chunk = b"X-Pad: " + b"p" * 1000 + b"\r\n"
    fed = 0
    with pytest.raises(SipParseError) as caught:
        while True:
            framer.feed(chunk)
            fed += len(chunk)
            assert fed <= MAX_MESSAGE_SIZE + len(chunk)
    assert caught.value.status == 513
    assert framer.pending_head() == b""


def test_a_message_of_exactly_64_kib_is_framed() -> None:
    body_size = MAX_MESSAGE_SIZE - len(message(length="00000"))
    data = message(b"b" * body_size, length=f"{body_size:05d}")
    assert len(data) == MAX_MESSAGE_SIZE
    assert StreamFramer().feed(data) == [data]
    with pytest.raises(SipParseError):
        StreamFramer().feed(message(b"b" * (body_size + 1), length=f"{body_size + 1:05d}"))


def test_a_smaller_limit() -> None:
    framer = StreamFramer(max_size=100)
    with pytest.raises(SipParseError) as caught:
        framer.feed(message())
    assert caught.value.status == 513


def test_the_head_is_read_once_however_slowly_the_body_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Re-reading the head on every byte of the body cost O(head x body) CPU per message."""
    calls = 0
    original = StreamFramer._content_length

    def counting(head: bytes) -> int:
        nonlocal calls
        calls += 1
        return original(head)

    monkeypatch.setattr(StreamFramer, "_content_length", staticmethod(counting))
    data = message(b"x" * 2000)
    framer = StreamFramer()
    assert feed_all(framer, [data[i : i + 1] for i in range(len(data))]) == [data]
    assert calls == 1


def test_pending_head_is_empty_until_the_head_ends() -> None:
    framer = StreamFramer()
    data = message(b"abc")
    framer.feed(data[:20])
    assert framer.pending_head() == b""
    framer.feed(data[20:-3])
    assert framer.pending_head() == data[: data.index(b"\r\n\r\n")]


def test_awaiting_head_is_true_from_a_message_s_first_byte_to_the_end_of_its_head() -> None:
    """What the header deadline of a connection times: not pings, not a body in progress."""
    framer = StreamFramer()
    assert not framer.awaiting_head
    framer.feed(b"\r\n\r\n\r\n")  # pings, and a lone CRLF between messages
    assert not framer.awaiting_head
    data = message(b"v=0\r\n")
    head_end = data.index(b"\r\n\r\n") + 4
    framer.feed(data[:1])
    assert framer.awaiting_head
    framer.feed(data[1 : head_end - 1])
    assert framer.awaiting_head
    framer.feed(data[head_end - 1 : head_end + 1])  # the head ends; the body has begun
    assert not framer.awaiting_head
    assert framer.feed(data[head_end + 1 :]) == [data]
    assert not framer.awaiting_head
    assert framer.feed(data + data[:5]) == [data]  # the next message has begun
    assert framer.awaiting_head
