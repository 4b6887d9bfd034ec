"""Idle media sockets: a closed stream's socket stays bound and serves a later stream only once
it has been quiet for long enough, so a late datagram of one call never counts for the next.

The sockets are real (loopback); the pool's clock is the loop's, and the tests that depend on
time pass it explicitly to ``_reuse`` instead of waiting.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from sipfault.core.sessions import MediaPortError, StreamSpec
from sipfault.transport import media as media_module
from sipfault.transport.media import QUIET_BEFORE_REUSE, MediaSockets

Seen = list[tuple[int, str, tuple[str, int]]]


def spec(ports: tuple[int, int] | None = None) -> StreamSpec:
    return StreamSpec("call@test", 0, "audio", "127.0.0.1", None, False, ports, False)


def rtp(sequence: int) -> bytes:
    return bytes((0x80, 0)) + sequence.to_bytes(2, "big") + bytes(8) + b"\xff" * 160


async def settle(done: Callable[[], bool]) -> None:
    """Let the loop read what was sent, until ``done`` (bounded)."""
    for _ in range(500):
        if done():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the loop never read the datagram")


def sender() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def test_a_stream_reuses_a_socket_that_has_been_quiet() -> None:
    seen: Seen = []
    sockets = MediaSockets(lambda number, kind, source: seen.append((number, kind, source)))
    try:
        first = sockets.open(1, spec())
        sockets.close(1)
        assert sockets.idle == 1 and len(sockets) == 0
        # Too soon: a fresh socket, the idle one stays put.
        second = sockets.open(2, spec())
        assert second != first and sockets.idle == 1
        sockets.close(2)
        # Once quiet for long enough the oldest idle socket serves the next stream.
        loop = asyncio.get_running_loop()
        reused = sockets._reuse(("127.0.0.1", None), loop.time() + QUIET_BEFORE_REUSE)
        assert reused is not None and reused.port == first and sockets.idle == 1
        reused.close()
    finally:
        sockets.close_all()
    assert sockets.idle == 0


async def test_a_late_datagram_is_dropped_and_keeps_the_socket_out_of_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: Seen = []
    sockets = MediaSockets(lambda number, kind, source: seen.append((number, kind, source)))
    peer = sender()
    try:
        port = sockets.open(1, spec())
        peer.sendto(rtp(1), ("127.0.0.1", port))
        await settle(lambda: bool(seen))
        assert [(number, kind) for number, kind, _ in seen] == [(1, "rtp")]
        totals = sockets.close(1)
        assert totals.packets == 1
        (idle,) = sockets._idle[("127.0.0.1", None)]
        closed_at = idle.quiet_since
        assert closed_at is not None
        peer.sendto(rtp(2), ("127.0.0.1", port))  # the far end has not stopped yet
        await settle(lambda: idle.quiet_since != closed_at)
        assert len(seen) == 1  # reported nowhere
        assert idle.quiet_since is not None and idle.quiet_since > closed_at
        # Quiet time counts from the late datagram: not yet reusable a full period after close.
        assert sockets._reuse(("127.0.0.1", None), closed_at + QUIET_BEFORE_REUSE) is None
        monkeypatch.setattr(media_module, "QUIET_BEFORE_REUSE", 0.0)
        assert sockets.open(2, spec()) == port
        assert sockets.totals(2) is not None and sockets.totals(2).packets == 0  # type: ignore[union-attr]
        peer.sendto(rtp(3), ("127.0.0.1", port))
        await settle(lambda: len(seen) == 2)
        assert [(number, kind) for number, kind, _ in seen] == [(1, "rtp"), (2, "rtp")]
    finally:
        peer.close()
        sockets.close_all()


async def test_a_socket_still_hearing_from_its_call_lets_the_others_go_first() -> None:
    sockets = MediaSockets(lambda number, kind, source: None)
    try:
        noisy = sockets.open(1, spec())
        quiet = sockets.open(2, spec())
        sockets.close(1)
        sockets.close(2)
        queue = sockets._idle[("127.0.0.1", None)]
        assert [item.port for item in queue] == [noisy, quiet]
        assert queue[0].quiet_since is not None and queue[1].quiet_since is not None
        queue[0].quiet_since = queue[1].quiet_since + 0.5  # a datagram came after
        assert sockets._reuse(("127.0.0.1", None), queue[1].quiet_since + 0.1) is None
        assert [item.port for item in queue] == [quiet, noisy]
        later = queue[0].quiet_since + QUIET_BEFORE_REUSE
        reused = sockets._reuse(("127.0.0.1", None), later)
        assert reused is not None and reused.port == quiet
        reused.close()
    finally:
        sockets.close_all()


async def test_the_idle_sockets_are_bounded_and_trimmed() -> None:
    sockets = MediaSockets(lambda number, kind, source: None)
    sockets._idle_limit = 2
    ports = [sockets.open(number, spec()) for number in range(3)]
    for number in range(3):
        sockets.close(number)
    assert sockets.idle == 2
    free = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    free.bind(("127.0.0.1", ports[2]))  # the one past the bound was closed
    free.close()
    sockets.trim(keep=1)
    assert sockets.idle == 1
    sockets.trim()
    assert sockets.idle == 0
    for port in ports:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", port))
        probe.close()


async def test_a_port_range_taken_by_idle_sockets_reuses_the_longest_idle() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    base = probe.getsockname()[1] & ~1
    probe.close()
    sockets = MediaSockets(lambda number, kind, source: None)
    try:
        try:
            first = sockets.open(1, spec((base, base + 1)))
        except MediaPortError:
            pytest.skip(f"port {base} taken on this machine")
        sockets.close(1)
        # The range has one even port, held idle and not quiet yet: it serves anyway, rather
        # than a refusal.
        assert sockets.open(2, spec((base, base + 1))) == first
        with pytest.raises(MediaPortError):
            sockets.open(3, spec((base, base + 1)))
    finally:
        sockets.close_all()
