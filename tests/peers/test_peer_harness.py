"""The harness's parsers, without any peer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.peers.journal import JournalFile
from tests.peers.locate import REPO_ROOT
from tests.peers.sipfault_cli import LISTENING_RE, SipfaultOptions, parse_summary
from tests.peers.sipp import parse_stat_csv


@pytest.mark.parametrize(
    ("line", "host", "port"),
    [
        (
            "sipfault 0.1.0 listening on 127.0.0.1:40123 (udp, tcp) scenario busy",
            "127.0.0.1",
            "40123",
        ),
        ("listening on [::1]:5062", "[::1]", "5062"),
        ("INFO listening on localhost:5060 (udp)", "localhost", "5060"),
    ],
)
def test_listening_line_gives_host_and_port(line: str, host: str, port: str) -> None:
    match = LISTENING_RE.search(line)
    assert match is not None
    assert (match["host"], match["port"]) == (host, port)


def test_summary_counts_are_read_from_the_last_lines() -> None:
    output = "\n".join(
        [
            "12:00:00.000 <- udp 127.0.0.1:5070 INVITE sip:486@127.0.0.1 SIP/2.0 [a1b2]",
            "summary",
            "  requests: ACK=1 INVITE=1",
            "  responses: 100=1 180=1 486=1",
        ]
    )
    summary = parse_summary(output)
    assert summary.requests == {"ACK": 1, "INVITE": 1}
    assert summary.responses == {"100": 1, "180": 1, "486": 1}


def test_summary_keeps_other_count_lines() -> None:
    output = "\n".join(
        [
            "summary: scenario busy, seed 1894989024",
            "requests: ACK=1 INVITE=1",
            "responses: 100=1 180=1 486=1",
            "retransmissions: in=0 out=1",
            "dropped: 0",
            "findings: stray-ack=1",
        ]
    )
    summary = parse_summary(output)
    assert summary.retransmissions_out == 1
    assert summary.findings == {"stray-ack": 1}
    assert "dropped" not in summary.other
    assert "summary" not in summary.other


def test_summary_with_no_requests_is_empty_not_missing() -> None:
    summary = parse_summary("summary: scenario busy\nrequests: -\nresponses: -\ndropped: 0\n")
    assert summary.requests == {}
    assert summary.responses == {}


def test_missing_summary_is_an_assertion_with_the_output() -> None:
    with pytest.raises(AssertionError, match="no requests or responses line"):
        parse_summary("Traceback (most recent call last):\n  boom")


def test_sipp_stat_csv_last_row_by_column() -> None:
    text = "A;SuccessfulCall(C);FailedCall(C);\n1;0;0;\n2;5;1;\n"
    stats = parse_stat_csv(text)
    assert stats["SuccessfulCall(C)"] == "5"
    assert stats["FailedCall(C)"] == "1"


def test_logged_sip_message_is_split_and_unfolded() -> None:
    pytest.importorskip("pjsua2")  # the agent module subclasses pjsua2 classes at import
    from tests.peers.pjsua_agent import parse_message

    message = parse_message(
        "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKx\r\n"
        "Retry-After: 30\r\nSubject: a\r\n long one\r\nContent-Length: 2\r\n\r\nhi"
    )
    assert message["first_line"] == "SIP/2.0 486 Busy Here"
    assert ["Retry-After", "30"] in message["headers"]
    assert ["Subject", "a long one"] in message["headers"]
    assert message["body"] == "hi"


def test_summary_binding_lines_are_read() -> None:
    output = "\n".join(
        [
            "summary: scenario register, seed 1",
            "requests: REGISTER=2",
            "responses: 200=2",
            "dropped: 0",
            "binding: sip:alice@127.0.0.1 -> sip:alice@127.0.0.1:5070;ob (expires in 59 s)",
            "binding: sip:bob@127.0.0.1 -> sip:bob@127.0.0.1:5072;transport=UDP (expires in 300 s)",
        ]
    )
    summary = parse_summary(output)
    assert [(b.aor, b.uri, b.expires) for b in summary.bindings] == [
        ("sip:alice@127.0.0.1", "sip:alice@127.0.0.1:5070;ob", 59),
        ("sip:bob@127.0.0.1", "sip:bob@127.0.0.1:5072;transport=UDP", 300),
    ]
    assert "binding" not in summary.other


def test_summary_without_binding_lines_has_none() -> None:
    assert parse_summary("requests: REGISTER=2\nresponses: 200=2\n").bindings == []


def _message(direction: str, first_line: str, **fields: object) -> str:
    """A journal line as sipfault/journal/recorder.py writes one for a message."""
    record = {"type": "message", "direction": direction, "first_line": first_line}
    return json.dumps({**record, "call_id": "c1", "retransmission": False, **fields})


def test_journal_counts_first_transmissions_as_the_summary_does(tmp_path: Path) -> None:
    busy, invite = "SIP/2.0 486 Busy Here", "INVITE sip:486@h SIP/2.0"
    lines = [
        _message("in", invite, method="INVITE"),
        _message("out", "SIP/2.0 100 Trying", method="INVITE", status=100),
        _message("out", busy, method="INVITE", status=486),
        _message("out", busy, method="INVITE", status=486, retransmission=True),
        _message("in", invite, method="INVITE", retransmission=True),
        json.dumps({"type": "finding", "kind": "stray-ack", "call_id": "c1"}),
    ]
    path = tmp_path / "journal.jsonl"
    path.write_text("\n".join(lines) + "\n")
    journal = JournalFile(path).read()
    assert journal.requests == {"INVITE": 1}
    assert journal.responses == {"100": 1, "486": 1}
    assert journal.findings == {"stray-ack": 1}
    assert journal.reached({"INVITE": 1}, {"486": 1}) is False  # the 486 is not ACKed
    assert journal.reached({"INVITE": 2}, None) is False


def test_a_rejected_invite_is_acknowledged_once_timer_i_fires(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    busy = _message("out", "SIP/2.0 486 Busy Here", method="INVITE", status=486)
    ringing = _message("out", "SIP/2.0 180 Ringing", call_id="c2", method="INVITE", status=180)
    ack = _message("in", "ACK sip:486@h SIP/2.0", method="ACK")
    path.write_text(f"{busy}\n{ringing}\n{ack}\n")
    journal_file = JournalFile(path)
    assert journal_file.read().unacknowledged_rejections == 1
    timer = json.dumps({"type": "timer_fired", "timer": "I", "call_id": "c1"})
    with path.open("a") as handle:
        handle.write(timer[:10])  # a line being written is not read yet
        handle.flush()
        assert journal_file.read().unacknowledged_rejections == 1
        handle.write(timer[10:] + "\n")
    journal = journal_file.read()
    assert journal.unacknowledged_rejections == 0
    assert journal.reached({"ACK": 1}, {"486": 1, "180": 1})
    assert len(journal.records) == 4


def test_t4_runs_a_copy_of_the_scenario_with_its_timers(tmp_path: Path) -> None:
    options = SipfaultOptions(t4="100ms")
    copy = options.scenario_file("scenarios/busy.yaml", tmp_path)
    original = (REPO_ROOT / "scenarios" / "busy.yaml").read_text()
    assert copy.parent == tmp_path
    assert copy.read_text() == f"{original.rstrip()}\n\ntimers: {{t4: 100ms}}\n"
    assert SipfaultOptions().scenario_file("scenarios/busy.yaml", tmp_path) == (
        REPO_ROOT / "scenarios" / "busy.yaml"
    )
    timed = tmp_path / "timed.yaml"
    timed.write_text("name: timed\ntimers: {t1: 1s}\nrules: []\n")
    with pytest.raises(ValueError, match="sets its own timers"):
        options.scenario_file(timed, tmp_path / "elsewhere")
