"""`sipfault faults`, `sipfault findings`, and `run --duration` / `--fail-on-findings` for CI."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from sipfault.model.faults import FAULTS
from sipfault.model.findings import FINDINGS

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (?P<host>[^\s:]+):(?P<port>\d+)")


def sipfault(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sipfault", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def test_faults_lists_every_fault_with_its_line() -> None:
    result = sipfault("faults")
    assert result.returncode == 0
    for name, kind in FAULTS.items():
        assert re.search(rf"^  {re.escape(name)} +\[[a-z,]+\] {re.escape(kind.description)}$",
                         result.stdout, re.M), name


def test_faults_name_shows_its_parameters_and_an_unknown_name_exits_2() -> None:
    result = sipfault("faults", "delay")
    assert result.returncode == 0
    assert "    by: a fixed delay" in result.stdout and "drop " not in result.stdout
    result = sipfault("faults", "nope")
    assert result.returncode == 2
    assert "unknown fault 'nope'" in result.stderr


def test_findings_lists_every_kind_with_its_section() -> None:
    result = sipfault("findings")
    assert result.returncode == 0
    for kind, entry in FINDINGS.items():
        line = next(line for line in result.stdout.splitlines() if line.split()[:1] == [kind])
        assert entry.section in line or not entry.section


def _run(*extra: str, send: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """`sipfault run scenarios/busy.yaml` on a free port for 1.5 s, sending ``send`` to it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", "scenarios/busy.yaml", "--listen",
         "127.0.0.1:0", "--duration", "1.5s", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout is not None
    first = process.stdout.readline()
    found = LISTENING.search(first)
    assert found, first
    if send is not None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(send, ("127.0.0.1", int(found["port"])))
    start = time.monotonic()
    stdout, stderr = process.communicate(timeout=20)
    assert time.monotonic() - start < 10
    return subprocess.CompletedProcess(process.args, process.returncode, first + stdout, stderr)


STRAY_ACK = (
    b"ACK sip:nobody@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKstray\r\n"
    b"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\n"
    b"Call-ID: stray\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
)


def test_duration_stops_the_run_by_itself_with_a_summary() -> None:
    result = _run()
    assert result.returncode == 0, result.stderr
    assert "summary: scenario busy" in result.stdout


def test_fail_on_findings_exits_3_when_the_client_did_something_wrong() -> None:
    result = _run("--fail-on-findings", send=STRAY_ACK)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "findings: stray-ack=1" in result.stdout
    assert "(RFC 3261 §17.2.3)" in result.stdout  # printed live with its section


def test_fail_on_findings_exits_0_without_findings_and_findings_alone_do_not_fail() -> None:
    assert _run("--fail-on-findings").returncode == 0
    assert _run(send=STRAY_ACK).returncode == 0
