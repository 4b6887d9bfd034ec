"""The Python API: a server for tests, rules built in code, and the journal in memory.

``sipfault.Server`` (from :mod:`sipfault.api.server`) is the asyncio server; the threaded
``sipfault.Controller`` wraps it for synchronous code. Rules are the scenario model's objects
(:mod:`sipfault.model.scenario`), so a rule built here behaves as the same rule in a file.
"""

from sipfault.api.builder import (
    ActionSpec,
    MatchConditions,
    RuleBuilder,
    StepSpec,
    build_action,
    build_match,
    build_media_settings,
    build_step,
)
from sipfault.api.faxes import FaxResult
from sipfault.api.journal import (
    Journal,
    MessageRecord,
    Unexpected,
    UnexpectedTraffic,
    WaitTimeout,
    format_ladder,
)
from sipfault.api.server import Server, load_any_scenario

__all__ = [
    "ActionSpec",
    "FaxResult",
    "Journal",
    "MatchConditions",
    "MessageRecord",
    "RuleBuilder",
    "Server",
    "StepSpec",
    "Unexpected",
    "UnexpectedTraffic",
    "WaitTimeout",
    "build_action",
    "build_match",
    "build_media_settings",
    "build_step",
    "format_ladder",
    "load_any_scenario",
]
