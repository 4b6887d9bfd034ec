"""Reproducible chaos: the same seed and the same client behaviour give the same faults on the
same messages.

SIPp places calls at a fixed rate into tests/integration/scenarios/chaos.yaml, where every
response to an INVITE may be lost, delayed or duplicated, each drawn per transmission. The run
is made twice with one seed and once with another; the journals' fault events, call by call (a
call named by its place among the calls, SIPp's Call-IDs differ between runs), must be equal for
the one seed and differ for the other. T1 is 200 ms: the faults' delays (at most 40 ms) and
SIPp's reactions stay well clear of the retransmission timers, so the client behaves the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.peers.fixtures import StartSipfault
from tests.peers.locate import SIPP_SCENARIOS
from tests.peers.sipp import run_sipp

pytestmark = pytest.mark.peer

CALLS = 12
FaultEvents = list[tuple[Any, ...]]


def _chaos_run(start_sipfault: StartSipfault, seed: int) -> tuple[FaultEvents, dict[str, int]]:
    """One run: the fault events per call in order, and the faults applied by name."""
    server = start_sipfault("tests/integration/scenarios/chaos.yaml", t1="200ms",
                            extra_args=["--seed", str(seed)])
    result = run_sipp(SIPP_SCENARIOS / "uac-chaos.xml", server.host, server.port,
                      calls=CALLS, rate=10, service="chaos", timeout=30)
    assert (result.successful, result.failed) == (CALLS, 0), server.explain(result)
    server.wait_for(lambda journal: journal.reached({"INVITE": CALLS, "ACK": CALLS}, None),
                    "every call acknowledged")
    server.stop()
    places: dict[str, int] = {}
    events: FaultEvents = []
    for record in server.journal.records:
        call_id = record.get("call_id")
        if record.get("type") == "message" and call_id is not None:
            places.setdefault(call_id, len(places) + 1)
        if record.get("type") == "fault_applied":
            events.append((places.get(call_id, 0), record["fault"], record["status"],
                           record["attempt"], record["emitted"], record["detail"]))
    counts: dict[str, int] = {}
    for event in events:
        counts[event[1]] = counts.get(event[1], 0) + 1
    return sorted(events, key=lambda event: event[0]), counts


def test_the_same_seed_gives_the_same_faults_on_the_same_messages(
    sipp: str, start_sipfault: StartSipfault
) -> None:
    first, counts = _chaos_run(start_sipfault, seed=2)
    second, _ = _chaos_run(start_sipfault, seed=2)
    other, _ = _chaos_run(start_sipfault, seed=7)

    # Every kind of chaos happened, on several calls.
    assert {"drop", "delay", "duplicate"} <= set(counts), counts
    assert len({event[0] for event in first}) > CALLS // 2, first
    assert first == second
    assert first != other
