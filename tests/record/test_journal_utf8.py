"""The journal file is UTF-8 JSON lines that any reader takes, whatever bytes the client sent.

Bytes that are not UTF-8 in a method, a Request-URI, a Call-ID or a header value are written as
``\\xNN`` text, never as lone surrogates (which strict UTF-8 decoders and ``jq`` refuse); the
exact bytes stay in ``raw`` as base64.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sipfault.record.jsonl import JsonLinesWriter, valid_text

REPO = Path(__file__).resolve().parents[2]


def raw_request(method: bytes, uri: bytes, call_id: bytes, cseq_method: bytes | None = None,
                extra: bytes = b"") -> bytes:
    return (
        method + b" " + uri + b" SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK" + os.urandom(4).hex().encode()
        + b";rport\r\n"
        b"Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=1\r\n"
        b"To: <sip:callee@127.0.0.1>\r\nCall-ID: " + call_id + b"\r\n"
        b"CSeq: 1 " + (cseq_method or method) + b"\r\n" + extra + b"Content-Length: 0\r\n\r\n"
    )


BAD_REQUESTS = [
    # a method with a byte that is not UTF-8 (in the Request-Line and the CSeq)
    raw_request(b"OP\xa8IONS", b"sip:a@127.0.0.1", b"method@test"),
    # ... in the CSeq only: the 400 names the mismatch, its CSeq method is not UTF-8
    raw_request(b"OPTIONS", b"sip:a@127.0.0.1", b"cseq@test", cseq_method=b"OPT\xe9ONS"),
    # a Request-URI
    raw_request(b"INVITE", b"sip:caf\xe9@127.0.0.1", b"uri@test"),
    # a Call-ID
    raw_request(b"OPTIONS", b"sip:a@127.0.0.1", b"call\xff\xfe@test"),
    # a header value, in a request no rule takes (its default answer is journaled too)
    raw_request(b"MESSAGE", b"sip:a@127.0.0.1", b"header@test", extra=b"Subject: caf\xe9\r\n"),
    # a Call-ID in a request that sipfault refuses as malformed (a finding names it)
    raw_request(b"OPTIONS", b"sip:a@127.0.0.1", b"bad\xc3@test", extra=b"Max-Forwards: x\r\n"),
]


def read_line(fd: int, deadline: float, buffer: list[bytes]) -> str:
    """One line of the child's output, waiting at most until ``deadline``."""
    while b"\n" not in buffer[0]:
        left = deadline - time.monotonic()
        assert left > 0, f"no line from sipfault in time; got {buffer[0]!r}"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"sipfault ended; output {buffer[0]!r}"
            buffer[0] += chunk
    line, buffer[0] = buffer[0].split(b"\n", 1)
    return line.decode("utf-8", "replace")


def test_a_real_run_journals_bytes_that_are_not_utf8_as_valid_json(tmp_path: Path) -> None:
    scenario = tmp_path / "invite.yaml"
    scenario.write_text("rules: [{match: {method: INVITE, user: alice}, reply: [486]}]\n")
    journal = tmp_path / "run.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "sipfault", "run", str(scenario), "--listen", "127.0.0.1:0",
         "--transport", "udp", "--journal", str(journal)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        # A strict console too: a line with bytes that are not UTF-8 must not stop the run.
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8:strict"},
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        buffer = [b""]
        first = read_line(process.stdout.fileno(), time.monotonic() + 10, buffer)
        port = int(first.split("listening on 127.0.0.1:")[1].split()[0])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.bind(("127.0.0.1", 0))
            for data in BAD_REQUESTS:
                sock.sendto(data, ("127.0.0.1", port))
            # Each is answered (400, 404, 405...) except the unreadable method, which is
            # dropped; a last OPTIONS shows that everything before it was handled.
            sock.sendto(raw_request(b"OPTIONS", b"sip:a@127.0.0.1", b"last@test"),
                        ("127.0.0.1", port))
            while b"last@test" not in sock.recv(65536):
                pass
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err.decode("utf-8", "replace")
    assert b"Traceback" not in err, err.decode("utf-8", "replace")
    lines = journal.read_bytes().decode("utf-8").splitlines()  # strict: raises if not UTF-8
    records = [json.loads(line) for line in lines]
    assert len(records) >= 2 * len(BAD_REQUESTS)
    for line, record in zip(lines, records, strict=True):
        for text in strings(record):
            text.encode("utf-8")  # no lone surrogate anywhere, keys included
        assert "\\ud" not in line, line
    methods = {record.get("method") for record in records}
    assert "OPT\\xe9ONS" in methods
    call_ids = {record.get("call_id") for record in records}
    assert {"call\\xff\\xfe@test", "bad\\xc3@test"} <= call_ids
    assert any(record.get("uri") == "sip:a@127.0.0.1" and record.get("method") == "MESSAGE"
               for record in records)
    raws = [record["raw"] for record in records if isinstance(record.get("raw"), dict)]
    assert any(base64.b64decode(raw["base64"]) == BAD_REQUESTS[4] for raw in raws)
    jq = shutil.which("jq")
    if jq is None:
        if os.environ.get("CI"):
            pytest.fail("jq is not installed (apt-get install -y jq)")
        pytest.skip("jq is not installed")
    result = subprocess.run([jq, "-c", "."], input=journal.read_bytes(), capture_output=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()] == records


def strings(value: object) -> list[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value.keys(), *(s for item in value.values() for s in strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def test_valid_text_escapes_what_was_not_utf8_and_keeps_the_rest() -> None:
    assert valid_text(b"OP\xa8IONS".decode("utf-8", "surrogateescape")) == "OP\\xa8IONS"
    assert valid_text("Müller ✓") == "Müller ✓"
    assert valid_text("lone \ud800 high") == "lone \\ud800 high"  # not from bytes at all


def test_every_string_of_a_record_is_made_valid_keys_and_nested_values_too() -> None:
    bad = b"caf\xe9".decode("utf-8", "surrogateescape")
    stream = io.StringIO()
    JsonLinesWriter(stream).write({"details": {bad: [bad]}, "reason": bad})
    assert json.loads(stream.getvalue()) == {"details": {"caf\\xe9": ["caf\\xe9"]},
                                             "reason": "caf\\xe9"}
    assert "\\u" not in stream.getvalue()
