"""A transmission a scenario fault dropped or altered is shown where the message would have
been, on the console and in the Python API's ladder, and the summary counts faults and the
responses they withheld."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable

from sipfault import Server
from sipfault.record.records import FaultRecord, MessageRecord
from sipfault.reporting import ConsoleReporter
from sipfault.scenario.loader import load_scenario_text
from tests.testing.sip_client import SipClient

SCENARIO = """
name: faults
rules:
  - match: {method: INVITE, user: drop}
    reply: [100, 180, {code: 200, sdp: answer, fault: drop-first}]
  - match: {method: INVITE, user: cut}
    reply: [{code: 486, fault: truncate}]
"""


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) until ``condition()`` holds, yielding to the server meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        await asyncio.sleep(0.01)


def without_clock(text: str) -> list[str]:
    return [re.sub(r"^\d\d:\d\d:\d\d\.\d{3} ", "", line) for line in text.splitlines()]


async def test_a_dropped_and_an_altered_response_on_the_console_ladder_and_summary() -> None:
    out = io.StringIO()
    console = ConsoleReporter(out)
    async with Server(load_scenario_text(SCENARIO), t1=0.05) as server:
        server.add_listener(console.on_record)
        with SipClient(server.host, server.port) as client:
            udp_port = client.local[1]
            invite = client.request("INVITE", "drop", call_id="drop@test")
            client.send(invite)
            replies = await asyncio.to_thread(client.until_final)
            assert [reply.status for reply in replies] == [100, 180, 200]  # on Timer G
            client.send(client.ack_for(invite, replies[-1]))
            await server.wait_for("ACK")
        with SipClient(server.host, server.port, "tcp") as client:
            tcp_port = client.local[1]
            client.send(client.request("INVITE", "cut", call_id="cut@test"))
            await until(lambda: any(isinstance(r, MessageRecord) and r.status == 486
                                    for r in server.journal.records))
        console.print_summary(server)
        ladder = server.ladder()
    lines = without_clock(out.getvalue())
    dropped = [line for line in lines if "[dropped by fault" in line]
    assert dropped == [f"-> udp 127.0.0.1:{udp_port} SIP/2.0 200 OK [drop@tes] "
                       "[dropped by fault drop-first]"]
    altered = [line for line in lines if "[altered by fault" in line]
    assert altered == [f"-> tcp 127.0.0.1:{tcp_port} SIP/2.0 486 Busy Here [cut@test] "
                       "[altered by fault truncate]"]
    # The console's order: 180, the withheld 200, then the 200 that went out on Timer G.
    sent_200 = [line for line in lines if "SIP/2.0 200 OK" in line]
    assert sent_200[0] == dropped[0] and sent_200[1].endswith("(retransmission)")
    for line in dropped + altered:  # the API's ladder shows the same lines
        assert line in ladder
    assert "responses: 100=1 180=1 200=1 486=1 (withheld by faults: 200=1)" in lines
    assert "faults: drop-first=1 truncate=1" in lines
    assert "retransmissions: in=0 out=0" in lines  # the 200 that went out is its first copy
    faults = [r for r in server.journal.records if isinstance(r, FaultRecord)]
    record = faults[0].to_json()
    assert {key: record[key] for key in ("type", "fault", "effect", "attempt", "emitted",
                                         "status", "method", "call_id")} == {
        "type": "fault_applied", "fault": "drop-first", "effect": "dropped", "attempt": 0,
        "emitted": 0, "status": 200, "method": "INVITE", "call_id": "drop@test"}
    cut = next(r for r in server.journal.records
               if isinstance(r, MessageRecord) and r.status == 486)
    assert cut.to_json()["fault"] == {"name": "truncate", "effect": "altered"}
