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
from typing import Literal, TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sipfault.faults import FAULTS
from sipfault.scenario.errors import ScenarioError, ScenarioIssue, Severity
from sipfault.scenario.model import (
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
)
from sipfault.sip.codes import (
    CATALOGUE,
    MAX_STATUS,
    MIN_STATUS,
    NOT_SIP,
    RETRY_AFTER_CODES,
    is_valid_status,
    required_headers,
)
from sipfault.sip.digest import Algorithm, DigestError

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

_TOP_KEYS = ("name", "description", "rules", "timers", "seed", "defaults", "registrar", "auth")
_RULE_KEYS = ("match", "reply", "drop", "name", "dial_a_code")
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
_DIAL_A_CODE_KEYS = ("ring", "answer_after", "fallback")
_DEFAULTS_KEYS = (
    "retry_after",
    "min_expires",
    "min_se",
    "require",
    "allow_events",
    "reliable",
    "require_100rel",
    "realm",
)
_REGISTRAR_KEYS = ("default_expires", "max_expires", "grant_expires", "fail_first", "expire")
_FAILURE_KEYS = ("count", "code", "reason", "headers")
_EXPIRY_KEYS = ("after", "user")
_AUTH_KEYS = (
    "realm",
    "methods",
    "challenge",
    "algorithms",
    "qop",
    "nonce_lifetime",
    "max_attempts",
    "users",
)
# `challenge: www` answers 401 with WWW-Authenticate, `proxy` 407 with Proxy-Authenticate
# (RFC 3261 §22.2, §22.3); the value is AuthSettings.proxy.
_CHALLENGES = {"www": False, "proxy": True}
_QOPS = ("auth", "auth-int")
# RFC 3261 §22.1: ACK and CANCEL cannot be resubmitted with credentials, so never challenged.
_NEVER_CHALLENGED = frozenset({"ACK", "CANCEL"})
# RFC 4028 §5: Min-SE "MUST NOT be less than 90 seconds".
_LEAST_MIN_SE = 90
# POSIX portable environment variable names.
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COUNTERS = ("first", "nth", "every")
_TRANSPORTS = frozenset({"udp", "tcp", "tls"})
# RFC 4566 §5.14 and its registry; "image" carries T.38 fax (RFC 3362).
_MEDIA_TYPES = frozenset({"audio", "video", "text", "application", "message", "image"})

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
# Methods (§7.1) and header field names (§7.3.1) are tokens.
_TOKEN_RE = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}
_PERCENT_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%")
_DURATION_HINT = "a number of seconds or a duration like 200ms, 1.5s or 2m"
_SECONDS_HINT = "a whole number of seconds, or a duration like 30s or 5m"


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


# The schema nests about eight levels; deeper input is an error with a place, before PyYAML's
# recursive composer hits Python's recursion limit (and its flow scanner slows quadratically).
_MAX_DEPTH = 64


