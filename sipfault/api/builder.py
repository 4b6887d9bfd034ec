"""Build scenario rules in Python: ``server.on("INVITE", to_user="alice").reply(100, 486)``.

The builder makes the same frozen model objects as a scenario file (``Rule``, ``Match``,
``Reply`` from :mod:`sipfault.model.scenario`) and checks each value with the same function of
:mod:`sipfault.model.validate` as the YAML loader: a mistake raises
:class:`~sipfault.model.validate.InvalidValue` (a ``ValueError``; the ``InvalidType`` kind of it
is also a ``TypeError``) with the message a scenario file gets for it, without the place.
``docs/scenarios.md`` describes what each condition and step field means.

A reply step may be written five ways::

    486                                         # a status code
    (486, {"Retry-After": 30})                  # a code and header fields
    (486, {"Retry-After": 30}, {"after": 0.2})  # ... and any other step field
    {"code": 200, "after": "1s", "sdp": "answer"}   # the YAML mapping, as a dict
    Reply(200, sdp="answer")                    # the model object itself

Step fields: ``reason``, ``after`` (seconds, or a duration like ``"200ms"``), ``headers``,
``omit``, ``body``, ``sdp`` (``"answer"``, SDP text, or answer settings such as
``{"codecs": ["PCMA"], "t38": False}``), ``reliable``, ``fault`` (a name or a
:class:`~sipfault.model.faults.Fault`) and the fault's parameters beside it, as in a scenario
file: ``{"code": 200, "fault": "drop", "count": 2}``.

Requests sipfault sends itself once the rule answered 2xx come before ``reply``, as a
scenario file's ``then`` list::

    server.on("INVITE", in_dialog=False).then(
        {"after": 2, "send": "reinvite", "sdp": "t38"},     # what a fax gateway does
        {"after": "10s", "send": "bye"},
    ).reply(100, {"code": 200, "sdp": "answer"})
    server.on("INVITE", in_dialog=True, media="image").t38("refuse-606")   # a named answer

Faults for every response of a rule go in ``reply(..., fault=...)``: a name, a mapping such as
``{"fault": "delay", "min": "200ms", "max": "2s"}``, a ``Fault``, or a list of them
(``docs/faults.md``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeAlias, TypedDict

from sipfault.model import validate
from sipfault.model.faults import RULE, STEP, Fault
from sipfault.model.scenario import (
    Action,
    FaxSettings,
    Match,
    MediaSettings,
    Reply,
    Rule,
    T38Answer,
    UnmatchedAnswer,
)

__all__ = [
    "ActionSpec",
    "FaultSpec",
    "MatchConditions",
    "RuleBuilder",
    "StepSpec",
    "build_action",
    "build_match",
    "build_media_settings",
    "build_step",
    "build_unmatched",
    "parse_duration",
]

StepSpec: TypeAlias = (
    int | Reply | Mapping[str, Any] | tuple[int, Mapping[str, Any]]
    | tuple[int, Mapping[str, Any], Mapping[str, Any]]
)
"""Any of the five ways to write a reply step (see the module docstring)."""

ActionSpec: TypeAlias = Action | Mapping[str, Any]
"""An action: the model object, or the keys of a ``then`` entry as a dict."""
FaultSpec: TypeAlias = str | Fault | Mapping[str, Any]
"""A fault as a name, a :class:`~sipfault.model.faults.Fault`, or a mapping with ``fault`` and its
parameters (``{"fault": "drop", "count": 2}``)."""

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
    probability: float | str | None
    """Chance 0..1, or a percentage like ``"25%"``, from the scenario's seeded generator."""


def parse_duration(value: float | str, what: str = "'after'") -> float:
    """Seconds from a number or a duration text like ``200ms``, ``1.5s`` or ``2m``."""
    return validate.duration(value, what)


def _optional_regex(value: Pattern | None, what: str, flags: int = 0) -> re.Pattern[str] | None:
    return None if value is None else validate.regex(value, what, flags)


