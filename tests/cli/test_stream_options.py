"""``sipfault run --tcp-...``: the limits of TCP and TLS connections from the command line."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sipfault.cli import build_parser
from sipfault.stream_options import stream_limits
from sipfault.transport.limits import DEFAULT_STREAM_LIMITS, StreamLimits

REPO = Path(__file__).resolve().parents[2]


def test_without_options_the_defaults() -> None:
    args = build_parser().parse_args(["run", "s.yaml"])
    assert stream_limits(args) == DEFAULT_STREAM_LIMITS


def test_each_option_sets_its_limit() -> None:
    args = build_parser().parse_args([
        "run", "s.yaml", "--tcp-max-connections", "10", "--tcp-max-per-source", "2",
        "--tcp-idle-timeout", "2m", "--tcp-header-timeout", "500ms",
        "--tcp-write-buffer", "65536",
    ])
    assert stream_limits(args) == StreamLimits(max_connections=10, max_per_source=2,
                                               idle_timeout=120.0, header_timeout=0.5,
                                               write_buffer=65536)


@pytest.mark.parametrize("option, value", [
    ("--tcp-max-connections", "0"), ("--tcp-max-per-source", "-3"),
    ("--tcp-idle-timeout", "0"), ("--tcp-header-timeout", "soon"),
    ("--tcp-write-buffer", "1.5"),
])
def test_a_bad_value_is_a_usage_error_naming_the_option(
    option: str, value: str, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["run", "s.yaml", option, value])
    assert caught.value.code == 2
    assert option in capsys.readouterr().err


def test_sipfault_run_closes_a_slow_header_and_a_connection_past_the_cap_and_says_so() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", "scenarios/busy.yaml", "--listen",
         "127.0.0.1:0", "--transport", "tcp", "--tcp-header-timeout", "200ms",
         "--tcp-max-per-source", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        port = int(first.split("listening on 127.0.0.1:", 1)[1].split()[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP")
            with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
                assert extra.recv(100) == b""  # past the cap of 1: closed unread
            started = time.monotonic()
            assert slow.recv(100) == b""  # the header never ends: closed at its deadline
            assert time.monotonic() - started < 5
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert "connection refused: 1 connections open from 127.0.0.1" in out
    assert "message header not complete within 0.2 s: connection closed with 47 bytes" in out
