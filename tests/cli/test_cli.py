"""The sipfault command: run, validate, codes, --version; exit statuses and messages."""

from __future__ import annotations

import gc
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from sipfault import __version__
from sipfault.cli import GC_THRESHOLDS, collector_tuned_for_serving

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (?P<host>\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+)")


def sipfault(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sipfault", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def test_version() -> None:
    result = sipfault("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"sipfault {__version__}"


def test_validate_good_files() -> None:
    result = sipfault("validate", "scenarios/busy.yaml", "scenarios/codes.yaml")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["scenarios/busy.yaml: ok", "scenarios/codes.yaml: ok"]


def test_validate_reports_every_error_with_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "busy.yaml"
    bad.write_text(
        "name: busy\n"
        "rules:\n"
        "  - match: {method: INVITE}\n"
        "    reply:\n"
        "      - 100\n"
        "      - {code: 180, aftr: 200ms}\n"
        "      - {code: 999}\n"
    )
    result = sipfault("validate", str(bad))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == (f"{bad}:6:21: unknown key 'aftr' in reply step (expected one of: "
                        "after, body, by, bytes, code, count, fault, headers, max, min, omit, "
                        "probability, reason, reliable, sdp)")
    assert lines[1] == (f"{bad}:7:16: status code 999 is out of range (expected 100-699, "
                        "RFC 3261 §7.2, or a step with 'fault' to send it as a malformed message)")
    assert "Traceback" not in result.stderr


def test_validate_warnings_exit_zero(tmp_path: Path) -> None:
    file = tmp_path / "omit.yaml"
    file.write_text(
        "rules:\n  - match: {method: OPTIONS}\n    reply: [{code: 405, omit: [Allow]}]\n"
    )
    result = sipfault("validate", str(file))
    assert result.returncode == 0
    assert "warning: " in result.stderr and "Allow" in result.stderr


def test_run_with_a_bad_scenario_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [ {match: {method: INVITE}, reply: [abc]} ]\n")
    result = sipfault("run", str(bad), "--listen", "127.0.0.1:0")
    assert result.returncode == 2
    assert result.stderr.startswith(f"{bad}:1:")
    assert "Traceback" not in result.stderr


def test_run_with_a_missing_file_exits_2() -> None:
    result = sipfault("run", "no/such/file.yaml", "--listen", "127.0.0.1:0")
    assert result.returncode == 2
    assert "no/such/file.yaml" in result.stderr and "Traceback" not in result.stderr


def test_bad_arguments_exit_2() -> None:
    assert sipfault("run", "scenarios/busy.yaml", "--transport", "sctp").returncode == 2
    assert sipfault("run", "scenarios/busy.yaml", "--listen", "127.0.0.1:99999").returncode == 2


def test_codes_table_and_detail() -> None:
    table = sipfault("codes")
    assert table.returncode == 0
    assert re.search(r"^405\s+Method Not Allowed\s+RFC 3261 §21.4.6\s+Allow$", table.stdout, re.M)
    # Per-method requirements, as the detail view names them (RFC 3261 §21.2.1, RFC 6665).
    assert re.search(r"^200\s+OK\s.*Contact \(INVITE\)", table.stdout, re.M)
    detail = sipfault("codes", "423", "701")
    assert detail.returncode == 2  # explained, then refused
    assert "must carry:  Min-Expires" in detail.stdout
    assert "701: not a SIP response code" in detail.stderr
    assert sipfault("codes", "499").returncode == 0  # a SIP code, if not a catalogued one
    outside = sipfault("codes", "999")
    assert outside.returncode == 2 and "100-699" in outside.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_answers_and_exits_cleanly_on_signal(signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", "scenarios/busy.yaml", "--listen",
         "127.0.0.1:0", "--transport", "udp"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = LISTENING.search(first)
        assert found, first
        port = int(found.group("port"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind(("127.0.0.1", 0))
            client.settimeout(5)
            local = client.getsockname()[1]
            client.sendto((
                "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-cli\r\n"
                "From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                "Call-ID: cli-test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
            answer = client.recv(4096)
        assert answer.startswith(b"SIP/2.0 200 OK\r\n")
        line = process.stdout.readline()
        assert "<- udp 127.0.0.1:" in line and "OPTIONS sip:127.0.0.1 SIP/2.0 [cli-test]" in line
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "requests: OPTIONS=1" in out
    assert "responses: 200=1" in out


def test_run_exits_1_when_the_port_is_taken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = sipfault("run", "scenarios/busy.yaml", "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"sipfault: cannot listen on udp 127.0.0.1:{port}:")


def test_python_dash_m_works() -> None:
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "sipfault", "--help"], capture_output=True,
                            text=True, timeout=20, env=env, cwd=REPO)
    assert result.returncode == 0
    assert "run" in result.stdout and "validate" in result.stdout and "codes" in result.stdout


def test_serving_freezes_start_up_objects_and_collects_rarely_then_restores() -> None:
    before = gc.get_threshold()
    assert before != GC_THRESHOLDS
    with collector_tuned_for_serving():
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0  # start-up objects are out of every collection
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


TLS_DIR = REPO / "tests" / "tls"


def test_tls_without_a_certificate_exits_2() -> None:
    result = sipfault("run", "scenarios/busy.yaml", "--listen", "127.0.0.1:0",
                      "--transport", "udp,tls")
    assert result.returncode == 2
    assert "--tls-cert" in result.stderr and "Traceback" not in result.stderr


def test_an_unreadable_certificate_exits_2(tmp_path: Path) -> None:
    not_a_cert = tmp_path / "cert.pem"
    not_a_cert.write_text("not a certificate\n")
    for cert in (tmp_path / "missing.pem", not_a_cert):
        result = sipfault("run", "scenarios/busy.yaml", "--listen", "127.0.0.1:0",
                          "--tls-cert", str(cert))
        assert result.returncode == 2
        assert result.stderr.startswith("sipfault: cannot load the TLS certificate and key:")
        assert "Traceback" not in result.stderr


def test_a_certificate_adds_tls_on_its_own_port_and_it_answers() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", "scenarios/busy.yaml", "--listen",
         "127.0.0.1:0", "--tls-cert", str(TLS_DIR / "cert.pem"),
         "--tls-key", str(TLS_DIR / "key.pem")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+) \(udp, tcp\), "
                          r"tls on 127\.0\.0\.1:(\d+) scenario busy", first)
        assert found, first
        tls_port = int(found.group(2))
        assert tls_port != int(found.group(1))
        context = ssl.create_default_context(cafile=TLS_DIR / "cert.pem")
        with socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as client:
            local = client.getsockname()[1]
            client.sendall((
                "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS 127.0.0.1:{local};branch=z9hG4bK-clitls\r\n"
                "From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                "Call-ID: cli-tls\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n").encode())
            answer = client.recv(4096)
        assert answer.startswith(b"SIP/2.0 200 OK\r\n")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "<- tls 127.0.0.1:" in out
    assert "requests: OPTIONS=1" in out