def _one_or_many(value: object, what: str, expected: str) -> list[object]:
    """A single value, or the items of a list or set of them (at least one)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise validate.wrong_type(what, value, f"{expected} or a list of them")
    items = list(value)
    validate.at_least_one(items, what, expected)
    return items


def _names(
    value: str | Iterable[str] | None, what: str, expected: str, check: Callable[[object], str]
) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(check(item) for item in _one_or_many(value, what, expected))


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
    probability: float | str | None = None,
) -> Match:
    """A :class:`Match` from the keyword names of a scenario file's ``match`` mapping.

    ``user``, ``host``, ``from_user`` and ``to_user`` must match in full; ``headers`` and
    ``body`` patterns are searched. ``host`` ignores case (RFC 3261 §19.1.4).
    """
    given = {"first": first, "nth": nth, "every": every}
    validate.counters([name for name in validate.COUNTERS if given[name] is not None])
    header_patterns: list[tuple[str, re.Pattern[str]]] = []
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise validate.wrong_type("'headers'", headers, "a mapping")
        for name, pattern in headers.items():
            header_patterns.append(
                (validate.header_name(name), validate.regex(pattern, f"header {name!r}"))
            )
    return Match(
        methods=_names(method, "'method'", "method", validate.method),
        ruri_user=_optional_regex(user, "'user'"),
        ruri_host=_optional_regex(host, "'host'", re.IGNORECASE),
        from_user=_optional_regex(from_user, "'from_user'"),
        to_user=_optional_regex(to_user, "'to_user'"),
        headers=tuple(header_patterns),
        body=_optional_regex(body, "'body'"),
        media=_names(media, "'media'", "SDP media type", validate.media_type),
        transports=_names(transport, "'transport'", "transport", validate.transport),
        in_dialog=None if in_dialog is None else validate.boolean(in_dialog, "'in_dialog'"),
        first=None if first is None else validate.whole(first, "'first'", 1),
        nth=None if nth is None else validate.whole(nth, "'nth'", 1),
        every=None if every is None else validate.whole(every, "'every'", 1),
        probability=None if probability is None else validate.probability(probability),
    )


def _header_fields(headers: object) -> tuple[tuple[str, str], ...]:
    """Header name to value, or to a list of values (one field line each)."""
    if not isinstance(headers, Mapping):
        raise validate.wrong_type("'headers'", headers, "a mapping")
    fields: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in headers.items():
        validate.header_name(name)
        _once(name, seen)
        subject = f"header {name!r}"
        values = value if isinstance(value, list | tuple) else [value]
        validate.at_least_one(values, subject, "header value")
        fields.extend((name, validate.header_value(item, subject)) for item in values)
    return tuple(fields)


def _once(name: str, seen: set[str]) -> None:
    """Header names ignore case (RFC 3261 §7.3.1): `Subject` and `subject` are one field."""
    if name.lower() in seen:
        raise validate.InvalidValue(
            f"header {name!r} is given twice (header names ignore case; expected each once)"
        )
    seen.add(name.lower())


def _omit(value: object, headers: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    names = [validate.header_name(item, "'omit' entry")
             for item in _one_or_many(value, "'omit'", "header name")]
    seen: set[str] = set()
    for name in names:
        validate.not_set_and_omitted(name, (set_name for set_name, _ in headers))
        _once(name, seen)
    return tuple(names)


def _step_from_fields(fields: Mapping[str, Any]) -> Reply:
    """A reply step from the keys of a scenario file's step mapping; None means not given."""
    validate.known_keys(fields, validate.STEP_KEYS, "in reply step")
    if "code" not in fields:
        raise validate.InvalidValue(validate.NO_CODE)
    fault = fields.get("fault")
    code = validate.status_code(fields["code"], fault=fault is not None)
    step_fault = _step_fault(fault, fields, code)
    reason = fields.get("reason")
    after = fields.get("after")
    headers = _header_fields(fields.get("headers") or {})
    omit = fields.get("omit")
    body = fields.get("body")
    sdp = fields.get("sdp")
    validate.body_or_sdp(body is not None, sdp is not None)
    reliable = fields.get("reliable")
    if reliable is not None and validate.boolean(reliable, "'reliable'"):
        validate.reliable_code(code)
    return Reply(
        code=code,
        reason=None if reason is None else validate.reason(reason),
        after=0.0 if after is None else validate.duration(after, "'after'"),
        headers=headers,
        omit=() if omit is None else _omit(omit, headers),
        body=None if body is None else validate.text(body, "'body'"),
        sdp=None if sdp is None else validate.sdp(sdp),
        reliable=reliable,
        fault=step_fault,
    )


