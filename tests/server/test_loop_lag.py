"""The endpoint measures its loop's lag for load shedding (``max_loop_lag``): a loop that
stalls, or a socket queue it reads late, starts shedding; shedding ends once the loop keeps up.

Everything talks to 127.0.0.1 only; waits poll with a deadline.
"""

from __future__ import annotations

import asyncio
import time

from sipfault.endpoint import Endpoint
from sipfault.record.records import Record, SheddingRecord
from tests.server.test_media_streams import until


async def test_a_loop_that_stays_late_sheds_load_and_a_single_stall_does_not() -> None:
    records: list[Record] = []
    async with Endpoint(max_loop_lag=0.1, transports=["udp"]) as endpoint:
        endpoint.add_listener(records.append)
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.2)
        assert not endpoint.uas.admission.shedding  # an idle loop is not late
        time.sleep(0.3)  # one stall, over by the time it is measured
        await asyncio.sleep(0.3)
        assert not endpoint.uas.admission.shedding

        def busy(turns: int) -> None:  # a loop busy 150 ms of every 160 for half a second
            time.sleep(0.15)
            if turns:
                loop.call_later(0.01, busy, turns - 1)

        busy(3)
        await until(lambda: endpoint.uas.admission.shedding, 2.0)
        await until(lambda: not endpoint.uas.admission.shedding, 5.0)
    began, ended = [r.shedding for r in records if isinstance(r, SheddingRecord)]
    assert began.active and began.reason == "loop-lag" and began.lag >= 0.1
    assert not ended.active and ended.lag < 0.05 and ended.duration >= 0.5


async def test_the_probe_datagrams_are_not_seen_as_sip() -> None:
    records: list[Record] = []
    async with Endpoint(max_loop_lag=0.5, transports=["udp"]) as endpoint:
        endpoint.add_listener(records.append)
        await asyncio.sleep(0.3)
        lag = endpoint.uas.admission.lag
    assert records == []  # no keep-alive, no drop: the probes stay out of the journal
    assert 0.0 <= lag < 0.5


async def test_a_queue_read_late_is_lag_though_timers_run_on_time() -> None:
    """Datagrams that wait in the socket queue are lag, measured by the probe."""
    async with Endpoint(max_loop_lag=0.1, transports=["udp"]) as endpoint:
        await asyncio.sleep(0.1)
        udp = endpoint._udp[(endpoint.host, endpoint.port)]
        transport = udp._transport
        assert transport is not None
        transport.pause_reading()  # type: ignore[attr-defined]
        await asyncio.sleep(0.6)  # timers run on time; the probe waits in the queue
        assert endpoint.uas.admission.shedding
        assert endpoint.uas.admission.lag >= 0.1
        transport.resume_reading()  # type: ignore[attr-defined]
        await until(lambda: not endpoint.uas.admission.shedding, 5.0)


async def test_workers_sharing_the_port_measure_their_timers_only_and_do_not_shed_idle() -> None:
    """Under SO_REUSEPORT the kernel may hand the probe datagram to another worker; one that
    never came back would look like a lag growing for ever, and every INVITE would get 503."""
    async with Endpoint(max_loop_lag=0.1, transports=["udp"], reuse_port=True) as endpoint:
        assert endpoint._probe_socket is None
        await asyncio.sleep(0.6)
        assert not endpoint.uas.admission.shedding
        assert 0.0 <= endpoint.uas.admission.lag < 0.1
