"""Read scenario YAML files into the model, reporting every problem with its line and column.

The loader composes the YAML node tree (``yaml.compose`` with the safe loader, nothing is ever
constructed from tags) and walks it against the schema in ``docs/scenarios.md``. It keeps walking
after an error, so a file's problems are reported all at once. This is the only module of
sipfault that imports ``yaml``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sipfault.scenario.errors import ScenarioError, ScenarioIssue, Severity
from sipfault.scenario.model import (
    PLACEHOLDERS,
    Match,
    Reply,
    Rule,
    Scenario,
    SourceLocation,
    Timers,
)

__all__ = [
    "check_scenario_file",
    "check_scenario_text",
    "load_scenario",
    "load_scenario_text",
]

T = TypeVar("T")

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MAP, _SEQ, _MERGE = (_TAG + t for t in ("timestamp", "map", "seq", "merge"))
# Scalars accepted where text is expected: the text as written is used, so `Retry-After: 30`
# gives "30" and `Privacy: off` gives "off" rather than YAML 1.1's False.
_TEXT_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _TIMESTAMP})

_TOP_KEYS = ("name", "description", "rules", "timers", "seed")
_RULE_KEYS = ("match", "reply", "drop", "name")
_MATCH_KEYS = (
    "method",
    "user",
    "host",
    "from_user",
    "to_user",
    "headers",
    "body",
    "media",
    "transport",
    "in_dialog",
    "first",
    "nth",
    "every",
    "probability",
)
_STEP_KEYS = ("code", "reason", "after", "headers", "omit", "body", "sdp", "reliable", "fault")
_TIMER_KEYS = ("t1", "t2", "t4")
_COUNTERS = ("first", "nth", "every")
_TRANSPORTS = frozenset({"udp", "tcp", "tls"})
# RFC 4566 §5.14 and its registry; "image" carries T.38 fax (RFC 3362).
_MEDIA_TYPES = frozenset({"audio", "video", "text", "application", "message", "image"})

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
# Methods (§7.1) and header field names (§7.3.1) are tokens.
_TOKEN_RE = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_FAULT_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}
_PERCENT_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%")
_DURATION_HINT = "a number of seconds or a duration like 200ms, 1.5s or 2m"


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
    return _Walker(filename).run(text)[1]


def check_scenario_text(text: str, filename: str = "<string>") -> list[ScenarioIssue]:
    """Every error and warning of scenario YAML text, in order; never raises for bad input."""
    return _Walker(filename).run(text)[1]


def _load(text: str, filename: str, source: str | None) -> Scenario:
    scenario, issues = _Walker(filename, source).run(text)
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
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"byte 0x{data[exc.start]:02x} is not UTF-8 (expected a UTF-8 text file)"
        return None, [ScenarioIssue(filename, line, column, message)]


def _describe(node: Node) -> str:
    """What a node is, for 'X is <this> (expected Y)' messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = str(node.value)
    shown = value if len(value) <= 40 else value[:37] + "..."
    if node.tag == _NULL:
        return "empty"
    if node.tag == _STR:
        return f"the text {shown!r}"
    if node.tag in (_INT, _FLOAT):
        return f"the number {shown}"
    if node.tag == _BOOL:
        return f"the boolean {shown}"
    if node.tag == _TIMESTAMP:
        return f"the date {shown}"
    tag = str(node.tag).replace(_TAG, "!!")
    return f"a value tagged {tag!r}"


