"""Build scenario rules in Python: ``server.on("INVITE", to_user="alice").reply(100, 486)``.

The builder makes the same frozen model objects as a scenario file (``Rule``, ``Match``,
``Reply`` from :mod:`sipfault.model.scenario`), checks them as the YAML loader does, and
raises ``ValueError`` or ``TypeError`` saying what was expected. ``docs/scenarios.md`` describes
what each condition and step field means.

A reply step may be written five ways::

    486                                         # a status code
    (486, {"Retry-After": 30})                  # a code and header fields
    (486, {"Retry-After": 30}, {"after": 0.2})  # ... and any other step field
    {"code": 200, "after": "1s", "sdp": "answer"}   # the YAML mapping, as a dict
    Reply(200, sdp="answer")                    # the model object itself

Step fields: ``reason``, ``after`` (seconds, or a duration like ``"200ms"``), ``headers``,
``omit``, ``body``, ``sdp``, ``reliable``, ``fault``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeAlias, TypedDict

from sipfault.model.scenario import Match, Reply, Rule

__all__ = [
    "MatchConditions",
    "RuleBuilder",
    "StepSpec",
    "build_match",
    "build_step",
    "parse_duration",
]

StepSpec: TypeAlias = (
    int | Reply | Mapping[str, Any] | tuple[int, Mapping[str, Any]]
    | tuple[int, Mapping[str, Any], Mapping[str, Any]]
)
"""Any of the five ways to write a reply step (see the module docstring)."""

Pattern: TypeAlias = str | re.Pattern[str]
"""A regex as text (compiled with :func:`re.compile`) or already compiled."""


class MatchConditions(TypedDict, total=False):
    """The keyword conditions of ``on(method, **conditions)``: a scenario file's match keys."""

    user: Pattern | None
    """Full match against the Request-URI user part."""
    host: Pattern | None
    """Full match against the Request-URI host, ignoring case."""
    from_user: Pattern | None
    """Full match against the From URI user part."""
    to_user: Pattern | None
    """Full match against the To URI user part."""
    headers: Mapping[str, Pattern] | None
    """Header name to a regex searched in its values."""
    body: Pattern | None
    """A regex searched in the body."""
    media: str | Iterable[str] | None
    """SDP media types, one of which the offer must have (``image`` for T.38)."""
    transport: str | Iterable[str] | None
    """Transports the request may arrive on."""
    in_dialog: bool | None
    """True: only in-dialog requests; False: only initial ones."""
    first: int | None
    """Only the first N requests that meet the rest."""
    nth: int | None
    """Only the Nth such request."""
    every: int | None
    """Every Nth such request."""
    probability: float | None
    """Chance 0..1 to take a request, from the scenario's seeded generator."""


# RFC 3261 §25.1: methods (§7.1) and header names (§7.3.1) are tokens.
_TOKEN_RE = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}
_STEP_FIELDS = ("reason", "after", "headers", "omit", "body", "sdp", "reliable", "fault")
_TRANSPORTS = frozenset({"udp", "tcp", "tls"})
_FAULT_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def parse_duration(value: float | str, what: str = "'after'") -> float:
    """Seconds from a number or a duration text like ``200ms``, ``1.5s`` or ``2m``."""
    if isinstance(value, bool):
        raise TypeError(f"{what} is {value!r} (expected seconds or a duration like 200ms)")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        found = _DURATION_RE.fullmatch(value.strip())
        if found is None:
            try:
                seconds = float(value)
            except ValueError:
                raise ValueError(
                    f"bad duration {value!r} for {what} "
                    "(expected seconds or a duration like 200ms, 1.5s or 2m)"
                ) from None
        else:
            seconds = float(found.group(1)) * _DURATION_UNITS[found.group(2)]
    else:
        raise TypeError(f"{what} is {type(value).__name__} (expected seconds or a duration)")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} is {value!r} (expected a duration of 0 or more)")
    return seconds


def _compile(value: Pattern | None, what: str, flags: int = 0) -> re.Pattern[str] | None:
    if value is None:
        return None
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} is {type(value).__name__} (expected a regex as text)")
    try:
        return re.compile(value, flags)
    except re.error as exc:
        raise ValueError(f"invalid regex {value!r} for {what}: {exc}") from None


def _token(value: object, what: str) -> str:
    if not isinstance(value, str) or not _TOKEN_RE.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a SIP token (RFC 3261 §25.1)")
    return value


