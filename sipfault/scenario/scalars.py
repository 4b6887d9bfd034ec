"""Readers of single values: text, numbers, durations, status codes, regexes and tokens.

Each reader checks the YAML type of its node (a number, text, a list...) and hands the value to
the check of ``sipfault.model.validate`` that the rule builder uses too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Concatenate, ParamSpec, TypeVar

from yaml.constructor import SafeConstructor
from yaml.nodes import Node, ScalarNode

from sipfault.model import validate
from sipfault.scenario.nodes import BOOL, FLOAT, INT, STR, TEXT_TAGS, NodeReader
from sipfault.sip.codes import MAX_STATUS, MIN_STATUS

__all__ = ["ScalarReader"]

T = TypeVar("T")
P = ParamSpec("P")


class ScalarReader(NodeReader):
    """A node reader that also converts scalars, reporting values it cannot use."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self._constructor = SafeConstructor()

    def _construct(self, node: ScalarNode, subject: str) -> object | None:
        try:
            value: object = self._constructor.construct_object(node)
            return value
        except Exception as exc:  # e.g. `!!int abc`: any failure is the file's
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(node, f"{subject}: cannot read {str(node.value)!r} ({problem})")
            return None

    def _typed(self, node: Node, subject: str, tag: str, kind: type[T], expected: str) -> T | None:
        """The value of a scalar tagged ``tag``, constructed as YAML does."""
        if isinstance(node, ScalarNode) and node.tag == tag:
            value = self._construct(node, subject)
            return value if isinstance(value, kind) else None
        self.wrong_type(node, subject, expected)
        return None

    # -- text --------------------------------------------------------------------------------

    def text(self, node: Node, subject: str, expected: str = "text") -> str | None:
        """Text as written in the file; numbers and booleans count as text here."""
        if isinstance(node, ScalarNode) and node.tag in TEXT_TAGS:
            return str(node.value)
        self.wrong_type(node, subject, expected)
        return None

    def scalar_value(self, node: Node, subject: str, expected: str) -> object | None:
        """A scalar's value as YAML constructs it (text, a number, a boolean), for a check of
        ``sipfault.model.validate`` that takes any of them."""
        if not isinstance(node, ScalarNode):
            self.wrong_type(node, subject, expected)
            return None
        return self._construct(node, subject)

    def checked_text(
        self,
        node: Node,
        subject: str,
        expected: str,
        check: Callable[Concatenate[str, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | None:
        """Text (``expected`` names what a value of another type should have been) passed to
        ``check(text, *args)``, a check of ``sipfault.model.validate``."""
        text = self.text(node, subject, expected)
        return None if text is None else self.checked(node, check, text, *args, **kwargs)

    def printable(self, node: Node, subject: str, kind: str) -> str | None:
        """Non-blank text without control characters: it goes in a quoted-string on the wire."""
        return self.checked_text(node, subject, kind, validate.printable, subject, kind)

    def check_placeholders(self, node: Node, subject: str, text: str) -> None:
        """Warn about ``{name}`` texts that look like placeholders but are none."""
        for advice in validate.placeholder_advice(text, subject):
            self.warn(node, advice)

    def keyword(
        self,
        node: Node,
        subject: str,
        choices: Mapping[str, T],
        *,
        kind: str = "text",
        unknown: str,
        expected: str,
    ) -> T | None:
        """What ``choices`` maps a keyword to, the keyword written in any case.

        ``kind`` is what a value of the wrong type should have been; a text that is no
        keyword is reported as ``unknown <unknown> 'text' (expected <expected>)``.
        """
        text = self.text(node, subject, kind)
        if text is None:
            return None
        if text.lower() not in choices:
            self.error(node, f"unknown {unknown} {text!r} (expected {expected})")
            return None
        return choices[text.lower()]

    def regex(self, node: Node, subject: str, flags: int = 0) -> re.Pattern[str] | None:
        return self.checked_text(
            node, subject, "a regular expression", validate.regex, subject, flags
        )

    # -- tokens ------------------------------------------------------------------------------

    def token(self, node: Node, subject: str, kind: str) -> str | None:
        """An RFC 3261 §25.1 token: a method or a header field name."""
        return self.checked_text(node, subject, kind, validate.token, subject, kind)

    def tokens(self, node: Node, subject: str, kind: str) -> tuple[str, ...] | None:
        """One token or a list of distinct ones: option tags, event packages."""
        return self.distinct(node, subject, kind, lambda n: self.token(n, kind, kind))

    def method(self, node: Node) -> str | None:
        """A request method; methods are case-sensitive (RFC 3261 §7.1)."""
        method = self.checked_text(node, "method", "method name", validate.method)
        advice = None if method is None else validate.method_case_advice(method)
        if advice is not None:
            self.warn(node, advice)
        return method

    # -- numbers -----------------------------------------------------------------------------

    def integer(self, node: Node, subject: str, expected: str) -> int | None:
        return self._typed(node, subject, INT, int, expected)

    def boolean(self, node: Node, subject: str) -> bool | None:
        return self._typed(node, subject, BOOL, bool, "true or false")

    def number(self, node: ScalarNode, subject: str) -> float | int | None:
        """An int or float scalar as YAML constructs it."""
        value = self._construct(node, subject)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value

    def whole(self, node: Node, subject: str, minimum: int) -> int | None:
        """A whole number of at least ``minimum``."""
        value = self.integer(node, subject, f"a whole number of at least {minimum}")
        if value is None:
            return None
        return self.checked(node, validate.whole, value, subject, minimum)

    def status(
        self, node: Node, subject: str, low: int = MIN_STATUS, high: int = MAX_STATUS
    ) -> int | None:
        """A status code from ``low`` to ``high``, explaining numbers that are not SIP codes."""
        code = self.integer(node, subject, f"a status code {low}-{high}")
        if code is None:
            return None
        checked = self.checked(node, validate.status_in, code, subject, low, high)
        if checked is not None:
            self.warn_not_sip(node, checked)
        return checked

    def warn_not_sip(self, node: Node, code: int) -> None:
        """303 and 304 fit the grammar but are vendor misprints, not SIP codes."""
        advice = validate.not_sip_advice(code)
        if advice is not None:
            self.warn(node, advice)

    # -- durations ---------------------------------------------------------------------------

    def duration(
        self, node: Node, subject: str, hint: str = validate.DURATION_HINT
    ) -> float | None:
        """Seconds from a number or a text like ``200ms``, ``1.5s``, ``2m``; never negative."""
        value = self._duration_value(node, subject, hint)
        if value is None:
            return None
        return self.checked(node, validate.duration, value, subject, hint)

    def _duration_value(self, node: Node, subject: str, hint: str) -> float | int | str | None:
        """A number node's number or a text node's text: what a duration is written as."""
        if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
            return self.number(node, subject)
        if isinstance(node, ScalarNode) and node.tag == STR:
            return str(node.value)
        self.wrong_type(node, subject, hint)
        return None

    def positive_duration(self, node: Node, subject: str) -> float | None:
        value = self._duration_value(node, subject, validate.DURATION_HINT)
        if value is None:
            return None
        return self.checked(node, validate.positive_duration, value, subject)

    def seconds(self, node: Node, subject: str, minimum: int) -> int | None:
        """Whole seconds, as SIP writes them (delta-seconds, RFC 3261 §25.1): ``3600`` or ``1m``."""
        value: int | str | None
        if isinstance(node, ScalarNode) and node.tag == INT:
            value = self.integer(node, subject, validate.SECONDS_HINT)
        elif isinstance(node, ScalarNode) and node.tag == STR:
            value = str(node.value)
        else:
            self.wrong_type(node, subject, validate.SECONDS_HINT)
            return None
        if value is None:
            return None
        return self.checked(node, validate.whole_seconds, value, subject, minimum)
