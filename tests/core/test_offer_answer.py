"""Offer/answer (RFC 3264) and T.38 answers (ITU-T T.38 Annex D) on offers written the way
gateways, ATAs and PBXs write them.

The offers below are written for these tests after the public documentation and examples of
each style (vendor manuals and call flows); they are not captures. What differs between them is
what an answerer must cope with: media-level ``c=`` lines, booleans bare or as ``:0``, the
attribute names' case, T.38 over RTP next to audio, audio and image offered together.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sipfault.core.events import Event, MediaStarted, MediaStopped
from sipfault.core.offer_answer import Refusal, answer_streams, answer_t38, offer_audio, offer_t38
from sipfault.core.sessions import MediaSession, MediaSessions, NominalPorts, describe
from sipfault.core.timers import TimerQueue
from sipfault.model.scenario import MediaSettings, SdpSettings, T38Settings
from sipfault.sip.sdp import Media, SessionDescription, T38Params, parse_sdp


def sdp(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


CISCO_T38 = sdp(
    "v=0", "o=CiscoSystemsSIP-GW-UserAgent 3745 9509 IN IP4 10.0.0.2", "s=SIP Call",
    "c=IN IP4 10.0.0.2", "t=0 0",
    "m=image 17682 udptl t38", "c=IN IP4 10.0.0.2",
    "a=T38FaxVersion:0", "a=T38MaxBitRate:7200", "a=T38FaxFillBitRemoval:0",
    "a=T38FaxTranscodingMMR:0", "a=T38FaxTranscodingJBIG:0",
    "a=T38FaxRateManagement:transferredTCF", "a=T38FaxMaxBuffer:200",
    "a=T38FaxMaxDatagram:180", "a=T38FaxUdpEC:t38UDPRedundancy",
)
ASTERISK_T38 = sdp(
    "v=0", "o=- 1730000000 1730000002 IN IP4 192.0.2.20", "s=Asterisk", "c=IN IP4 192.0.2.20",
    "t=0 0", "m=image 4390 udptl t38", "a=T38FaxVersion:0", "a=T38MaxBitRate:14400",
    "a=T38FaxFillBitRemoval", "a=T38FaxRateManagement:transferredTCF",
    "a=T38FaxMaxDatagram:400", "a=T38FaxUdpEC:t38UDPRedundancy",
)
PATTON_T38 = sdp(
    "v=0", "o=MxSIP 0 2 IN IP4 172.16.40.1", "s=SIP Call", "c=IN IP4 172.16.40.1", "t=0 0",
    "m=image 4010 udptl t38", "a=T38FaxVersion:3", "a=T38MaxBitRate:33600",
    "a=T38FaxRateManagement:transferredTCF", "a=T38FaxMaxBuffer:1024",
    "a=T38FaxMaxDatagram:272", "a=T38FaxUdpEC:t38UDPFEC",
)
# The capital-free and odd spellings a few ATAs write (T38MaxBitrate, T38FaxUdpEc).
ATA_T38 = sdp(
    "v=0", "o=- 1 2 IN IP4 192.168.1.40", "s=-", "c=IN IP4 192.168.1.40", "t=0 0",
    "m=image 1234 udptl t38", "a=T38FaxVersion:0", "a=T38MaxBitrate:9600",
    "a=T38FaxRateManagement:transferredTCF", "a=T38FaxMaxBuffer:512",
    "a=T38FaxMaxDatagram:158", "a=T38FaxMaxIFP:72", "a=T38FaxUdpEc:t38UDPRedundancy",
)
# AudioCodes writes T.38 over RTP as a payload type beside the voice codecs.
AUDIOCODES_G729_T38_OVER_RTP = sdp(
    "v=0", "o=AudiocodesGW 1357424688 1357424660 IN IP4 10.8.6.68", "s=Phone-Call",
    "c=IN IP4 10.8.6.68", "t=0 0", "m=audio 6080 RTP/AVP 18 100 96", "a=ptime:20",
    "a=sendrecv", "a=rtpmap:18 G729/8000", "a=fmtp:18 annexb=no", "a=rtpmap:100 t38/8000",
    "a=fmtp:100 T38FaxVersion=0", "a=fmtp:100 T38MaxBitRate=0",
    "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15",
)
AUDIOCODES_G711 = sdp(
    "v=0", "o=AudiocodesGW 1357424688 1357424660 IN IP4 10.8.6.68", "s=Phone-Call",
    "c=IN IP4 10.8.6.68", "t=0 0", "m=audio 6080 RTP/AVP 18 8 0 96", "a=ptime:20",
    "a=sendrecv", "a=rtpmap:18 G729/8000", "a=fmtp:18 annexb=no", "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15",
)
# A fax server's first INVITE offering audio and T.38 at once, each with its own c= line.
AUDIO_AND_IMAGE = sdp(
    "v=0", "o=username 2209448059 0759125174 IN IP4 208.129.16.72", "s=session_name",
    "i=session_description", "t=0 0",
    "m=audio 56004 RTP/AVP 0", "c=IN IP4 208.129.52.105", "a=rtpmap:0 pcmu/8000",
    "m=image 56006 udptl t38", "c=IN IP4 208.129.52.105", "a=T38FaxVersion:0",
    "a=T38MaxBitRate:14400", "a=T38FaxRateManagement:transferredTCF",
    "a=T38FaxUdpEC:t38UDPRedundancy",
)
PRINTER_G711 = sdp(
    "v=0", "o=MFP 8000 8000 IN IP4 192.168.1.50", "s=SIP Call", "c=IN IP4 192.168.1.50",
    "t=0 0", "m=audio 5004 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20",
)
WIDEBAND_ONLY = sdp(
    "v=0", "o=- 5 5 IN IP4 192.0.2.9", "s=-", "c=IN IP4 192.0.2.9", "t=0 0",
    "m=audio 7078 RTP/AVP 96 97", "a=rtpmap:96 opus/48000/2", "a=rtpmap:97 speex/16000",
)
VIDEO_ONLY = sdp(
    "v=0", "o=- 5 5 IN IP4 192.0.2.9", "s=-", "c=IN IP4 192.0.2.9", "t=0 0",
    "m=video 9078 RTP/AVP 31", "a=rtpmap:31 H261/90000",
)
SRTP_ONLY = sdp(
    "v=0", "o=- 5 5 IN IP4 192.0.2.9", "s=-", "c=IN IP4 192.0.2.9", "t=0 0",
    "m=audio 7078 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc",
)


class Recorder:
    """Events of a media session, on a queue the test drives."""

    def __init__(self, settings: MediaSettings | None = None) -> None:
        settings = settings or MediaSettings()
        self.events: list[Event] = []
        self.queue = TimerQueue()
        self.ports = NominalPorts()
        self.sessions = MediaSessions(self.ports, self.queue, self.events.append,
                                      lambda: settings)

    def session(self) -> MediaSession:
        return self.sessions.new("call-1", "0.0.0.0", "192.0.2.99")


DEFAULT = SdpSettings()


def answer(offer: bytes, settings: SdpSettings = DEFAULT,
           session: MediaSession | None = None) -> SessionDescription:
    """The answer sipfault sends to ``offer``, read back."""
    session = session or Recorder().session()
    media = session.answer(parse_sdp(offer), settings, 0.0)
    assert not isinstance(media, Refusal), media
    return parse_sdp(describe("192.0.2.99", 1234, 3, media))


# --- session lines ------------------------------------------------------------------------


def test_answer_session_lines() -> None:
    text = describe("192.0.2.99", 1234, 3, []).decode().split("\r\n")
    assert text == ["v=0", "o=sipfault 1234 3 IN IP4 192.0.2.99", "s=sipfault",
                    "c=IN IP4 192.0.2.99", "t=0 0", ""]
    assert "c=IN IP6 2001:db8::99" in describe("2001:db8::99", 1, 1, []).decode()


# --- audio --------------------------------------------------------------------------------


def test_the_preferred_codec_the_offer_has_and_its_telephone_events() -> None:
    (audio,) = answer(PRINTER_G711).media
    assert (audio.port, audio.formats) == (40000, ("0", "101"))
    assert audio.attributes == (("rtpmap", "0 PCMU/8000"), ("rtpmap", "101 telephone-event/8000"),
                                ("fmtp", "101 0-15"))  # fmt: skip


def test_the_scenarios_order_wins_over_the_offers() -> None:
    (audio,) = answer(PRINTER_G711, SdpSettings(codecs=("PCMA", "PCMU"), ptime=30)).media
    assert audio.formats == ("8",)  # telephone-event not listed: not answered
    assert audio.attribute("ptime") == "30"


def test_audiocodes_g729_first_gets_g711_and_its_own_event_payload_number() -> None:
    (audio,) = answer(AUDIOCODES_G711).media
    assert audio.formats == ("0", "96")  # RFC 3264 §6.1: the offerer's payload numbers
    assert audio.attribute("fmtp") == "96 0-15"
    assert audio.direction is None  # sendrecv offered: sendrecv answered


def test_t38_over_rtp_beside_g729_only_is_refused_305() -> None:
    refusal = answer_streams(parse_sdp(AUDIOCODES_G729_T38_OVER_RTP), SdpSettings())
    assert isinstance(refusal, Refusal) and refusal.warning == 305
    assert "m=audio RTP/AVP 18 100 96" in refusal.text
    accepted = answer(AUDIOCODES_G729_T38_OVER_RTP, SdpSettings(codecs=("G729",)))
    assert accepted.media[0].formats == ("18",)
    assert accepted.media[0].attribute("fmtp") == "18 annexb=no"


@pytest.mark.parametrize(("offer", "warning"), [
    (WIDEBAND_ONLY, 305), (SRTP_ONLY, 305), (VIDEO_ONLY, 304),
])  # fmt: skip
def test_nothing_acceptable_is_refused_with_the_right_warning(offer: bytes, warning: int) -> None:
    refusal = answer_streams(parse_sdp(offer), SdpSettings())
    assert isinstance(refusal, Refusal) and refusal.warning == warning


def test_directions_are_mirrored_stream_by_stream() -> None:
    """RFC 3264 §6.1; a session-level direction applies to streams without one (RFC 8866
    §6.7)."""
    offer = sdp("v=0", "o=a 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                "a=sendonly", "m=audio 1000 RTP/AVP 0", "m=audio 1002 RTP/AVP 8", "a=inactive",
                "m=audio 1004 RTP/AVP 8", "a=sendrecv", "m=audio 1006 RTP/AVP 0", "a=recvonly")
    first, second, third, fourth = answer(offer).media
    assert (first.direction, second.direction, third.direction, fourth.direction) == (
        "recvonly", "inactive", None, "sendonly")
    assert [m.port for m in (first, second, third, fourth)] == [40000, 40002, 40004, 40006]


def test_refused_streams_keep_their_formats_with_port_zero() -> None:
    offer = sdp("v=0", "o=a 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
                "m=audio 0 RTP/AVP 0", "m=video 5000 RTP/AVP 31 32", "m=audio 5002 RTP/AVP 8")
    disabled, video, audio = answer(offer).media
    assert (disabled.port, disabled.formats, disabled.attributes) == (0, ("0",), ())
    assert (video.media, video.port, video.formats) == ("video", 0, ("31", "32"))
    assert (audio.port, audio.formats) == (40000, ("8",))


# --- T.38 -----------------------------------------------------------------------------------


def test_cisco_offer_numeric_booleans_answered_in_kind() -> None:
    (image,) = answer(CISCO_T38).media
    assert (image.media, image.port, image.proto, image.formats) == (
        "image", 40000, "udptl", ("t38",))
    assert image.attributes == (
        ("T38FaxVersion", "0"), ("T38MaxBitRate", "7200"),  # never above the offer
        ("T38FaxFillBitRemoval", "0"), ("T38FaxTranscodingMMR", "0"),
        ("T38FaxTranscodingJBIG", "0"), ("T38FaxRateManagement", "transferredTCF"),
        ("T38FaxMaxBuffer", "2000"), ("T38FaxMaxDatagram", "400"),
        ("T38FaxUdpEC", "t38UDPRedundancy"),
    )


def test_asterisk_offer_a_bare_true_boolean_is_not_granted_unless_ours() -> None:
    (image,) = answer(ASTERISK_T38).media
    assert image.attribute("T38FaxFillBitRemoval") is None  # we do not remove fill bits
    assert image.t38.max_bit_rate == 14400
    ours = SdpSettings(t38=T38Settings(fill_bit_removal=True))
    (granted,) = answer(ASTERISK_T38, ours).media
    assert granted.attribute("T38FaxFillBitRemoval") == ""  # bare, as offered


def test_patton_version_3_fec_is_answered_at_our_version_and_the_weaker_ec() -> None:
    (image,) = answer(PATTON_T38).media
    assert image.t38.version == 0  # ours by default
    assert image.t38.max_bit_rate == 14400
    assert image.t38.udp_ec == "t38UDPFEC"  # we follow the offer's FEC
    ours = SdpSettings(t38=T38Settings(version=3, max_bit_rate=33600, max_buffer=4000,
                                       max_datagram=1400, udp_ec="t38UDPRedundancy"))
    (pinned,) = answer(PATTON_T38, ours).media
    t38 = pinned.t38
    assert (t38.version, t38.max_bit_rate, t38.max_buffer, t38.max_datagram, t38.udp_ec) == (
        3, 33600, 4000, 1400, "t38UDPRedundancy")


def test_odd_spellings_are_read_and_answered_in_annex_d_spelling() -> None:
    (image,) = answer(ATA_T38).media
    names = [name for name, _ in image.attributes]
    assert names == ["T38FaxVersion", "T38MaxBitRate", "T38FaxRateManagement",
                     "T38FaxMaxBuffer", "T38FaxMaxDatagram", "T38FaxUdpEC"]
    assert image.t38.max_bit_rate == 9600


@pytest.mark.parametrize(("offered", "ours", "version", "rate", "ec"), [
    (T38Params(version=3, max_bit_rate=33600), T38Settings(version=1), 1, 14400, None),
    (T38Params(version=0, max_bit_rate=2400), T38Settings(version=3), 0, 2400, None),
    (T38Params(), T38Settings(), 0, 14400, None),  # nothing offered: ours
    (T38Params(max_bit_rate=0), T38Settings(), 0, 14400, None),  # AudioCodes "=0": ours
    (T38Params(udp_ec="t38UDPNoEC"), T38Settings(udp_ec="t38UDPFEC"), 0, 14400, "t38UDPNoEC"),
    (T38Params(udp_ec="t38UDPFEC"), T38Settings(udp_ec="t38UDPNoEC"), 0, 14400, "t38UDPNoEC"),
    (T38Params(udp_ec="bogus"), T38Settings(), 0, 14400, "t38UDPRedundancy"),
    (T38Params(), T38Settings(udp_ec="t38UDPFEC"), 0, 14400, "t38UDPFEC"),
])  # fmt: skip
def test_answer_t38_never_above_the_offer(
    offered: T38Params, ours: T38Settings, version: int, rate: int, ec: str | None
) -> None:
    answered = answer_t38(offered, ours)
    assert (answered.version, answered.max_bit_rate, answered.udp_ec) == (version, rate, ec)
    assert answered.rate_management == (offered.rate_management or "transferredTCF")


def test_rate_management_is_echoed() -> None:
    assert answer_t38(T38Params(rate_management="localTCF"), T38Settings()).rate_management == (
        "localTCF")


def test_audio_and_image_offered_together_both_get_sockets() -> None:
    audio, image = answer(AUDIO_AND_IMAGE).media
    assert (audio.port, audio.formats) == (40000, ("0",))
    assert audio.attribute("rtpmap") == "0 pcmu/8000"  # as the offer spells it
    assert (image.port, image.formats) == (40002, ("t38",))


def test_t38_off_refuses_the_image_stream_and_keeps_the_audio_one() -> None:
    recorder = Recorder()
    session = recorder.session()
    answer(PRINTER_G711, session=session)
    (image,) = answer(CISCO_T38, SdpSettings(t38=None), session).media
    assert (image.media, image.port, image.formats, image.attributes) == (
        "image", 0, ("t38",), ())
    assert session.streams == {0: ("audio", 40000)}  # the printer may go on sending audio
    assert not [e for e in recorder.events if isinstance(e, MediaStopped)]


# --- the streams behind an answer ------------------------------------------------------------


def test_a_switch_to_t38_keeps_the_port_and_journals_both_phases() -> None:
    recorder = Recorder()
    session = recorder.session()
    (audio,) = answer(PRINTER_G711, session=session).media
    (image,) = answer(CISCO_T38, session=session).media
    assert audio.port == image.port == 40000
    kinds = [(type(e).__name__, getattr(e, "media", "")) for e in recorder.events]
    assert kinds == [("MediaStarted", "audio"), ("MediaStopped", "audio"),
                     ("MediaStarted", "image")]
    stopped = next(e for e in recorder.events if isinstance(e, MediaStopped))
    assert stopped.reason == "now image"
    started = [e for e in recorder.events if isinstance(e, MediaStarted)]
    assert started[0].remote == ("192.168.1.50", 5004)
    assert started[1].remote == ("10.0.0.2", 17682)  # Cisco's media-level c=


def test_a_refused_or_removed_stream_closes_its_socket() -> None:
    recorder = Recorder()
    session = recorder.session()
    answer(AUDIO_AND_IMAGE, session=session)
    assert set(recorder.ports.open_streams) == {1, 2}
    answer(sdp("v=0", "o=u 1 2 IN IP4 208.129.16.72", "c=IN IP4 208.129.52.105",
               "m=audio 56004 RTP/AVP 0"), session=session)
    assert set(recorder.ports.open_streams) == {1}  # the image line is gone
    answer(sdp("v=0", "o=u 1 3 IN IP4 h", "c=IN IP4 h", "m=audio 0 RTP/AVP 0"), session=session)
    assert recorder.ports.open_streams == {}
    reasons = [e.reason for e in recorder.events if isinstance(e, MediaStopped)]
    assert reasons == ["removed", "refused"]


def test_offers_of_ours() -> None:
    audio = offer_audio(SdpSettings())
    assert audio.formats == ("0", "8", "101")
    assert audio.attributes == (("rtpmap", "0 PCMU/8000"), ("rtpmap", "8 PCMA/8000"),
                                ("rtpmap", "101 telephone-event/8000"), ("fmtp", "101 0-16"))
    image = offer_t38(T38Settings(version=3))
    assert (image.media, image.proto, image.formats) == ("image", "udptl", ("t38",))
    assert image.attributes[:3] == (("T38FaxVersion", "3"), ("T38MaxBitRate", "14400"),
                                    ("T38FaxFillBitRemoval", "0"))
    assert ("T38FaxUdpEC", "t38UDPRedundancy") in image.attributes


def test_our_t38_offer_reuses_the_audio_port_and_switches_on_the_answer() -> None:
    recorder = Recorder()
    session = recorder.session()
    answer(PRINTER_G711, session=session)
    (offered,) = session.offer("t38", SdpSettings(), 1.0)
    assert (offered.media, offered.port) == ("image", 40000)
    assert session.streams == {0: ("audio", 40000)}  # nothing changes before the answer
    assert session.answered(parse_sdp(ASTERISK_T38), 2.0) == []
    assert session.streams == {0: ("image", 40000)}
    (back,) = session.offer("audio", SdpSettings(), 3.0)
    assert back.media == "audio" and back.port == 40000
    refused = parse_sdp(sdp("v=0", "o=- 1 2 IN IP4 h", "c=IN IP4 h", "m=audio 0 RTP/AVP 0"))
    assert session.answered(refused, 4.0) == ["audio"]
    assert session.streams == {0: ("image", 40000)}


def test_no_media_and_audio_after_t38_findings() -> None:
    recorder = Recorder(MediaSettings(no_media_within=5.0, audio_after_t38=2.0))
    session = recorder.session()
    answer(PRINTER_G711, session=session)
    recorder.queue.run_due(5.0)
    findings = [e for e in recorder.events if getattr(e, "kind", "") == "no-media"]
    assert len(findings) == 1 and "no RTP packets on stream 0 within 5 s" in findings[0].text
    media = session.answer(parse_sdp(CISCO_T38), SdpSettings(), 10.0)
    assert not isinstance(media, Refusal)
    recorder.sessions.activity(1, "udptl", ("10.0.0.2", 17682), 10.5)
    recorder.sessions.activity(1, "rtp", ("192.168.1.50", 5004), 11.0)  # in flight: no finding
    assert not [e for e in recorder.events if getattr(e, "kind", "") == "audio-after-t38"]
    recorder.queue.run_due(12.0)  # the grace is over: RTP is reported again
    recorder.sessions.activity(1, "rtp", ("192.168.1.50", 5004), 13.0)
    late = [e for e in recorder.events if getattr(e, "kind", "") == "audio-after-t38"]
    assert len(late) == 1 and "3.0 s after the switch to T.38" in late[0].text
    recorder.queue.run_due(20.0)  # UDPTL arrived: no no-media finding for the T.38 phase
    assert len([e for e in recorder.events if getattr(e, "kind", "") == "no-media"]) == 1


def test_waiting_for_media() -> None:
    recorder = Recorder()
    session = recorder.session()
    answer(PRINTER_G711, session=session)
    woken: list[float] = []
    session.wait_for_media(woken.append)
    recorder.sessions.activity(1, "rtp", ("192.168.1.50", 5004), 1.5)
    recorder.sessions.activity(1, "rtp", ("192.168.1.50", 5004), 1.6)
    assert woken == [1.5]


def test_media_of_a_description_round_trips() -> None:
    media = replace(offer_audio(SdpSettings(ptime=20)), port=4000)
    text = describe("192.0.2.99", 7, 1, [media])
    (read,) = parse_sdp(text).media
    assert isinstance(read, Media) and read.ptime == 20 and read.port == 4000
