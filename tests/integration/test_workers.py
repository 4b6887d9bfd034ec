"""`sipfault run --workers N`: N processes on one port, one console, summary, journal, pcap.

Clients are raw sockets on 127.0.0.1, each UDP one on its own source port: SO_REUSEPORT hashes
a UDP flow to one worker, so an INVITE, its retransmission and the ACK of its 486 all meet one
transaction (no stray ACK, one INVITE counted per call), and many flows reach both workers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sipfault import cli, workers
from tests.integration.raw_sip import Arrival, RawClient
from tests.peers.locate import REPO_ROOT
from tests.peers.output import LineCollector, spawn
from tests.peers.sipfault_cli import LISTENING_RE, TLS_FILES, TLS_LISTENING_RE, parse_summary

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SO_REUSEPORT spreads load on Linux")

SCENARIO = """\
name: workers
rules:
  - name: busy
    match: {method: INVITE}
    reply:
      - 100
      - {code: 486, after: 300ms}
"""
UDP_CALLS = 16
TCP_CALLS = 12
WORKER_RE = re.compile(r"worker (?P<name>w\d+): pid=(?P<pid>\d+) seed=(?P<seed>\d+) "
                       r"calls=(?P<calls>\d+) requests=(?P<requests>\d+) "
                       r"responses=(?P<responses>\d+)")
STARTED_RE = re.compile(r"(?P<name>w\d+) pid=(?P<pid>\d+) seed=(?P<seed>\d+)")
#: "w1 00:12:01.250 <- tcp 127.0.0.1:40120 INVITE sip:bob@... SIP/2.0 [call-3]"
CONSOLE_RE = re.compile(r"^(?P<worker>w\d+) \S+ (?P<arrow><-|->) (?P<transport>udp|tcp) "
                        r".* \[(?P<call>call-\d+)\]")


@dataclass
class Running:
    process: subprocess.Popen[str]
    port: int
    listening: str
    stdout: LineCollector
    stderr: LineCollector

    @property
    def pids(self) -> dict[str, int]:
        return {m["name"]: int(m["pid"]) for m in STARTED_RE.finditer(self.listening)}

    def stop(self, signum: int = signal.SIGINT, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        status = self.process.wait(timeout)
        self.stdout.join(5)
        self.stderr.join(5)
        return status

    @property
    def output(self) -> str:
        return f"{self.stdout.text}\n--- stderr ---\n{self.stderr.text}"


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "workers.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@contextmanager
def run_workers(scenario: Path, *extra: str) -> Iterator[Running]:
    command = [sys.executable, "-m", "sipfault", "run", str(scenario), "--listen",
               "127.0.0.1:0", "--workers", "2", *extra]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    process = spawn(command, cwd=REPO_ROOT, env=env)
    stdout = LineCollector(process.stdout, "workers-stdout")  # type: ignore[arg-type]
    stderr = LineCollector(process.stderr, "workers-stderr")  # type: ignore[arg-type]
    match = stdout.wait_for(LISTENING_RE, 30)
    running = Running(process, int(match["port"]) if match else 0,
                      match.string if match else "", stdout, stderr)
    try:
        assert match is not None, f"no listening line\n{running.output}"
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def wait_status(client: RawClient, status: int, timeout: float = 10.0) -> Arrival:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for arrival in client.collect(0.2, until=1):
            # A stream read may hold several responses: the 100 and the 486 together.
            start = arrival.data.find(f"SIP/2.0 {status} ".encode())
            if start >= 0:
                return Arrival(arrival.at, arrival.data[start:])
    raise AssertionError(f"no {status} within {timeout} s on {client.local}")


def busy_calls(clients: list[RawClient], call_ids: list[str]) -> None:
    """Every client's INVITE at once (sent twice over UDP), then each 486 and its ACK on the
    INVITE's branch."""
    invites = [client.request("INVITE", call_id=call_id, branch=f"z9hG4bK{call_id}",
                              from_tag=call_id)
               for client, call_id in zip(clients, call_ids, strict=True)]
    for client, invite in zip(clients, invites, strict=True):
        client.send(invite)
    time.sleep(0.05)
    for client, invite in zip(clients, invites, strict=True):
        if client.transport == "udp":
            client.send(invite)
    for client, call_id in zip(clients, call_ids, strict=True):
        busy = wait_status(client, 486)
        client.send(client.request("ACK", call_id=call_id, branch=f"z9hG4bK{call_id}",
                                   from_tag=call_id, to_tag=busy.to_tag, cseq_method="ACK"))


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def pcap_times(path: Path) -> list[float]:
    data = path.read_bytes()
    offset, times = 24, []
    while offset + 16 <= len(data):
        seconds, micros, kept, _ = struct.unpack_from("<IIII", data, offset)
        times.append(seconds + micros / 1e6)
        offset += 16 + kept
    assert offset == len(data)
    return times


