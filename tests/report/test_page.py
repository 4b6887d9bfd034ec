"""The report page: self-contained, a summary, an index of every call, ladders, the filter."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from sipfault.report import read_journal, render_report, write_report
from tests.report.dom import parse

BENCH = Path(__file__).resolve().parents[2] / "bench" / "report_render.py"


def _bench_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("report_render", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_render", module)
    spec.loader.exec_module(module)
    return module


def test_the_page_is_self_contained(exchange: list[dict[str, object]]) -> None:
    html = render_report(exchange)
    assert html.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no external script, style sheet, image or font.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    document = parse(html)
    assert all(not script.attrs.get("src") for script in document.find_all("script"))
    assert len(document.find_all("style")) == 1


def test_summary_index_and_one_ladder_per_call(exchange: list[dict[str, object]]) -> None:
    run_entry = {"time": exchange[0]["time"], "type": "run", "scenario": "bench-scenario",
                 "scenario_file": "scenarios/x.yaml", "description": "d", "seed": 4242,
                 "version": "0.1.0", "listen": ["udp,tcp 127.0.0.1:5060"], "t1": 0.02}
    document = parse(render_report([run_entry, *exchange]))
    summary = document.find_all("section", "summary")[0]
    facts = summary.find_all("dl", "facts")[0].text
    assert "bench-scenario" in facts and "4242" in facts and "scenarios/x.yaml" in facts
    captions = [caption.text for caption in summary.find_all("caption")]
    assert captions[:4] == ["Calls by outcome", "Requests received", "Responses sent",
                            "Findings about the client"]
    assert "Faults applied" in captions and "Timers fired" in captions
    assert any(caption.startswith("Registered bindings") for caption in captions)
    findings = summary.find_all("table", "findings-table")[0].text
    assert "no-response" in findings and "RFC 3261 §17.1.2.2" in findings
    assert "stray-ack" in findings and "RFC 3261 §17.2.3" in findings
    sections = document.find_all("section", "call")
    assert [section.attrs["data-call"] for section in sections] == [
        "drop@test", "busy@test", "fax@test", "reg@test", "stray@test"]
    assert all(len(section.find_all("svg", "ladder")) == 1 for section in sections)
    rows = document.find_all("table", "index")[0].find_all("tr", where=lambda e: bool(
        e.attrs.get("data-search")))
    assert len(rows) == 5
    assert rows[0].attrs["data-finding"] == "no-response"
    assert rows[1].attrs["data-user"] == "busy tester"


def test_a_large_run_draws_the_first_ladders_and_indexes_every_call(
        exchange: list[dict[str, object]]) -> None:
    document = parse(render_report(exchange, max_ladders=2))
    assert len(document.find_all("section", "call")) == 2
    index = document.find_all("table", "index")[0]
    assert len(index.find_all("tr", where=lambda e: "data-call" in e.attrs)) == 5
    assert "2 of 5 calls drawn" in document.text
    chosen = parse(render_report(exchange, calls=["stray@test"]))
    assert [section.attrs["data-call"] for section in chosen.find_all("section", "call")] == [
        "stray@test"]


def test_records_of_new_types_are_listed_in_the_summary(
        exchange: list[dict[str, object]]) -> None:
    extra = [{"time": 5.0, "type": "fax", "call_id": "fax@test", "result": "ok", "pages": 3},
             {"time": 6.0, "type": "gizmo", "level": 7}]
    document = parse(render_report([*exchange, *extra]))
    media = document.find_all("section", "media")[0]
    kinds = [div.attrs["data-type"] for div in media.find_all("div", "record-type")]
    assert "fax" in kinds  # beside the media streams the exchange's fax call journaled
    assert "pages" in media.text and "3" in media.text
    other = document.find_all("section", "other-records")[0]
    assert "gizmo" in other.text and "level" in other.text


def test_message_text_is_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    entries = [{"time": 1.0, "type": "message", "direction": "in", "transport": "udp",
                "src": {"host": "c", "port": 1}, "dst": {"host": "s", "port": 2},
                "retransmission": False, "first_line": f"INVITE sip:{hostile}@s SIP/2.0",
                "method": "INVITE", "call_id": f"x{hostile}",
                "raw": f"INVITE sip:{hostile}@s SIP/2.0\r\nCall-ID: x{hostile}\r\n\r\n"}]
    html = render_report(entries)
    assert hostile not in html and "&lt;script&gt;" in html


def test_ten_thousand_calls_render_in_under_5_s_and_20_mb(tmp_path: Path) -> None:
    bench = _bench_module()
    journal = tmp_path / "big.jsonl"
    bench.synthetic_journal(str(journal), 10_000)
    started = time.perf_counter()
    read = read_journal(journal)
    size = write_report(tmp_path / "big.html", read.entries)
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, elapsed
    assert size < 20_000_000, size
    page = (tmp_path / "big.html").read_text()
    assert page.count('<section class="call"') == 200
    assert page.count("<tr data-call=") == 10_000


def test_rendering_is_pure() -> None:
    """sipfault.report loads no event loop, socket or thread: rendering is pure."""
    code = ("import sys, json; before = set(sys.modules); import sipfault.report; "
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2], check=True)
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert not loaded & {"asyncio", "socket", "ssl", "selectors", "threading", "yaml"}
