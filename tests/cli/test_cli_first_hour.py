"""``sipfault run`` errors a new user can act on: which address, which transport, which file,
and what to try instead; and the listening forms a new user types."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TLS_DIR = REPO / "tests" / "tls"
CERT = TLS_DIR / "cert.pem"
KEY = TLS_DIR / "key.pem"


def sipfault(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sipfault", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return sipfault("run", "scenarios/busy.yaml", *args)


def test_a_taken_udp_port_names_the_address_and_what_to_try() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run("--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr == (
        f"sipfault: cannot listen on udp 127.0.0.1:{port}: address already in use "
        "(another sipfault or SIP server?); try --listen 127.0.0.1:0\n")


def test_a_taken_tcp_port_names_tcp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"sipfault: cannot listen on tcp 127.0.0.1:{port}: "
                                    "address already in use")
    assert "Traceback" not in result.stderr


def test_an_address_the_machine_lacks_says_so() -> None:
    result = run("--listen", "192.0.2.1:5060")
    assert result.returncode == 1
    assert result.stderr == ("sipfault: cannot listen on udp 192.0.2.1:5060: "
                             "no such address on this machine\n")


def test_an_unbracketed_ipv6_address_and_port_gets_the_bracketed_form() -> None:
    result = run("--listen", "::1:5060")
    assert result.returncode == 2
    assert "[::1]:5060" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_bare_port_listens_on_loopback() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", "scenarios/busy.yaml", "--listen", f":{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert f"listening on 127.0.0.1:{port} (udp, tcp)" in first


def test_force_rport_answers_a_device_at_its_source_port() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", "scenarios/busy.yaml", "--listen",
         "127.0.0.1:0", "--transport", "udp", "--force-rport"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        port = int(first.split("listening on 127.0.0.1:", 1)[1].split()[0])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as device:
            device.bind(("127.0.0.1", 0))
            device.settimeout(5)
            device.sendto((
                b"OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
                b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-force\r\n"  # no rport, port 9
                b"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                b"Call-ID: cli-force\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                b"Content-Length: 0\r\n\r\n"), ("127.0.0.1", port))
            answer = device.recv(4096)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert answer.startswith(b"SIP/2.0 200 OK\r\n")


PREFIX = "sipfault: cannot load the TLS certificate and key: "


def tls_error(cert: Path, key: Path | None = None) -> str:
    args = ["--listen", "127.0.0.1:0", "--tls-cert", str(cert)]
    if key is not None:
        args += ["--tls-key", str(key)]
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(PREFIX) and "Traceback" not in result.stderr
    return result.stderr.removeprefix(PREFIX).rstrip("\n")


def test_a_missing_certificate_or_key_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    assert tls_error(missing, KEY) == f"--tls-cert {missing}: no such file"
    assert tls_error(CERT, missing) == f"--tls-key {missing}: no such file"


def test_files_that_are_not_pem_are_named(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a certificate\n")
    assert tls_error(text, KEY) == (
        f"--tls-cert {text}: not a PEM certificate (no -----BEGIN CERTIFICATE----- line)")
    assert tls_error(CERT, text) == (
        f"--tls-key {text}: not a PEM private key (no -----BEGIN PRIVATE KEY----- line)")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert tls_error(broken, KEY).startswith(f"--tls-cert {broken}: not a valid PEM certificate")
    assert tls_error(CERT).startswith(f"--tls-cert {CERT}: holds no private key")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads any file")
def test_an_unreadable_key_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "key.pem"
    locked.write_bytes(KEY.read_bytes())
    locked.chmod(0)
    assert tls_error(CERT, locked) == f"--tls-key {locked}: cannot be read (permission denied)"


def test_a_key_of_another_certificate_and_an_encrypted_key_are_named() -> None:
    other = TLS_DIR / "other-key.pem"
    assert tls_error(CERT, other) == f"--tls-key {other}: does not match the certificate {CERT}"
    encrypted = TLS_DIR / "encrypted-key.pem"
    assert tls_error(CERT, encrypted) == (
        f"--tls-key {encrypted}: the private key is encrypted (give one without a passphrase)")
