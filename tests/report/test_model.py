"""A run's entries sorted into calls and counted as the console's summary counts them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from sipfault.report.entries import as_bytes, as_text, read_journal
from sipfault.report.model import build_run, uri_user
from sipfault.report.sections import finding_sections, timer_name


def test_calls_by_call_id_with_their_outcomes(exchange: list[dict[str, object]]) -> None:
    run = build_run(exchange)
    calls = {call.call_id: call for call in run.calls}
    assert list(calls) == ["drop@test", "busy@test", "fax@test", "reg@test", "stray@test"]
    assert [call.number for call in run.calls] == [1, 2, 3, 4, 5]
    assert calls["drop@test"].outcome == "INVITE no final response"
    assert calls["busy@test"].outcome == "INVITE 486"
    assert calls["fax@test"].outcome == "INVITE 200"
    assert calls["reg@test"].outcome == "REGISTER 200"
    assert calls["busy@test"].statuses == [100, 180, 486]  # the retransmission not counted
    assert calls["busy@test"].retransmissions == 1
    assert calls["drop@test"].faults == {"drop": 7}
    assert calls["fax@test"].t38 and not calls["busy@test"].t38
    assert calls["busy@test"].users == ["busy", "tester"]
    assert calls["busy@test"].client.startswith("udp 127.0.0.1:")
    # The fault kept the 2xx from the client: its missing ACK is no finding; the BYE that
    # followed went unanswered.
    assert [finding["kind"] for finding in calls["drop@test"].findings] == ["no-response"]


def test_counts_match_what_the_console_summary_counts(
        exchange: list[dict[str, object]]) -> None:
    run = build_run(exchange)
    assert run.requests == {"INVITE": 4, "ACK": 4, "BYE": 1, "REGISTER": 1}
    assert run.responses == {100: 4, 180: 1, 486: 1, 200: 4}
    assert run.retransmissions_out == 1 + 6  # the 486 once, sipfault's BYE six times
    assert run.retransmissions_in == 0
    assert run.faults == {"drop": 7} and run.faults_dropped == {"drop": 7}
    assert run.timers["2xx"] == 6 and run.timers["G"] == 1
    assert [finding["kind"] for finding in run.findings] == ["stray-ack", "no-response"]
    assert run.outcomes()["INVITE 200"] == 1


def test_bindings_read_from_the_200_to_register_without_a_summary(
        exchange: list[dict[str, object]]) -> None:
    run = build_run(exchange)
    (binding,) = run.bindings()
    assert binding.aor.startswith("sip:alice@") and binding.source == "answers"
    assert binding.contact.startswith("sip:tester@127.0.0.1:")
    register_time = next(entry["time"] for entry in exchange
                         if entry.get("method") == "REGISTER" and entry.get("status") == 200)
    assert binding.expires_at is not None
    assert abs(binding.expires_at - (register_time + 60)) < 1.5  # type: ignore[operator]


def test_an_expired_binding_is_not_current() -> None:
    answer = {"time": 100.0, "type": "message", "direction": "out", "status": 200,
              "method": "REGISTER", "call_id": "r1", "first_line": "SIP/2.0 200 OK",
              "raw": "SIP/2.0 200 OK\r\nTo: <sip:bob@h>;tag=1\r\nCall-ID: r1\r\n"
                     "CSeq: 1 REGISTER\r\nContact: <sip:bob@10.0.0.1>;expires=60, "
                     "<sip:bob@10.0.0.2>;expires=3600\r\n\r\n"}
    expired = {"time": 161.0, "type": "binding_expired", "aor": "sip:bob@h",
               "contact": "<sip:bob@10.0.0.1>", "forced": False}
    run = build_run([answer, expired])
    assert [(item.aor, item.contact) for item in run.bindings()] == [
        ("sip:bob@h", "sip:bob@10.0.0.2")]
    assert run.expired == [expired]


def test_the_summary_entry_gives_bindings_and_times() -> None:
    entries = [
        {"time": 10.0, "type": "run", "scenario": "busy", "seed": 3},
        {"time": 11.0, "type": "finding", "kind": "no-ack", "text": "x", "call_id": None},
        {"time": 40.0, "type": "summary", "started": 10.0,
         "bindings": [{"aor": "sip:a@h", "contact": "sip:a@1.2.3.4", "expires_in": 30}]},
    ]
    run = build_run(entries)
    assert (run.started, run.stopped, run.duration) == (10.0, 40.0, 30.0)
    (binding,) = run.bindings()
    assert (binding.contact, binding.expires_at, binding.source) == (
        "sip:a@1.2.3.4", 70.0, "summary")
    assert run.calls == []  # a finding without a Call-ID belongs to the run
    assert run.loose[0]["kind"] == "no-ack"


def test_types_the_report_does_not_know_are_kept_by_type() -> None:
    entries = [
        {"time": 1.0, "type": "t30", "call_id": "c1", "frame": "DIS", "sent": True},
        {"time": 2.0, "type": "fax", "call_id": "c1", "result": "ok", "pages": 2},
        {"time": 3.0, "type": "media", "rtp_packets": 10},
    ]
    run = build_run(entries)
    assert sorted(run.other) == ["fax", "media", "t30"]
    assert len(run.calls) == 1 and len(run.calls[0].entries) == 2
    assert run.calls[0].outcome == "no request"


def test_reading_a_journal_file_keeps_going_past_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps({"time": 1.0, "type": "rule", "call_id": "a"}) + "\n"
                    + "{not json\n\n[1, 2]\n"
                    + json.dumps({"time": 2.0, "type": "finding", "kind": "k"}) + "\n"
                    + '{"time": 3.0, "type": "message", "direc')
    journal = read_journal(path)
    assert [entry["type"] for entry in journal.entries] == ["rule", "finding"]
    assert journal.bad_lines == [2, 4, 6]


def test_bytes_come_as_text_base64_or_bytes() -> None:
    assert as_text("INVITE") == "INVITE"
    assert as_text(b"caf\xc3\xa9") == "café"
    assert as_text({"base64": base64.b64encode(b"\xff\x00").decode()}) == "\ufffd\x00"
    assert as_bytes({"base64": "!!"}) is None
    assert as_text(None) == "" and as_text(5) == "5"


def test_users_and_sections() -> None:
    assert uri_user("sip:486@127.0.0.1:5060") == "486"
    assert uri_user('"A" <sips:alice@example.com>;tag=1') == "alice"
    assert uri_user("<sip:example.com>") == ""
    assert finding_sections("no-ack", "no ACK for the 486 within 64*T1 (Timer H)") == [
        "RFC 3261 §17.2.1"]
    assert finding_sections("no-ack", "no ACK for the 2xx within 64*T1") == [
        "RFC 3261 §13.3.1.4"]
    assert finding_sections("new-kind", "see RFC 7616 §3.4", {"why": "RFC 3261 §22.4"}) == [
        "RFC 7616 §3.4", "RFC 3261 §22.4"]
    assert timer_name("G").startswith("Timer G") and timer_name("Z") == "timer Z"


def _message(direction: str, first_line: str, cseq: int, to_tag: bool,
             status: int | None = None) -> dict[str, object]:
    method = "INVITE"
    raw = (f"{first_line}\r\nTo: <sip:bob@h>{';tag=9' if to_tag else ''}\r\n"
           f"Call-ID: a\r\nCSeq: {cseq} {method}\r\n\r\n")
    entry: dict[str, object] = {"time": float(cseq), "type": "message", "direction": direction,
                                "retransmission": False, "first_line": first_line,
                                "method": method, "call_id": "a", "raw": raw}
    if status is not None:
        entry["status"] = status
    return entry


def test_the_outcome_is_the_initial_requests_last_answer() -> None:
    """An INVITE challenged, sent again with credentials and answered, then a re-INVITE
    refused: the call's outcome is the answer to the initial INVITE, 200."""
    entries = [
        _message("in", "INVITE sip:bob@h SIP/2.0", 1, False),
        _message("out", "SIP/2.0 407 Proxy Authentication Required", 1, True, 407),
        _message("in", "INVITE sip:bob@h SIP/2.0", 2, False),
        _message("out", "SIP/2.0 200 OK", 2, True, 200),
        _message("in", "INVITE sip:bob@h SIP/2.0", 3, True),
        _message("out", "SIP/2.0 488 Not Acceptable Here", 3, True, 488),
    ]
    (call,) = build_run(entries).calls
    assert call.outcome == "INVITE 200"
    assert call.statuses == [407, 200, 488]
