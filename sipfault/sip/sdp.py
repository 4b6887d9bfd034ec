"""SDP: reading session descriptions and writing them (RFC 8866; T.38 per ITU-T T.38 Annex D).

:func:`parse_sdp` reads a whole description strictly enough to answer it (RFC 3264): the origin,
the connection at session and media level, each ``m=`` section with its formats, ``rtpmap``
and ``fmtp``, direction, ``ptime`` and the T.38 attributes. A defect that leaves the offer
unanswerable raises :class:`SdpError` naming it (the UAS answers 400 with it): no ``v=0`` first,
no or a broken ``o=``, a broken ``c=`` or ``m=``, an active stream without a connection address.
Deliberate leniencies, since none of these keeps an answer from being made: ``s=`` and ``t=``
may be missing (some embedded stacks leave them out), lines of unknown types and lines that are
not ``<type>=<value>`` are skipped (RFC 4475 §3.1.1.8 sends ``m =video`` in a message to be
processed normally), and an ``a=rtpmap`` that cannot be read (RFC 4475's ``a=rtpmap:31 LPC``,
without a clock rate) is ignored.

:func:`format_sdp` writes a description back; the offer/answer rules themselves live in
``sipfault.core.offer_answer``. :func:`parse_media` and :func:`media_types` stay tolerant of
anything: rules match on them, and matching must never fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sipfault.sip.frozen import quick_init
from sipfault.sip.grammar import bounded_int
from sipfault.sip.memo import Memo

__all__ = [
    "DIRECTIONS",
    "STATIC_PAYLOADS",
    "Connection",
    "Media",
    "MediaDescription",
    "Origin",
    "RtpMap",
    "SdpError",
    "SessionDescription",
    "T38Params",
    "format_sdp",
    "media_types",
    "parse_media",
    "parse_sdp",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
"""The direction attributes (RFC 8866 §6.7); sendrecv is the default."""

STATIC_PAYLOADS: dict[str, tuple[str, int]] = {
    # RFC 3551 §6, Table 4: formats an offer may name without an rtpmap.
    "0": ("PCMU", 8000), "3": ("GSM", 8000), "4": ("G723", 8000), "5": ("DVI4", 8000),
    "6": ("DVI4", 16000), "7": ("LPC", 8000), "8": ("PCMA", 8000), "9": ("G722", 8000),
    "10": ("L16", 44100), "11": ("L16", 44100), "12": ("QCELP", 8000), "13": ("CN", 8000),
    "14": ("MPA", 90000), "15": ("G728", 8000), "16": ("DVI4", 11025), "17": ("DVI4", 22050),
    "18": ("G729", 8000), "25": ("CelB", 90000), "26": ("JPEG", 90000), "28": ("nv", 90000),
    "31": ("H261", 90000), "32": ("MPV", 90000), "33": ("MP2T", 90000), "34": ("H263", 90000),
}  # fmt: skip


class SdpError(ValueError):
    """A session description that cannot be answered; ``reason`` names the defect."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@quick_init
@dataclass(frozen=True, slots=True)
class Origin:
    """The ``o=`` line (RFC 8866 §5.2)."""

    username: str
    session_id: str
    version: str
    nettype: str
    addrtype: str
    address: str

    def line(self) -> str:
        return (f"o={self.username} {self.session_id} {self.version} {self.nettype} "
                f"{self.addrtype} {self.address}")