def _names(value: str | Iterable[str] | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        raise ValueError(f"{what} is empty (expected at least one, or None for any)")
    return frozenset(_token(item, what) for item in items)


def _counter(value: int | None, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what}={value!r} (expected a whole number of at least 1)")
    return value


def build_match(
    method: str | Iterable[str] | None = None,
    *,
    user: Pattern | None = None,
    host: Pattern | None = None,
    from_user: Pattern | None = None,
    to_user: Pattern | None = None,
    headers: Mapping[str, Pattern] | None = None,
    body: Pattern | None = None,
    media: str | Iterable[str] | None = None,
    transport: str | Iterable[str] | None = None,
    in_dialog: bool | None = None,
    first: int | None = None,
    nth: int | None = None,
    every: int | None = None,
    probability: float | None = None,
) -> Match:
    """A :class:`Match` from the keyword names of a scenario file's ``match`` mapping.

    ``user``, ``host``, ``from_user`` and ``to_user`` must match in full; ``headers`` and
    ``body`` patterns are searched. ``host`` ignores case (RFC 3261 §19.1.4).
    """
    counters = [name for name, v in (("first", first), ("nth", nth), ("every", every))
                if v is not None]
    if len(counters) > 1:
        raise ValueError(
            f"{' and '.join(counters)} cannot be combined (expected one counter per rule)"
        )
    if probability is not None and (
        isinstance(probability, bool) or not 0.0 <= float(probability) <= 1.0
    ):
        raise ValueError(f"probability={probability!r} (expected a number from 0 to 1)")
    header_patterns: list[tuple[str, re.Pattern[str]]] = []
    for name, pattern in (headers or {}).items():
        compiled = _compile(pattern, f"header {name!r}")
        assert compiled is not None
        header_patterns.append((_token(name, "header name"), compiled))
    transports = _names(transport, "transport")
    if transports is not None:
        transports = frozenset(name.lower() for name in transports)
        unknown = transports - _TRANSPORTS
        if unknown:
            raise ValueError(
                f"unknown transport {', '.join(sorted(unknown))} (expected udp, tcp or tls)"
            )
    if in_dialog is not None and not isinstance(in_dialog, bool):
        raise TypeError(f"in_dialog={in_dialog!r} (expected True, False or None)")
    return Match(
        methods=_names(method, "method"),
        ruri_user=_compile(user, "user"),
        ruri_host=_compile(host, "host", re.IGNORECASE),
        from_user=_compile(from_user, "from_user"),
        to_user=_compile(to_user, "to_user"),
        headers=tuple(header_patterns),
        body=_compile(body, "body"),
        media=_names(media, "media"),
        transports=transports,
        in_dialog=in_dialog,
        first=_counter(first, "first"),
        nth=_counter(nth, "nth"),
        every=_counter(every, "every"),
        probability=None if probability is None else float(probability),
    )


def _code(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"status code {value!r} is not a whole number (expected 100-699)")
    if not 100 <= value <= 699:
        raise ValueError(f"status code {value} is out of range (expected 100-699, RFC 3261 §7.2)")
    return value


def _one_line(value: str, what: str) -> str:
    if any(char in value for char in "\r\n\0"):
        raise ValueError(f"{what} holds a line break or NUL (expected one line; "
                         "malformed messages are a job for 'fault')")
    return value


def _header_fields(headers: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Header name to value, or to a list of values (one field line each)."""
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers is {type(headers).__name__} (expected a dict of name: value)")
    fields: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in headers.items():
        _token(name, "header name")
        if name.lower() in seen:
            raise ValueError(f"header {name!r} given twice (header names ignore case)")
        seen.add(name.lower())
        values = list(value) if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None or isinstance(item, bool):
                raise TypeError(f"header {name!r} is {item!r} (expected text or a number; "
                                "to leave a header out, use 'omit')")
            fields.append((name, _one_line(str(item), f"header {name!r}")))
    return tuple(fields)


def _step_from_fields(code: object, options: Mapping[str, Any]) -> Reply:
    unknown = sorted(set(options) - set(_STEP_FIELDS))
    if unknown:
        raise ValueError(f"unknown reply step field {', '.join(map(repr, unknown))} "
                         f"(expected one of: {', '.join(_STEP_FIELDS)})")
    status = _code(code)
    values: dict[str, Any] = {}
    if options.get("reason") is not None:
        values["reason"] = _one_line(str(options["reason"]), "reason")
    if "after" in options:
        values["after"] = parse_duration(options["after"])
    headers = _header_fields(options.get("headers") or {})
    values["headers"] = headers
    omit = options.get("omit") or ()
    omit_names = (omit,) if isinstance(omit, str) else tuple(omit)
    for name in omit_names:
        _token(name, "omit")
        if name.lower() in {header.lower() for header, _ in headers}:
            raise ValueError(f"header {name!r} is both set in headers and left out in omit")
    values["omit"] = omit_names
    if options.get("body") is not None and options.get("sdp") is not None:
        raise ValueError("a reply step cannot have both body and sdp (expected one of them)")
    if options.get("body") is not None:
        values["body"] = str(options["body"])
    if options.get("sdp") is not None:
        sdp = str(options["sdp"])
        if sdp.strip() != "answer" and not sdp.lstrip().startswith("v="):
            raise ValueError(f"sdp {sdp[:40]!r} (expected 'answer', or SDP text starting v=0)")
        values["sdp"] = "answer" if sdp.strip() == "answer" else sdp
    reliable = options.get("reliable")
    if reliable is not None:
        if not isinstance(reliable, bool):
            raise TypeError(f"reliable={reliable!r} (expected True, False or None)")
        if reliable and not 101 <= status <= 199:
            raise ValueError(f"{status} cannot be sent reliably "
                             "(expected a 101-199 provisional response, RFC 3262 §3)")
        values["reliable"] = reliable
    fault = options.get("fault")
    if fault is not None:
        if not isinstance(fault, str) or not _FAULT_NAME_RE.fullmatch(fault):
            raise ValueError(f"fault name {fault!r} is not an identifier")
        values["fault"] = fault
    return Reply(code=status, **values)


def build_step(step: StepSpec) -> Reply:
    """One :class:`Reply` from any of the five ways to write a step."""
    if isinstance(step, Reply):
        _code(step.code)
        return step
    if isinstance(step, int) and not isinstance(step, bool):
        return Reply(code=_code(step))
    if isinstance(step, Mapping):
        if "code" not in step:
            raise ValueError(f"reply step {dict(step)!r} has no 'code' (expected 100-699)")
        options = {key: value for key, value in step.items() if key != "code"}
        return _step_from_fields(step["code"], options)
    if isinstance(step, tuple) and len(step) in (2, 3):
        code, headers, *rest = step
        options = dict(rest[0]) if rest else {}
        if "headers" in options:
            raise ValueError("headers given twice: in the tuple and in its options")
        options["headers"] = headers
        return _step_from_fields(code, options)
    raise TypeError(
        f"reply step {step!r} (expected a code like 486, (486, {{headers}}), "
        "(486, {headers}, {options}), a dict with 'code', or a Reply)"
    )


class RuleBuilder:
    """Collects a rule's match; :meth:`reply` or :meth:`drop` finishes it and adds it.

    Made by ``server.on(...)``; nothing is added until ``reply`` or ``drop`` is called.
    """

    def __init__(self, match: Match, commit: Callable[[Rule], Rule], name: str | None = None):
        self._match = match
        self._commit = commit
        self._name = name
        self._done = False

    @property
    def match(self) -> Match:
        """The conditions collected so far."""
        return self._match

    def times(self, count: int) -> RuleBuilder:
        """Take only the first ``count`` requests that meet the match (the ``first`` counter)."""
        if self._match.nth is not None or self._match.every is not None:
            raise ValueError("times() cannot be combined with nth or every")
        self._match = replace(self._match, first=_counter(count, "times"))
        return self

    def named(self, name: str) -> RuleBuilder:
        """Name the rule in the journal and in messages."""
        self._name = name
        return self

    def reply(self, *steps: StepSpec) -> Rule:
        """Answer with these steps, in order; add the rule and return it."""
        if not steps:
            raise ValueError("reply() needs at least one step (or use drop() to never answer)")
        return self._finish(Rule(match=self._match, reply=tuple(build_step(s) for s in steps),
                                 name=self._name))

    def drop(self) -> Rule:
        """Swallow matching requests and never answer them; add the rule and return it."""
        return self._finish(Rule(match=self._match, drop=True, name=self._name))

    def _finish(self, rule: Rule) -> Rule:
        if self._done:
            raise RuntimeError("this rule was already added; call on() again for another rule")
        self._done = True
        return self._commit(rule)
