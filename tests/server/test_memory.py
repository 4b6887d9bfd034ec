"""After a load the endpoint gives memory back (``sipfault.memory``), once nothing is live."""

from __future__ import annotations

import asyncio

import pytest

import sipfault.endpoint as endpoint_module
from sipfault.endpoint import BUSY_MESSAGES, Endpoint
from sipfault.memory import give_back
from sipfault.sip.address import parse_address
from sipfault.sip.memo import memos


def test_give_back_empties_the_memos() -> None:
    parse_address("<sip:alice@127.0.0.1>;tag=1")
    assert any(len(memo) for memo in memos())
    give_back()
    assert all(len(memo) == 0 for memo in memos())


async def test_housekeeping_gives_back_after_a_load_once_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given: list[bool] = []
    monkeypatch.setattr(endpoint_module, "give_back", lambda: given.append(True))
    async with Endpoint(transports=("udp",)) as endpoint:
        await asyncio.sleep(0)
        endpoint._housekeep()
        assert given == []  # no load since the start: nothing to give back
        endpoint._received = BUSY_MESSAGES
        endpoint._housekeep()
        assert given == [True]
        assert endpoint._received == 0
