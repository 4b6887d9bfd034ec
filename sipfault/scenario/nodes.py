"""The walk over a composed YAML node tree: issues with their place, mappings and lists.

Readers return the converted value, or None after recording an error, so the walk goes on
after an error and every problem of a file is found in one pass. Values are checked by the
pure functions of ``sipfault.model.validate``, which the rule builder of the Python API shares:
a check's ``InvalidValue`` is reported here at the node that holds the value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import AnyStr, ParamSpec, TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sipfault.model.scenario import SourceLocation
from sipfault.model.validate import InvalidValue, shorten, unknown_key
from sipfault.scenario.errors import ScenarioIssue, Severity

__all__ = [
    "BOOL",
    "FLOAT",
    "INT",
    "MAP",
    "NULL",
    "STR",
    "TEXT_TAGS",
    "NodeReader",
    "Pairs",
    "Section",
    "describe",
    "item_nodes",
    "line_and_column",
    "memo",
]

T = TypeVar("T")
P = ParamSpec("P")

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, MAP, _SEQ, _MERGE = (_TAG + t for t in ("timestamp", "map", "seq", "merge"))
# Scalars accepted where text is expected: the text as written is used, so `Retry-After: 30`
# gives "30" and `Privacy: off` gives "off" rather than YAML 1.1's False.
TEXT_TAGS = frozenset({STR, INT, FLOAT, BOOL, _TIMESTAMP})

Pairs = dict[str, tuple[Node, Node]]
"""A mapping's entries: key -> (key node, value node)."""


def describe(node: Node) -> str:
    """What a node is, for 'X is <this> (expected Y)' messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    shown = shorten(str(node.value))
    if node.tag == NULL:
        return "empty"
    if node.tag == STR:
        return f"the text {shown!r}"
    if node.tag in (INT, FLOAT):
        return f"the number {shown}"
    if node.tag == BOOL:
        return f"the boolean {shown}"
    if node.tag == _TIMESTAMP:
        return f"the date {shown}"
    tag = str(node.tag).replace(_TAG, "!!")
    return f"a value tagged {tag!r}"


def item_nodes(node: Node) -> list[Node]:
    """The nodes of a one-or-many value: a list's items, or the single node itself."""
    items: list[Node] = node.value if isinstance(node, SequenceNode) else [node]
    return items


def line_and_column(data: AnyStr, index: int, newline: AnyStr) -> tuple[int, int]:
    """The 1-based line and column of ``data[index]``; lines end at ``newline``."""
    line = data.count(newline, 0, index) + 1
    column = index - (data.rfind(newline, 0, index) + 1) + 1
    return line, column


def memo(cache: dict[Node, T | None], node: Node, read: Callable[[Node], T | None]) -> T | None:
    """``read(node)``, once per node, kept in ``cache``.

    Aliases can make one node appear many times; each is read (and reported) once.
    """
    if node in cache:
        return cache[node]
    value = read(node)
    cache[node] = value
    return value


class Section:
    """The entries of one mapping, read key by key into typed values.

    ``ok`` turns False when a value cannot be read (its reader has reported why); a reader
    builds its model object only from a section read in full, but reads every key first so
    that all errors are reported.
    """

    def __init__(self, pairs: Pairs) -> None:
        self.pairs = pairs
        self.ok = True

    def __contains__(self, key: str) -> bool:
        return key in self.pairs

    def key_node(self, key: str) -> Node:
        """The node of a key the mapping has, for messages about the key itself."""
        return self.pairs[key][0]

    def value_node(self, key: str) -> Node:
        """The value node of a key the mapping has."""
        return self.pairs[key][1]

    def get(self, key: str, read: Callable[[Node], T | None], default: T) -> T:
        """The value of ``key`` read by ``read``; ``default`` when not given or unreadable."""
        if key not in self.pairs:
            return default
        value = read(self.pairs[key][1])
        if value is None:
            self.ok = False
            return default
        return value

    def check(self, passed: bool) -> None:
        """Record the outcome of a check across keys; a failed one spoils the section."""
        self.ok &= passed


