"""Pytest fixtures for tests against real SIP peers; conftest files re-export them.

def test_busy(start_sipfault, sipp):
    server = start_sipfault("scenarios/busy.yaml")
    result = sipp_call(server, "uac-busy.xml", service="486")
    server.finish(requests={"INVITE": 1, "ACK": 1}, responses={"100": 1, "180": 1, "486": 1})
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.peers.locate import require_pjsua2, require_sipp
from tests.peers.sipfault_cli import SipfaultProcess, run_sipfault

StartSipfault = Callable[..., SipfaultProcess]

#: T1 (RFC 3261 §17.1.1.1) for the peer tests: a conformant client ACKs well within it on
#: loopback, and Timer G's retransmissions of a final response come at 100 ms, 300 ms...
PEER_T1 = "100ms"
#: T4, hence Timer I over UDP (RFC 3261 §17.2.1): how long an INVITE transaction stays
#: Confirmed after its ACK, absorbing retransmitted ACKs; `finish()` waits for it to end.
PEER_T4 = "100ms"


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
    """Factory: `start_sipfault(scenario, transports=["udp"], tls=True, ...)` starts `sipfault
    run` on 127.0.0.1:0 with T1 `PEER_T1` and T4 `PEER_T4` (unless given) and returns the
    running process (host, port, `finish()`, `stop()`, `summary`). Options are the fields of
    `tests.peers.sipfault_cli.SipfaultOptions`.

    Whatever the test did not stop is stopped at teardown, where a non-zero exit status fails
    the test; sipfault's output is printed then, so a failing test shows its message log.
    """
    with contextlib.ExitStack() as stack:
        started: list[SipfaultProcess] = []

        def start(scenario: str | os.PathLike[str], **options: Any) -> SipfaultProcess:
            options = {"t1": PEER_T1, "t4": PEER_T4, **options}
            server = stack.enter_context(run_sipfault(scenario, **options))
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
