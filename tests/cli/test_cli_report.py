"""``sipfault report``, ``sipfault run --report``, ``--http``: the files and the live view the
command line gives, from a real run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.live.helpers import by_label, parse_prometheus
from tests.peers.sipfault_cli import SipfaultProcess, run_sipfault
from tests.report.dom import parse
from tests.testing.sip_client import SipClient

REPO = Path(__file__).resolve().parents[2]
LIVE_RE = re.compile(r"live view on (http://127\.0\.0\.1:\d+/)")


def sipfault(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sipfault", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def _calls(host: str, port: int) -> None:
    """A 486 acknowledged late (Timer G resends it once), an OPTIONS, a REGISTER."""
    with SipClient(host, port) as client:
        invite = client.request("INVITE", "486", call_id="cli-busy")
        client.send(invite)
        replies = client.until_final()
        replies.append(client.receive())
        client.send(client.ack_for(invite, replies[-1]))
        client.send(client.request("OPTIONS", "200", call_id="cli-options"))
        assert client.receive().status == 200
        client.send(client.request("REGISTER", "alice", call_id="cli-reg",
                                   headers=(("Expires", "120"),)))
        assert client.until_final()[-1].status == 200


def _wait_for_the_ack(server: SipfaultProcess) -> None:
    """The busy call's ACK is the one message the client sends without awaiting an answer."""
    assert server.wait_for_line(r"<- \S+ \S+ ACK "), server.output


def test_run_frames_its_journal_and_report_renders_it(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    with run_sipfault("scenarios/codes.yaml", t1="20ms", journal=False,
                      extra_args=["--journal", str(journal), "--seed", "99"]) as server:
        _calls(server.host, server.port)
        _wait_for_the_ack(server)
        server.stop()
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    first, last = lines[0], lines[-1]
    assert first["type"] == "run" and first["scenario"] == "codes" and first["seed"] == 99
    assert first["scenario_file"].endswith("scenarios/codes.yaml")
    assert first["listen"] == [f"udp,tcp 127.0.0.1:{server.port}"] and first["t1"] == 0.02
    assert last["type"] == "summary" and last["started"] == first["time"]
    summary = server.summary
    assert last["requests"] == summary.requests
    assert last["responses"] == summary.responses
    assert last["retransmissions"]["out"] == summary.retransmissions_out == 1
    (binding,) = last["bindings"]
    assert binding["aor"].startswith("sip:alice@") and 100 < binding["expires_in"] <= 120

    output = tmp_path / "out.html"
    result = sipfault("report", str(journal), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {output}: {len(lines)} records")
    page = parse(output.read_text())
    facts = page.find_all("dl", "facts")[0].text
    assert "codes" in facts and "99" in facts
    assert [section.attrs["data-call"] for section in page.find_all("section", "call")] == [
        "cli-busy", "cli-options", "cli-reg"]
    bindings = page.find_all("table", "bindings")[0].text
    assert "sip:alice@" in bindings and "as the registrar held them at the stop" in bindings
    default = sipfault("report", str(journal))
    assert default.returncode == 0 and (tmp_path / "run.html").is_file()


def test_run_writes_its_report_when_it_ends(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    with run_sipfault("scenarios/codes.yaml", t1="20ms",
                      extra_args=["--report", str(report)]) as server:
        _calls(server.host, server.port)
        _wait_for_the_ack(server)
        output = server.stop()
    assert f"report: {report}" in output
    page = parse(report.read_text())
    assert len(page.find_all("section", "call")) == 3
    assert "codes" in page.find_all("dl", "facts")[0].text


def test_report_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = sipfault("report", str(tmp_path / "none.jsonl"))
    assert result.returncode == 2
    assert "none.jsonl" in result.stderr and "Traceback" not in result.stderr


def test_http_beyond_loopback_needs_the_flag() -> None:
    result = sipfault("run", "scenarios/busy.yaml", "--listen", "127.0.0.1:0",
                      "--http", "0.0.0.0:0")
    assert result.returncode == 2
    assert "--http-allow-remote" in result.stderr and "Traceback" not in result.stderr


def test_metrics_match_the_summary_printed_at_the_end() -> None:
    with run_sipfault("scenarios/codes.yaml", t1="20ms",
                      extra_args=["--http", "127.0.0.1:0"]) as server:
        assert server.wait_for_line(LIVE_RE.pattern)
        url = LIVE_RE.search(server.stdout)[1]  # type: ignore[index]
        _calls(server.host, server.port)
        with SipClient(server.host, server.port) as client:  # a stray ACK: a finding
            client.send(client.request("ACK", "x", call_id="cli-stray", to_tag="t"))
        with urllib.request.urlopen(url + "metrics", timeout=5) as reply:
            text = reply.read().decode()
        with urllib.request.urlopen(url + "state", timeout=5) as reply:
            state = json.load(reply)
        server.stop()
    metrics = parse_prometheus(text)
    summary = server.summary
    assert by_label(metrics["sipfault_requests_total"], "method") == summary.requests
    assert by_label(metrics["sipfault_responses_total"], "code") == summary.responses
    assert by_label(metrics["sipfault_retransmissions_total"], "direction") == (
        summary.other["retransmissions"])
    assert by_label(metrics["sipfault_findings_total"], "kind") == summary.findings == {
        "stray-ack": 1}
    assert metrics["sipfault_bindings"][()] == len(summary.bindings) == 1
    assert state["scenario"] == "codes"
    assert {call["call_id"] for call in state["finished"]} >= {"cli-busy", "cli-options",
                                                               "cli-reg"}


def test_the_command_draws_as_many_ladders_as_the_report_does_by_default() -> None:
    from sipfault import cli, report

    assert cli.DEFAULT_LADDERS == report.DEFAULT_LADDERS
