"""Read scenario YAML files into the model, reporting every problem with its line and column.

The text is composed into a YAML node tree (``compose``, nothing is ever constructed from tags)
and walked against the schema in ``docs/scenarios.md`` by the section readers: ``settings``,
``auth_settings`` and ``rules`` (with ``match`` and ``replies``), on ``scalars`` and ``nodes``.
The walk goes on after an error, so a file's problems are reported all at once. These modules
of ``sipfault.scenario`` are the only code of sipfault that imports ``yaml``.
"""

from __future__ import annotations

import os
from pathlib import PurePath

from yaml.nodes import Node, ScalarNode

from sipfault.model import validate
from sipfault.model.faults import ENDPOINT, Fault
from sipfault.model.scenario import (
    AuthSettings,
    MediaSettings,
    RegistrarSettings,
    ResponseDefaults,
    Rule,
    Scenario,
    Timers,
    UnmatchedAnswer,
)
from sipfault.scenario.auth_settings import AuthSettingsReader
from sipfault.scenario.compose import compose
from sipfault.scenario.errors import ScenarioError, ScenarioIssue
from sipfault.scenario.nodes import NULL, line_and_column
from sipfault.scenario.replies import ReplyReader
from sipfault.scenario.rules import RuleReader
from sipfault.scenario.scalars import ScalarReader
from sipfault.scenario.settings import SettingsReader

__all__ = [
    "check_scenario_file",
    "check_scenario_text",
    "load_scenario",
    "load_scenario_text",
]

_TOP_KEYS = (
    "name", "description", "rules", "timers", "seed", "defaults", "registrar", "auth",
    "unmatched", "media", "endpoint_faults",
)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load a scenario file; raise ``ScenarioError`` listing every error (and warning) in it."""
    filename = os.fspath(path)
    text, issues = _read(filename)
    if text is None:
        raise ScenarioError(issues)
    return _load(text, filename, source=filename)


def load_scenario_text(text: str, filename: str = "<string>") -> Scenario:
    """Load a scenario from YAML text; ``filename`` is only used in messages.

    The scenario's ``source`` is None: the text did not come from a file the loader read.
    """
    return _load(text, filename, source=None)


def check_scenario_file(path: str | os.PathLike[str]) -> list[ScenarioIssue]:
    """Every error and warning of a scenario file, in file order; never raises for bad input."""
    filename = os.fspath(path)
    text, issues = _read(filename)
    if text is None:
        return issues
    return _ScenarioReader(filename).run(text)[1]


def check_scenario_text(text: str, filename: str = "<string>") -> list[ScenarioIssue]:
    """Every error and warning of scenario YAML text, in order; never raises for bad input."""
    return _ScenarioReader(filename).run(text)[1]


def _load(text: str, filename: str, source: str | None) -> Scenario:
    scenario, issues = _ScenarioReader(filename, source).run(text)
    if scenario is None or any(issue.is_error for issue in issues):
        raise ScenarioError(issues)
    return scenario


def _read(filename: str) -> tuple[str | None, list[ScenarioIssue]]:
    """The file's text decoded as UTF-8, or None and the reason it could not be read."""
    try:
        with open(filename, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [ScenarioIssue(filename, 0, 0, f"cannot read the file: {reason}")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line, column = line_and_column(data, exc.start, b"\n")
        message = f"byte 0x{data[exc.start]:02x} is not UTF-8 (expected a UTF-8 text file)"
        return None, [ScenarioIssue(filename, line, column, message)]


class _ScenarioReader:
    """Reads one file's text into a ``Scenario``, collecting every issue on the way."""

    def __init__(self, filename: str, source: str | None = None) -> None:
        self.filename = filename
        self.source = source
        self.nodes = ScalarReader(filename)
        replies = ReplyReader(self.nodes)
        self.faults = replies.faults
        self.rules = RuleReader(self.nodes, replies)
        self.settings = SettingsReader(self.nodes, replies)
        self.auth = AuthSettingsReader(self.nodes)

    def run(self, text: str) -> tuple[Scenario | None, list[ScenarioIssue]]:
        parsed, root = compose(text, self.nodes)
        scenario = self._scenario(root) if parsed else None
        return scenario, self.nodes.sorted_issues()

    def _scenario(self, root: Node | None) -> Scenario | None:
        nodes = self.nodes
        if root is None or (isinstance(root, ScalarNode) and root.tag == NULL):
            nodes.issue(
                1,
                1,
                "the file is empty (expected a mapping with 'name', 'description' and 'rules')",
            )
            return None
        top = nodes.section(root, "the top level", "at the top level", _TOP_KEYS)
        if top is None:
            return None
        name = top.get("name", self._name, _default_name(self.filename))
        description = top.get("description", lambda n: nodes.text(n, "'description'"), "")
        timers = top.get("timers", self.settings.timers, Timers())
        seed = top.get("seed", lambda n: nodes.integer(n, "'seed'", "a whole number"), None)
        defaults = top.get("defaults", self.settings.defaults, ResponseDefaults())
        registrar = top.get("registrar", self.settings.registrar, RegistrarSettings())
        auth: AuthSettings | None = top.get(
            "auth", lambda n: self.auth.auth(n, defaults.realm), None
        )
        unmatched = top.get("unmatched", self.settings.unmatched, UnmatchedAnswer())
        media = top.get("media", self.settings.replies.media.media, MediaSettings())
        endpoint_faults: tuple[Fault, ...] = top.get(
            "endpoint_faults",
            lambda n: self.faults.fault_list(n, "'endpoint_faults'", ENDPOINT), (),
        )
        if top.ok:
            top.check(self.settings.check_expires_bounds(top.pairs, defaults, registrar))

        rules: tuple[Rule, ...] | None = None
        if "rules" in top:
            rules = self.rules.rules(top.value_node("rules"))
        else:
            nodes.error(
                root,
                "missing 'rules' (expected a list of rules; use 'rules: []' to "
                "answer every request with the defaults)",
            )
        if not top.ok or rules is None:
            return None
        return Scenario(
            name=name,
            description=description,
            rules=rules,
            timers=timers,
            seed=seed,
            defaults=defaults,
            registrar=registrar,
            auth=auth,
            unmatched=unmatched,
            media=media,
            source=self.source,
            endpoint_faults=endpoint_faults,
        )

    def _name(self, node: Node) -> str | None:
        """The scenario's name: one line of text that is not blank."""
        text = self.nodes.text(node, "'name'")
        if text is not None and not text.strip():
            self.nodes.error(node, "'name' is blank (expected a short name)")
            return None
        return None if text is None else self.nodes.checked(node, validate.one_line, text, "'name'")


def _default_name(filename: str) -> str:
    """A scenario without `name` is named after its file: `scenarios/busy.yaml` is `busy`."""
    stem = PurePath(filename).stem
    return stem if stem and not stem.startswith("<") else "scenario"