class _DepthLimitedLoader(yaml.SafeLoader):
    """The safe loader, refusing collections nested deeper than ``_MAX_DEPTH``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        self._depth += 1
        try:
            if self._depth > _MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {_MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1


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
            root: Node | None = yaml.compose(text, Loader=_DepthLimitedLoader)
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

    def _mappings(
        self, node: Node, subject: str, expected: str, read: Callable[[Node], T | None]
    ) -> list[T] | None:
        """A mapping or a non-empty list of mappings, each converted by ``read``."""
        if isinstance(node, MappingNode):
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

    @staticmethod
    def _read_fields(
        pairs: dict[str, tuple[Node, Node]],
        readers: dict[str, tuple[str, Callable[[Node], object | None]]],
    ) -> dict[str, object] | None:
        """Each key given in ``pairs`` read into ``{field name: value}``; None if any failed.

        ``readers`` maps a key to the model field it fills and the reader of its value. Every
        key is read even after a failure, so that all errors are reported.
        """
        values: dict[str, object] = {}
        ok = True
        for key, (field_name, read) in readers.items():
            if key not in pairs:
                continue
            value = read(pairs[key][1])
            if value is None:
                ok = False
            else:
                values[field_name] = value
        return values if ok else None

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

    def _duration(self, node: Node, subject: str, hint: str = _DURATION_HINT) -> float | None:
        """Seconds from a number or a text like ``200ms``, ``1.5s``, ``2m``; never negative."""
        seconds: float | None
        if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
            seconds = self._number(node, subject)
            if seconds is None:
                return None
        elif isinstance(node, ScalarNode) and node.tag == _STR:
            found = _DURATION_RE.fullmatch(str(node.value).strip())
            if found is None:
                self._error(node, f"bad duration {node.value!r} for {subject} (expected {hint})")
                return None
            seconds = float(found.group(1)) * _DURATION_UNITS[found.group(2)]
        else:
            self._wrong_type(node, subject, hint)
            return None
        if math.isnan(seconds) or seconds < 0:
            self._error(node, f"{subject} is negative (expected {hint})")
            return None
        if math.isinf(seconds):
            self._error(node, f"{subject} is too long (expected a finite duration)")
            return None
        return seconds

    def _whole(self, node: Node, subject: str, minimum: int) -> int | None:
        """A whole number of at least ``minimum``."""
        expected = f"a whole number of at least {minimum}"
        value = self._int(node, subject, expected)
        if value is not None and value < minimum:
            self._error(node, f"{subject} is {value} (expected {expected})")
            return None
        return value

    def _seconds(self, node: Node, subject: str, minimum: int) -> int | None:
        """Whole seconds, as SIP writes them (delta-seconds, RFC 3261 §25.1): ``3600`` or ``1m``."""
        seconds: float | None
        if isinstance(node, ScalarNode) and node.tag == _INT:
            seconds = self._int(node, subject, _SECONDS_HINT)
        elif isinstance(node, ScalarNode) and node.tag == _STR:
            seconds = self._duration(node, subject, _SECONDS_HINT)
            if seconds is not None and not seconds.is_integer():
                self._error(
                    node,
                    f"{subject} is {seconds:g} seconds (expected whole seconds: SIP sends "
                    "delta-seconds)",
                )
                return None
        else:
            self._wrong_type(node, subject, _SECONDS_HINT)
            return None
        if seconds is None:
            return None
        if seconds < minimum:
            unit = "second" if minimum == 1 else "seconds"
            self._error(node, f"{subject} is {seconds:g} (expected at least {minimum} {unit})")
            return None
        return int(seconds)

    def _positive_duration(self, node: Node, subject: str) -> float | None:
        seconds = self._duration(node, subject)
        if seconds == 0:
            self._error(node, f"{subject} is zero (expected a positive duration)")
            return None
        return seconds

    def _printable(self, node: Node, subject: str, kind: str) -> str | None:
        """Non-blank text without control characters: it goes in a quoted-string on the wire."""
        text = self._text(node, subject, kind)
        if text is None:
            return None
        if not text.strip():
            self._error(node, f"{subject} is blank (expected {kind})")
            return None
        if any((ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F for char in text):
            self._error(
                node,
                f"{subject} contains a control character (expected {kind} without line "
                "breaks or control characters)",
            )
            return None
        return text

    def _status(
        self, node: Node, subject: str, low: int = MIN_STATUS, high: int = MAX_STATUS
    ) -> int | None:
        """A status code from ``low`` to ``high``, explaining numbers that are not SIP codes."""
        expected = f"a status code {low}-{high}"
        code = self._int(node, subject, expected)
        if code is None:
            return None
        if not low <= code <= high:
            self._error(
                node,
                f"{subject} {code} is out of range (expected {expected})" + _not_sip_note(code),
            )
            return None
        self._warn_not_sip(node, code)
        return code

    def _warn_not_sip(self, node: Node, code: int) -> None:
        """303 and 304 fit the grammar but are vendor misprints, not SIP codes."""
        if is_valid_status(code) and code in NOT_SIP:
            self._warn(node, f"status code {code} is sent as written, but: {NOT_SIP[code]}")

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

        defaults = ResponseDefaults()
        if "defaults" in pairs:
            read_defaults = self._defaults(pairs["defaults"][1])
            ok &= read_defaults is not None
            defaults = read_defaults or defaults

        registrar = RegistrarSettings()
        if "registrar" in pairs:
            read_registrar = self._registrar(pairs["registrar"][1])
            ok &= read_registrar is not None
            registrar = read_registrar or registrar

        auth: AuthSettings | None = None
        if "auth" in pairs:
            auth = self._auth(pairs["auth"][1], defaults.realm)
            ok &= auth is not None

        if ok:
            ok &= self._check_expires_bounds(pairs, defaults, registrar)

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
            defaults=defaults,
            registrar=registrar,
            auth=auth,
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

    # -- response defaults -------------------------------------------------------------------

    def _defaults(self, node: Node) -> ResponseDefaults | None:
        pairs = self._mapping(node, "'defaults'", "in defaults", _DEFAULTS_KEYS)
        if pairs is None:
            return None
        values = self._read_fields(
            pairs,
            {
                "retry_after": ("retry_after", self._retry_after),
                "min_expires": ("min_expires", lambda n: self._seconds(n, "'min_expires'", 1)),
                "min_se": ("min_se", self._min_se),
                "require": ("require", lambda n: self._tokens(n, "'require'", "option tag")),
                "allow_events": (
                    "allow_events",
                    lambda n: self._tokens(n, "'allow_events'", "event package"),
                ),
                "reliable": ("reliable", lambda n: self._bool(n, "'reliable'")),
                "require_100rel": ("require_100rel", lambda n: self._bool(n, "'require_100rel'")),
                "realm": ("realm", lambda n: self._printable(n, "'realm'", "a realm name")),
            },
        )
        if values is None:
            return None
        return ResponseDefaults(**values)  # type: ignore[arg-type]  # keys and types checked

    def _retry_after(self, node: Node) -> tuple[tuple[int, int], ...] | None:
        """``{486: 30, 503: 120}``: Retry-After seconds per code (RFC 3261 §20.33)."""
        pairs = self._mapping(node, "'retry_after'", "in retry_after", None)
        if pairs is None:
            return None
        if not pairs:
            self._error(
                node, "'retry_after' is empty (expected status codes and seconds, like {503: 120})"
            )
            return None
        result: list[tuple[int, int]] = []
        seen: dict[int, Node] = {}
        ok = True
        for key, (key_node, value_node) in pairs.items():
            code = self._status(key_node, "'retry_after' code")
            seconds = self._seconds(value_node, f"Retry-After of {key}", 0)
            if code is not None and code in seen:
                self._error(
                    key_node,
                    f"code {code} is also given at {self._at(seen[code])} (expected each once)",
                )
                code = None
            if code is None or seconds is None:
                ok = False
                continue
            seen[code] = key_node
            if code not in RETRY_AFTER_CODES:
                allowed = ", ".join(str(c) for c in sorted(RETRY_AFTER_CODES))
                self._warn(
                    key_node,
                    f"Retry-After is not defined for {code} (RFC 3261 §20.33 allows it on "
                    f"{allowed}); it is sent anyway",
                )
            result.append((code, seconds))
        return tuple(result) if ok else None

    def _min_se(self, node: Node) -> int | None:
        seconds = self._seconds(node, "'min_se'", 1)
        if seconds is not None and seconds < _LEAST_MIN_SE:
            self._warn(
                node,
                f"'min_se' {seconds} is below the {_LEAST_MIN_SE} seconds RFC 4028 §5 allows; "
                "it is sent anyway",
            )
        return seconds

    def _tokens(self, node: Node, subject: str, kind: str) -> tuple[str, ...] | None:
        """One token or a list of distinct ones: option tags, event packages."""
        values = self._one_or_many(node, subject, kind, lambda n: self._token(n, kind, kind))
        if values is None or not self._distinct(node, values):
            return None
        return tuple(values)

    def _distinct(self, node: Node, values: list[str], fold: Callable[[str], str] = str) -> bool:
        """Report values given twice in a scalar-or-list node already read into ``values``."""
        items: list[Node] = node.value if isinstance(node, SequenceNode) else [node]
        seen: dict[str, Node] = {}
        ok = True
        for value, item in zip(values, items, strict=True):
            key = fold(value)
            if key in seen:
                self._error(
                    item, f"{value!r} is also listed at {self._at(seen[key])} (expected each once)"
                )
                ok = False
            else:
                seen[key] = item
        return ok

    def _check_expires_bounds(
        self,
        top: dict[str, tuple[Node, Node]],
        defaults: ResponseDefaults,
        registrar: RegistrarSettings,
    ) -> bool:
        """The registrar's minimum (``defaults.min_expires``) and maximum must leave a range."""
        min_node = self._setting_node(top, "defaults", "min_expires")
        max_node = self._setting_node(top, "registrar", "max_expires")
        default_node = self._setting_node(top, "registrar", "default_expires")
        if defaults.min_expires > registrar.max_expires:
            where = max_node or min_node
            if where is not None:
                self._error(
                    where,
                    f"'min_expires' ({defaults.min_expires}) is above the registrar's "
                    f"'max_expires' ({registrar.max_expires}) (expected min_expires <= "
                    "max_expires, or no expiry could ever be granted)",
                )
                return False
        if registrar.default_expires > registrar.max_expires:
            where = default_node or max_node
            if where is not None:
                self._warn(
                    where,
                    f"'default_expires' ({registrar.default_expires}) is above 'max_expires' "
                    f"({registrar.max_expires}); a REGISTER without an expiry gets "
                    f"{registrar.max_expires}",
                )
        return True

    def _setting_node(
        self, top: dict[str, tuple[Node, Node]], section: str, key: str
    ) -> Node | None:
        """The value node of ``section.key`` when the file gives one."""
        if section not in top:
            return None
        section_node = top[section][1]
        if not isinstance(section_node, MappingNode) or section_node.tag != _MAP:
            return None
        pair = self._pairs(section_node, frozenset()).get(key)
        return None if pair is None else pair[1]

    # -- registrar ---------------------------------------------------------------------------

    def _registrar(self, node: Node) -> RegistrarSettings | None:
        pairs = self._mapping(node, "'registrar'", "in registrar", _REGISTRAR_KEYS)
        if pairs is None:
            return None
        values = self._read_fields(
            pairs,
            {
                "default_expires": (
                    "default_expires",
                    lambda n: self._seconds(n, "'default_expires'", 1),
                ),
                "max_expires": ("max_expires", lambda n: self._seconds(n, "'max_expires'", 1)),
                "grant_expires": (
                    "grant_expires",
                    lambda n: self._seconds(n, "'grant_expires'", 0),
                ),
                "fail_first": ("failures", self._failures),
                "expire": ("forced_expiry", self._expiries),
            },
        )
        if values is None:
            return None
        return RegistrarSettings(**values)  # type: ignore[arg-type]  # keys and types checked

    def _failures(self, node: Node) -> tuple[RegistrarFailure, ...] | None:
        failures = self._mappings(
            node, "'fail_first'", "failure like {count: 1, code: 503}", self._failure
        )
        return None if failures is None else tuple(failures)

    def _failure(self, node: Node) -> RegistrarFailure | None:
        pairs = self._mapping(node, "a 'fail_first' entry", "in fail_first", _FAILURE_KEYS)
        if pairs is None:
            return None
        values = self._read_fields(
            pairs,
            {
                "count": ("count", lambda n: self._whole(n, "'count'", 1)),
                "code": ("code", lambda n: self._status(n, "'code'", 300)),
                "reason": ("reason", self._reason),
                "headers": ("headers", self._reply_headers),
            },
        )
        if "code" not in pairs:
            self._error(
                node,
                "'fail_first' entry has no 'code' (expected a status code 300-699, "
                "like {count: 1, code: 503})",
            )
            return None
        if values is None:
            return None
        values.setdefault("count", 1)
        return RegistrarFailure(**values)  # type: ignore[arg-type]  # keys and types checked

    def _expiries(self, node: Node) -> tuple[ForcedExpiry, ...] | None:
        expiries = self._mappings(node, "'expire'", "forced expiry like {after: 30s}", self._expiry)
        return None if expiries is None else tuple(expiries)

    def _expiry(self, node: Node) -> ForcedExpiry | None:
        pairs = self._mapping(node, "an 'expire' entry", "in expire", _EXPIRY_KEYS)
        if pairs is None:
            return None
        values = self._read_fields(
            pairs,
            {
                "after": ("after", lambda n: self._duration(n, "'after'")),
                "user": ("aor_user", lambda n: self._regex(n, "'user'")),
            },
        )
        if "after" not in pairs:
            self._error(
                node,
                "'expire' entry has no 'after' (expected when to drop the bindings, like "
                "{after: 30s})",
            )
            return None
        if values is None:
            return None
        return ForcedExpiry(**values)  # type: ignore[arg-type]  # keys and types checked

    # -- digest authentication ---------------------------------------------------------------

    def _auth(self, node: Node, default_realm: str) -> AuthSettings | None:
        pairs = self._mapping(node, "'auth'", "in auth", _AUTH_KEYS)
        if pairs is None:
            return None
        values = self._read_fields(
            pairs,
            {
                "users": ("users", self._users),
                "realm": ("realm", lambda n: self._printable(n, "'realm'", "a realm name")),
                "methods": ("methods", self._auth_methods),
                "challenge": ("proxy", self._challenge),
                "algorithms": ("algorithms", self._algorithms),
                "qop": ("qop", self._qops),
                "nonce_lifetime": (
                    "nonce_lifetime",
                    lambda n: self._positive_duration(n, "'nonce_lifetime'"),
                ),
                "max_attempts": ("max_attempts", lambda n: self._whole(n, "'max_attempts'", 1)),
            },
        )
        if "users" not in pairs:
            self._error(
                node,
                "'auth' has no 'users' (expected user names and passwords, like "
                "{printer: fax-secret})",
            )
            return None
        if values is None:
            return None
        # Without its own realm, auth challenges in the scenario's default realm.
        values.setdefault("realm", default_realm)
        return AuthSettings(**values)  # type: ignore[arg-type]  # keys and types checked

    def _users(self, node: Node) -> tuple[tuple[str, str], ...] | None:
        pairs = self._mapping(node, "'users'", "in users", None)
        if pairs is None:
            return None
        if not pairs:
            self._error(
                node, "'users' is empty (expected at least one user, like {printer: fax-secret})"
            )
            return None
        users: list[tuple[str, str]] = []
        ok = True
        for key, (key_node, value_node) in pairs.items():
            user = self._printable(key_node, "user name", "a user name")
            password = self._password(value_node, key)
            if user is None or password is None:
                ok = False
            else:
                users.append((user, password))
        return tuple(users) if ok else None

    def _password(self, node: Node, user: str) -> str | None:
        """A password as written, or ``{env: NAME}`` read from the environment now.

        Messages never quote a password.
        """
        subject = f"the password of user {user!r}"
        if not isinstance(node, MappingNode):
            return self._text(
                node, subject, "a password, or {env: NAME} to read it from the environment"
            )
        pairs = self._mapping(node, subject, "in a password", ("env",))
        if pairs is None:
            return None
        if "env" not in pairs:
            self._error(
                node,
                f"{subject} has no 'env' (expected {{env: NAME}} naming an environment variable)",
            )
            return None
        name_node = pairs["env"][1]
        name = self._text(name_node, "'env'", "an environment variable name")
        if name is None:
            return None
        if not _ENV_NAME_RE.fullmatch(name):
            self._error(
                name_node,
                f"'env' {name!r} is not an environment variable name (expected letters, "
                "digits and '_', not starting with a digit)",
            )
            return None
        value = os.environ.get(name)
        if value is None:
            self._error(
                name_node,
                f"environment variable {name} is not set (expected it to hold {subject})",
            )
            return None
        if not value:
            self._error(
                name_node, f"environment variable {name} is empty (expected it to hold {subject})"
            )
            return None
        return value

    def _auth_methods(self, node: Node) -> frozenset[str] | None:
        methods = self._one_or_many(node, "'methods'", "method", self._method)
        if methods is None:
            return None
        items: list[Node] = node.value if isinstance(node, SequenceNode) else [node]
        ok = True
        for method, item in zip(methods, items, strict=True):
            if method in _NEVER_CHALLENGED:
                self._error(
                    item,
                    f"{method} cannot be challenged: it is never resubmitted with credentials "
                    "(expected other methods, RFC 3261 §22.1)",
                )
                ok = False
        return frozenset(methods) if ok else None

    def _challenge(self, node: Node) -> bool | None:
        """``www``: 401 with WWW-Authenticate (False); ``proxy``: 407 with Proxy-Authenticate."""
        text = self._text(node, "'challenge'", "www or proxy")
        if text is None:
            return None
        if text.lower() not in _CHALLENGES:
            self._error(
                node,
                f"unknown challenge {text!r} (expected www, for 401 with WWW-Authenticate, "
                "or proxy, for 407 with Proxy-Authenticate)",
            )
            return None
        return _CHALLENGES[text.lower()]

    def _algorithms(self, node: Node) -> tuple[str, ...] | None:
        values = self._one_or_many(node, "'algorithms'", "digest algorithm", self._algorithm)
        if values is None or not self._distinct(node, values):
            return None
        return tuple(values)

    def _algorithm(self, node: Node) -> str | None:
        """An RFC 7616 §3.2 / RFC 8760 algorithm, in its registered spelling."""
        text = self._text(node, "digest algorithm", "a digest algorithm")
        if text is None:
            return None
        try:
            return Algorithm.from_token(text.strip()).value
        except DigestError:
            known = ", ".join(algorithm.value for algorithm in Algorithm)
            self._error(
                node,
                f"unknown digest algorithm {text!r} (expected one of: {known}; "
                "RFC 7616 §3.2, RFC 8760)",
            )
            return None

    def _qops(self, node: Node) -> tuple[str, ...] | None:
        values = self._one_or_many(node, "'qop'", "qop value", self._qop)
        if values is None or not self._distinct(node, values):
            return None
        return tuple(values)

    def _qop(self, node: Node) -> str | None:
        text = self._text(node, "qop value", "auth or auth-int")
        if text is None:
            return None
        if text.lower() not in _QOPS:
            self._error(node, f"unknown qop {text!r} (expected auth or auth-int, RFC 7616 §3.3)")
            return None
        return text.lower()

    # -- rules -------------------------------------------------------------------------------

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

        # `dial_a_code: false` is the same as leaving the key out.
        dial: DialACode | None = None
        dial_given = False
        if "dial_a_code" in pairs:
            read_dial = self._dial_a_code(pairs["dial_a_code"][1])
            ok &= read_dial is not None
            dial_given = read_dial is not False
            dial = read_dial or None

        if drop and replies:
            self._error(
                pairs["drop"][0], "a rule cannot both 'drop' and 'reply' (expected one of them)"
            )
            ok = False
        if dial_given and "reply" in pairs:
            self._error(
                pairs["dial_a_code"][0],
                "a rule cannot have both 'dial_a_code' and 'reply' (expected one of them)",
            )
            ok = False
        if dial_given and drop:
            self._error(
                pairs["dial_a_code"][0],
                "a rule cannot both 'drop' and answer with 'dial_a_code' (expected one of them)",
            )
            ok = False
        if "reply" not in pairs and drop is False and not dial_given:
            self._error(
                node,
                "rule has no 'reply' (expected a list of reply steps, 'dial_a_code: true', "
                "or 'drop: true' to never answer)",
            )
            ok = False
        if not ok or match is None or replies is None or drop is None:
            return None
        if (replies or dial) and match.methods is not None and "ACK" in match.methods:
            self._warn(
                node,
                "ACK is never answered (RFC 3261 §17.1.1.3); "
                "this rule's replies apply only to its other methods",
            )
        if replies:
            self._check_omits(match.methods, replies, pairs["reply"][1].value)
        return Rule(
            match=match,
            reply=replies,
            drop=drop,
            name=name,
            dial_a_code=dial,
            location=self._location(node),
        )

    def _dial_a_code(self, node: Node) -> DialACode | Literal[False] | None:
        """``true`` (the defaults), ``false`` (no dial-a-code) or a mapping of its settings."""
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            enabled = self._bool(node, "'dial_a_code'")
            if enabled is None:
                return None
            return DialACode() if enabled else False
        if not isinstance(node, MappingNode):
            self._wrong_type(
                node, "'dial_a_code'", "true, or a mapping with ring, answer_after and fallback"
            )
            return None
        pairs = self._mapping(node, "'dial_a_code'", "in dial_a_code", _DIAL_A_CODE_KEYS)
        if pairs is None:
            return None
        values = self._read_fields(
            pairs,
            {
                "ring": ("ring", lambda n: self._duration(n, "'ring'")),
                "answer_after": ("answer_after", lambda n: self._duration(n, "'answer_after'")),
                "fallback": ("fallback", lambda n: self._status(n, "'fallback'", 200)),
            },
        )
        if values is None:
            return None
        return DialACode(**values)  # type: ignore[arg-type]  # keys and types checked above

    def _check_omits(
        self, methods: frozenset[str] | None, replies: tuple[Reply, ...], items: list[Node]
    ) -> None:
        """Warn at each ``omit`` entry that leaves out a field the step's code requires.

        Checked per rule, since what a code requires depends on the methods the rule answers;
        a rule for every method counts a field that any method requires.
        """
        for step, item in zip(replies, items, strict=True):
            if not step.omit or not isinstance(item, MappingNode):
                continue
            required = _required_fields(step.code, methods)
            if not required:
                continue
            omit_node = self._pairs(item, frozenset())["omit"][1]
            omit_items: list[Node] = (
                omit_node.value if isinstance(omit_node, SequenceNode) else [omit_node]
            )
            for name, omit_item in zip(step.omit, omit_items, strict=True):
                header = required.get(name.lower())
                if header is not None:
                    self._warn(
                        omit_item,
                        f"omits required header {header} of {step.code} on purpose "
                        f"(required by {CATALOGUE[step.code].defined_in}; remove it from "
                        "'omit' to have it filled in)",
                    )

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

    def _code(self, node: Node, fault: bool = False) -> int | None:
        """A step's status code: 100-699 (RFC 3261 §7.2), or 0-999 in a step with a fault."""
        if fault:
            # A deliberate malformed message may carry any three-digit number, 701 included.
            code = self._int(node, "'code'", "a number 0-999 in a step with 'fault'")
            if code is not None and not 0 <= code <= 999:
                self._error(
                    node,
                    f"status code {code} is out of range even for a fault (expected 0-999: "
                    "a status line has three digits)",
                )
                return None
            return code
        code = self._int(node, "'code'", "a status code 100-699")
        if code is None:
            return None
        if not is_valid_status(code):
            self._error(
                node,
                f"status code {code} is out of range (expected 100-699, RFC 3261 §7.2, "
                "or a step with 'fault' to send it as a malformed message)" + _not_sip_note(code),
            )
            return None
        self._warn_not_sip(node, code)
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
            code = self._code(pairs["code"][1], fault="fault" in pairs)
            ok &= code is not None
        else:
            self._error(node, "reply step has no 'code' (expected a status code 100-699)")
            ok = False
        if "reason" in pairs:
            put("reason", self._reason(pairs["reason"][1]))
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

    def _reason(self, node: Node) -> str | None:
        """A reason phrase: one line of text (RFC 3261 §7.2)."""
        reason = self._text(node, "'reason'")
        if reason is None or not self._one_line(node, "'reason'", reason):
            return None
        return reason

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
            node,
            "'omit'",
            "header name",
            lambda item: self._token(item, "'omit' entry", "header name"),
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
        if text not in FAULTS:
            self._error(
                node,
                f"unknown fault {text!r} (expected one of: {', '.join(sorted(FAULTS))})",
            )
            return None
        return text


def _not_sip_note(code: int) -> str:
    """The catalogue's explanation of a number that vendor material wrongly calls a SIP code."""
    return f". {code}: {NOT_SIP[code]}" if code in NOT_SIP else ""


def _required_fields(code: int, methods: frozenset[str] | None) -> dict[str, str]:
    """The fields a ``code`` response to any of ``methods`` must carry, lower-cased to name.

    ``methods`` None stands for every method: a field that any method requires counts.
    Uncatalogued codes (and numbers outside 100-699) require nothing here.
    """
    info = CATALOGUE.get(code)
    if info is None:
        return {}
    if methods is None:
        named = frozenset(m for r in info.must if r.methods is not None for m in r.methods)
        # Requirements without methods apply to any method, so any one name finds them.
        methods = named or frozenset({"OPTIONS"})
    return {
        header.lower(): header
        for method in sorted(methods)
        for header in required_headers(code, method)
    }


def _default_name(filename: str) -> str:
    """A scenario without `name` is named after its file: `scenarios/busy.yaml` is `busy`."""
    stem = PurePath(filename).stem
    return stem if stem and not stem.startswith("<") else "scenario"
