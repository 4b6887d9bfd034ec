"""Property tests: no input makes the loader fail with anything but ScenarioError.

Whatever the text, ``check_scenario_text`` returns issues that each have a place in the text,
and ``load_scenario_text`` either returns a scenario (exactly when there is no error) or raises
``ScenarioError`` carrying those issues.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipfault.scenario import Scenario, ScenarioError, check_scenario_text, load_scenario_text

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [
    (REPO / "scenarios" / name).read_text(encoding="utf-8")
    for name in ("busy.yaml", "answer.yaml", "ring-forever.yaml")
]

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Keys and values from the schema, so generated documents get past the first checks and reach
# the deeper ones; plus YAML-significant characters for the raw-text strategies.
KEYS = [
    "name", "description", "rules", "timers", "seed", "match", "reply", "drop", "method", "user",
    "host", "from_user", "to_user", "headers", "body", "media", "transport", "in_dialog",
    "first", "nth", "every", "probability", "code", "reason", "after", "omit", "sdp",
    "reliable", "fault", "t1", "t2", "t4", "<<", "Retry-After", "aftr",
]  # fmt: skip
WORDS = [
    "INVITE", "BYE", "ACK", "answer", "v=0", "200ms", "1.5s", "2m", "1x", "udp", "image",
    "(", ".*", "{to_user}", "{nope}", "25%", "", " ", "\n", "\r\n", "~", "yes", "-1", "1e999",
]  # fmt: skip
YAML_CHARS = "{}[]:,-#&*!|>'\"%@`?\n\t <=.0123456789abcINVITE_~\x00\x85\u2028\ufeff\r"


def check(text: str) -> None:
    issues = check_scenario_text(text, "f.yaml")
    for issue in issues:
        assert issue.file == "f.yaml"
        assert issue.line >= 1 and issue.column >= 1
        assert issue.severity in ("error", "warning")
        assert issue.message and "\n" not in issue.message
        assert str(issue).startswith(f"f.yaml:{issue.line}:{issue.column}: ")
    has_errors = any(issue.severity == "error" for issue in issues)
    try:
        scenario = load_scenario_text(text, "f.yaml")
    except ScenarioError as error:
        assert has_errors
        assert error.issues == issues
    else:
        assert not has_errors
        assert isinstance(scenario, Scenario)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5),
    ),
    max_leaves=25,
)


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    check(text)


@FUZZ
@given(st.text(alphabet=YAML_CHARS, max_size=200))
def test_yaml_punctuation(text: str) -> None:
    check(text)


@FUZZ
@given(values, st.booleans())
def test_any_yaml_document(document: Any, flow: bool) -> None:
    check(yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True))


@FUZZ
@given(
    st.dictionaries(st.sampled_from(["name", "rules", "timers", "seed"]), values, max_size=4),
    st.lists(
        st.dictionaries(st.sampled_from(["match", "reply", "drop", "name"]), values, max_size=3),
        max_size=3,
    ),
)
def test_scenario_shaped_documents(top: dict[str, Any], rules: list[dict[str, Any]]) -> None:
    check(yaml.safe_dump({**top, "rules": rules}, allow_unicode=True))


@FUZZ
@given(st.data())
def test_edited_shipped_files(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(SHIPPED))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        start = data.draw(st.integers(min_value=0, max_value=len(text)))
        end = data.draw(st.integers(min_value=start, max_value=min(len(text), start + 8)))
        insert = data.draw(st.text(alphabet=YAML_CHARS, max_size=4) | st.sampled_from(WORDS))
        text = text[:start] + insert + text[end:]
    check(text)