def test_calls_spread_over_two_workers_and_come_back_as_one_run(scenario: Path,
                                                                 tmp_path: Path) -> None:
    journal, pcap = tmp_path / "run.jsonl", tmp_path / "run.pcap"
    call_ids = [f"call-{n}" for n in range(UDP_CALLS + TCP_CALLS)]
    with run_workers(scenario, "--seed", "7", "--journal", str(journal), "--pcap",
                     str(pcap)) as running, ExitStack() as stack:
        assert {m["name"]: int(m["seed"]) for m in STARTED_RE.finditer(running.listening)} \
            == {"w0": 7, "w1": 8}, running.listening
        pids = running.pids
        clients = [stack.enter_context(RawClient("127.0.0.1", running.port, transport))
                   for transport in ["udp"] * UDP_CALLS + ["tcp"] * TCP_CALLS]
        busy_calls(clients, call_ids)
        time.sleep(0.3)  # the last ACKs on their way
        status = running.stop()
        output = running.output
    assert status == 0, output
    summary = parse_summary(output)
    calls = UDP_CALLS + TCP_CALLS
    assert summary.requests == {"INVITE": calls, "ACK": calls}, output
    assert summary.responses == {"100": calls, "486": calls}, output
    assert summary.other["retransmissions"]["in"] == UDP_CALLS, output
    assert summary.findings == {}, output  # an ACK that missed its transaction is stray
    per_worker = {m["name"]: m for m in WORKER_RE.finditer(output)}
    assert set(per_worker) == {"w0", "w1"}, output
    assert all(int(m["calls"]) > 0 for m in per_worker.values()), output
    assert sum(int(m["calls"]) for m in per_worker.values()) == calls
    assert sum(int(m["requests"]) for m in per_worker.values()) == 2 * calls
    assert sum(int(m["responses"]) for m in per_worker.values()) == 2 * calls
    assert {name: int(m["seed"]) for name, m in per_worker.items()} == {"w0": 7, "w1": 8}
    assert all(gone(pid) for pid in pids.values()), pids
    served: dict[str, set[str]] = {}
    by_transport: dict[str, set[str]] = {"udp": set(), "tcp": set()}
    for line in output.splitlines():
        shown = CONSOLE_RE.match(line)
        if shown:
            served.setdefault(shown["call"], set()).add(shown["worker"])
            by_transport[shown["transport"]].add(shown["worker"])
    assert set(served) == set(call_ids), output
    assert all(len(names) == 1 for names in served.values()), served  # one worker per call
    assert by_transport == {"udp": {"w0", "w1"}, "tcp": {"w0", "w1"}}, served

    records = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    times = [record["time"] for record in records]
    assert times == sorted(times)
    assert records[0]["type"] == "run" and records[-1]["type"] == "summary"
    assert [record["type"] for record in records].count("run") == 1
    assert [(w["worker"], w["seed"], w["pid"]) for w in records[0]["workers"]] == [
        (0, 7, pids["w0"]), (1, 8, pids["w1"])]
    assert records[0]["seed"] == 7
    assert records[-1]["requests"] == {"ACK": calls, "INVITE": calls}
    received = {record["call_id"] for record in records
                if record["type"] == "message" and record.get("method") == "INVITE"}
    assert received == set(call_ids)
    packets = pcap_times(pcap)
    assert packets == sorted(packets)
    assert len(packets) >= 4 * calls  # INVITE, 100, 486, ACK each (TCP adds handshakes)
    assert not list(tmp_path.glob("run.*.w*")), "the per-worker parts are merged and removed"


def test_duration_ends_the_run_and_findings_fail_it(scenario: Path) -> None:
    certificate, key = (str(path) for path in TLS_FILES)
    with run_workers(scenario, "--duration", "2s", "--fail-on-findings", "--quiet",
                     "--tls-cert", certificate, "--tls-key", key) as running:
        tls = TLS_LISTENING_RE.search(running.listening)
        assert tls is not None, running.listening  # every worker listens with TLS too
        with RawClient("127.0.0.1", running.port) as client:
            client.send(client.request("ACK", call_id="stray", to_tag="none"))
        with RawClient("127.0.0.1", int(tls["port"]), "tls") as client:
            client.send(client.request("OPTIONS"))
            assert wait_status(client, 200, timeout=2.0)
        pids = running.pids
        status = running.process.wait(30)
        running.stdout.join(5)
    assert status == cli.EXIT_FINDINGS, running.output
    summary = parse_summary(running.output)
    assert summary.findings == {"stray-ack": 1}, running.output
    assert summary.requests == {"ACK": 1, "OPTIONS": 1}, running.output
    assert all(gone(pid) for pid in pids.values())


def test_a_worker_that_dies_fails_the_run(scenario: Path) -> None:
    with run_workers(scenario, "--quiet") as running:
        pids = running.pids
        os.kill(pids["w1"], signal.SIGKILL)
        status = running.process.wait(30)
        running.stdout.join(5)
        running.stderr.join(5)
    assert status == cli.EXIT_FAILURE, running.output
    assert "worker w1" in running.stderr.text
    assert all(gone(pid) for pid in pids.values())


def test_workers_refused_without_so_reuseport_with_http_or_below_one(scenario: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(scenario), "--workers", "2", "--http", "127.0.0.1:0"]) \
        == cli.EXIT_USAGE
    assert "--http serves one process" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", str(scenario), "--workers", "0"])
    assert exited.value.code == cli.EXIT_USAGE
    monkeypatch.setattr(workers, "reuse_port_missing", lambda: True)
    assert cli.main(["run", str(scenario), "--workers", "2"]) == cli.EXIT_USAGE
    assert "SO_REUSEPORT" in capsys.readouterr().err


def test_derived_seeds() -> None:
    assert [workers.worker_seed(7, index) for index in range(3)] == [7, 8, 9]
    assert workers.worker_seed(None, 1) is None
