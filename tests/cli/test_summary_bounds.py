"""The run summary stays small whatever the traffic: unknown methods count as ``other``, and
the ``live:`` line says what the server still holds.

A malformed-message suite once sent thousands of invented methods and the summary printed a
``requests:`` line of about 100 KB, one counter per method.
"""

from __future__ import annotations

import io
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.core.events import MediaTotals, Peer
from sipfault.endpoint import Endpoint
from sipfault.record.records import MediaRecord, to_record
from sipfault.reporting import (
    MEDIA_CALLS_LISTED,
    OTHER_METHOD,
    ConsoleReporter,
    counted_method,
)
from tests.peers.sipfault_cli import parse_summary

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (?P<host>[^\s:]+):(?P<port>\d+)")
CLIENT = Peer("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060))


def _request(method: str, n: int) -> bytes:
    return (
        f"{method} sip:bob@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{n};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:alice@127.0.0.1>;tag=f{n}\r\n"
        "To: <sip:bob@127.0.0.1>\r\n"
        f"Call-ID: c{n}\r\n"
        f"CSeq: 1 {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def test_known_methods_keep_their_names_and_the_rest_are_other() -> None:
    assert all(counted_method(method) == method for method in KNOWN_METHODS)
    assert counted_method("FOO") == counted_method("invite") == OTHER_METHOD


def test_thousands_of_invented_methods_make_one_counter() -> None:
    endpoint = Endpoint()  # not started: the UAS is fed here, as the sockets would
    reporter = ConsoleReporter(io.StringIO(), quiet=True)
    for n in range(5000):
        endpoint.uas.receive(_request(f"X{n:05d}GARBAGE", n), CLIENT, float(n) / 1000)
    endpoint.uas.receive(_request("OPTIONS", 99999), CLIENT, 5.0)
    for event in endpoint.uas.take_events():
        reporter.on_record(to_record(event, event.time))
    assert dict(reporter.counts.requests) == {OTHER_METHOD: 5000, "OPTIONS": 1}
    assert dict(reporter.counts.responses) == {501: 5000, 200: 1}
    out = io.StringIO()
    reporter.out = out
    reporter.print_summary(endpoint)
    text = out.getvalue()
    assert "requests: OPTIONS=1 other=5000\n" in text
    assert len(text) < 1000
    summary = parse_summary(text)
    assert summary.other["live"] == {
        "transactions": 5001, "dialogs": 0, "timers": 5001, "client_transactions": 0,
        "connections": 0,
    }


def test_sipfault_run_prints_other_and_live_in_its_summary() -> None:
    command = [sys.executable, "-m", "sipfault", "run", "scenarios/busy.yaml", "--listen",
               "127.0.0.1:0", "--transport", "udp", "--quiet"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        match = LISTENING.search(process.stdout.readline())
        assert match, "no listening line"
        address = (match["host"], int(match["port"]))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind(("127.0.0.1", 0))
            client.settimeout(5.0)
            for n in range(300):
                client.sendto(_request(f"BOGUS{n}", n), address)
                assert client.recv(65535).startswith(b"SIP/2.0 501 ")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    summary = parse_summary(out)
    assert summary.requests == {"other": 300}
    live = summary.other["live"]
    assert set(live) == {"transactions", "dialogs", "timers", "client_transactions",
                         "connections"}
    # Timer J (64*T1 = 0.64 s) may have ended some of the 300 transactions already.
    assert live["transactions"] <= 300
    assert live["dialogs"] == live["client_transactions"] == 0


def test_media_of_thousands_of_calls_is_totalled_and_only_the_last_calls_listed() -> None:
    """A load run's calls each stop a stream: the summary keeps the totals of all of them and
    the streams of the last ``MEDIA_CALLS_LISTED`` calls, not a line per call."""
    reporter = ConsoleReporter(io.StringIO(), quiet=True)
    for n in range(3000):
        reporter.on_record(MediaRecord(float(n), "stop", f"call-{n}", n, 0, "audio",
                                       totals=MediaTotals(packets=2, bytes=320, rtp=2)))
    counts = reporter.counts
    assert list(counts.media) == [f"call-{n}" for n in range(3000 - MEDIA_CALLS_LISTED, 3000)]
    assert (counts.media_calls, counts.media_streams, counts.media_packets,
            counts.media_bytes) == (3000, 3000, 6000, 960000)
    out = io.StringIO()
    reporter.out = out
    reporter.print_summary(Endpoint())
    text = out.getvalue()
    assert (f"media: 3000 calls, 3000 streams, 6000 packets, 960000 bytes "
            f"(the last {MEDIA_CALLS_LISTED} calls below)\n") in text
    assert text.count("media [call-") == MEDIA_CALLS_LISTED
    assert len(text) < 5000
