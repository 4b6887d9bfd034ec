"""Records and the Recorder: core events to records, records to JSON lines and pcap, in unit
tests and in real runs.

The real runs start a server on 127.0.0.1 (an ephemeral port), talk to it over UDP and TCP with
plain sockets, and check the journal line by line and the capture with tshark.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sipfault import Server
from sipfault.core.events import (
    Finding,
    MessageDropped,
    MessageReceived,
    MessageSent,
    Peer,
    RequestUnmatched,
    RuleMatched,
)
from sipfault.record import JsonLinesWriter, OtherRecord, PcapWriter, Recorder, to_record
from sipfault.sip.message import Request
from sipfault.sip.parser import parse_message
from tests.testing.sip_client import SipClient

UDP_PEER = Peer("udp", ("127.0.0.1", 40000), ("127.0.0.1", 5060))
INVITE = (
    b"INVITE sip:alice@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKabc\r\n"
    b"Max-Forwards: 70\r\nFrom: <sip:bob@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\n"
    b"Call-ID: rec@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
)
BUSY = (
    b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKabc\r\n"
    b"From: <sip:bob@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>;tag=2\r\n"
    b"Call-ID: rec@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
)


def journal_object(event: Any, wall: float) -> dict[str, object]:
    """The journal's JSON object of one event."""
    return to_record(event, wall).to_json()


def rule_matched(time: float, rule: str = "r", call_id: str = "c") -> RuleMatched:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    return RuleMatched(time, rule, "INVITE", call_id, request, UDP_PEER)


# --- records, one event type at a time ------------------------------------------------------


def test_message_records() -> None:
    request = parse_message(INVITE)
    response = parse_message(BUSY)
    received = journal_object(MessageReceived(1.0, UDP_PEER, request, INVITE), 1000.5)
    assert received == {
        "time": 1000.5, "type": "message", "direction": "in", "transport": "udp",
        "src": {"host": "127.0.0.1", "port": 40000}, "dst": {"host": "127.0.0.1", "port": 5060},
        "retransmission": False, "first_line": "INVITE sip:alice@127.0.0.1:5060 SIP/2.0",
        "method": "INVITE", "call_id": "rec@test", "raw": INVITE,
    }
    sent = journal_object(MessageSent(2.0, UDP_PEER, response, BUSY, True), 1001.0)
    assert sent["direction"] == "out"
    assert sent["src"] == {"host": "127.0.0.1", "port": 5060}
    assert (sent["method"], sent["status"], sent["retransmission"]) == ("INVITE", 486, True)


def test_event_records() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    assert journal_object(RuleMatched(1.0, "busy", "INVITE", "rec@test", request, UDP_PEER),
                        5.0) == {
        "time": 5.0, "type": "rule", "rule": "busy", "method": "INVITE", "call_id": "rec@test",
        "transport": "udp", "src": {"host": "127.0.0.1", "port": 40000},
        "dst": {"host": "127.0.0.1", "port": 5060}}
    unmatched = journal_object(RequestUnmatched(1.0, request, UDP_PEER, 405), 5.0)
    assert (unmatched["type"], unmatched["method"], unmatched["status"]) == (
        "unmatched", "INVITE", 405)
    assert unmatched["uri"] == "sip:alice@127.0.0.1:5060"
    dropped = journal_object(MessageDropped(1.0, UDP_PEER, b"\xff junk", "unparsable"), 5.0)
    assert (dropped["type"], dropped["reason"], dropped["raw"]) == (
        "dropped", "unparsable", b"\xff junk")
    finding = journal_object(
        Finding(1.0, "no-ack", "no ACK", "rec@test", UDP_PEER, {"status": "486"}), 5.0)
    assert finding == {
        "time": 5.0, "type": "finding", "kind": "no-ack", "text": "no ACK",
        "call_id": "rec@test", "details": {"status": "486"}, "transport": "udp",
        "src": {"host": "127.0.0.1", "port": 40000}, "dst": {"host": "127.0.0.1", "port": 5060},
    }


