"""Pytest fixtures for tests against real SIP peers; conftest files re-export them.

def test_busy(start_sipfault, sipp):
    server = start_sipfault("scenarios/busy.yaml")
    result = run_sipp(UAC_BUSY, server.host, server.port)
    server.stop()
    assert server.summary.responses["486"] == 1
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from tests.peers.locate import require_pjsua2, require_sipp
from tests.peers.sipfault_cli import SipfaultProcess, run_sipfault

StartSipfault = Callable[..., SipfaultProcess]


@pytest.fixture
def sipp() -> str:
    """Path of the SIPp binary; skips the test (fails it under CI=true) when SIPp is missing."""
    return require_sipp()


@pytest.fixture
def pjsua2() -> None:
    """Skips the test (fails it under CI=true) when the pjsua2 module is not installed."""
    require_pjsua2()


@pytest.fixture
def start_sipfault() -> Iterator[StartSipfault]:
    """Factory: `start_sipfault(scenario, t1="100ms", transports=["udp"])` starts `sipfault
    run` on 127.0.0.1:0 and returns the running process (host, port, `stop()`, `summary`).

    Whatever the test did not stop is stopped at teardown, where a non-zero exit status fails
    the test; sipfault's output is printed then, so a failing test shows its message log.
    """
    with contextlib.ExitStack() as stack:
        started: list[SipfaultProcess] = []

        def start(
            scenario: str | os.PathLike[str],
            *,
            transports: Sequence[str] | None = None,
            t1: str | None = None,
            **options: Any,
        ) -> SipfaultProcess:
            server = stack.enter_context(
                run_sipfault(scenario, transports=transports, t1=t1, **options)
            )
            started.append(server)
            return server

        try:
            yield start
        finally:
            for server in started:
                with contextlib.suppress(AssertionError):
                    server.stop()
                print(f"--- sipfault {server.hostport} (exit {server.returncode}) ---")
                print(server.output)
