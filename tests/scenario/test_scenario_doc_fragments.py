"""The partial examples of docs/scenarios.md (rule items, reply lists) load without errors.

Whole-file examples are checked by test_scenario_docs.py; this covers the fragments by
placing each where it belongs in a file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sipfault.scenario import check_scenario_text

TEXT = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text(encoding="utf-8")

# The first line of a fragment tells where it sits in a file; it is wrapped to get there.
WRAPPERS = {
    "  - ": "rules:\n{body}",
    "    reply:": "rules:\n  - match: {{}}\n{body}",
}


def _fragments() -> list[tuple[int, str]]:
    found = []
    for block in re.finditer(r"```yaml\n(.*?)```", TEXT, re.S):
        body = block.group(1)
        first = next(line for line in body.splitlines() if line.strip())
        for start, wrapper in WRAPPERS.items():
            if first.startswith(start):
                found.append((TEXT.count("\n", 0, block.start()) + 1, wrapper.format(body=body)))
    return found


FRAGMENTS = _fragments()


def test_fragments_are_found() -> None:
    assert len(FRAGMENTS) >= 3


@pytest.mark.parametrize(("line", "text"), FRAGMENTS, ids=[f"line-{n}" for n, _ in FRAGMENTS])
def test_fragment_loads_without_errors(line: int, text: str) -> None:
    issues = check_scenario_text(text, f"docs line {line}")
    assert [str(issue) for issue in issues if issue.severity == "error"] == []
    # The one warning allowed is the deliberate fault some examples demonstrate.
    for issue in issues:
        assert "on purpose" in issue.message, str(issue)