class _Walker:
    """Walks one file's node tree against the schema, collecting issues as it goes.

    Each reader returns the converted value, or None after recording an error, so the walk
    goes on and every error of the file is found in one pass.
    """

    def __init__(self, filename: str, source: str | None = None) -> None:
        self.filename = filename
        self.source = source
        self.issues: list[ScenarioIssue] = []
        self._constructor = SafeConstructor()
        # Aliases can make one node appear many times; each is read (and reported) once.
        self._pairs_cache: dict[Node, dict[str, tuple[Node, Node]]] = {}
        self._rule_cache: dict[Node, Rule | None] = {}
        self._step_cache: dict[Node, Reply | None] = {}

    # -- entry -----------------------------------------------------------------------------

    def run(self, text: str) -> tuple[Scenario | None, list[ScenarioIssue]]:
        parsed, root = self._compose(text)
        scenario = self._scenario(root) if parsed else None
        return scenario, self._sorted_issues()

    def _compose(self, text: str) -> tuple[bool, Node | None]:
        """Whether the text is YAML, and its root node (None for an empty document)."""
        try:
            root: Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.composer.ComposerError as exc:
            if exc.problem != "but found another document" or exc.problem_mark is None:
                self._yaml_error(exc)
            else:
                mark = exc.problem_mark
                self._issue(
                    mark.line + 1,
                    mark.column + 1,
                    "a second YAML document starts here (expected one document per file)",
                )
            return False, None
        except yaml.MarkedYAMLError as exc:
            self._yaml_error(exc)
            return False, None
        except yaml.reader.ReaderError as exc:
            position = max(0, min(exc.position, len(text)))
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            self._issue(
                line,
                column,
                f"invalid YAML: character #x{exc.character:04x} is not "
                "allowed (expected printable Unicode text)",
            )
            return False, None
        except RecursionError:
            self._issue(1, 1, "invalid YAML: nested too deeply (expected a scenario file)")
            return False, None
        except Exception as exc:  # any other parser failure is the file's fault
            self._issue(1, 1, f"invalid YAML: {exc}")
            return False, None
        return True, root

    def _yaml_error(self, exc: yaml.MarkedYAMLError) -> None:
        """A syntax error from the YAML parser, at the place it names."""
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
        if exc.problem and exc.context:
            context_mark = exc.context_mark
            where = ""
            if context_mark is not None and context_mark is not mark:
                where = f" at {context_mark.line + 1}:{context_mark.column + 1}"
            message += f" ({exc.context}{where})"
        self._issue(line, column, message)

    def _sorted_issues(self) -> list[ScenarioIssue]:
        unique = list(dict.fromkeys(self.issues))
        return sorted(unique, key=lambda issue: (issue.line, issue.column))

    # -- reporting ---------------------------------------------------------------------------

    def _issue(self, line: int, column: int, message: str, severity: Severity = "error") -> None:
        self.issues.append(ScenarioIssue(self.filename, line, column, message, severity))

    def _error(self, node: Node, message: str) -> None:
        self._issue(node.start_mark.line + 1, node.start_mark.column + 1, message)

    def _warn(self, node: Node, message: str) -> None:
        self._issue(node.start_mark.line + 1, node.start_mark.column + 1, message, "warning")

    def _location(self, node: Node) -> SourceLocation:
        return SourceLocation(self.filename, node.start_mark.line + 1, node.start_mark.column + 1)

    @staticmethod
    def _at(node: Node) -> str:
        return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def _wrong_type(self, node: Node, subject: str, expected: str) -> None:
        self._error(node, f"{subject} is {_describe(node)} (expected {expected})")

    # -- structure -------------------------------------------------------------------------

    def _mapping(
        self, node: Node, subject: str, context: str, allowed: tuple[str, ...] | None
    ) -> dict[str, tuple[Node, Node]] | None:
        """The key -> (key node, value node) pairs of a mapping, with unknown keys reported."""
        if not isinstance(node, MappingNode):
            self._wrong_type(node, subject, "a mapping")
            return None
        if node.tag != _MAP:
            self._error(node, f"unsupported tag {node.tag!r} on {subject} (expected a mapping)")
            return None
        pairs = self._pairs(node, frozenset())
        if allowed is not None:
            expected = ", ".join(sorted(allowed))
            for key, (key_node, _) in pairs.items():
                if key not in allowed:
                    self._error(
                        key_node, f"unknown key {key!r} {context} (expected one of: {expected})"
                    )
        return pairs

    def _pairs(self, node: MappingNode, active: frozenset[Node]) -> dict[str, tuple[Node, Node]]:
        """A mapping's pairs with YAML merge keys (``<<: *anchor``) applied, duplicates reported.

        Keys written in the mapping win over merged ones; among merged mappings the first wins.
        """
        cached = self._pairs_cache.get(node)
        if cached is not None:
            return cached
        explicit: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                for key, pair in self._merged_pairs(value_node, active | {node}).items():
                    merged.setdefault(key, pair)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _TEXT_TAGS | {_NULL}:
                self._wrong_type(key_node, "a key", "a key name")
                continue
            key = str(key_node.value)
            if key in explicit:
                first = explicit[key][0]
                self._error(
                    key_node,
                    f"duplicate key {key!r} (first given at {self._at(first)}; "
                    "expected each key once)",
                )
                continue
            explicit[key] = (key_node, value_node)
        pairs = {key: pair for key, pair in merged.items() if key not in explicit}
        pairs.update(explicit)
        self._pairs_cache[node] = pairs
        return pairs

    def _merged_pairs(self, node: Node, active: frozenset[Node]) -> dict[str, tuple[Node, Node]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        pairs: dict[str, tuple[Node, Node]] = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                self._wrong_type(source, "a merge ('<<') value", "a mapping or list of mappings")
            elif source in active:
                self._error(source, "a mapping merges itself (expected a mapping without '<<')")
            else:
                for key, pair in self._pairs(source, active).items():
                    pairs.setdefault(key, pair)
        return pairs

    def _items(self, node: Node, subject: str, expected: str) -> list[Node] | None:
        """The items of a list node."""
        if not isinstance(node, SequenceNode):
            self._wrong_type(node, subject, expected)
            return None
        if node.tag != _SEQ:
            self._error(node, f"unsupported tag {node.tag!r} on {subject} (expected {expected})")
            return None
        items: list[Node] = node.value
        return items

    def _one_or_many(
        self, node: Node, subject: str, expected: str, read: Callable[[Node], T | None]
    ) -> list[T] | None:
        """A scalar or a non-empty list of scalars, each converted by ``read``."""
        if isinstance(node, ScalarNode):
            value = read(node)
            return None if value is None else [value]
        items = self._items(node, subject, f"{expected} or a list of them")
        if items is None:
            return None
        if not items:
            self._error(node, f"{subject} is an empty list (expected at least one {expected})")
            return None
        values = [read(item) for item in items]
        if any(value is None for value in values):
            return None
        return [value for value in values if value is not None]

    # -- scalars -----------------------------------------------------------------------------

    def _construct(self, node: ScalarNode, subject: str) -> object | None:
        try:
            value: object = self._constructor.construct_object(node)
            return value
        except Exception as exc:  # e.g. `!!int abc`: any failure is the file's
            problem = getattr(exc, "problem", None) or str(exc)
            self._error(node, f"{subject}: cannot read {str(node.value)!r} ({problem})")
            return None

    def _text(self, node: Node, subject: str, expected: str = "text") -> str | None:
        """Text as written in the file; numbers and booleans count as text here."""
        if isinstance(node, ScalarNode) and node.tag in _TEXT_TAGS:
            return str(node.value)
        self._wrong_type(node, subject, expected)
        return None

    def _int(self, node: Node, subject: str, expected: str) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == _INT:
            value = self._construct(node, subject)
            if isinstance(value, int):
                return value
            return None
        self._wrong_type(node, subject, expected)
        return None

    def _bool(self, node: Node, subject: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            value = self._construct(node, subject)
            if isinstance(value, bool):
                return value
            return None
        self._wrong_type(node, subject, "true or false")
        return None

    def _number(self, node: ScalarNode, subject: str) -> float | None:
        """An int or float scalar as a float (inf when too large to be one)."""
        value = self._construct(node, subject)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            return float(value)
        except OverflowError:
            return math.inf

    def _duration(self, node: Node, subject: str) -> float | None:
        """Seconds from a number or a text like ``200ms``, ``1.5s``, ``2m``; never negative."""
        seconds: float | None
        if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
            seconds = self._number(node, subject)
            if seconds is None:
                return None
        elif isinstance(node, ScalarNode) and node.tag == _STR:
            found = _DURATION_RE.fullmatch(str(node.value).strip())
            if found is None:
                self._error(
                    node, f"bad duration {node.value!r} for {subject} (expected {_DURATION_HINT})"
                )
                return None
            seconds = float(found.group(1)) * _DURATION_UNITS[found.group(2)]
        else:
            self._wrong_type(node, subject, _DURATION_HINT)
            return None
        if math.isnan(seconds) or seconds < 0:
            self._error(node, f"{subject} is negative (expected {_DURATION_HINT})")
            return None
        if math.isinf(seconds):
            self._error(node, f"{subject} is too long (expected a finite duration)")
            return None
        return seconds

    def _regex(self, node: Node, subject: str, flags: int = 0) -> re.Pattern[str] | None:
        pattern = self._text(node, subject, "a regular expression")
        if pattern is None:
            return None
        try:
            return re.compile(pattern, flags)
        except Exception as exc:  # re.error, OverflowError, RecursionError
            self._error(
                node,
                f"invalid regex {pattern!r} for {subject}: {exc} "
                "(expected a Python regular expression)",
            )
            return None

    def _token(self, node: Node, subject: str, kind: str) -> str | None:
        """An RFC 3261 §25.1 token: a method or a header field name."""
        text = self._text(node, subject, kind)
        if text is None:
            return None
        if not _TOKEN_RE.fullmatch(text):
            self._error(
                node,
                f"{subject} {text!r} is not a valid {kind} (expected letters, "
                "digits and - . ! % * _ + ` ' ~ only, RFC 3261 §25.1)",
            )
            return None
        return text

    def _one_line(self, node: Node, subject: str, text: str) -> bool:
        if any(char in text for char in "\r\n\0"):
            self._error(
                node,
                f"{subject} contains a line break or NUL (expected one line; "
                "malformed messages are made with 'fault')",
            )
            return False
        return True

    def _check_placeholders(self, node: Node, subject: str, text: str) -> None:
        known = ", ".join(sorted(PLACEHOLDERS))
        for name in dict.fromkeys(_PLACEHOLDER_RE.findall(text)):
            if name not in PLACEHOLDERS:
                self._warn(
                    node,
                    f"unknown placeholder {{{name}}} in {subject} is sent as written "
                    f"(known: {known})",
                )

    # -- scenario ----------------------------------------------------------------------------

    def _scenario(self, root: Node | None) -> Scenario | None:
        if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
            self._issue(
                1,
                1,
                "the file is empty (expected a mapping with 'name', 'description' and 'rules')",
            )
            return None
        pairs = self._mapping(root, "the top level", "at the top level", _TOP_KEYS)
        if pairs is None:
            return None
        ok = True

        name = _default_name(self.filename)
        if "name" in pairs:
            node = pairs["name"][1]
            text = self._text(node, "'name'")
            if text is not None and not text.strip():
                self._error(node, "'name' is blank (expected a short name)")
                text = None
            if text is not None and not self._one_line(node, "'name'", text):
                text = None
            ok &= text is not None
            name = text or name

        description = ""
        if "description" in pairs:
            text = self._text(pairs["description"][1], "'description'")
            ok &= text is not None
            description = text or ""

        timers = Timers()
        if "timers" in pairs:
            read_timers = self._timers(pairs["timers"][1])
            ok &= read_timers is not None
            timers = read_timers or timers

        seed = None
        if "seed" in pairs:
            seed = self._int(pairs["seed"][1], "'seed'", "a whole number")
            ok &= seed is not None

        rules: tuple[Rule, ...] | None = None
        if "rules" in pairs:
            rules = self._rules(pairs["rules"][1])
        else:
            self._error(
                root,
                "missing 'rules' (expected a list of rules; use 'rules: []' to "
                "answer every request with the defaults)",
            )
        if not ok or rules is None:
            return None
        return Scenario(
            name=name,
            description=description,
            rules=rules,
            timers=timers,
            seed=seed,
            source=self.source,
        )

    def _timers(self, node: Node) -> Timers | None:
        pairs = self._mapping(node, "'timers'", "in timers", _TIMER_KEYS)
        if pairs is None:
            return None
        values: dict[str, float] = {}
        ok = True
        for key in _TIMER_KEYS:
            if key not in pairs:
                continue
            value_node = pairs[key][1]
            seconds = self._duration(value_node, f"'{key}'")
            if seconds == 0:
                self._error(value_node, f"'{key}' is zero (expected a positive duration)")
                seconds = None
            if seconds is None:
                ok = False
            else:
                values[key] = seconds
        if not ok:
            return None
        timers = Timers(**values)
        if timers.t2 < timers.t1:
            self._warn(
                node,
                f"t2 ({timers.t2:g}s) is shorter than t1 ({timers.t1:g}s); "
                "RFC 3261 §17.1.2.2 expects T2 >= T1",
            )
        return timers

    def _rules(self, node: Node) -> tuple[Rule, ...] | None:
        items = self._items(node, "'rules'", "a list of rules")
        if items is None:
            return None
        rules = [self._rule(item) for item in items]
        if any(rule is None for rule in rules):
            return None
        checked = tuple(rule for rule in rules if rule is not None)
        self._check_rule_order(checked, items)
        return checked

    def _check_rule_order(self, rules: tuple[Rule, ...], nodes: list[Node]) -> None:
        """Warn about rules that can never match and names used twice."""
        catch_all: Node | None = None
        names: dict[str, Node] = {}
        for rule, node in zip(rules, nodes, strict=True):
            if catch_all is not None and catch_all is not node:
                self._warn(
                    node,
                    f"this rule never matches: the rule at {self._at(catch_all)} "
                    "answers every request before it",
                )
            elif catch_all is None and rule.match.unconditional:
                catch_all = node
            if rule.name is not None:
                if rule.name in names and names[rule.name] is not node:
                    self._warn(
                        node,
                        f"rule name {rule.name!r} is also used at "
                        f"{self._at(names[rule.name])} (expected unique names)",
                    )
                names.setdefault(rule.name, node)

    def _rule(self, node: Node) -> Rule | None:
        if node in self._rule_cache:
            return self._rule_cache[node]
        rule = self._read_rule(node)
        self._rule_cache[node] = rule
        return rule

    def _read_rule(self, node: Node) -> Rule | None:
        pairs = self._mapping(node, "a rule", "in rule", _RULE_KEYS)
        if pairs is None:
            return None
        ok = True
        match: Match | None = Match()
        if "match" in pairs:
            match = self._match(pairs["match"][1])
            ok &= match is not None

        replies: tuple[Reply, ...] | None = ()
        if "reply" in pairs:
            replies = self._reply_list(pairs["reply"][1])
            ok &= replies is not None

        drop: bool | None = False
        if "drop" in pairs:
            drop = self._bool(pairs["drop"][1], "'drop'")
            ok &= drop is not None

        name = None
        if "name" in pairs:
            name = self._text(pairs["name"][1], "rule 'name'")
            ok &= name is not None

        if drop and replies:
            self._error(
                pairs["drop"][0], "a rule cannot both 'drop' and 'reply' (expected one of them)"
            )
            ok = False
        if "reply" not in pairs and drop is False:
            self._error(
                node,
                "rule has no 'reply' (expected a list of reply steps, "
                "or 'drop: true' to never answer)",
            )
            ok = False
        if not ok or match is None or replies is None or drop is None:
            return None
        if replies and match.methods is not None and "ACK" in match.methods:
            self._warn(
                node,
                "ACK is never answered (RFC 3261 §17.1.1.3); "
                "this rule's replies apply only to its other methods",
            )
        return Rule(match=match, reply=replies, drop=drop, name=name, location=self._location(node))

    # -- match -------------------------------------------------------------------------------

    def _match(self, node: Node) -> Match | None:
        pairs = self._mapping(node, "'match'", "in match", _MATCH_KEYS)
        if pairs is None:
            return None
        values: dict[str, object] = {}
        ok = True

        def put(field_name: str, value: object) -> None:
            nonlocal ok
            if value is None:
                ok = False
            else:
                values[field_name] = value

        def value_of(key: str) -> Node | None:
            return pairs[key][1] if key in pairs else None

        if (v := value_of("method")) is not None:
            methods = self._one_or_many(v, "'method'", "method", self._method)
            put("methods", None if methods is None else frozenset(methods))
        for key, field_name, flags in (
            ("user", "ruri_user", 0),
            ("host", "ruri_host", re.IGNORECASE),
            ("from_user", "from_user", 0),
            ("to_user", "to_user", 0),
            ("body", "body", 0),
        ):
            if (v := value_of(key)) is not None:
                put(field_name, self._regex(v, f"'{key}'", flags))
        if (v := value_of("headers")) is not None:
            put("headers", self._match_headers(v))
        if (v := value_of("media")) is not None:
            media = self._one_or_many(v, "'media'", "SDP media type", self._media)
            put("media", None if media is None else frozenset(media))
        if (v := value_of("transport")) is not None:
            transports = self._one_or_many(v, "'transport'", "transport", self._transport)
            put("transports", None if transports is None else frozenset(transports))
        if (v := value_of("in_dialog")) is not None:
            put("in_dialog", self._bool(v, "'in_dialog'"))
        counters = [key for key in _COUNTERS if key in pairs]
        for key in counters:
            put(key, self._counter(pairs[key][1], key))
        for key in counters[1:]:
            self._error(
                pairs[key][0],
                f"'{key}' cannot be combined with '{counters[0]}' "
                "(expected one counter per rule: first, nth or every)",
            )
            ok = False
        if (v := value_of("probability")) is not None:
            put("probability", self._probability(v))
        if not ok:
            return None
        return Match(**values)  # type: ignore[arg-type]  # keys and types checked above

    def _method(self, node: Node) -> str | None:
        method = self._token(node, "method", "method name")
        if method is not None and method != method.upper():
            self._warn(
                node,
                f"method {method!r} is not upper-case and matches only requests "
                f"that spell it so (methods are case-sensitive, RFC 3261 §7.1); "
                f"did you mean {method.upper()!r}?",
            )
        return method

    def _media(self, node: Node) -> str | None:
        media = self._token(node, "media type", "SDP media type")
        if media is not None and media not in _MEDIA_TYPES:
            known = ", ".join(sorted(_MEDIA_TYPES))
            self._warn(
                node,
                f"media type {media!r} is not a known SDP media type "
                f"(known: {known}; T.38 fax is 'image')",
            )
        return media

    def _transport(self, node: Node) -> str | None:
        text = self._text(node, "transport")
        if text is None:
            return None
        if text.lower() not in _TRANSPORTS:
            self._error(
                node,
                f"unknown transport {text!r} (expected one of: {', '.join(sorted(_TRANSPORTS))})",
            )
            return None
        return text.lower()

    def _counter(self, node: Node, key: str) -> int | None:
        expected = "a whole number of at least 1"
        value = self._int(node, f"'{key}'", expected)
        if value is not None and value < 1:
            self._error(node, f"'{key}' is {value} (expected {expected})")
            return None
        return value

    def _probability(self, node: Node) -> float | None:
        expected = "a number from 0 to 1, or a percentage like 25%"
        value: float | None = None
        if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
            value = self._number(node, "'probability'")
            if value is None:
                return None
        elif isinstance(node, ScalarNode) and node.tag == _STR:
            found = _PERCENT_RE.fullmatch(str(node.value).strip())
            if found is not None:
                value = float(found.group(1)) / 100
        if value is None:
            self._wrong_type(node, "'probability'", expected)
            return None
        if not 0.0 <= value <= 1.0:
            self._error(node, f"'probability' {node.value} is out of range (expected {expected})")
            return None
        return value

    def _match_headers(self, node: Node) -> tuple[tuple[str, re.Pattern[str]], ...] | None:
        pairs = self._mapping(node, "'headers'", "in headers", None)
        if pairs is None:
            return None
        result: list[tuple[str, re.Pattern[str]]] = []
        seen: dict[str, Node] = {}
        ok = True
        for key, (key_node, value_node) in pairs.items():
            name = self._token(key_node, "header name", "header name")
            pattern = self._regex(value_node, f"header {key!r}")
            if name is not None and not self._unique_header(name, key_node, seen):
                name = None
            if name is None or pattern is None:
                ok = False
            else:
                result.append((name, pattern))
        return tuple(result) if ok else None

    def _unique_header(self, name: str, node: Node, seen: dict[str, Node]) -> bool:
        """Header names ignore case (RFC 3261 §7.3.1): `Subject` and `subject` are one field."""
        folded = name.lower()
        if folded in seen:
            self._error(
                node,
                f"header {name!r} is also given at {self._at(seen[folded])} "
                "(header names ignore case; expected each once)",
            )
            return False
        seen[folded] = node
        return True

    # -- replies -----------------------------------------------------------------------------

    def _reply_list(self, node: Node) -> tuple[Reply, ...] | None:
        items = self._items(node, "'reply'", "a list of reply steps, like [100, 486]")
        if items is None:
            return None
        if not items:
            self._error(
                node,
                "'reply' is an empty list (expected at least one reply step, "
                "or 'drop: true' to never answer)",
            )
            return None
        steps = [self._step(item) for item in items]
        if any(step is None for step in steps):
            return None
        replies = tuple(step for step in steps if step is not None)
        final_node: Node | None = None
        for step, step_node in zip(replies, items, strict=True):
            if final_node is not None:
                self._warn(
                    step_node,
                    f"response after the final response at "
                    f"{self._at(final_node)} (a transaction has one final response, "
                    "RFC 3261 §17.2.1)",
                )
            elif step.is_final:
                final_node = step_node
        return replies

    def _step(self, node: Node) -> Reply | None:
        if node in self._step_cache:
            return self._step_cache[node]
        step: Reply | None
        if isinstance(node, ScalarNode) and node.tag == _INT:
            code = self._code(node)
            step = None if code is None else Reply(code=code, location=self._location(node))
        elif isinstance(node, MappingNode):
            step = self._step_mapping(node)
        else:
            self._wrong_type(node, "reply step", "a status code or a mapping")
            step = None
        self._step_cache[node] = step
        return step

    def _code(self, node: Node) -> int | None:
        expected = "a status code 100-699"
        code = self._int(node, "'code'", expected)
        if code is not None and not 100 <= code <= 699:
            self._error(
                node, f"status code {code} is out of range (expected 100-699, RFC 3261 §7.2)"
            )
            return None
        return code

    def _step_mapping(self, node: MappingNode) -> Reply | None:
        pairs = self._mapping(node, "reply step", "in reply step", _STEP_KEYS)
        if pairs is None:
            return None
        ok = True
        values: dict[str, object] = {}

        def put(field_name: str, value: object) -> None:
            nonlocal ok
            if value is None:
                ok = False
            else:
                values[field_name] = value

        code: int | None = None
        if "code" in pairs:
            code = self._code(pairs["code"][1])
            ok &= code is not None
        else:
            self._error(node, "reply step has no 'code' (expected a status code 100-699)")
            ok = False
        if "reason" in pairs:
            reason_node = pairs["reason"][1]
            reason = self._text(reason_node, "'reason'")
            if reason is not None and not self._one_line(reason_node, "'reason'", reason):
                reason = None
            put("reason", reason)
        if "after" in pairs:
            put("after", self._duration(pairs["after"][1], "'after'"))
        headers: tuple[tuple[str, str], ...] = ()
        if "headers" in pairs:
            read_headers = self._reply_headers(pairs["headers"][1])
            put("headers", read_headers)
            headers = read_headers or ()
        if "omit" in pairs:
            put("omit", self._omit(pairs["omit"][1], headers))
        if "body" in pairs:
            body_node = pairs["body"][1]
            body = self._text(body_node, "'body'")
            if body is not None:
                self._check_placeholders(body_node, "'body'", body)
            put("body", body)
        if "sdp" in pairs:
            put("sdp", self._sdp(pairs["sdp"][1]))
            if "body" in pairs:
                self._error(
                    pairs["sdp"][0],
                    "a reply step cannot have both 'body' and 'sdp' (expected one of them)",
                )
                ok = False
        if "reliable" in pairs:
            reliable = self._bool(pairs["reliable"][1], "'reliable'")
            put("reliable", reliable)
            if reliable and code is not None and not self._can_be_reliable(code, pairs):
                ok = False
        if "fault" in pairs:
            put("fault", self._fault(pairs["fault"][1]))
        if not ok or code is None:
            return None
        return Reply(code=code, location=self._location(node), **values)  # type: ignore[arg-type]

    def _can_be_reliable(self, code: int, pairs: dict[str, tuple[Node, Node]]) -> bool:
        """RFC 3262 §3: only a 101-199 provisional response is sent reliably."""
        node = pairs["reliable"][1]
        if code == 100:
            self._error(
                node,
                "100 Trying cannot be sent reliably (expected a 101-199 "
                "provisional response, RFC 3262 §3)",
            )
            return False
        if code >= 200:
            self._error(
                node,
                f"a final response ({code}) cannot be sent reliably (expected "
                "a 101-199 provisional response, RFC 3262 §3)",
            )
            return False
        return True

    def _reply_headers(self, node: Node) -> tuple[tuple[str, str], ...] | None:
        pairs = self._mapping(node, "'headers'", "in headers", None)
        if pairs is None:
            return None
        result: list[tuple[str, str]] = []
        seen: dict[str, Node] = {}
        ok = True
        for key, (key_node, value_node) in pairs.items():
            name = self._token(key_node, "header name", "header name")
            if name is not None and not self._unique_header(name, key_node, seen):
                name = None
            subject = f"header {key!r}"

            def header_value(item: Node, subject: str = subject) -> str | None:
                expected = "a header value; to leave a header out, use 'omit'"
                text = self._text(item, subject, expected)
                if text is None or not self._one_line(item, subject, text):
                    return None
                self._check_placeholders(item, subject, text)
                return text

            values = self._one_or_many(value_node, subject, "header value", header_value)
            if name is None or values is None:
                ok = False
            else:
                result.extend((name, value) for value in values)
        return tuple(result) if ok else None

    def _omit(self, node: Node, headers: tuple[tuple[str, str], ...]) -> tuple[str, ...] | None:
        names = self._one_or_many(
            node, "'omit'", "header name", lambda item: self._token(item, "omit", "header name")
        )
        if names is None:
            return None
        items: list[Node] = node.value if isinstance(node, SequenceNode) else [node]
        set_here = {name.lower() for name, _ in headers}
        seen: dict[str, Node] = {}
        ok = True
        for name, item in zip(names, items, strict=True):
            if name.lower() in set_here:
                self._error(
                    item,
                    f"header {name!r} is both set in 'headers' and left out in "
                    "'omit' (expected one of them)",
                )
                ok = False
            elif not self._unique_header(name, item, seen):
                ok = False
        return tuple(names) if ok else None

    def _sdp(self, node: Node) -> str | None:
        expected = "'answer', or SDP text starting with 'v=0'"
        text = self._text(node, "'sdp'", expected)
        if text is None:
            return None
        if text.strip() == "answer":
            return "answer"
        if text.lstrip().startswith("v="):
            self._check_placeholders(node, "'sdp'", text)
            return text
        shown = text if len(text) <= 40 else text[:37] + "..."
        self._error(node, f"'sdp' is {shown!r} (expected {expected})")
        return None

    def _fault(self, node: Node) -> str | None:
        text = self._text(node, "'fault'", "a fault name")
        if text is None:
            return None
        if not _FAULT_NAME_RE.fullmatch(text):
            self._error(
                node,
                f"fault name {text!r} is not an identifier (expected letters, "
                "digits, '_', '-' or '.', starting with a letter)",
            )
            return None
        return text


def _default_name(filename: str) -> str:
    """A scenario without `name` is named after its file: `scenarios/busy.yaml` is `busy`."""
    stem = PurePath(filename).stem
    return stem if stem and not stem.startswith("<") else "scenario"