def test_unknown_event_types_are_written_generically() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class TimerFired:
        time: float
        timer: str
        peer: Peer

    other = to_record(TimerFired(1.0, "H", UDP_PEER), 7.0)  # type: ignore[arg-type]
    assert isinstance(other, OtherRecord)
    record = other.to_json()
    assert record["type"] == "timer_fired"
    assert record["timer"] == "H"
    assert isinstance(record["peer"], str)
    json.dumps(record)


def test_a_failing_writer_stops_without_stopping_the_server() -> None:
    stream = io.StringIO()
    recorder = Recorder(JsonLinesWriter(stream))
    stream.close()  # every later write fails
    recorder.on_record(to_record(rule_matched(1.0), 1.0))
    recorder.on_record(to_record(rule_matched(2.0), 2.0))
    assert len(recorder.errors) == 1 and recorder.errors[0].startswith("journal:")


def test_pcap_records_each_message_with_its_direction() -> None:
    stream = io.BytesIO()
    recorder = Recorder(pcap=PcapWriter(stream))
    wall = 1_700_000_000.0
    request = parse_message(INVITE)
    recorder.on_record(to_record(MessageReceived(1.0, UDP_PEER, request, INVITE), wall + 1.0))
    recorder.on_record(to_record(rule_matched(1.0), wall + 1.0))  # not a packet
    recorder.on_record(to_record(MessageSent(1.5, UDP_PEER, parse_message(BUSY), BUSY),
                                 wall + 1.5))
    data = stream.getvalue()
    assert data.count(b"INVITE sip:alice") == 1 and data.count(b"486 Busy Here") == 1
    # Two records after the 24-byte global header: 16-byte record header, IPv4, UDP.
    first_ts = int.from_bytes(data[24:28], "little")
    assert first_ts == 1_700_000_001
    udp = data[24 + 16 + 20:24 + 16 + 28]
    assert int.from_bytes(udp[0:2], "big") == 40000 and int.from_bytes(udp[2:4], "big") == 5060


# --- a real run ------------------------------------------------------------------------------


@pytest.fixture
def tshark() -> str:
    """Path to tshark; missing, it fails the test under CI=true and skips it elsewhere."""
    path = shutil.which("tshark")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tshark is required under CI=true (install the tshark package)")
        pytest.skip("tshark is not installed")
    return path


def read_journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sip_frames(tshark: str, path: Path, port: int) -> list[tuple[str, int, int, str]]:
    """(transport, src port, dst port, method or status) of each frame tshark decodes as SIP."""
    fields = ["udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "sip.Method",
              "sip.Status-Code"]
    command = [tshark, "-n", "-2", "-r", str(path),
               "-d", f"udp.port=={port},sip", "-d", f"tcp.port=={port},sip",
               "-Y", "sip", "-T", "fields"]
    for field in fields:
        command += ["-e", field]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    frames = []
    for line in result.stdout.splitlines():
        usrc, udst, tsrc, tdst, method, status = line.split("\t")
        transport = "udp" if usrc else "tcp"
        frames.append((transport, int(usrc or tsrc), int(udst or tdst), method or status))
    return frames


def journal_messages(records: list[dict[str, Any]]) -> list[tuple[str, int, int, str]]:
    return [
        (r["transport"], r["src"]["port"], r["dst"]["port"],
         r["method"] if r["direction"] == "in" else str(r["status"]))
        for r in records if r["type"] == "message"
    ]


def exchange(server: Server, transport: str) -> tuple[int, list[int]]:
    """INVITE, its responses, the ACK; returns the client port and the statuses."""
    with SipClient(server.host, server.port, transport) as client:
        invite = client.request("INVITE", "alice", call_id=f"{transport}@test")
        client.send(invite)
        replies = client.until_final()
        client.send(client.ack_for(invite, replies[-1]))
        return client.local[1], [reply.status for reply in replies]


