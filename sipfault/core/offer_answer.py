"""The offer/answer rules (RFC 3264) for the streams sipfault takes: G.711 audio and T.38 fax.

Pure functions of an offer and the scenario's :class:`~sipfault.model.scenario.SdpSettings`:
:func:`answer_streams` decides, stream by stream, what the answer says (RFC 3264 §6: one
``m=`` line per offered one, in order; a refused stream keeps its format with port 0), or
refuses the whole offer (488 with Warning 304 or 305, RFC 3261 §21.4.26, §20.43);
:func:`answer_t38` applies ITU-T T.38 Annex D to the T.38 attributes. The ports come later:
``sessions.py`` opens a socket for each accepted stream and writes its port in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sipfault.model.scenario import T38_ERROR_CORRECTION, SdpSettings, T38Settings
from sipfault.sip.memo import Memo
from sipfault.sip.sdp import (
    STATIC_PAYLOADS,
    Media,
    RtpMap,
    SessionDescription,
    T38Params,
    parse_sdp,
)

__all__ = [
    "AUXILIARY_CODECS",
    "Refusal",
    "StreamPlan",
    "answer_offer",
    "answer_streams",
    "answer_t38",
    "mirrored_direction",
    "offer_audio",
    "offer_t38",
]

AUXILIARY_CODECS = frozenset({"telephone-event", "cn"})
"""Formats that go with a codec rather than replace it (RFC 4733, RFC 3389)."""

_MIRROR = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive",
           "sendrecv": "sendrecv"}
_AUDIO_PROTOS = frozenset({"rtp/avp", "rtp/avpf"})
# Payload types of the codecs an offer of ours names (RFC 3551 §6); telephone-event is dynamic.
_OUR_PAYLOADS = {name: (number, rate) for number, (name, rate) in STATIC_PAYLOADS.items()
                 if name in ("PCMU", "PCMA", "G722", "G729", "GSM", "G723", "CN")}
_OUR_PAYLOADS["telephone-event"] = ("101", 8000)


def mirrored_direction(offered: str) -> str:
    """RFC 3264 §6.1: sendonly is answered recvonly, recvonly sendonly, the rest alike."""
    return _MIRROR.get(offered, "sendrecv")


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What the answer does with one offered stream."""

    index: int
    """Its place among the offer's ``m=`` lines."""
    media: Media
    """The answer's ``m=`` section; an accepted one carries port 0 until a socket is open."""
    accepted: bool
    remote: tuple[str, int] | None = None
    """Where the offerer takes packets (None when it gave 0.0.0.0 or port 0)."""
    offerer_sends: bool = False
    """Whether the offerer's direction lets it send (sendrecv or sendonly)."""
    refused_by_settings: bool = False
    """A T.38 stream refused because the settings take no T.38 (``t38: false``): the audio
    stream it would replace stays."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """An offer with nothing acceptable: 488 with this Warning (RFC 3261 §20.43)."""

    warning: int
    """304 (no media type we take) or 305 (no format or transport we take)."""
    text: str


def answer_streams(
    offer: SessionDescription, settings: SdpSettings
) -> list[StreamPlan] | Refusal:
    """The answer to every stream of ``offer`` (RFC 3264 §6), or why none can be taken."""
    plans = [_plan(index, media, offer, settings) for index, media in enumerate(offer.media)]
    offered = [media for media in offer.media if media.port != 0]
    if offered and not any(plan.accepted or plan.refused_by_settings for plan in plans):
        if any(media.media in ("audio", "image") for media in offered):
            names = ", ".join(f"m={media.media} {media.proto} {' '.join(media.formats)}"
                              for media in offered)
            return Refusal(305, f"Incompatible media format: {names}")
        kinds = ", ".join(sorted({media.media for media in offered}))
        return Refusal(304, f"Media type not available: {kinds}")
    return plans


# Load generators send the same offer call after call, answered with the same settings.
# bench/core_calls.py: saves ~20 µs per answered INVITE (best of 7 runs).
_PLANS: Memo[tuple[bytes, SdpSettings], tuple[StreamPlan, ...] | Refusal] = Memo(
    "SDP answer plans", entries=256, longest=4096, size=lambda key: len(key[0])
)


def answer_offer(body: bytes, settings: SdpSettings) -> tuple[StreamPlan, ...] | Refusal:
    """:func:`answer_streams` of an SDP body (which :func:`parse_sdp` must accept)."""
    key = (body, settings)
    plans = _PLANS.get(key)
    if plans is None:
        found = answer_streams(parse_sdp(body), settings)
        plans = found if isinstance(found, Refusal) else tuple(found)
        _PLANS.remember(key, plans)
    return plans


def _rejected(index: int, media: Media, by_settings: bool = False) -> StreamPlan:
    """RFC 3264 §6: a refused stream is answered with port 0 and the offered formats."""
    return StreamPlan(index, Media(media.media, 0, media.proto, media.formats), False,
                      refused_by_settings=by_settings)


def _plan(
    index: int, media: Media, offer: SessionDescription, settings: SdpSettings
) -> StreamPlan:
    if media.port == 0:
        return _rejected(index, media)
    if media.is_t38:
        if settings.t38 is None:
            return _rejected(index, media, by_settings=True)
        answered = _answer_image(media, settings.t38)
    elif media.media == "audio" and media.proto.lower() in _AUDIO_PROTOS:
        audio = _answer_audio(media, settings)
        if audio is None:
            return _rejected(index, media)
        answered = audio
    else:
        return _rejected(index, media)
    direction = offer.direction_of(media)
    answer_direction = mirrored_direction(direction)
    if answer_direction != "sendrecv":
        answered = replace(answered, attributes=(*answered.attributes, (answer_direction, None)))
    connection = offer.connection_of(media)
    remote = None
    if connection is not None and not connection.unspecified:
        remote = (connection.address, media.port)
    return StreamPlan(index, answered, True, remote, direction in ("sendrecv", "sendonly"))


def _answer_audio(media: Media, settings: SdpSettings) -> Media | None:
    """The codec the settings prefer among those offered, with telephone-event and CN when
    both sides list them; None when no codec is common."""
    encodings: list[tuple[str, RtpMap]] = []
    for payload in media.formats:
        rtpmap = media.encoding(payload)
        if rtpmap is not None:
            encodings.append((payload, rtpmap))
    chosen: list[tuple[str, RtpMap]] = []
    for name in settings.codecs:
        if name.lower() in AUXILIARY_CODECS:
            continue
        match = next((item for item in encodings
                      if item[1].encoding.lower() == name.lower()), None)
        if match is not None:
            chosen.append(match)
            break
    if not chosen:
        return None
    rate = chosen[0][1].clock_rate
    for name in settings.codecs:
        if name.lower() not in AUXILIARY_CODECS:
            continue
        same = [item for item in encodings if item[1].encoding.lower() == name.lower()]
        pick = next((item for item in same if item[1].clock_rate == rate), None)
        if pick is None and same:
            pick = same[0]
        if pick is not None:
            chosen.append(pick)
    attributes: list[tuple[str, str | None]] = []
    for _, rtpmap in chosen:
        attributes.append(("rtpmap", rtpmap.value()))
    for payload, _ in chosen:
        parameters = media.fmtp(payload)
        if parameters is not None:
            attributes.append(("fmtp", f"{payload} {parameters}"))
    if settings.ptime is not None:
        attributes.append(("ptime", str(settings.ptime)))
    return Media("audio", 0, media.proto, tuple(payload for payload, _ in chosen),
                 attributes=tuple(attributes))


def _answer_image(media: Media, ours: T38Settings) -> Media:
    params = answer_t38(media.t38, ours)
    return Media("image", 0, media.proto,
                 tuple(fmt for fmt in media.formats if fmt.lower() == "t38")[:1],
                 attributes=tuple(params.attributes()))


def _weaker_ec(offered: str | None, ours: str | None) -> str | None:
    """The weaker of two T38FaxUdpEC values (no EC < redundancy < FEC); an unknown offered
    value is answered with redundancy, the scheme every implementation has."""
    if offered is None:
        return ours
    if offered not in T38_ERROR_CORRECTION:
        offered = "t38UDPRedundancy"
    if ours is None:
        return offered
    return min(offered, ours, key=T38_ERROR_CORRECTION.index)


def answer_t38(offered: T38Params, ours: T38Settings) -> T38Params:
    """ITU-T T.38 Annex D.2.3 applied to an offer: never above what it offered.

    T38FaxVersion and T38MaxBitRate are the smaller of the offer's and ours (an offer that
    names none, or a bit rate of 0, is taken at ours); T38FaxRateManagement is echoed
    (transferredTCF when absent, the one UDPTL mode, Annex D.2.3); T38FaxMaxBuffer and
    T38FaxMaxDatagram are ours; T38FaxUdpEC is the weaker; a boolean option is true only
    when both sides have it, and written in the offer's form (bare or ``:0``/``:1``).
    """
    version = ours.version if offered.version is None else min(offered.version, ours.version)
    rate = ours.max_bit_rate
    if offered.max_bit_rate:
        rate = min(offered.max_bit_rate, rate)
    return T38Params(
        version=version,
        max_bit_rate=rate,
        rate_management=offered.rate_management or "transferredTCF",
        max_buffer=ours.max_buffer,
        max_datagram=ours.max_datagram,
        udp_ec=_weaker_ec(offered.udp_ec, ours.udp_ec),
        fill_bit_removal=bool(offered.fill_bit_removal) and ours.fill_bit_removal,
        transcoding_mmr=bool(offered.transcoding_mmr) and ours.transcoding_mmr,
        transcoding_jbig=bool(offered.transcoding_jbig) and ours.transcoding_jbig,
        numeric_booleans=offered.numeric_booleans,
    )


def offer_audio(settings: SdpSettings) -> Media:
    """An audio offer of ours with the settings' codecs in their order (port 0 until a socket
    is open); codecs without a payload type of ours are left out."""
    formats: list[str] = []
    attributes: list[tuple[str, str | None]] = []
    for name in settings.codecs:
        known = next((key for key in _OUR_PAYLOADS if key.lower() == name.lower()), None)
        if known is None:
            continue
        payload, rate = _OUR_PAYLOADS[known]
        if payload in formats:
            continue
        formats.append(payload)
        attributes.append(("rtpmap", f"{payload} {known}/{rate}"))
        if known == "telephone-event":
            attributes.append(("fmtp", f"{payload} 0-16"))
    if settings.ptime is not None:
        attributes.append(("ptime", str(settings.ptime)))
    return Media("audio", 0, "RTP/AVP", tuple(formats) or ("0",), attributes=tuple(attributes))


def offer_t38(ours: T38Settings | None) -> Media:
    """A T.38 offer of ours (T.38 Annex D.2.3): what a receiving fax gateway sends once it
    hears CNG or the V.21 preamble; booleans written ``:0``/``:1``, which every reader takes."""
    ours = ours or T38Settings()
    params = T38Params(
        version=ours.version, max_bit_rate=ours.max_bit_rate,
        rate_management="transferredTCF", max_buffer=ours.max_buffer,
        max_datagram=ours.max_datagram, udp_ec=ours.udp_ec or "t38UDPRedundancy",
        fill_bit_removal=ours.fill_bit_removal, transcoding_mmr=ours.transcoding_mmr,
        transcoding_jbig=ours.transcoding_jbig, numeric_booleans=True,
    )
    return Media("image", 0, "udptl", ("t38",), attributes=tuple(params.attributes()))
