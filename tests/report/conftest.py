"""Fixtures of the report's tests: one real exchange, run once per session."""

from __future__ import annotations

import pytest

from tests.report.exchange import run_exchange


@pytest.fixture(scope="session")
def exchange() -> list[dict[str, object]]:
    """The journal entries of tests/report/exchange.py's run (about three seconds)."""
    return run_exchange()
