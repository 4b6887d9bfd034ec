"""Readers of single values: text, numbers, durations, status codes, regexes and tokens."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TypeVar

from yaml.constructor import SafeConstructor
from yaml.nodes import Node, ScalarNode

from sipfault.model.scenario import PLACEHOLDERS
from sipfault.scenario.nodes import BOOL, FLOAT, INT, STR, TEXT_TAGS, NodeReader
from sipfault.sip.codes import MAX_STATUS, MIN_STATUS, NOT_SIP, is_valid_status

__all__ = ["ScalarReader", "not_sip_note"]

T = TypeVar("T")

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
# Methods (§7.1) and header field names (§7.3.1) are tokens.
_TOKEN_RE = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}
_DURATION_HINT = "a number of seconds or a duration like 200ms, 1.5s or 2m"
_SECONDS_HINT = "a whole number of seconds, or a duration like 30s or 5m"


def not_sip_note(code: int) -> str:
    """The catalogue's explanation of a number that vendor material wrongly calls a SIP code."""
    return f". {code}: {NOT_SIP[code]}" if code in NOT_SIP else ""


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

    def printable(self, node: Node, subject: str, kind: str) -> str | None:
        """Non-blank text without control characters: it goes in a quoted-string on the wire."""
        text = self.text(node, subject, kind)
        if text is None:
            return None
        if not text.strip():
            self.error(node, f"{subject} is blank (expected {kind})")
            return None
        if any((ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F for char in text):
            self.error(
                node,
                f"{subject} contains a control character (expected {kind} without line "
                "breaks or control characters)",
            )
            return None
        return text

    def one_line(self, node: Node, subject: str, text: str) -> bool:
        """Whether ``text`` fits on one line of a message; reported when it does not."""
        if any(char in text for char in "\r\n\0"):
            self.error(
                node,
                f"{subject} contains a line break or NUL (expected one line; "
                "malformed messages are made with 'fault')",
            )
            return False
        return True

    def check_placeholders(self, node: Node, subject: str, text: str) -> None:
        """Warn about ``{name}`` texts that look like placeholders but are none."""
        known = ", ".join(sorted(PLACEHOLDERS))
        for name in dict.fromkeys(_PLACEHOLDER_RE.findall(text)):
            if name not in PLACEHOLDERS:
                self.warn(
                    node,
                    f"unknown placeholder {{{name}}} in {subject} is sent as written "
                    f"(known: {known})",
                )

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
        pattern = self.text(node, subject, "a regular expression")
        if pattern is None:
            return None
        try:
            return re.compile(pattern, flags)
        except Exception as exc:  # re.error, OverflowError, RecursionError
            self.error(
                node,
                f"invalid regex {pattern!r} for {subject}: {exc} "
                "(expected a Python regular expression)",
            )
            return None

    # -- tokens ------------------------------------------------------------------------------

    def token(self, node: Node, subject: str, kind: str) -> str | None:
        """An RFC 3261 §25.1 token: a method or a header field name."""
        text = self.text(node, subject, kind)
        if text is None:
            return None
        if not _TOKEN_RE.fullmatch(text):
            self.error(
                node,
                f"{subject} {text!r} is not a valid {kind} (expected letters, "
                "digits and - . ! % * _ + ` ' ~ only, RFC 3261 §25.1)",
            )
            return None
        return text

    def tokens(self, node: Node, subject: str, kind: str) -> tuple[str, ...] | None:
        """One token or a list of distinct ones: option tags, event packages."""
        return self.distinct(node, subject, kind, lambda n: self.token(n, kind, kind))

    def method(self, node: Node) -> str | None:
        """A request method; methods are case-sensitive (RFC 3261 §7.1)."""
        method = self.token(node, "method", "method name")
        if method is not None and method != method.upper():
            self.warn(
                node,
                f"method {method!r} is not upper-case and matches only requests "
                f"that spell it so (methods are case-sensitive, RFC 3261 §7.1); "
                f"did you mean {method.upper()!r}?",
            )
        return method

    # -- numbers -----------------------------------------------------------------------------

    def integer(self, node: Node, subject: str, expected: str) -> int | None:
        return self._typed(node, subject, INT, int, expected)

    def boolean(self, node: Node, subject: str) -> bool | None:
        return self._typed(node, subject, BOOL, bool, "true or false")

    def number(self, node: ScalarNode, subject: str) -> float | None:
        """An int or float scalar as a float (inf when too large to be one)."""
        value = self._construct(node, subject)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            return float(value)
        except OverflowError:
            return math.inf

    def whole(self, node: Node, subject: str, minimum: int) -> int | None:
        """A whole number of at least ``minimum``."""
        expected = f"a whole number of at least {minimum}"
        value = self.integer(node, subject, expected)
        if value is not None and value < minimum:
            self.error(node, f"{subject} is {value} (expected {expected})")
            return None
        return value

    def status(
        self, node: Node, subject: str, low: int = MIN_STATUS, high: int = MAX_STATUS
    ) -> int | None:
        """A status code from ``low`` to ``high``, explaining numbers that are not SIP codes."""
        expected = f"a status code {low}-{high}"
        code = self.integer(node, subject, expected)
        if code is None:
            return None
        if not low <= code <= high:
            self.error(
                node,
                f"{subject} {code} is out of range (expected {expected})" + not_sip_note(code),
            )
            return None
        self.warn_not_sip(node, code)
        return code

    def warn_not_sip(self, node: Node, code: int) -> None:
        """303 and 304 fit the grammar but are vendor misprints, not SIP codes."""
        if is_valid_status(code) and code in NOT_SIP:
            self.warn(node, f"status code {code} is sent as written, but: {NOT_SIP[code]}")

    # -- durations ---------------------------------------------------------------------------

    def duration(self, node: Node, subject: str, hint: str = _DURATION_HINT) -> float | None:
        """Seconds from a number or a text like ``200ms``, ``1.5s``, ``2m``; never negative."""
        seconds: float | None
        if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
            seconds = self.number(node, subject)
            if seconds is None:
                return None
        elif isinstance(node, ScalarNode) and node.tag == STR:
            found = _DURATION_RE.fullmatch(str(node.value).strip())
            if found is None:
                self.error(node, f"bad duration {node.value!r} for {subject} (expected {hint})")
                return None
            seconds = float(found.group(1)) * _DURATION_UNITS[found.group(2)]
        else:
            self.wrong_type(node, subject, hint)
            return None
        if math.isnan(seconds) or seconds < 0:
            self.error(node, f"{subject} is negative (expected {hint})")
            return None
        if math.isinf(seconds):
            self.error(node, f"{subject} is too long (expected a finite duration)")
            return None
        return seconds

    def positive_duration(self, node: Node, subject: str) -> float | None:
        seconds = self.duration(node, subject)
        if seconds == 0:
            self.error(node, f"{subject} is zero (expected a positive duration)")
            return None
        return seconds

    def seconds(self, node: Node, subject: str, minimum: int) -> int | None:
        """Whole seconds, as SIP writes them (delta-seconds, RFC 3261 §25.1): ``3600`` or ``1m``."""
        seconds: float | None
        if isinstance(node, ScalarNode) and node.tag == INT:
            seconds = self.integer(node, subject, _SECONDS_HINT)
        elif isinstance(node, ScalarNode) and node.tag == STR:
            seconds = self.duration(node, subject, _SECONDS_HINT)
            if seconds is not None and not seconds.is_integer():
                self.error(
                    node,
                    f"{subject} is {seconds:g} seconds (expected whole seconds: SIP sends "
                    "delta-seconds)",
                )
                return None
        else:
            self.wrong_type(node, subject, _SECONDS_HINT)
            return None
        if seconds is None:
            return None
        if seconds < minimum:
            unit = "second" if minimum == 1 else "seconds"
            self.error(node, f"{subject} is {seconds:g} (expected at least {minimum} {unit})")
            return None
        return int(seconds)
