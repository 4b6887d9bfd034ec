"""docs/faults.md and docs/findings.md stay true: every fault and finding is documented with
its section, the example scenario loads, and the Python example runs against a server."""

from __future__ import annotations

import re
from pathlib import Path

from sipfault.model.faults import FAULTS
from sipfault.model.findings import FINDINGS
from sipfault.scenario import check_scenario_text
from sipfault.testing import Controller

DOCS = Path(__file__).resolve().parents[2] / "docs"
FAULTS_DOC = (DOCS / "faults.md").read_text(encoding="utf-8")
FINDINGS_DOC = (DOCS / "findings.md").read_text(encoding="utf-8")


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_every_fault_is_described() -> None:
    for name in FAULTS:
        assert f"`{name}`" in FAULTS_DOC, name


def test_every_finding_is_described_with_its_section() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in FINDINGS_DOC.splitlines()
            if line.startswith("| `")}
    for kind, entry in FINDINGS.items():
        assert kind in rows, kind
        assert entry.section in rows[kind], kind


def test_the_fault_example_loads_without_issues() -> None:
    (example,) = _blocks(FAULTS_DOC, "yaml")
    assert check_scenario_text(example, "faults.md") == []


def test_the_python_fault_example_runs() -> None:
    (example,) = _blocks(FAULTS_DOC, "python")
    with Controller() as server:
        exec(example, {"server": server})  # the documentation's own example
        assert len(server.rules) == 1
        assert [fault.name for fault in server.rules[0].faults] == ["drop", "delay"]
        assert server.server.endpoint_faults == {"outage": "outage for=10s"}


def test_the_docs_are_linked() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    scenarios = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    for text in (readme, scenarios):
        assert "faults.md" in text and "findings.md" in text


def test_the_shipped_fault_scenarios() -> None:
    from sipfault.scenario import load_scenario

    lossy = load_scenario(DOCS.parent / "scenarios" / "faults" / "lossy-line.yaml")
    assert [str(fault) for fault in lossy.endpoint_faults] == ["outage after=60s for=10s"]
    (rule,) = lossy.rules
    assert [str(fault) for fault in rule.faults] == [
        "drop probability=0.2", "delay min=0.05s max=0.4s probability=0.5"]
    assert [step.fault.name if step.fault else None for step in rule.reply] == [
        None, "duplicate", "fork"]
    overloaded = load_scenario(DOCS.parent / "scenarios" / "faults" / "overloaded.yaml")
    assert [str(fault) for fault in overloaded.endpoint_faults] == [
        "overload retry_after=20 for=30s"]
