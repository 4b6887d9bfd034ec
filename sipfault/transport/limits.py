"""Limits on stream connections (TCP and TLS), so that hostile peers cost bounded memory.

A server holds at most :attr:`StreamLimits.max_connections` connections, and at most
:attr:`StreamLimits.max_per_source` from one IP address; the :class:`ConnectionGate` counts
them and closes one past a cap before reading from it. Each refusal episode is reported once:
after the first refusal, more are refused silently until the count has fallen back to three
quarters of the cap, so a flood costs one journal record rather than one per connection.

The timeouts (idle, header) and the write-buffer bound are kept by each connection
(:mod:`sipfault.transport.tcp`) with one timer handle apiece.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_STREAM_LIMITS", "ConnectionGate", "StreamLimits"]


@dataclass(frozen=True)
class StreamLimits:
    """What one server allows its TCP and TLS peers (RFC 3261 §18.3 leaves it to the server)."""

    max_connections: int = 1024
    """Connections open at once, over TCP and TLS together; one more is closed unread."""

    max_per_source: int = 64
    """Connections open at once from one IP address; one more is closed unread."""

    idle_timeout: float = 300.0
    """Seconds without a byte either way after which a connection is closed. CRLF pings
    (RFC 5626 §4.4.1) are bytes: a client that keeps its flow alive keeps its connection."""

    header_timeout: float = 10.0
    """Seconds from the first byte of a message to the end of its header; a slower sender
    (byte-at-a-time, "slowloris") is closed, and the bytes it sent are journaled."""

    write_buffer: int = 1024 * 1024
    """Bytes waiting to be sent to a peer (beyond what the kernel holds) after which the
    peer is taken as one that never reads, and the connection is aborted."""

    def __post_init__(self) -> None:
        for name in ("max_connections", "max_per_source", "write_buffer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} (expected a whole number above 0)")
        for name in ("idle_timeout", "header_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name}={value!r} (expected a duration above 0 seconds)")


DEFAULT_STREAM_LIMITS = StreamLimits()
"""The limits a server keeps unless told otherwise."""


def _low_water(cap: int) -> int:
    """The count a refusal episode ends at: three quarters of the cap, and below it."""
    return min(cap * 3 // 4, cap - 1)


class ConnectionGate:
    """Counts a server's open stream connections, in all and per source address."""

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits
        self.open = 0
        """Connections admitted and not yet released."""
        self._by_source: dict[str, int] = {}
        self._server_episode = False
        self._source_episodes: set[str] = set()

    def from_source(self, source: str) -> int:
        """Connections open from ``source``."""
        return self._by_source.get(source, 0)

    def admit(self, source: str) -> str | None:
        """None when a connection from ``source`` may open (and is now counted); otherwise
        why not, the first time in an episode, or "" when this episode was reported."""
        limits = self.limits
        if self.open >= limits.max_connections:
            if self._server_episode:
                return ""
            self._server_episode = True
            return (f"connection refused: {self.open} connections open, the most this server "
                    f"takes; more are closed unread until some end")
        held = self._by_source.get(source, 0)
        if held >= limits.max_per_source:
            if source in self._source_episodes:
                return ""
            self._source_episodes.add(source)
            return (f"connection refused: {held} connections open from {source}, the most "
                    f"one address may hold; more are closed unread until some end")
        self.open += 1
        self._by_source[source] = held + 1
        return None

    def release(self, source: str) -> None:
        """A connection admitted from ``source`` has ended."""
        self.open -= 1
        held = self._by_source.get(source, 0) - 1
        if held > 0:
            self._by_source[source] = held
        else:
            self._by_source.pop(source, None)
        if self._server_episode and self.open <= _low_water(self.limits.max_connections):
            self._server_episode = False
        if (source in self._source_episodes
                and held <= _low_water(self.limits.max_per_source)):
            self._source_episodes.discard(source)
