"""The media streams of a dialog: which port each one listens on, and what they received.

The core decides and the transport binds: a :class:`MediaSession` asks the
:class:`MediaPorts` it is given to open a UDP socket for every stream an answer (or an offer of
ours) accepts, names the port that came back in the SDP, and closes the socket when the stream
is refused, removed, or the dialog ends, so no port is ever named that nothing listens on. A
stream that changes media type on the same ``m=`` line (audio to T.38 and back, RFC 3264 §8.3)
keeps its port: the far end may well go on sending audio to it, which is the point of the
``audio-after-t38`` finding.

The transport tells :meth:`MediaSessions.activity` about the first packet of each kind (RTP,
UDPTL, other) on a stream; the session journals it, runs what waits for media (a scenario's
``from: media`` actions) and turns the scenario's ``media`` settings into findings.
:class:`NominalPorts` stands in for the sockets when the core runs alone (unit tests, benches).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from sipfault.core.events import (
    Event,
    Finding,
    MediaFlowing,
    MediaStarted,
    MediaStopped,
    MediaTotals,
)
from sipfault.core.fax_streams import FaxDriver, FaxFactory
from sipfault.core.offer_answer import (
    Refusal,
    StreamPlan,
    answer_streams,
    mirrored_direction,
    offer_audio,
    offer_t38,
)
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import FaxSettings, MediaSettings, SdpSettings
from sipfault.sip.sdp import (
    DIRECTIONS,
    Connection,
    Media,
    Origin,
    SessionDescription,
    format_sdp,
)

__all__ = [
    "MediaPortError",
    "MediaPorts",
    "MediaSession",
    "MediaSessions",
    "NominalPorts",
    "StreamSpec",
    "describe",
]


class MediaPortError(Exception):
    """No socket could be opened for a stream (the pinned range is used up)."""


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """What the transport needs to open, or re-purpose, a stream's socket."""

    call_id: str
    index: int
    """The stream's ``m=`` line, from 0."""
    media: str
    """audio or image."""
    bind_host: str
    """The address the SIP request came in on (the socket binds there)."""
    remote: tuple[str, int] | None
    """Where the far end takes packets, per its SDP."""
    echo: bool = False
    """Send each packet back to where it came from."""
    ports: tuple[int, int] | None = None
    """The range a port must come from; None: any free port."""
    fax: bool = False
    """Hand every datagram to the core (:meth:`MediaSessions.datagram`), not only count it."""


class MediaPorts(Protocol):
    """The transport's side: sockets for streams, by stream number."""

    def open(self, stream: int, spec: StreamSpec) -> int:
        """Bind a UDP socket for a new stream; return its port (raise MediaPortError)."""

    def change(self, stream: int, spec: StreamSpec) -> MediaTotals:
        """The stream now carries ``spec.media``: count afresh; return the totals so far."""

    def close(self, stream: int) -> MediaTotals:
        """Close the stream's socket; return its totals since it started (or changed)."""

    def watch(self, stream: int) -> None:
        """Report the next packet of each kind again, as if it were the first."""

    def send(self, stream: int, data: bytes, remote: tuple[str, int]) -> None:
        """Send a datagram out of the stream's socket."""


class NominalPorts:
    """Ports without sockets (40000, 40002...), for the core when it runs without transport."""

    FIRST = 40000

    def __init__(self) -> None:
        self._next = self.FIRST
        self.open_streams: dict[int, StreamSpec] = {}
        """The streams open now, by number."""
        self.sent = []

    def open(self, stream: int, spec: StreamSpec) -> int:
        port = self._next
        self._next = self._next + 2 if self._next < 65534 else self.FIRST
        self.open_streams[stream] = spec
        return port

    def change(self, stream: int, spec: StreamSpec) -> MediaTotals:
        self.open_streams[stream] = spec
        return MediaTotals()

    def close(self, stream: int) -> MediaTotals:
        self.open_streams.pop(stream, None)
        return MediaTotals()

    def watch(self, stream: int) -> None:
        del stream

    def send(self, stream: int, data: bytes, remote: tuple[str, int]) -> None:
        self.sent.append((stream, data, remote))

    sent: list[tuple[int, bytes, tuple[str, int]]]
    """Datagrams sent, with their stream and destination."""


