"""SDP: reading whole descriptions strictly and media sections tolerantly, writing them back
(RFC 8866; T.38 over UDPTL, ITU-T T.38 Annex D). The answers are tested in
tests/core/test_offer_answer.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sipfault.core.offer_answer import Refusal, answer_streams
from sipfault.model.scenario import SdpSettings
from sipfault.sip.sdp import (
    Connection,
    SdpError,
    T38Params,
    format_sdp,
    media_types,
    parse_media,
    parse_sdp,
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


# --- reading whole descriptions ---------------------------------------------------------------


def test_parse_sdp_reads_the_session_and_every_stream() -> None:
    description = parse_sdp(AUDIO_VIDEO_OFFER)
    origin = description.origin
    assert (origin.username, origin.session_id, origin.version, origin.address) == (
        "alice", "2890844526", "2890844526", "host.atlanta.example.com")
    assert description.connection == Connection("IN", "IP4", "host.atlanta.example.com")
    audio, video, text = description.media
    assert (audio.media, audio.port, audio.proto, audio.formats) == (
        "audio", 49170, "RTP/AVP", ("0", "8", "97", "101"))
    assert audio.rtpmaps["97"].encoding == "iLBC"
    assert audio.encoding("0") is not None and audio.encoding("0").encoding == "PCMU"
    assert audio.fmtp("101") == "0-15"
    assert audio.direction == "sendonly"
    assert description.direction_of(video) == "sendrecv"
    assert description.connection_of(video) == description.connection
    assert (text.port, text.formats) == (0, ("98",))


def test_static_payload_types_need_no_rtpmap() -> None:
    """RFC 3551 §6: 0 is PCMU/8000, 8 PCMA/8000, 18 G729/8000 without any rtpmap."""
    (audio,) = parse_sdp(b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\n"
                         b"m=audio 4000 RTP/AVP 18 8\r\n").media
    assert [audio.encoding(pt).encoding for pt in audio.formats] == ["G729", "PCMA"]
    assert audio.encoding("96") is None


def test_media_level_connection_and_ptime() -> None:
    body = (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
            b"m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.7/127\r\na=ptime:20\r\n"
            b"m=image 4002 udptl t38\r\nc=IN IP6 2001:db8::7\r\n")
    description = parse_sdp(body)
    audio, image = description.media
    assert audio.connection == Connection("IN", "IP4", "192.0.2.7")  # the TTL is dropped
    assert audio.ptime == 20
    assert description.connection_of(image) == Connection("IN", "IP6", "2001:db8::7")
    assert image.is_t38


@pytest.mark.parametrize(("body", "defect"), [
    (b"", "does not start with v=0"),
    (b"o=- 1 1 IN IP4 h\r\nv=0\r\n", "does not start with v=0"),
    (b"v=0\r\ns=-\r\n", "no o= line"),
    (b"v=0\r\no=- 1 IN IP4 h\r\n", "o= line needs six fields"),
    (b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4\r\n", "c= line needs nettype"),
    (b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN X25 h\r\n", "neither IP4 nor IP6"),
    (b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 4000 RTP/AVP\r\n",
     "at least one format"),
    (b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 70000 RTP/AVP 0\r\n",
     "is not a port number"),
    (b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
     "is not a port number"),
    (b"v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 4000 RTP/AVP 0\r\n", "no connection address"),
])  # fmt: skip
def test_a_defect_is_named(body: bytes, defect: str) -> None:
    with pytest.raises(SdpError) as caught:
        parse_sdp(body)
    assert defect in caught.value.reason
    assert "RFC 8866" in caught.value.reason


def test_leniencies_missing_s_and_t_bare_lf_and_a_rejected_stream_without_address() -> None:
    description = parse_sdp(b"v=0\no=- 1 1 IN IP4 h\nm=audio 0 RTP/AVP 0\n")
    assert description.media[0].port == 0 and description.name == "-"


def test_leniencies_of_rfc_4475_a_broken_line_and_an_rtpmap_without_clock_rate() -> None:
    """RFC 4475 §3.1.1.8 and §3.1.1.1 send these in messages to be processed normally."""
    description = parse_sdp(
        b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.15\r\ns=-\r\nc=IN IP4 192.0.2.15\r\n"
        b"t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm =video 3227 RTP/AVP 31\r\n"
        b"a=rtpmap:31 LPC\r\nthis is not sdp\r\n")
    (audio,) = description.media  # the broken m= line is skipped; its rtpmap goes with audio
    assert audio.rtpmaps == {}
    assert audio.encoding("31") is not None  # RFC 3551's static 31 is still known


@pytest.mark.parametrize(("lines", "expected"), [
    # Cisco IOS style: every boolean written with a value
    (["T38FaxVersion:0", "T38MaxBitRate:7200", "T38FaxFillBitRemoval:0",
      "T38FaxTranscodingMMR:0", "T38FaxTranscodingJBIG:0",
      "T38FaxRateManagement:transferredTCF", "T38FaxMaxBuffer:200", "T38FaxMaxDatagram:180",
      "T38FaxUdpEC:t38UDPRedundancy"],
     T38Params(0, 7200, "transferredTCF", 200, 180, None, "t38UDPRedundancy", False, False,
               False, numeric_booleans=True)),
    # Asterisk style: a true boolean bare, a false one left out
    (["T38FaxVersion:0", "T38MaxBitRate:14400", "T38FaxFillBitRemoval",
      "T38FaxRateManagement:transferredTCF", "T38FaxMaxDatagram:400",
      "T38FaxUdpEC:t38UDPRedundancy"],
     T38Params(0, 14400, "transferredTCF", None, 400, None, "t38UDPRedundancy", True)),
    # other spellings seen in the field: lower-case letters, :1, a true/false word
    (["t38faxversion:3", "T38MaxBitrate:33600", "T38FaxUdpEc:t38UDPFEC",
      "T38FaxTranscodingMMR:1", "T38FaxTranscodingJBIG:false", "T38FaxMaxIFP:72"],
     T38Params(3, 33600, None, None, None, 72, "t38UDPFEC", None, True, False,
               numeric_booleans=True)),
    # unreadable numbers are left out rather than guessed
    (["T38FaxVersion:zero", "T38MaxBitRate:", "T38FaxFillBitRemoval:maybe"],
     T38Params(numeric_booleans=True)),
])  # fmt: skip
def test_t38_attributes_in_every_form(lines: list[str], expected: T38Params) -> None:
    body = ("v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=image 4000 udptl t38\r\n"
            + "".join(f"a={line}\r\n" for line in lines)).encode()
    (image,) = parse_sdp(body).media
    assert image.t38 == expected


def test_t38_attributes_are_written_in_the_form_they_were_read() -> None:
    bare = T38Params(version=0, fill_bit_removal=True, transcoding_mmr=False)
    assert bare.attributes() == [("T38FaxVersion", "0"), ("T38FaxFillBitRemoval", None)]
    numeric = T38Params(version=0, fill_bit_removal=True, transcoding_mmr=False,
                        numeric_booleans=True)
    assert numeric.attributes() == [("T38FaxVersion", "0"), ("T38FaxFillBitRemoval", "1"),
                                    ("T38FaxTranscodingMMR", "0")]


def test_format_sdp_writes_what_parse_sdp_reads() -> None:
    description = parse_sdp(AUDIO_VIDEO_OFFER)
    text = format_sdp(description)
    assert text.endswith(b"\r\n")
    again = parse_sdp(text)
    assert again.media == description.media
    assert again.origin == description.origin
    assert b"a=sendonly\r\n" in text and b"a=rtpmap:97 iLBC/8000\r\n" in text


SDP_PIECES = [
    "m=", "a=", "c=IN IP4 h", "o=- 1 1 IN IP4 h", "v=0", "audio ", "image ", "0 ", "99999 ",
    "\u00b2 ", "9" * 4400, "/", ":", "RTP/AVP ", "udptl t38", "sendonly", "rtpmap:",
    "T38FaxVersion", "telephone-event", "\r\n", "\n",
]  # fmt: skip


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.binary(max_size=600)
    | st.lists(st.sampled_from(SDP_PIECES), max_size=40).map(lambda parts: "".join(parts).encode())
)
def test_any_body_is_read_or_refused_with_sdp_error_and_answered(body: bytes) -> None:
    sections = parse_media(body)
    assert all(0 <= section.port <= 65535 for section in sections)
    media_types(body)
    try:
        description = parse_sdp(body)
    except SdpError:
        return
    plans = answer_streams(description, SdpSettings())
    if not isinstance(plans, Refusal):
        assert len(plans) == len(description.media)
