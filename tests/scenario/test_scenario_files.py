"""The shipped scenario files load into exactly the model their comments describe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sipfault.scenario import (
    Match,
    Reply,
    Rule,
    Scenario,
    SourceLocation,
    Timers,
    check_scenario_file,
    load_scenario,
)

REPO = Path(__file__).resolve().parents[2]

INVITE = Match(methods=frozenset({"INVITE"}))


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # Load by relative path, as a user would type it, to check names are kept as given.
    monkeypatch.chdir(REPO)


def test_busy() -> None:
    scenario = load_scenario("scenarios/busy.yaml")
    assert scenario == Scenario(
        name="busy",
        description="Ring briefly, then Busy Here; ask the caller to retry in 30 s.",
        rules=(
            Rule(
                match=INVITE,
                name="busy",
                reply=(
                    Reply(code=100),
                    Reply(code=180, after=0.2),
                    Reply(code=486, after=1.0, headers=(("Retry-After", "30"),)),
                ),
            ),
        ),
        timers=Timers(),
        seed=None,
        source="scenarios/busy.yaml",
    )
    rule = scenario.rules[0]
    assert rule.location == SourceLocation("scenarios/busy.yaml", 16, 5)
    assert [step.location for step in rule.reply] == [
        SourceLocation("scenarios/busy.yaml", 20, 9),
        SourceLocation("scenarios/busy.yaml", 22, 9),
        SourceLocation("scenarios/busy.yaml", 25, 9),
    ]


def test_answer() -> None:
    scenario = load_scenario("scenarios/answer.yaml")
    assert scenario.name == "answer"
    assert scenario.source == "scenarios/answer.yaml"
    assert scenario.rules == (
        Rule(
            match=INVITE,
            name="answer",
            reply=(
                Reply(code=100),
                Reply(code=180, after=0.1),
                Reply(200, after=1.0, sdp="answer"),
            ),
        ),
    )
    # BYE is left to the server's defaults, and the file says so.
    assert "BYE" in Path("scenarios/answer.yaml").read_text(encoding="utf-8")
    assert all(rule.match.methods == frozenset({"INVITE"}) for rule in scenario.rules)


def test_ring_forever_has_no_final_response() -> None:
    scenario = load_scenario("scenarios/ring-forever.yaml")
    assert scenario.name == "ring-forever"
    (rule,) = scenario.rules
    assert rule.match == INVITE
    assert rule.drop is False
    assert [step.code for step in rule.reply] == [100, 180]
    assert not any(step.is_final for step in rule.reply)
    assert "CANCEL" in Path("scenarios/ring-forever.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["busy", "answer", "ring-forever"])
def test_shipped_files_have_no_warnings_and_teach(name: str) -> None:
    path = f"scenarios/{name}.yaml"
    assert check_scenario_file(path) == []
    scenario = load_scenario(path)
    assert scenario.description
    comments = [
        line
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.lstrip().startswith("#")
    ]
    assert len(comments) >= 5


def test_path_objects_and_absolute_paths_are_kept_as_given() -> None:
    absolute = REPO / "scenarios" / "busy.yaml"
    assert load_scenario(absolute).source == os.fspath(absolute)
    assert load_scenario(Path("scenarios/busy.yaml")).source == "scenarios/busy.yaml"