async def test_real_run_writes_journal_and_pcap(tmp_path: Path, tshark: str) -> None:
    journal_path, pcap_path = tmp_path / "run.jsonl", tmp_path / "run.pcap"
    started = time.time()
    async with Server() as server:
        recorder = Recorder.open(journal=journal_path, pcap=pcap_path)
        server.add_listener(recorder.on_record)
        server.on("INVITE").named("busy").reply(100, (486, {"Retry-After": 30}))
        ports = {}
        for transport in ("udp", "tcp"):
            ports[transport], statuses = await asyncio.to_thread(exchange, server, transport)
            assert statuses == [100, 486]
            await server.wait_for("ACK", count=len(ports))
        # Read the files while the server still runs: each line is already on disk.
        records = read_journal(journal_path)
        frames = sip_frames(tshark, pcap_path, server.port)
        recorder.close()
    finished = time.time()

    messages = [r for r in records if r["type"] == "message"]
    assert [(r["transport"], r["direction"], r.get("method"), r.get("status")) for r in messages
            ] == [
        (t, d, m, s) for t in ("udp", "tcp") for d, m, s in (
            ("in", "INVITE", None), ("out", "INVITE", 100), ("out", "INVITE", 486),
            ("in", "ACK", None))
    ]
    for record in messages:
        client = {"host": "127.0.0.1", "port": ports[record["transport"]]}
        here = {"host": "127.0.0.1", "port": server.port}
        ends = (client, here) if record["direction"] == "in" else (here, client)
        assert (record["src"], record["dst"]) == ends
        assert record["raw"].startswith(record["first_line"] + "\r\n")
        assert record["call_id"] == f"{record['transport']}@test"
        assert started - 1 <= record["time"] <= finished + 1
    assert "Retry-After: 30\r\n" in messages[2]["raw"]
    times = [r["time"] for r in records]
    assert times == sorted(times)
    rules = [r for r in records if r["type"] == "rule"]
    assert [(r["rule"], r["call_id"]) for r in rules] == [("busy", "udp@test"),
                                                          ("busy", "tcp@test")]
    assert frames == journal_messages(records)
    assert recorder.errors == []


class Output:
    """Lines a child process prints, read with a deadline (never a blocking read forever)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.fd = process.stdout.fileno()
        self.buffer = b""
        self.lines: list[str] = []

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            left = deadline - time.monotonic()
            assert left > 0, "waited in vain; output so far:\n" + "\n".join(self.lines)
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                assert chunk, "the process ended; output:\n" + "\n".join(self.lines)
                self.buffer += chunk
                *done, self.buffer = self.buffer.split(b"\n")
                self.lines += [line.decode() for line in done]


def test_killed_cli_run_keeps_its_journal_and_pcap(tmp_path: Path, tshark: str) -> None:
    scenario = tmp_path / "busy.yaml"
    scenario.write_text("rules: [{match: {method: INVITE}, reply: [100, 486]}]\n")
    journal_path, pcap_path = tmp_path / "run.jsonl", tmp_path / "run.pcap"
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", str(scenario), "--listen", "127.0.0.1:0",
         "--journal", str(journal_path), "--pcap", str(pcap_path)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        output = Output(process)
        # The first line is "sipfault 0.1.0 listening on 127.0.0.1:PORT (udp, tcp) ...".
        output.wait_for(lambda lines: bool(lines))
        assert "listening on 127.0.0.1:" in output.lines[0], output.lines
        port = int(output.lines[0].split("listening on 127.0.0.1:")[1].split()[0])
        for transport in ("udp", "tcp"):
            with SipClient("127.0.0.1", port, transport) as client:
                invite = client.request("INVITE", call_id=f"{transport}@cli")
                client.send(invite)
                replies = client.until_final()
                assert [reply.status for reply in replies] == [100, 486]
                client.send(client.ack_for(invite, replies[-1]))
        # The ACK has no answer: wait for the server's own line about each ACK, then kill it.
        output.wait_for(lambda lines: sum(" <- " in line and " ACK " in line
                                          for line in lines) == 2)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    records = read_journal(journal_path)
    assert len(journal_messages(records)) == 8
    assert sip_frames(tshark, pcap_path, port) == journal_messages(records)


def test_cli_journal_that_cannot_be_created(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from sipfault.cli import EXIT_USAGE, main

    scenario = tmp_path / "empty.yaml"
    scenario.write_text("rules: []\n")
    missing = tmp_path / "no" / "such" / "dir" / "run.jsonl"
    status = main(["run", str(scenario), "--listen", "127.0.0.1:0", "--journal", str(missing)])
    assert status == EXIT_USAGE
    assert "sipfault: cannot write the record:" in capsys.readouterr().err
