"""The run and summary records that frame a journal, and the Recorder writing them."""

from __future__ import annotations

import json
from pathlib import Path

from sipfault.record import BindingState, Recorder, RunRecord, SummaryRecord


def test_run_and_summary_records_in_json_and_as_lines(tmp_path: Path) -> None:
    run = RunRecord(100.0, "busy", 7, "0.1.0", scenario_file="scenarios/busy.yaml",
                    description="Busy.", listen=("udp,tcp 127.0.0.1:5060",), t1=0.5)
    summary = SummaryRecord(112.5, 100.0, {"INVITE": 2, "ACK": 2}, {486: 2, 100: 2}, 0, 1, 0,
                            {"no-ack": 1}, [BindingState("sip:a@h", "sip:a@1.2.3.4", 30)])
    assert run.line() == "run: scenario busy, seed 7, on udp,tcp 127.0.0.1:5060"
    assert summary.line() == "summary: 12.5 s, 4 requests, 4 responses, 1 findings"
    with Recorder.open(journal=tmp_path / "run.jsonl") as recorder:
        recorder.on_record(run)
        recorder.on_record(summary)
    first, last = (json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines())
    assert first == {"time": 100.0, "type": "run", "scenario": "busy",
                     "scenario_file": "scenarios/busy.yaml", "description": "Busy.", "seed": 7,
                     "version": "0.1.0", "listen": ["udp,tcp 127.0.0.1:5060"], "t1": 0.5}
    assert last == {"time": 112.5, "type": "summary", "started": 100.0, "duration": 12.5,
                    "requests": {"ACK": 2, "INVITE": 2}, "responses": {"100": 2, "486": 2},
                    "retransmissions": {"in": 0, "out": 1}, "dropped": 0,
                    "findings": {"no-ack": 1},
                    "bindings": [{"aor": "sip:a@h", "contact": "sip:a@1.2.3.4",
                                  "expires_in": 30}]}
