"""docs/scenarios.md stays true: its examples load, and its printed errors are the loader's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sipfault.scenario import check_scenario_text, load_scenario_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
TEXT = DOC.read_text(encoding="utf-8")

_TOP_LEVEL = re.compile(r"^(name|description|rules|timers|seed|defaults|registrar|auth):", re.M)


def _yaml_blocks() -> list[tuple[int, str]]:
    """(line, text) of every ```yaml block that is a whole file or whole top-level sections."""
    blocks = []
    for found in re.finditer(r"```yaml\n(.*?)```", TEXT, re.S):
        body = found.group(1)
        first = next(
            line for line in body.splitlines() if line.strip() and not line.startswith("#")
        )
        if _TOP_LEVEL.match(first):
            blocks.append((TEXT.count("\n", 0, found.start()) + 1, body))
    return blocks


def _error_example() -> tuple[str, list[str]]:
    found = re.search(
        r"This file has five mistakes:\n\n```yaml\n(.*?)```\n\n"
        r"and the loader reports all of them:\n\n```text\n(.*?)```",
        TEXT,
        re.S,
    )
    assert found is not None
    return found.group(1), found.group(2).splitlines()


def test_the_documented_errors_are_what_the_loader_prints() -> None:
    text, printed = _error_example()
    assert [str(issue) for issue in check_scenario_text(text, "busy.yaml")] == printed


def test_the_documented_701_message() -> None:
    found = re.search(r"`reply: \[701\]` gives\n\n```text\n(.*?)\n```", TEXT, re.S)
    assert found is not None
    text = "rules:\n  - match: {method: INVITE}\n    reply: [701]\n"
    assert [str(issue) for issue in check_scenario_text(text, "s.yaml")] == [found.group(1)]


EXAMPLES = [block for block in _yaml_blocks() if block[1] != _error_example()[0]]


def test_the_new_sections_have_examples() -> None:
    bodies = "\n".join(body for _, body in EXAMPLES)
    for key in ("defaults:", "registrar:", "auth:", "dial_a_code:", "{env: ALICE_PASSWORD}"):
        assert key in bodies


@pytest.mark.parametrize(("line", "body"), EXAMPLES, ids=[f"line-{n}" for n, _ in EXAMPLES])
def test_every_whole_example_loads_without_issues(
    line: int, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALICE_PASSWORD", "example")
    text = body if re.search(r"^rules:", body, re.M) else body + "rules: []\n"
    assert check_scenario_text(text, f"docs line {line}") == []
    load_scenario_text(text, f"docs line {line}")
