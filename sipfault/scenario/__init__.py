"""Scenarios: what sipfault answers, as frozen data loaded from YAML files.

``load_scenario("scenarios/busy.yaml")`` gives a ``Scenario``; a bad file raises
``ScenarioError`` listing every problem as ``file:line:col: message``. The schema is in
``docs/scenarios.md``.
"""

from sipfault.model.scenario import (
    PLACEHOLDERS,
    AuthSettings,
    DialACode,
    ForcedExpiry,
    Match,
    RegistrarFailure,
    RegistrarSettings,
    Reply,
    ResponseDefaults,
    Rule,
    Scenario,
    SourceLocation,
    Timers,
    fill_placeholders,
)
from sipfault.scenario.errors import ScenarioError, ScenarioIssue
from sipfault.scenario.loader import (
    check_scenario_file,
    check_scenario_text,
    load_scenario,
    load_scenario_text,
)

__all__ = [
    "PLACEHOLDERS",
    "AuthSettings",
    "DialACode",
    "ForcedExpiry",
    "Match",
    "RegistrarFailure",
    "RegistrarSettings",
    "Reply",
    "ResponseDefaults",
    "Rule",
    "Scenario",
    "ScenarioError",
    "ScenarioIssue",
    "SourceLocation",
    "Timers",
    "check_scenario_file",
    "check_scenario_text",
    "fill_placeholders",
    "load_scenario",
    "load_scenario_text",
]