def _step_fault(value: object, fields: Mapping[str, Any], code: int) -> Fault | None:
    """A step's ``fault`` with the parameters beside it, checked as a scenario file's are."""
    given = [key for key in validate.FAULT_STEP_KEYS if key in fields]
    if value is None:
        if given:
            raise validate.InvalidValue(
                f"{given[0]!r} is a parameter of a fault (expected it with 'fault' in the step)"
            )
        return None
    if isinstance(value, Fault):
        if given:
            raise validate.InvalidValue(
                f"{given[0]!r} given beside a Fault object (expected its parameters in the Fault)"
            )
        fault = validate.fault(value, STEP)
    else:
        name = validate.fault_name(value, STEP)
        params = {key: validate.fault_parameter(name, key, fields[key]) for key in given}
        fault = validate.make_fault(name, params, STEP)
    return validate.fault_on_step(fault, code)


def build_step(step: StepSpec) -> Reply:
    """One :class:`Reply` from any of the five ways to write a step.

    Raises :class:`~sipfault.model.validate.InvalidValue` (a ``ValueError``; its
    :class:`~sipfault.model.validate.InvalidType` is also a ``TypeError``) with the message a
    scenario file gets for the same mistake.
    """
    if isinstance(step, Reply):
        return validate.reply(step)
    if isinstance(step, int) and not isinstance(step, bool):
        return Reply(code=validate.status_code(step))
    if isinstance(step, Mapping):
        return _step_from_fields(step)
    if isinstance(step, tuple) and len(step) in (2, 3):
        code, headers, *rest = step
        fields = {"code": code, "headers": headers}
        options = rest[0] if rest else {}
        if not isinstance(options, Mapping):
            raise validate.wrong_type("the step options", options, "a dict of step fields")
        for key in ("code", "headers"):
            if key in options:
                raise validate.InvalidValue(
                    f"'{key}' given twice: in the tuple and in its options (expected it once)"
                )
        return _step_from_fields({**fields, **options})
    raise validate.InvalidType(
        f"reply step {step!r} (expected a code like 486, (486, {{headers}}), "
        "(486, {headers}, {options}), a dict with 'code', or a Reply)"
    )


def build_unmatched(answer: int | Mapping[str, Any] | UnmatchedAnswer) -> UnmatchedAnswer:
    """The answer to requests no rule takes, written as a scenario file's ``unmatched``: a
    code like 480, a dict ``{"code": 404, "reason": "Not Here"}``, or the model object."""
    if isinstance(answer, UnmatchedAnswer):
        return validate.unmatched(answer)
    if isinstance(answer, int) and not isinstance(answer, bool):
        return UnmatchedAnswer(validate.unmatched_code(answer))
    if not isinstance(answer, Mapping):
        raise validate.wrong_type("'unmatched'", answer, validate.UNMATCHED_HINT)
    validate.known_keys(answer, validate.UNMATCHED_KEYS, "in unmatched")
    if "code" not in answer:
        raise validate.InvalidValue(validate.NO_UNMATCHED_CODE)
    reason = answer.get("reason")
    return UnmatchedAnswer(validate.unmatched_code(answer["code"]),
                           None if reason is None else validate.reason(reason))


def build_action(spec: ActionSpec) -> Action:
    """One :class:`Action` from a dict of a ``then`` entry's keys (``send``, ``after``,
    ``from``, ``sdp``, ``headers``) or the model object; checked as a file's are."""
    if isinstance(spec, Action):
        return validate.action(spec)
    if isinstance(spec, Mapping):
        return validate.action_fields(spec)
    raise validate.wrong_type("an action", spec, "a dict with 'send', or an Action")


def build_media_settings(**settings: Any) -> MediaSettings:
    """:class:`MediaSettings` from the keys of a scenario file's ``media`` section:
    ``ports`` (``"40000-40999"`` or a pair), ``echo``, ``no_media_within``,
    ``audio_after_t38`` (durations)."""
    validate.known_keys(settings, validate.MEDIA_KEYS, "in media")
    ports = settings.get("ports")
    echo = settings.get("echo", False)
    durations = {
        name: None if settings.get(name) is None
        else validate.positive_duration(settings[name], f"'{name}'")
        for name in ("no_media_within", "audio_after_t38")
    }
    return MediaSettings(
        ports=None if ports is None else validate.port_range(ports),
        echo=validate.boolean(echo, "'echo'"),
        no_media_within=durations["no_media_within"],
        audio_after_t38=durations["audio_after_t38"],
    )