@quick_init
@dataclass(frozen=True, slots=True)
class Connection:
    """A ``c=`` line (RFC 8866 §5.7): network type, address type, address (without TTL)."""

    nettype: str
    addrtype: str
    address: str

    @classmethod
    def for_host(cls, host: str) -> Connection:
        """``IN IP4 host`` or ``IN IP6 host``."""
        return cls("IN", "IP6" if ":" in host else "IP4", host)

    @property
    def unspecified(self) -> bool:
        """0.0.0.0 (or ::): the RFC 2543 way of putting a stream on hold (RFC 3264 §8.4)."""
        return self.address in ("0.0.0.0", "::")

    def line(self) -> str:
        return f"c={self.nettype} {self.addrtype} {self.address}"


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<payload> <encoding>/<clock rate>[/<channels>]`` (RFC 8866 §6.6)."""

    payload: str
    encoding: str
    clock_rate: int
    channels: int | None = None

    def value(self) -> str:
        channels = f"/{self.channels}" if self.channels is not None else ""
        return f"{self.payload} {self.encoding}/{self.clock_rate}{channels}"


# T.38 Annex D attribute names, in the order Annex D lists them; matched ignoring case, since
# devices spell them T38MaxBitrate, T38FaxUdpEc...; T38FaxMaxBitRate is a spelling seen too.
_T38_NAMES = {
    "t38faxversion": "version", "t38maxbitrate": "max_bit_rate",
    "t38faxmaxbitrate": "max_bit_rate", "t38faxfillbitremoval": "fill_bit_removal",
    "t38faxtranscodingmmr": "transcoding_mmr", "t38faxtranscodingjbig": "transcoding_jbig",
    "t38faxratemanagement": "rate_management", "t38faxmaxbuffer": "max_buffer",
    "t38faxmaxdatagram": "max_datagram", "t38faxmaxifp": "max_ifp", "t38faxudpec": "udp_ec",
}  # fmt: skip
_T38_BOOLEANS = ("fill_bit_removal", "transcoding_mmr", "transcoding_jbig")
_T38_NUMBERS = ("version", "max_bit_rate", "max_buffer", "max_datagram", "max_ifp")
_T38_WRITTEN = (
    ("version", "T38FaxVersion"), ("max_bit_rate", "T38MaxBitRate"),
    ("fill_bit_removal", "T38FaxFillBitRemoval"), ("transcoding_mmr", "T38FaxTranscodingMMR"),
    ("transcoding_jbig", "T38FaxTranscodingJBIG"), ("rate_management", "T38FaxRateManagement"),
    ("max_buffer", "T38FaxMaxBuffer"), ("max_datagram", "T38FaxMaxDatagram"),
    ("udp_ec", "T38FaxUdpEC"),
)  # fmt: skip
_TRUE = ("", "1", "true", "on", "yes")
_FALSE = ("0", "false", "off", "no")


@dataclass(frozen=True, slots=True)
class T38Params:
    """The T.38 attributes of an ``image`` stream (ITU-T T.38 Annex D.2.3); None: not given.

    The three booleans come bare (``a=T38FaxFillBitRemoval``: true, absent: false) or with a
    value (``:1``, ``:0``); both forms are read, and ``numeric_booleans`` says which one the
    description used, so an answer can speak the offerer's dialect.
    """

    version: int | None = None
    max_bit_rate: int | None = None
    rate_management: str | None = None
    max_buffer: int | None = None
    max_datagram: int | None = None
    max_ifp: int | None = None
    udp_ec: str | None = None
    fill_bit_removal: bool | None = None
    transcoding_mmr: bool | None = None
    transcoding_jbig: bool | None = None
    numeric_booleans: bool = False

    @classmethod
    def from_attributes(cls, attributes: tuple[tuple[str, str | None], ...]) -> T38Params:
        """Read the T.38 attributes among ``attributes``; values that are not numbers or
        booleans where those are expected are left out (as if not given)."""
        values: dict[str, object] = {}
        numeric = False
        for name, value in attributes:
            key = _T38_NAMES.get(name.lower())
            if key is None or key in values:
                continue
            text = (value or "").strip()
            if key in _T38_BOOLEANS:
                if value is not None:
                    numeric = True
                if text.lower() in _TRUE:
                    values[key] = True
                elif text.lower() in _FALSE:
                    values[key] = False
            elif key in _T38_NUMBERS:
                number = bounded_int(text, 10**9)
                if number is not None:
                    values[key] = number
            elif text:
                values[key] = text
        return cls(numeric_booleans=numeric, **values)  # type: ignore[arg-type]

    def attributes(self) -> list[tuple[str, str | None]]:
        """The ``a=`` attributes for these values, in Annex D order; booleans bare (a true
        one named, a false one left out) unless ``numeric_booleans``."""
        out: list[tuple[str, str | None]] = []
        for key, name in _T38_WRITTEN:
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, bool):
                if self.numeric_booleans:
                    out.append((name, "1" if value else "0"))
                elif value:
                    out.append((name, None))
                continue
            out.append((name, str(value)))
        return out


@quick_init
@dataclass(frozen=True, slots=True)
class Media:
    """One ``m=`` section (RFC 8866 §5.14) and what belongs to it."""

    media: str
    """audio, video, image (T.38), text, application; lower case."""
    port: int
    """0 for a rejected or disabled stream (RFC 3264 §6)."""
    proto: str
    """As written: RTP/AVP, RTP/SAVP, udptl, UDPTL..."""
    formats: tuple[str, ...]
    connection: Connection | None = None
    """The media-level ``c=``, if any (a session-level one applies otherwise)."""
    attributes: tuple[tuple[str, str | None], ...] = ()
    """``a=`` lines as (name, value); the value is None for a flag such as ``a=sendonly``."""
    port_count: int | None = None
    """``<port>/<number of ports>`` (RFC 8866 §5.14), when given."""

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name`` (names ignore case); "" for a flag; None: absent."""
        wanted = name.lower()
        for key, value in self.attributes:
            if key.lower() == wanted:
                return "" if value is None else value
        return None

    def attribute_values(self, name: str) -> list[str]:
        """The values of every ``a=name`` (a flag gives "")."""
        wanted = name.lower()
        return ["" if value is None else value
                for key, value in self.attributes if key.lower() == wanted]

    @property
    def rtpmaps(self) -> dict[str, RtpMap]:
        """``a=rtpmap`` by payload type (the first one of each)."""
        found: dict[str, RtpMap] = {}
        for value in self.attribute_values("rtpmap"):
            rtpmap = _rtpmap(value)
            if rtpmap is not None:
                found.setdefault(rtpmap.payload, rtpmap)
        return found

    def encoding(self, payload: str) -> RtpMap | None:
        """What a format is: its rtpmap, or the RFC 3551 static assignment."""
        rtpmap = self.rtpmaps.get(payload)
        if rtpmap is not None:
            return rtpmap
        static = STATIC_PAYLOADS.get(payload)
        return RtpMap(payload, *static) if static is not None else None

    def fmtp(self, payload: str) -> str | None:
        """The parameters of ``a=fmtp:<payload> ...``, if any."""
        for value in self.attribute_values("fmtp"):
            number, _, parameters = value.partition(" ")
            if number == payload:
                return parameters.strip()
        return None

    @property
    def direction(self) -> str | None:
        """The stream's own direction attribute, if it has one."""
        for key, value in self.attributes:
            if value is None and key.lower() in DIRECTIONS:
                return key.lower()
        return None

    @property
    def ptime(self) -> int | None:
        """``a=ptime`` in milliseconds (RFC 8866 §6.4), if readable."""
        value = self.attribute("ptime")
        if value is None:
            return None
        whole = value.split(".", 1)[0].strip()
        return bounded_int(whole, 10**6)

    @property
    def is_t38(self) -> bool:
        """T.38 over UDPTL (``m=image <port> udptl t38``, T.38 Annex D.2.1)."""
        return (self.media == "image" and self.proto.lower() == "udptl"
                and any(fmt.lower() == "t38" for fmt in self.formats))

    @property
    def t38(self) -> T38Params:
        """The T.38 attributes of the section."""
        return T38Params.from_attributes(self.attributes)


