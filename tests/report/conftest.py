"""Fixtures of the report's tests: one real exchange, run once per session, and the real
peers' fixtures (SIPp, PJSUA2, ``sipfault run``) of tests/peers."""

from __future__ import annotations

import pytest

from tests.peers.fixtures import pjsua2, sipp, start_sipfault
from tests.report.exchange import run_exchange

__all__ = ["exchange", "pjsua2", "sipp", "start_sipfault"]


@pytest.fixture(scope="session")
def exchange() -> list[dict[str, object]]:
    """The journal entries of tests/report/exchange.py's run (about three seconds)."""
    return run_exchange()