class RuleBuilder:
    """Collects a rule's match; :meth:`reply`, :meth:`t38` or :meth:`drop` finishes it and
    adds it.

    Made by ``server.on(...)``; nothing is added until ``reply`` or ``drop`` is called.
    """

    def __init__(self, match: Match, commit: Callable[[Rule], Rule], name: str | None = None):
        self._match = match
        self._commit = commit
        self._name = name
        self._then: tuple[Action, ...] = ()
        self._fax: FaxSettings | None = None
        self._done = False

    @property
    def match(self) -> Match:
        """The conditions collected so far."""
        return self._match

    def times(self, count: int) -> RuleBuilder:
        """Take only the first ``count`` requests that meet the match (the ``first`` counter)."""
        if self._match.nth is not None or self._match.every is not None:
            raise ValueError("times() cannot be combined with nth or every")
        self._match = replace(self._match, first=validate.whole(count, "times()", 1))
        return self

    def named(self, name: str) -> RuleBuilder:
        """Name the rule in the journal and in messages."""
        self._name = name
        return self

    def then(self, *actions: ActionSpec) -> RuleBuilder:
        """Requests to send in the dialog once the rule answered 2xx (a scenario file's
        ``then``); give them before :meth:`reply`."""
        self._then += tuple(build_action(action) for action in actions)
        return self

    def fax(self, settings: FaxSettings | None = None, *, receive: str | None = None,
            send: str | None = None, capabilities: Mapping[str, Any] | None = None,
            faults: Mapping[str, Any] | None = None) -> RuleBuilder:
        """Run a fax terminal on the call's T.38 stream (a scenario file's ``fax``):
        ``receive="out/"`` writes the pages there, ``send="pages.tif"`` (a PNG, or
        ``"testpage"``) sends them; ``capabilities`` and T.30 ``faults`` by name. Give it
        before :meth:`reply` or :meth:`t38`."""
        if settings is not None:
            self._fax = validate.fax(settings)
            return self
        fields: dict[str, Any] = {}
        for key, value in (("receive", receive), ("send", send),
                           ("capabilities", capabilities), ("faults", faults)):
            if value is not None:
                fields[key] = value
        self._fax = validate.fax_fields(fields)
        return self

    def reply(
        self, *steps: StepSpec, fault: FaultSpec | list[FaultSpec] | None = None
    ) -> Rule:
        """Answer with these steps, in order; add the rule and return it.

        ``fault`` applies to every response of the transactions the rule answers: a name, a
        mapping with ``fault`` and its parameters, a ``Fault``, or a list of them
        (``fault="swallow"`` needs no steps: the request is never answered).
        """
        faults = () if fault is None else validate.faults(fault, RULE)
        if not steps and not any(each.name == "swallow" for each in faults):
            raise ValueError("reply() needs at least one step (or use drop() to never answer)")
        replies = tuple(build_step(s) for s in steps)
        if self._then:
            validate.then_needs_2xx(replies)
        return self._finish(Rule(match=self._match, reply=replies, name=self._name,
                                 then=self._then, faults=faults, fax=self._fax))

    def t38(self, answer: str | Mapping[str, Any] | T38Answer, *, after: float | str = 0,
            sdp: Mapping[str, Any] | None = None) -> Rule:
        """Answer T.38 offers as a named choice (a scenario file's ``t38``): ``accept``,
        ``refuse-488``, ``refuse-606``, ``refuse-415``, ``port-zero``, ``glare-491``; ``after``
        delays the answer, ``sdp`` sets an accepting one. Adds the rule and returns it."""
        if isinstance(answer, T38Answer):
            built = validate.t38_answer(answer)
        elif isinstance(answer, Mapping):
            built = validate.t38_answer_fields(answer)
        else:
            fields: dict[str, Any] = {"answer": answer}
            if after:
                fields["after"] = after
            if sdp is not None:
                fields["sdp"] = sdp
            built = validate.t38_answer_fields(fields)
        if self._then:
            validate.then_needs_2xx((built.reply(),))
        return self._finish(Rule(match=self._match, t38=built, name=self._name,
                                 then=self._then, fax=self._fax))

    def drop(self) -> Rule:
        """Swallow matching requests and never answer them; add the rule and return it."""
        if self._then:
            validate.then_needs_2xx(())
        return self._finish(Rule(match=self._match, drop=True, name=self._name))

    def _finish(self, rule: Rule) -> Rule:
        if self._done:
            raise RuntimeError("this rule was already added; call on() again for another rule")
        self._done = True
        return self._commit(rule)