@quick_init
@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole description: its session-level lines and its media sections."""

    origin: Origin
    connection: Connection | None = None
    """The session-level ``c=``, if any."""
    media: tuple[Media, ...] = ()
    attributes: tuple[tuple[str, str | None], ...] = ()
    """Session-level ``a=`` lines (before the first ``m=``)."""
    name: str = "-"
    """The ``s=`` line."""
    bandwidth: tuple[str, ...] = field(default=(), compare=False)
    """Session-level ``b=`` values, as written."""

    @property
    def direction(self) -> str | None:
        """The session-level direction attribute, if any (RFC 8866 §6.7)."""
        for key, value in self.attributes:
            if value is None and key.lower() in DIRECTIONS:
                return key.lower()
        return None

    def direction_of(self, media: Media) -> str:
        """A stream's direction: its own, else the session's, else sendrecv (RFC 8866 §6.7)."""
        return media.direction or self.direction or "sendrecv"

    def connection_of(self, media: Media) -> Connection | None:
        """The connection a stream uses: its own ``c=``, else the session's (RFC 8866 §5.7)."""
        return media.connection or self.connection

    def with_media(self, media: tuple[Media, ...]) -> SessionDescription:
        return replace(self, media=media)


def _rtpmap(value: str) -> RtpMap | None:
    payload, _, rest = value.strip().partition(" ")
    parts = rest.strip().split("/")
    if not payload or len(parts) < 2 or not parts[0]:
        return None
    rate = bounded_int(parts[1].strip(), 10**7)
    channels = bounded_int(parts[2].strip(), 255) if len(parts) > 2 else None
    if rate is None or (len(parts) > 2 and channels is None):
        return None
    return RtpMap(payload, parts[0].strip(), rate, channels)