class NodeReader:
    """Records one file's issues at their place and reads its mappings and lists."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.issues: list[ScenarioIssue] = []
        # Aliases can make one mapping appear many times; its keys are checked once.
        self._pairs_cache: dict[Node, Pairs] = {}

    # -- reporting ---------------------------------------------------------------------------

    def issue(self, line: int, column: int, message: str, severity: Severity = "error") -> None:
        self.issues.append(ScenarioIssue(self.filename, line, column, message, severity))

    def error(self, node: Node, message: str) -> None:
        self.issue(*self._position(node), message)

    def warn(self, node: Node, message: str) -> None:
        self.issue(*self._position(node), message, "warning")

    def wrong_type(self, node: Node, subject: str, expected: str) -> None:
        self.error(node, f"{subject} is {describe(node)} (expected {expected})")

    def checked(
        self, node: Node, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """What a check of ``sipfault.model.validate`` returns, or None after reporting its
        ``InvalidValue`` at ``node``."""
        try:
            return check(*args, **kwargs)
        except InvalidValue as exc:
            self.error(node, str(exc))
            return None

    def holds(
        self, node: Node, check: Callable[P, object], *args: P.args, **kwargs: P.kwargs
    ) -> bool:
        """Whether a check passes; when it does not, its message is reported at ``node``."""
        try:
            check(*args, **kwargs)
        except InvalidValue as exc:
            self.error(node, str(exc))
            return False
        return True

    def location(self, node: Node) -> SourceLocation:
        return SourceLocation(self.filename, *self._position(node))

    @staticmethod
    def at(node: Node) -> str:
        """Where a node is, as ``line:col``, for 'also given at' messages."""
        line, column = NodeReader._position(node)
        return f"{line}:{column}"

    @staticmethod
    def _position(node: Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def sorted_issues(self) -> list[ScenarioIssue]:
        """The issues in file order, each once."""
        unique = list(dict.fromkeys(self.issues))
        return sorted(unique, key=lambda issue: (issue.line, issue.column))

    # -- mappings ----------------------------------------------------------------------------

    def mapping(
        self, node: Node, subject: str, context: str, allowed: Collection[str] | None
    ) -> Pairs | None:
        """The key -> (key node, value node) pairs of a mapping, with unknown keys reported."""
        if not isinstance(node, MappingNode):
            self.wrong_type(node, subject, "a mapping")
            return None
        if node.tag != MAP:
            self.error(node, f"unsupported tag {node.tag!r} on {subject} (expected a mapping)")
            return None
        pairs = self.pairs(node)
        if allowed is not None:
            for key, (key_node, _) in pairs.items():
                if key not in allowed:
                    self.error(key_node, unknown_key(key, context, allowed))
        return pairs

    def nonempty_mapping(
        self, node: Node, subject: str, context: str, expected: str
    ) -> Pairs | None:
        """A mapping of free keys that must have at least one entry."""
        pairs = self.mapping(node, subject, context, None)
        if pairs is None:
            return None
        if not pairs:
            self.error(node, f"{subject} is empty (expected {expected})")
            return None
        return pairs

    def section(
        self, node: Node, subject: str, context: str, allowed: Collection[str]
    ) -> Section | None:
        """A mapping with the keys ``allowed``, to be read key by key."""
        pairs = self.mapping(node, subject, context, allowed)
        return None if pairs is None else Section(pairs)

    def pairs(self, node: MappingNode, active: frozenset[Node] = frozenset()) -> Pairs:
        """A mapping's pairs with YAML merge keys (``<<: *anchor``) applied, duplicates reported.

        Keys written in the mapping win over merged ones; among merged mappings the first wins.
        """
        cached = self._pairs_cache.get(node)
        if cached is not None:
            return cached
        explicit: Pairs = {}
        merged: Pairs = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                for key, pair in self._merged_pairs(value_node, active | {node}).items():
                    merged.setdefault(key, pair)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in TEXT_TAGS | {NULL}:
                self.wrong_type(key_node, "a key", "a key name")
                continue
            key = str(key_node.value)
            if key in explicit:
                first = explicit[key][0]
                self.error(
                    key_node,
                    f"duplicate key {key!r} (first given at {self.at(first)}; "
                    "expected each key once)",
                )
                continue
            explicit[key] = (key_node, value_node)
        pairs = {key: pair for key, pair in merged.items() if key not in explicit}
        pairs.update(explicit)
        self._pairs_cache[node] = pairs
        return pairs

    def _merged_pairs(self, node: Node, active: frozenset[Node]) -> Pairs:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        pairs: Pairs = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                self.wrong_type(source, "a merge ('<<') value", "a mapping or list of mappings")
            elif source in active:
                self.error(source, "a mapping merges itself (expected a mapping without '<<')")
            else:
                for key, pair in self.pairs(source, active).items():
                    pairs.setdefault(key, pair)
        return pairs

    # -- lists -------------------------------------------------------------------------------

    def items(self, node: Node, subject: str, expected: str) -> list[Node] | None:
        """The items of a list node."""
        if not isinstance(node, SequenceNode):
            self.wrong_type(node, subject, expected)
            return None
        if node.tag != _SEQ:
            self.error(node, f"unsupported tag {node.tag!r} on {subject} (expected {expected})")
            return None
        items: list[Node] = node.value
        return items

    def one_or_many(
        self,
        node: Node,
        subject: str,
        expected: str,
        read: Callable[[Node], T | None],
        single: type[Node] = ScalarNode,
    ) -> list[T] | None:
        """One ``single`` node (a scalar unless told) or a non-empty list, each read by ``read``."""
        if isinstance(node, single):
            value = read(node)
            return None if value is None else [value]
        items = self.items(node, subject, f"{expected} or a list of them")
        if items is None:
            return None
        if not items:
            self.error(node, f"{subject} is an empty list (expected at least one {expected})")
            return None
        values = [read(item) for item in items]
        if any(value is None for value in values):
            return None
        return [value for value in values if value is not None]

    def set_of(
        self, node: Node, subject: str, expected: str, read: Callable[[Node], T | None]
    ) -> frozenset[T] | None:
        """One value or a non-empty list of them, as a set."""
        values = self.one_or_many(node, subject, expected, read)
        return None if values is None else frozenset(values)

    def distinct(
        self, node: Node, subject: str, expected: str, read: Callable[[Node], str | None]
    ) -> tuple[str, ...] | None:
        """One value or a non-empty list of them, each given once."""
        values = self.one_or_many(node, subject, expected, read)
        if values is None or not self._each_once(node, values):
            return None
        return tuple(values)

    def _each_once(self, node: Node, values: list[str]) -> bool:
        """Report values given twice in a one-or-many node already read into ``values``."""
        seen: dict[str, Node] = {}
        ok = True
        for value, item in zip(values, item_nodes(node), strict=True):
            if value in seen:
                self.error(
                    item, f"{value!r} is also listed at {self.at(seen[value])} (expected each once)"
                )
                ok = False
            else:
                seen[value] = item
        return ok
