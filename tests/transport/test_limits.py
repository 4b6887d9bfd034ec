"""The limits of stream connections: checked values, and caps counted per server and source
with one report per refusal episode."""

from __future__ import annotations

import pytest

from sipfault.config import ServerConfig
from sipfault.transport.limits import DEFAULT_STREAM_LIMITS, ConnectionGate, StreamLimits


def test_the_defaults() -> None:
    limits = StreamLimits()
    assert (limits.max_connections, limits.max_per_source) == (1024, 64)
    assert (limits.idle_timeout, limits.header_timeout) == (300.0, 10.0)
    assert limits.write_buffer == 1024 * 1024
    assert ServerConfig().stream_limits == DEFAULT_STREAM_LIMITS == limits


@pytest.mark.parametrize("field, value", [
    ("max_connections", 0), ("max_per_source", -1), ("write_buffer", 1.5),
    ("max_connections", True), ("idle_timeout", 0), ("header_timeout", -2.0),
    ("idle_timeout", "10s"),
])
def test_a_bad_value_is_refused_with_its_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        StreamLimits(**{field: value})  # type: ignore[arg-type]


def test_the_cap_per_source_refuses_that_source_only_and_reports_once_per_episode() -> None:
    gate = ConnectionGate(StreamLimits(max_per_source=8))
    assert [gate.admit("10.0.0.1") for _ in range(8)] == [None] * 8
    first = gate.admit("10.0.0.1")
    assert first is not None and "8 connections open from 10.0.0.1" in first
    assert [gate.admit("10.0.0.1") for _ in range(100)] == [""] * 100  # refused, unreported
    assert gate.admit("10.0.0.2") is None  # another address is not held to it
    assert (gate.open, gate.from_source("10.0.0.1")) == (9, 8)
    gate.release("10.0.0.1")
    assert gate.admit("10.0.0.1") is None  # room again; the episode is not over
    assert gate.admit("10.0.0.1") == ""
    gate.release("10.0.0.1")
    gate.release("10.0.0.1")  # down to three quarters of the cap: the episode ends
    assert [gate.admit("10.0.0.1") for _ in range(2)] == [None] * 2
    assert gate.admit("10.0.0.1") not in (None, "")  # a new episode is reported


def test_the_cap_per_server_counts_every_source() -> None:
    gate = ConnectionGate(StreamLimits(max_connections=3))
    assert [gate.admit(f"10.0.0.{n}") for n in range(3)] == [None] * 3
    refusal = gate.admit("10.0.0.9")
    assert refusal is not None and "3 connections open, the most this server takes" in refusal
    assert gate.admit("10.0.0.8") == ""
    for n in range(3):
        gate.release(f"10.0.0.{n}")
    assert gate.open == 0 and gate.from_source("10.0.0.0") == 0
    assert [gate.admit("10.0.0.9") for _ in range(3)] == [None] * 3
    assert gate.admit("10.0.0.9") not in (None, "")


def test_a_cap_of_one_ends_its_episode_when_the_connection_closes() -> None:
    gate = ConnectionGate(StreamLimits(max_per_source=1))
    assert gate.admit("a") is None
    assert gate.admit("a")
    assert gate.admit("a") == ""
    gate.release("a")
    assert gate.admit("a") is None
    assert gate.admit("a")
