"""The HTML report of real runs, opened in headless Chromium as a person would open it.

A SIPp run (a busy call, and a call whose 200 OK a fault drops) and a PJSUA2 run (an answered
call hung up) are recorded by ``sipfault run --journal --report``; Chromium opens each report
from disk (no server): one ladder per call, an arrow per message, the dropped 200 drawn as
dropped with its no-ack finding flagged on it, and the filter narrowing the calls. Screenshots
land in ``$SIPFAULT_SCREENSHOTS`` (default: the temp folder's ``sipfault-screenshots``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.peers.fixtures import StartSipfault
from tests.peers.pjsua import pjsua_call
from tests.peers.sipp import run_sipp
from tests.report.browser import dump_dom, screenshot, webdriver
from tests.report.dom import Element, parse

pytestmark = pytest.mark.peer

HERE = Path(__file__).parent


def _journal(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _arrows_expected(entries: list[dict[str, object]]) -> Counter[str]:
    """Per Call-ID: its messages and the transmissions a fault dropped."""
    counts: Counter[str] = Counter()
    for entry in entries:
        if entry["type"] == "message" or (entry["type"] == "fault_applied"
                                          and entry["emitted"] == 0):
            counts[str(entry["call_id"])] += 1
    return counts


def _sections(document: Element) -> dict[str, Element]:
    return {section.attrs["data-call"]: section
            for section in document.find_all("section", "call")}


def test_report_of_a_sipp_run_with_a_dropped_200(
        sipp: str, start_sipfault: StartSipfault, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    server = start_sipfault(HERE / "scenarios" / "drop-200.yaml", t1="30ms",
                            transports=["udp"], extra_args=["--report", str(report)])
    journal = server.journal_file.path
    busy = run_sipp(HERE.parent / "integration" / "sipp" / "uac-busy.xml", server.host,
                    server.port, service="busy", timeout=20)
    assert busy.returncode == 0, busy.describe()
    lost = run_sipp(HERE / "sipp" / "uac-lost-200.xml", server.host, server.port,
                    service="alice", timeout=20)
    assert lost.returncode == 0, lost.describe()
    # The lost 2xx is re-sent until 64*T1 (RFC 3261 §13.3.1.4): wait for the give-up.
    # The lost 2xx ends in a BYE (RFC 3261 §13.3.1.4), which SIPp answers.
    server.wait_for(lambda journal: any(
        record.get("type") == "message" and record.get("direction") == "in"
        and record.get("method") == "BYE" and record.get("status") == 200
        for record in journal.records), "SIPp's 200 to sipfault's BYE")
    server.stop()
    assert report.is_file(), server.output
    entries = _journal(journal)
    expected = _arrows_expected(entries)
    assert len(expected) == 2

    document = parse(dump_dom(report.as_uri()))
    sections = _sections(document)
    assert set(sections) == {call_id.lower().replace(" ", "") for call_id in expected}
    for call_id, arrows in expected.items():
        (svg,) = sections[call_id.lower()].find_all("svg", "ladder")
        assert len(svg.find_all("g", "arrow")) == arrows, call_id
    lost_call = next(section for section in sections.values()
                     if "drop" in section.attrs["data-fault"])
    drops = lost_call.find_all("g", "drop")
    assert drops and all(group.attrs["data-fault"] == "drop" for group in drops)
    assert "SIP/2.0 200 OK dropped" in drops[0].text
    assert "data-finding" not in drops[0].attrs  # a fault's doing: no finding about SIPp
    assert not lost_call.find_all("g", where=lambda e: e.attrs.get("data-status") == "200"
                                  and e.attrs.get("data-method") == "INVITE")
    assert lost_call.find_all("g", "flag") == []
    bye = lost_call.find_all("g", where=lambda e: e.attrs.get("data-method") == "BYE")
    assert [group.attrs.get("data-status") for group in bye][:2] == [None, "200"]
    timers = {group.attrs["data-timer"] for group in lost_call.find_all("g", "timer")}
    assert {"2xx", "2xx-timeout"} <= timers
    summary = document.find_all("section", "summary")[0].text
    assert "drop-200" in summary and "drop" in summary

    with webdriver() as browser:
        browser.get(report.as_uri())
        visible = ("return [...document.querySelectorAll('section.call')]"
                   ".filter(s => !s.hidden).map(s => s.dataset.call)")
        assert len(browser.run(visible)) == 2
        browser.type_into("#filter", "code:486")
        assert browser.wait_for(visible + ".length === 1 && " + visible[7:]
                                .replace("return ", ""))
        (shown,) = browser.run(visible)
        assert sections[shown].attrs["data-code"] == "100 180 486"
        assert browser.run("return document.getElementById('filter-count').textContent") == (
            "1 of 2 calls")
        browser.type_into("#filter", "user:alice")
        browser.wait_for(visible + ".length === 1")
        assert browser.run(visible) == [lost_call.attrs["data-call"]]
        # A click on an arrow opens the whole message below the ladder.
        browser.click("section.call:not([hidden]) svg a.to-detail")
        opened = browser.run("return [...document.querySelectorAll('details[open]')]"
                             ".map(d => d.textContent)")
        assert len(opened) == 1 and "INVITE sip:alice@" in opened[0]
        browser.run("document.querySelector('section.call:not([hidden])').scrollIntoView()")
        browser.screenshot("report-sipp-filtered.png")
    shot = screenshot(report.as_uri(), "report-sipp.png", height=2400)
    assert shot.stat().st_size > 10_000


def test_report_of_a_pjsua2_call(
        pjsua2: None, start_sipfault: StartSipfault, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    server = start_sipfault("scenarios/answer.yaml", t1="100ms",
                            extra_args=["--report", str(report)])
    journal = server.journal_file.path
    result = pjsua_call(server.uri("alice", "udp"), transport="udp", hangup_after=0.3,
                        timeout=15)
    assert result.returncode == 0 and result.result.get("answered") is True, result.describe()
    server.wait_for(lambda journal: journal.responses.get("200", 0) >= 2, "the 200 to the BYE")
    server.stop()
    entries = _journal(journal)
    expected = _arrows_expected(entries)
    (call_id,) = expected
    document = parse(dump_dom(report.as_uri()))
    (section,) = document.find_all("section", "call")
    assert section.attrs["data-call"] == call_id.lower()
    (svg,) = section.find_all("svg", "ladder")
    arrows = svg.find_all("g", "arrow")
    assert len(arrows) == expected[call_id]
    methods = [(group.attrs.get("data-method"), group.attrs.get("data-status"))
               for group in arrows if "retrans" not in group.classes]
    assert methods == [("INVITE", None), ("INVITE", "100"), ("INVITE", "180"),
                       ("INVITE", "200"), ("ACK", None), ("BYE", None), ("BYE", "200")]
    notes = ["".join(note.text_parts) for note in svg.find_all("text", "note")]
    assert "rule 'answer' took the INVITE" in notes
    assert sum(note.startswith("SDP: audio RTP/AVP") for note in notes) == 2
    assert section.attrs["data-user"].split()[0] == "alice"
    assert section.attrs["data-code"] == "100 180 200"
    shot = screenshot(report.as_uri(), "report-pjsua.png", height=1400)
    assert shot.stat().st_size > 10_000