def _connection(value: str, where: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise SdpError(f"{where} c= line needs nettype, addrtype and address (RFC 8866 §5.7)")
    nettype, addrtype, address = parts
    if addrtype.upper() not in ("IP4", "IP6"):
        raise SdpError(f"{where} c= address type {addrtype!r} is neither IP4 nor IP6 "
                       "(RFC 8866 §5.7)")
    return Connection(nettype, addrtype.upper(), address.split("/", 1)[0])


def _attribute(value: str) -> tuple[str, str | None]:
    name, colon, rest = value.partition(":")
    return (name.strip(), rest if colon else None)


_PARSED: Memo[bytes, SessionDescription] = Memo(
    "SDP descriptions", entries=256, longest=4096, size=len
)
# Load generators send the same offer call after call (and the offer is read twice per INVITE:
# checked, then answered); an offer whose o= line changes with each call only misses. SIPp's
# G.711 offer: ~10 µs to parse, ~0.1 µs from the memo (timeit).


def parse_sdp(body: bytes) -> SessionDescription:
    """Read a session description (RFC 8866 §5); raise :class:`SdpError` naming a defect."""
    parsed = _PARSED.get(body)
    if parsed is None:
        parsed = _parse(body)
        _PARSED.remember(body, parsed)
    return parsed


def _parse(body: bytes) -> SessionDescription:
    text = body.decode("utf-8", "replace")
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines or lines[0] != "v=0":
        raise SdpError("SDP does not start with v=0 (RFC 8866 §5.1)")
    origin: Origin | None = None
    name = "-"
    connection: Connection | None = None
    session_attributes: list[tuple[str, str | None]] = []
    bandwidth: list[str] = []
    sections: list[dict[str, object]] = []
    for line in lines[1:]:
        kind, equals, value = line.partition("=")
        if not equals or len(kind) != 1 or not kind.isalpha():
            continue  # a leniency (see the module docstring)
        current = sections[-1] if sections else None
        if kind == "m":
            sections.append(_media_line(value, len(sections) + 1))
        elif kind == "o":
            parts = value.split()
            if len(parts) != 6:
                raise SdpError("o= line needs six fields (RFC 8866 §5.2)")
            origin = Origin(*parts)
        elif kind == "c":
            if current is None:
                connection = _connection(value, "session-level")
            else:
                current["connection"] = _connection(value, f"m={current['media']}")
        elif kind == "a":
            if current is None:
                session_attributes.append(_attribute(value))
            else:
                attributes = current["attributes"]
                assert isinstance(attributes, list)
                attributes.append(_attribute(value))
        elif kind == "s" and current is None:
            name = value
        elif kind == "b" and current is None:
            bandwidth.append(value)
    if origin is None:
        raise SdpError("SDP has no o= line (RFC 8866 §5.2)")
    media = tuple(_media(section) for section in sections)
    for item in media:
        if item.port and item.connection is None and connection is None:
            raise SdpError(f"m={item.media} has no connection address: no c= line at "
                           "session or media level (RFC 8866 §5.7)")
    return SessionDescription(origin, connection, media, tuple(session_attributes), name,
                              tuple(bandwidth))


def _media_line(value: str, index: int) -> dict[str, object]:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"m= line {index} needs media, port, proto and at least one format "
                       "(RFC 8866 §5.14)")
    media, port_text, proto, *formats = parts
    port_part, slash, count_part = port_text.partition("/")
    port = bounded_int(port_part, 65535)
    count = bounded_int(count_part, 65535) if slash else None
    if port is None or port > 65535 or (slash and count is None):
        raise SdpError(f"m={media} port {port_text!r} is not a port number (RFC 8866 §5.14)")
    return {"media": media.lower(), "port": port, "proto": proto, "formats": tuple(formats),
            "count": count, "connection": None, "attributes": []}


def _media(section: dict[str, object]) -> Media:
    attributes = section["attributes"]
    assert isinstance(attributes, list)
    media, port, proto = section["media"], section["port"], section["proto"]
    formats, connection, count = section["formats"], section["connection"], section["count"]
    assert isinstance(media, str) and isinstance(port, int) and isinstance(proto, str)
    assert isinstance(formats, tuple)
    assert connection is None or isinstance(connection, Connection)
    assert count is None or isinstance(count, int)
    return Media(media, port, proto, formats, connection, tuple(attributes), count)


def format_sdp(description: SessionDescription) -> bytes:
    """The description as SDP text with CRLF line ends (RFC 8866 §5)."""
    lines = ["v=0", description.origin.line(), f"s={description.name or '-'}"]
    if description.connection is not None:
        lines.append(description.connection.line())
    lines += [f"b={value}" for value in description.bandwidth]
    lines.append("t=0 0")
    lines += [_attribute_line(name, value) for name, value in description.attributes]
    for media in description.media:
        port = f"{media.port}/{media.port_count}" if media.port_count else str(media.port)
        lines.append(f"m={media.media} {port} {media.proto} {' '.join(media.formats)}")
        if media.connection is not None:
            lines.append(media.connection.line())
        lines += [_attribute_line(name, value) for name, value in media.attributes]
    return ("\r\n".join(lines) + "\r\n").encode()


def _attribute_line(name: str, value: str | None) -> str:
    return f"a={name}" if value is None else f"a={name}:{value}"


# --- tolerant reading, for matching ------------------------------------------------------------


@dataclass
class MediaDescription:
    """One ``m=`` section as :func:`parse_media` reads it, whatever else the body holds."""

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
                # <port>[/<number of ports>] (RFC 8866 §5.14); anything else, or a port above
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