def describe(host: str, session_id: int, version: int, media: list[Media]) -> bytes:
    """Our SDP: origin ``sipfault`` with this session id and version, the connection address
    of ``host`` at session level (RFC 8866 §5.2, §5.7), and ``media``."""
    origin = Origin("sipfault", str(session_id), str(version), "IN",
                    "IP6" if ":" in host else "IP4", host)
    return format_sdp(SessionDescription(origin, Connection.for_host(host), tuple(media),
                                         name="sipfault"))


@dataclass(slots=True)
class _Stream:
    number: int
    index: int
    media: str
    port: int
    remote: tuple[str, int] | None
    far_end_sends: bool
    phase: int = 0
    """Counts changes of media type; a timer set in one phase does nothing in another."""
    switched_at: float | None = None
    """When the stream went from audio to T.38."""
    watching_audio: bool = False
    """RTP from now on is audio after the T.38 switch (a finding)."""
    seen: set[str] = field(default_factory=set)
    timers: list[Timer] = field(default_factory=list)
    fax: FaxDriver | None = None
    """The fax terminal on this T.38 stream."""


class MediaSessions:
    """Every media session of the UAS, and the streams by number for the transport's reports."""

    def __init__(
        self, ports: MediaPorts, queue: TimerQueue, report: Callable[[Event], None],
        settings: Callable[[], MediaSettings], fax: FaxFactory | None = None,
    ) -> None:
        self.ports = ports
        self.fax_factory = fax
        """Makes the fax terminal of a T.38 stream whose call has ``fax`` settings."""
        self._queue = queue
        self._report = report
        self._settings = settings
        self._numbers = itertools.count(1)
        self._streams: dict[int, tuple[MediaSession, _Stream]] = {}

    def __len__(self) -> int:
        """Streams open now."""
        return len(self._streams)

    @property
    def settings(self) -> MediaSettings:
        return self._settings()

    def new(self, call_id: str, bind_host: str, sdp_host: str) -> MediaSession:
        """The session of one call, its sockets bound on ``bind_host``, ``sdp_host`` in SDP."""
        return MediaSession(self, call_id, bind_host, sdp_host)

    def activity(self, stream: int, kind: str, source: tuple[str, int], now: float) -> None:
        """The transport saw the first packet of ``kind`` (rtp, udptl, other) on ``stream``
        since it started, changed or was watched."""
        found = self._streams.get(stream)
        if found is None:
            return
        session, item = found
        item.seen.add(kind)
        self._report(MediaFlowing(now, session.call_id, item.number, item.index, item.media,
                                  kind, source))
        if item.watching_audio and item.media == "image" and kind == "rtp":
            item.watching_audio = False
            since = now - (item.switched_at or now)
            self._report(Finding(
                now, "audio-after-t38",
                f"RTP still arrives on stream {item.index} {since:.1f} s after the switch to "
                "T.38", session.call_id, details={"source": f"{source[0]}:{source[1]}"},
            ))
        session.media_arrived(now)

    def datagram(self, stream: int, data: bytes, source: tuple[str, int], now: float) -> None:
        """A datagram on a stream in fax mode (:attr:`StreamSpec.fax`)."""
        found = self._streams.get(stream)
        if found is not None and found[1].fax is not None:
            found[1].fax.datagram(data, source, now)

    def close_all(self, now: float, reason: str) -> None:
        """Close every stream of every session (the endpoint stops): each one's totals are
        journaled."""
        for session in list({id(found[0]): found[0] for found in self._streams.values()}
                            .values()):
            session.close(now, reason)

    # -- what a MediaSession uses -----------------------------------------------------------

    @property
    def queue(self) -> TimerQueue:
        """The core's timers (the media findings run on them)."""
        return self._queue

    def report(self, event: Event) -> None:
        """Journal an event."""
        self._report(event)

    def new_number(self) -> int:
        """A stream number, unique in the run."""
        return next(self._numbers)

    def register(self, session: MediaSession, item: _Stream) -> None:
        """A stream opened: its packets are reported by number."""
        self._streams[item.number] = (session, item)

    def forget(self, item: _Stream) -> None:
        """A stream closed: forget it and its timers."""
        self._streams.pop(item.number, None)
        for timer in item.timers:
            timer.cancel()
        item.timers.clear()


