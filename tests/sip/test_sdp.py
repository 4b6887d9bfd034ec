"""SDP for offer/answer: reading media sections, building answers and offers (RFC 4566, RFC 3264;
T.38 over UDPTL, ITU-T T.38 Annex D)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sipfault.sip.sdp import (
    MEDIA_PORT_BASE,
    build_answer,
    build_offer,
    media_types,
    parse_media,
)

AUDIO_VIDEO_OFFER = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n"
    b"s=-\r\n"
    b"c=IN IP4 host.atlanta.example.com\r\n"
    b"t=0 0\r\n"
    b"m=audio 49170 RTP/AVP 0 8 97 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:97 iLBC/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=sendonly\r\n"
    b"m=video 51372 RTP/AVP 31 32\r\n"
    b"a=rtpmap:31 H261/90000\r\n"
    b"m=text 0 RTP/AVP 98\r\n"
)

T38_OFFER = (
    b"v=0\r\n"
    b"o=fax 1 2 IN IP4 192.0.2.10\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"t=0 0\r\n"
    b"m=image 40010 udptl t38\r\n"
    b"a=T38FaxVersion:0\r\n"
    b"a=T38MaxBitRate:14400\r\n"
    b"a=T38FaxRateManagement:transferredTCF\r\n"
    b"a=T38FaxMaxDatagram:400\r\n"
    b"a=T38FaxUdpEC:t38UDPRedundancy\r\n"
    b"a=ptime:20\r\n"
)


def lines(body: bytes) -> list[str]:
    return body.decode().split("\r\n")


# --- reading -----------------------------------------------------------------------------------


def test_parse_media_sections_and_their_attributes() -> None:
    audio, video, text = parse_media(AUDIO_VIDEO_OFFER)
    assert (audio.media, audio.port, audio.proto, audio.formats) == (
        "audio",
        49170,
        "RTP/AVP",
        ["0", "8", "97", "101"],
    )
    assert audio.attribute("rtpmap") == "0 PCMU/8000"  # the first one
    assert audio.attribute("FMTP") == "101 0-15"
    assert audio.attribute("sendonly") == ""
    assert audio.attribute("recvonly") is None
    assert (video.media, video.port, video.formats) == ("video", 51372, ["31", "32"])
    assert video.attributes == ["rtpmap:31 H261/90000"]
    assert (text.port, text.attributes) == (0, [])


def test_port_with_a_count_and_bad_ports() -> None:
    body = (
        "m=audio 49170/2 RTP/AVP 0\r\n"
        "m=audio x RTP/AVP 0\r\n"
        "m=audio 70000 RTP/AVP 0\r\n"
        "m=audio \u00b2 RTP/AVP 0\r\n"  # a digit to str.isdigit(), not to int()
        f"m=audio {'9' * 5000} RTP/AVP 0\r\n"  # more digits than int() converts
        "m=audio -1 RTP/AVP 0\r\n"
    ).encode()
    assert [section.port for section in parse_media(body)] == [49170, 0, 0, 0, 0, 0]


def test_media_types_counts_only_streams_with_a_port() -> None:
    assert media_types(AUDIO_VIDEO_OFFER) == frozenset({"audio", "video"})
    assert media_types(T38_OFFER) == frozenset({"image"})
    assert media_types(b"") == frozenset()
    assert media_types(b"not sdp at all\x00\xff") == frozenset()


def test_reading_is_tolerant() -> None:
    body = b"a=session-level\nm=AUDIO 1000 RTP/AVP\nm=short\n  a=recvonly  \n\xff\xfe"
    (section,) = parse_media(body)
    assert (section.media, section.port, section.formats) == ("audio", 1000, [])
    assert section.attributes == ["recvonly"]


# --- answering ---------------------------------------------------------------------------------


def test_answer_has_the_offers_m_lines_in_order() -> None:
    """RFC 3264 §6: as many m= lines as the offer, in the same order."""
    answer = build_answer(AUDIO_VIDEO_OFFER, "192.0.2.99", 1234)
    sections = parse_media(answer)
    assert [section.media for section in sections] == ["audio", "video", "text"]
    assert [section.port for section in sections] == [MEDIA_PORT_BASE, MEDIA_PORT_BASE + 2, 0]


def test_answer_session_lines() -> None:
    answer = lines(build_answer(AUDIO_VIDEO_OFFER, "192.0.2.99", 1234, version=3))
    assert answer[:5] == [
        "v=0",
        "o=sipfault 1234 3 IN IP4 192.0.2.99",
        "s=sipfault",
        "c=IN IP4 192.0.2.99",
        "t=0 0",
    ]
    assert answer[-1] == ""  # ends with CRLF


def test_answer_over_ipv6() -> None:
    answer = lines(build_answer(AUDIO_VIDEO_OFFER, "2001:db8::99", 1))
    assert "c=IN IP6 2001:db8::99" in answer
    assert "o=sipfault 1 1 IN IP6 2001:db8::99" in answer


def test_answer_picks_the_first_codec_and_keeps_telephone_events() -> None:
    answer = build_answer(AUDIO_VIDEO_OFFER, "192.0.2.99", 1)
    audio = parse_media(answer)[0]
    assert audio.formats == ["0", "101"]
    assert audio.attributes[:3] == ["rtpmap:0 PCMU/8000", "rtpmap:101 telephone-event/8000",
                                    "fmtp:101 0-15"]  # fmt: skip
    assert "rtpmap:8 PCMA/8000" not in audio.attributes


def test_answer_reverses_the_direction() -> None:
    """RFC 3264 §6.1: sendonly is answered recvonly, recvonly sendonly, inactive inactive."""
    audio = parse_media(build_answer(AUDIO_VIDEO_OFFER, "192.0.2.99", 1))[0]
    assert audio.attribute("recvonly") == ""
    assert audio.attribute("sendonly") is None
    for offered, answered in (("recvonly", "sendonly"), ("inactive", "inactive")):
        offer = b"v=0\r\nm=audio 1000 RTP/AVP 0\r\na=" + offered.encode() + b"\r\n"
        assert parse_media(build_answer(offer, "h", 1))[0].attribute(answered) == ""


def test_a_session_level_direction_is_answered_too() -> None:
    """RFC 4566 §6: a direction before the first m= applies to every stream; an offer on hold
    (session-level sendonly) must not be answered sendrecv (RFC 3264 §6.1)."""
    offer = (
        b"v=0\r\no=a 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        b"a=sendonly\r\n"
        b"m=audio 1000 RTP/AVP 0\r\n"
        b"m=audio 1002 RTP/AVP 8\r\na=inactive\r\n"
        b"m=audio 1004 RTP/AVP 8\r\na=sendrecv\r\n"
    )
    first, second, third = parse_media(build_answer(offer, "192.0.2.99", 1))
    assert first.attribute("recvonly") == ""
    assert second.attribute("inactive") == ""
    assert second.attribute("recvonly") is None  # the stream's own direction wins
    assert third.attributes == []  # sendrecv, the default


def test_answer_to_t38_keeps_its_attributes() -> None:
    answer = build_answer(T38_OFFER, "192.0.2.99", 1)
    (image,) = parse_media(answer)
    assert (image.media, image.port, image.proto, image.formats) == (
        "image",
        MEDIA_PORT_BASE,
        "udptl",
        ["t38"],
    )
    assert image.attribute("T38FaxVersion") == "0"
    assert image.attribute("T38MaxBitRate") == "14400"
    assert image.attribute("T38FaxUdpEC") == "t38UDPRedundancy"
    assert image.attribute("ptime") is None  # not a T.38 attribute


def test_answer_rejects_streams_offered_with_port_zero_or_no_format() -> None:
    offer = b"v=0\r\nm=audio 0 RTP/AVP 0\r\nm=video 5000 RTP/AVP\r\n"
    assert [line for line in lines(build_answer(offer, "h", 1)) if line.startswith("m=")] == [
        "m=audio 0 RTP/AVP 0",
        "m=video 0 RTP/AVP 0",
    ]


def test_answer_to_no_media_has_none() -> None:
    assert parse_media(build_answer(b"v=0\r\n", "h", 1)) == []


def test_offer_for_a_2xx() -> None:
    offer = build_offer("192.0.2.99", 77)
    (audio,) = parse_media(offer)
    assert (audio.port, audio.formats) == (MEDIA_PORT_BASE, ["0", "8", "101"])
    assert audio.attribute("fmtp") == "101 0-16"
    assert "c=IN IP4 192.0.2.99" in lines(offer)
    assert "c=IN IP6 ::1" in lines(build_offer("::1", 77))


SDP_PIECES = [
    "m=", "a=", "audio ", "image ", "0 ", "99999 ", "\u00b2 ", "9" * 4400, "/", ":",
    "RTP/AVP ", "udptl t38", "sendonly", "rtpmap:", "telephone-event", "\r\n", "\n",
]  # fmt: skip


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.binary(max_size=600)
    | st.lists(st.sampled_from(SDP_PIECES), max_size=40).map(lambda parts: "".join(parts).encode())
)
def test_any_body_is_read_and_answered_without_an_exception(body: bytes) -> None:
    sections = parse_media(body)
    assert all(0 <= section.port <= 65535 for section in sections)
    media_types(body)
    answer = build_answer(body, "192.0.2.99", 1)
    assert len(parse_media(answer)) == len(sections)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_answer_to_the_rfc_4475_style_offer(host: str) -> None:
    offer = (
        b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
        b"t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n"
    )
    audio, video = parse_media(build_answer(offer, host, 5))
    assert (audio.formats, video.formats) == (["0"], ["31"])
    assert video.attributes == ["rtpmap:31 LPC"]
