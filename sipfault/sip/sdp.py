"""Just enough SDP for offer/answer (RFC 4566, RFC 3264; T.38 over UDPTL per ITU-T T.38 Annex D).

sipfault carries no media: an answer names ports nobody listens on, so a client can complete the
call set-up and the test can judge the signalling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipfault.sip.grammar import bounded_int
from sipfault.sip.memo import Memo

_DIRECTIONS = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
_ALL_DIRECTIONS = (*_DIRECTIONS, "sendrecv")
_T38_ATTRIBUTES = (
    "t38faxversion", "t38maxbitrate", "t38faxratemanagement", "t38faxmaxbuffer",
    "t38faxmaxdatagram", "t38faxudpec", "t38faxfillbitremoval", "t38faxtranscodingmmr",
    "t38faxtranscodingjbig",
)
MEDIA_PORT_BASE = 40000
"""First port an answer names; the m= lines get consecutive even ports from here."""


@dataclass
class MediaDescription:
    """One ``m=`` section (RFC 4566 §5.14) with its attributes."""

    media: str
    """audio, video, image (T.38), text, application."""
    port: int
    proto: str
    """RTP/AVP, RTP/SAVP, udptl..."""
    formats: list[str]
    attributes: list[str] = field(default_factory=list)
    """``a=`` lines without the ``a=`` prefix."""

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name:value`` (or "" for a flag), None when absent."""
        for line in self.attributes:
            key, _, value = line.partition(":")
            if key.lower() == name.lower():
                return value
        return None


def parse_media(body: bytes) -> list[MediaDescription]:
    """The media sections of an SDP body; tolerant of anything else in it."""
    sections: list[MediaDescription] = []
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) >= 3:
                # <port>[/<number of ports>] (RFC 4566 §5.14); anything else, or a port above
                # 65535, counts as 0 (a rejected stream) rather than failing on int().
                port = bounded_int(parts[1].split("/", 1)[0], 65535)
                if port is None or port > 65535:
                    port = 0
                sections.append(MediaDescription(parts[0].lower(), port, parts[2], parts[3:]))
        elif line.startswith("a=") and sections:
            sections[-1].attributes.append(line[2:])
    return sections


def media_types(body: bytes) -> frozenset[str]:
    """The media types offered with a non-zero port, e.g. {"audio"} or {"image"} for T.38."""
    return frozenset(section.media for section in parse_media(body) if section.port != 0)


def _session_lines(host: str, session_id: int, version: int) -> list[str]:
    family = "IP6" if ":" in host else "IP4"
    return [
        "v=0",
        f"o=sipfault {session_id} {version} IN {family} {host}",
        "s=sipfault",
        f"c=IN {family} {host}",
        "t=0 0",
    ]


def build_answer(offer: bytes, host: str, session_id: int, version: int = 1) -> bytes:
    """An RFC 3264 §6 answer accepting every offered stream with its first format."""
    session = "\r\n".join(_session_lines(host, session_id, version)) + "\r\n"
    media = _ANSWER_MEDIA.get(offer)
    if media is None:
        media = _answer_media(offer)
        _ANSWER_MEDIA.remember(offer, media)
    return session.encode() + media


# Load generators send the same offer call after call; an offer whose o= line changes with
# each call only misses. bench/callrate.py: saves ~6 µs per answered INVITE (timeit).
_ANSWER_MEDIA: Memo[bytes, bytes] = Memo(
    "SDP answer media", entries=256, longest=4096, size=len
)


def _answer_media(offer: bytes) -> bytes:
    """The m= sections of the answer to ``offer``."""
    lines: list[str] = []
    session_direction = _session_direction(offer)
    for index, section in enumerate(parse_media(offer)):
        if section.port == 0 or not section.formats:
            lines.append(f"m={section.media} 0 {section.proto} {' '.join(section.formats) or '0'}")
            continue
        port = MEDIA_PORT_BASE + 2 * index
        if section.media == "image":
            lines.append(f"m=image {port} {section.proto} {' '.join(section.formats)}")
            lines.extend(
                f"a={line}" for line in section.attributes
                if line.partition(":")[0].lower() in _T38_ATTRIBUTES
            )
            continue
        chosen = [section.formats[0]]
        event = _telephone_event(section)
        if event is not None and event not in chosen:
            chosen.append(event)
        lines.append(f"m={section.media} {port} {section.proto} {' '.join(chosen)}")
        for line in section.attributes:
            key, _, value = line.partition(":")
            if key.lower() in ("rtpmap", "fmtp") and value.split(" ", 1)[0] in chosen:
                lines.append(f"a={line}")
            elif key.lower() in _DIRECTIONS:
                lines.append(f"a={_DIRECTIONS[key.lower()]}")
        own = any(line.partition(":")[0].lower() in _ALL_DIRECTIONS for line in section.attributes)
        if not own and session_direction in _DIRECTIONS:
            lines.append(f"a={_DIRECTIONS[session_direction]}")
    return "".join(line + "\r\n" for line in lines).encode()


def _session_direction(body: bytes) -> str:
    """The direction attribute before the first m= line, which applies to every stream that has
    none of its own (RFC 4566 §6), or "" when there is none."""
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            break
        if line.startswith("a=") and line[2:].lower() in _ALL_DIRECTIONS:
            return line[2:].lower()
    return ""


def build_offer(host: str, session_id: int, version: int = 1) -> bytes:
    """An offer for a 2xx to an INVITE that carried none (RFC 3261 §13.2.1): G.711 audio."""
    lines = _session_lines(host, session_id, version)
    lines += [
        f"m=audio {MEDIA_PORT_BASE} RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _telephone_event(section: MediaDescription) -> str | None:
    for line in section.attributes:
        key, _, value = line.partition(":")
        if key.lower() == "rtpmap" and "telephone-event" in value.lower():
            return value.split(" ", 1)[0]
    return None