class MediaSession:
    """The streams of one call, by ``m=`` line, with the offers and answers that made them."""

    def __init__(self, sessions: MediaSessions, call_id: str, bind_host: str,
                 sdp_host: str) -> None:
        self._sessions = sessions
        self.call_id = call_id
        self.bind_host = bind_host
        self.sdp_host = sdp_host
        """The address our SDP names (RFC 8866 §5.7)."""
        self._streams: dict[int, _Stream] = {}
        self.last_media: list[Media] = []
        """The ``m=`` sections of the last SDP we sent, ports included (a new offer of ours
        keeps every line, RFC 3264 §8)."""
        self._pending_offer: list[Media] | None = None
        self.media_seen = False
        """Whether a packet arrived on any stream yet."""
        self._waiters: list[Callable[[float], None]] = []
        self.closed = False
        self.fax: FaxSettings | None = None
        """The rule's ``fax``: a T.38 stream of this call runs a fax terminal."""

    # -- views ----------------------------------------------------------------------------

    @property
    def streams(self) -> dict[int, tuple[str, int]]:
        """The open streams: ``m=`` line -> (media, port)."""
        return {index: (item.media, item.port) for index, item in self._streams.items()}

    def wait_for_media(self, action: Callable[[float], None]) -> None:
        """Call ``action(now)`` at the next packet on any stream."""
        self._waiters.append(action)
        for item in self._streams.values():
            self._sessions.ports.watch(item.number)
            item.seen.clear()

    def media_arrived(self, now: float) -> None:
        self.media_seen = True
        waiters, self._waiters = self._waiters, []
        for action in waiters:
            action(now)

    # -- answering the far end's offer ------------------------------------------------------

    def answer(
        self, offer: SessionDescription, settings: SdpSettings, now: float
    ) -> list[Media] | Refusal:
        """The answer's ``m=`` sections to ``offer`` (RFC 3264 §6), sockets opened, moved to
        another media type or closed to match it; a Refusal changes nothing."""
        plans = answer_streams(offer, settings)
        if isinstance(plans, Refusal):
            return plans
        return self.apply(plans, now)

    def apply(self, plans: Sequence[StreamPlan], now: float) -> list[Media]:
        """Open, move or close sockets as an answer's plans say; the answer's ``m=`` sections
        with their ports."""
        media: list[Media] = []
        for plan in plans:
            current = self._streams.get(plan.index)
            if plan.accepted:
                port = self._use(plan.index, plan.media.media, plan.remote, plan.offerer_sends,
                                 now)
                media.append(replace(plan.media, port=port) if port else
                             replace(plan.media, port=0, attributes=()))
                continue
            keep = plan.refused_by_settings and current is not None and current.media == "audio"
            if current is not None and not keep:
                self._close(current, now, "refused")
            media.append(plan.media)
        for index in [index for index in self._streams if index >= len(plans)]:
            self._close(self._streams[index], now, "removed")
        self.last_media = media
        self._start_faxes(media, now)
        return media

    # -- offers of ours -----------------------------------------------------------------------

    def offer(self, kind: str, settings: SdpSettings, now: float) -> list[Media]:
        """The ``m=`` sections of an offer of ours: ``t38`` turns the audio line into T.38,
        ``audio`` the T.38 line into audio, ``same`` repeats the streams as they are; a call
        without streams yet gets audio. A new stream gets its socket now; a changed one keeps
        its port and changes when the answer comes (:meth:`answered`)."""
        media = list(self.last_media)
        if not media:
            item = self._open_stream(0, "audio", None, True, now)
            port = item.port if item is not None else 0
            media = [replace(offer_audio(settings), port=port)]
        elif kind in ("t38", "audio"):
            source = "audio" if kind == "t38" else "image"
            index = next((i for i, m in enumerate(media) if m.media == source and m.port), None)
            if index is None:
                index = next((i for i, m in enumerate(media) if m.port), 0)
            stream = self._streams.get(index)
            port = stream.port if stream is not None else 0
            fresh = offer_t38(settings.t38) if kind == "t38" else offer_audio(settings)
            if stream is None:
                opened = self._open_stream(index, fresh.media, None, True, now)
                port = opened.port if opened is not None else 0
            media[index] = replace(fresh, port=port)
        media = [_without_direction(item) for item in media]
        self._pending_offer = media
        self.last_media = media
        return media

    def answered(self, answer: SessionDescription, now: float) -> list[str]:
        """The far end's answer to our last offer: streams it accepted with another media type
        now carry it; returns what it refused, e.g. ``["image"]``."""
        offered, self._pending_offer = self._pending_offer, None
        if offered is None:
            return []
        refused: list[str] = []
        for index, ours in enumerate(offered):
            theirs = answer.media[index] if index < len(answer.media) else None
            if not ours.port:
                continue
            if theirs is None or theirs.port == 0:
                refused.append(ours.media)
                continue
            connection = answer.connection_of(theirs)
            remote = None
            if connection is not None and not connection.unspecified:
                remote = (connection.address, theirs.port)
            direction = mirrored_direction(answer.direction_of(theirs))
            self._use(index, ours.media, remote, direction in ("sendrecv", "recvonly"), now)
        self._start_faxes(list(answer.media), now)
        return refused

    def offer_refused(self) -> None:
        """A failure to our offer: the streams stay as they were (RFC 3264 §8)."""
        self._pending_offer = None

    # -- the end ------------------------------------------------------------------------

    def close(self, now: float, reason: str) -> None:
        """Close every stream (the dialog ended)."""
        self.closed = True
        self._waiters.clear()
        for item in list(self._streams.values()):
            self._close(item, now, reason)

    # -- sockets ------------------------------------------------------------------------

    def _spec(self, index: int, media: str, remote: tuple[str, int] | None) -> StreamSpec:
        settings = self._sessions.settings
        fax = (media == "image" and self.fax is not None
               and self._sessions.fax_factory is not None)
        return StreamSpec(self.call_id, index, media, self.bind_host, remote, settings.echo,
                          settings.ports, fax)

    def _use(self, index: int, media: str, remote: tuple[str, int] | None, sends: bool,
             now: float) -> int:
        """The port of the stream on line ``index``, opened or moved to ``media``; 0 when no
        socket could be opened."""
        current = self._streams.get(index)
        if current is None:
            opened = self._open_stream(index, media, remote, sends, now)
            return opened.port if opened is not None else 0
        current.remote = remote
        current.far_end_sends = sends
        if current.media == media:
            return current.port
        if current.fax is not None:
            current.fax.close(now, f"now {media}")
            current.fax = None
        sessions = self._sessions
        totals = sessions.ports.change(current.number, self._spec(index, media, remote))
        sessions.report(MediaStopped(now, self.call_id, current.number, index, current.media,
                                     (self.bind_host, current.port), totals, f"now {media}"))
        if current.media == "audio" and media == "image":
            current.switched_at = now
        current.media = media
        current.phase += 1
        current.seen.clear()
        current.watching_audio = False
        sessions.report(MediaStarted(now, self.call_id, current.number, index, media,
                                     (self.bind_host, current.port), remote))
        self._arm_checks(current, now)
        return current.port

    def _open_stream(self, index: int, media: str, remote: tuple[str, int] | None,
                     sends: bool, now: float) -> _Stream | None:
        sessions = self._sessions
        number = sessions.new_number()
        spec = self._spec(index, media, remote)
        try:
            port = sessions.ports.open(number, spec)
        except MediaPortError as exc:
            sessions.report(Finding(now, "media-port",
                                    f"no port for stream {index} ({media}): {exc}; refused it",
                                    self.call_id))
            return None
        item = _Stream(number, index, media, port, remote, sends)
        self._streams[index] = item
        sessions.register(self, item)
        sessions.report(MediaStarted(now, self.call_id, number, index, media,
                                     (self.bind_host, port), remote))
        self._arm_checks(item, now)
        return item

    def _close(self, item: _Stream, now: float, reason: str) -> None:
        sessions = self._sessions
        if item.fax is not None:
            item.fax.close(now, reason)
        self._streams.pop(item.index, None)
        sessions.forget(item)
        totals = sessions.ports.close(item.number)
        sessions.report(MediaStopped(now, self.call_id, item.number, item.index, item.media,
                                     (self.bind_host, item.port), totals, reason))

    def _start_faxes(self, media: list[Media], now: float) -> None:
        """A fax terminal on each T.38 stream that has none yet, when the call has ``fax``."""
        sessions = self._sessions
        factory = sessions.fax_factory
        if self.fax is None or factory is None:
            return
        for item in self._streams.values():
            if item.media != "image" or item.fax is not None:
                continue
            described = media[item.index] if item.index < len(media) else None
            stream = factory(self.fax, self.call_id, item.index, _t38_version(described))
            number = item.number

            def send(data: bytes, remote: tuple[str, int], number: int = number) -> None:
                sessions.ports.send(number, data, remote)

            item.fax = FaxDriver(stream, sessions.queue, sessions.report, send, item.remote)
            item.fax.start(now)

    def _arm_checks(self, item: _Stream, now: float) -> None:
        """The scenario's media findings for the phase that starts now."""
        settings = self._sessions.settings
        queue = self._sessions.queue
        phase = item.phase
        if settings.no_media_within is not None and item.far_end_sends:
            within = settings.no_media_within

            def no_media(at: float) -> None:
                if item.phase == phase and not item.seen and not self.closed:
                    self._sessions.report(Finding(
                        at, "no-media",
                        f"no {_kind_name(item.media)} packets on stream {item.index} within "
                        f"{within:g} s of the answer", self.call_id,
                        details={"port": str(item.port)},
                    ))

            item.timers.append(queue.schedule(now + within, no_media))
        if (settings.audio_after_t38 is not None and item.media == "image"
                and item.switched_at is not None):

            def watch_audio(at: float) -> None:
                del at
                if item.phase == phase and not self.closed:
                    item.watching_audio = True
                    item.seen.discard("rtp")
                    self._sessions.ports.watch(item.number)

            item.timers.append(queue.schedule(item.switched_at + settings.audio_after_t38,
                                              watch_audio))


def _kind_name(media: str) -> str:
    return "T.38 (UDPTL)" if media == "image" else "RTP"


def _without_direction(media: Media) -> Media:
    """An offer of ours is sendrecv: the direction of an earlier answer does not carry over."""
    return replace(media, attributes=tuple(
        (name, value) for name, value in media.attributes
        if not (value is None and name.lower() in DIRECTIONS)))


def _t38_version(media: Media | None) -> int:
    """T38FaxVersion of an ``m=image`` section (ITU-T T.38 Annex D.2.3); 0 when absent."""
    if media is None:
        return 0
    for name, value in media.attributes:
        if name.lower() == "t38faxversion" and value is not None and value.strip().isdigit():
            return int(value.strip())
    return 0
