"""The checks of a scenario's values, shared by every front end: one rule, one message.

The YAML loader (``sipfault.scenario``) and the rule builder (``sipfault.api.builder``) validate
through these functions. Each returns the value (converted where the model holds another type)
or raises :class:`InvalidValue`, whose text says what is wrong and, in parentheses, what was
expected; the loader prints it as ``file:line:col: message``, the builder raises it.

The loader checks a value's YAML type before calling a check, so the type errors raised here
(:class:`InvalidType`) are the builder's; they read the same, e.g. ``'code' is the text '200'
(expected a status code 100-699)``. Functions named ``*_advice`` return the text of a warning
(or None) for a value that is valid but likely a mistake.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import fields
from typing import TypeVar

from sipfault.model.faults import (
    ENDPOINT,
    FAULTS,
    PARAMETERS,
    RAW_PLACEHOLDERS,
    RULE,
    STEP,
    Fault,
)
from sipfault.model.scenario import (
    ACTION_SENDS,
    AUDIO_CODECS,
    FAX_COMPRESSIONS,
    FAX_RESOLUTIONS,
    PLACEHOLDERS,
    T38_CHOICES,
    T38_ERROR_CORRECTION,
    TEST_PAGE,
    Action,
    FaxFaultSettings,
    FaxSettings,
    MediaSettings,
    Reply,
    SdpSettings,
    T38Answer,
    T38Settings,
    UnmatchedAnswer,
    placeholder_names,
)
from sipfault.sip import grammar
from sipfault.sip.codes import MAX_STATUS, MIN_STATUS, NOT_SIP, is_valid_status

__all__ = [
    "ACTION_KEYS",
    "ACTION_SDP",
    "ACTION_STARTS",
    "COUNTERS",
    "DURATION_HINT",
    "FAULT_STEP_KEYS",
    "HEADER_VALUE_HINT",
    "MEDIA_KEYS",
    "MEDIA_TYPES",
    "NO_CODE",
    "PROBABILITY_HINT",
    "SDP_HINT",
    "SDP_KEYS",
    "SDP_TYPE_HINT",
    "SECONDS_HINT",
    "STEP_KEYS",
    "T38_ANSWER_KEYS",
    "T38_KEYS",
    "TRANSPORTS",
    "UNMATCHED_HINT",
    "UNMATCHED_KEYS",
    "InvalidType",
    "InvalidValue",
    "action",
    "action_fields",
    "action_sdp",
    "action_send",
    "action_start",
    "at_least_one",
    "body_or_sdp",
    "boolean",
    "codec",
    "codecs",
    "counters",
    "describe",
    "duration",
    "fault",
    "fault_name",
    "fault_on_step",
    "fault_parameter",
    "faults",
    "fax",
    "fax_fields",
    "header_name",
    "header_value",
    "known_keys",
    "make_fault",
    "media_settings",
    "media_type",
    "media_type_advice",
    "method",
    "method_case_advice",
    "not_set_and_omitted",
    "not_sip_advice",
    "not_sip_note",
    "one_line",
    "placeholder_advice",
    "port_range",
    "positive_duration",
    "printable",
    "probability",
    "ptime",
    "raw_bytes",
    "reason",
    "regex",
    "reliable_code",
    "reply",
    "sdp",
    "sdp_fields",
    "sdp_settings",
    "shorten",
    "status_code",
    "status_in",
    "t38_answer",
    "t38_answer_fields",
    "t38_bit_rate",
    "t38_choice",
    "t38_fields",
    "t38_settings",
    "t38_udp_ec",
    "t38_version",
    "text",
    "then_needs_2xx",
    "token",
    "transport",
    "unknown_key",
    "unmatched",
    "unmatched_code",
    "whole",
    "whole_seconds",
    "wrong_type",
]

T = TypeVar("T")


class InvalidValue(ValueError):
    """A value the scenario model cannot hold; ``str()`` is the message every front end shows."""


class InvalidType(InvalidValue, TypeError):
    """A value of the wrong kind, such as text where a number was expected."""


# -- describing values ----------------------------------------------------------------------


def shorten(text: str) -> str:
    """Text cut to 40 characters, for quoting a value in a message."""
    return text if len(text) <= 40 else text[:37] + "..."


def describe(value: object) -> str:
    """What a value is, for ``X is <this> (expected Y)`` messages."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, int | float):
        return f"the number {shorten(repr(value))}"
    if isinstance(value, str):
        return f"the text {shorten(value)!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    return f"a value of type {type(value).__name__}"


def wrong_type(subject: str, value: object, expected: str) -> InvalidType:
    """The error for ``value`` of the wrong kind: ``<subject> is <value> (expected <expected>)``."""
    return InvalidType(f"{subject} is {describe(value)} (expected {expected})")


def unknown_key(key: str, context: str, allowed: Collection[str]) -> str:
    """The message for a key that is not one of ``allowed``, e.g. ``... in reply step``."""
    return f"unknown key {key!r} {context} (expected one of: {', '.join(sorted(allowed))})"


def known_keys(keys: Iterable[str], allowed: Collection[str], context: str) -> None:
    """Raise for the first of ``keys`` that is not one of ``allowed``."""
    for key in keys:
        if key not in allowed:
            raise InvalidValue(unknown_key(key, context, allowed))


def at_least_one(items: Sequence[T], subject: str, expected: str) -> Sequence[T]:
    """A list given for one-or-many values must hold at least one."""
    if not items:
        raise InvalidValue(f"{subject} is an empty list (expected at least one {expected})")
    return items


# -- text -----------------------------------------------------------------------------------


def text(value: object, subject: str, expected: str = "text") -> str:
    """Text, or a number written where text is expected (``Retry-After: 30`` sends ``30``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise wrong_type(subject, value, expected)


def one_line(value: str, subject: str) -> str:
    """Text that fits on one line of a message: no CR, LF or NUL."""
    if any(char in value for char in "\r\n\0"):
        raise InvalidValue(
            f"{subject} contains a line break or NUL (expected one line; "
            "malformed messages are made with 'fault')"
        )
    return value


def printable(value: str, subject: str, kind: str) -> str:
    """Non-blank text without control characters: it goes in a quoted-string on the wire."""
    if not value.strip():
        raise InvalidValue(f"{subject} is blank (expected {kind})")
    if any((ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F for char in value):
        raise InvalidValue(
            f"{subject} contains a control character (expected {kind} without line "
            "breaks or control characters)"
        )
    return value


def reason(value: object) -> str:
    """A reason phrase: one line of text (RFC 3261 §7.2)."""
    return one_line(text(value, "'reason'"), "'reason'")


HEADER_VALUE_HINT = "a header value; to leave a header out, use 'omit'"


def header_value(value: object, subject: str) -> str:
    """One header field value, one line; ``subject`` names it, like ``header 'Subject'``."""
    return one_line(text(value, subject, HEADER_VALUE_HINT), subject)


def placeholder_advice(value: str, subject: str) -> list[str]:
    """A warning for each ``{name}`` in ``value`` that looks like a placeholder but is none."""
    known = ", ".join(sorted(PLACEHOLDERS))
    return [
        f"unknown placeholder {{{name}}} in {subject} is sent as written (known: {known})"
        for name in placeholder_names(value)
        if name not in PLACEHOLDERS
    ]


SDP_HINT = "'answer', or SDP text starting with 'v=0'"
SDP_TYPE_HINT = "'answer', a mapping with codecs, ptime and t38, or SDP text"


def sdp(value: object) -> str | SdpSettings:
    """``answer`` (build an answer to the offer), answer settings, or literal SDP text."""
    if isinstance(value, SdpSettings):
        return sdp_settings(value)
    if isinstance(value, Mapping):
        return sdp_fields(value)
    written = text(value, "'sdp'", SDP_TYPE_HINT)
    if written.strip() == "answer":
        return "answer"
    if written.lstrip().startswith("v="):
        return written
    raise InvalidValue(f"'sdp' is {shorten(written)!r} (expected {SDP_HINT})")


SDP_KEYS = ("codecs", "ptime", "t38")
"""The keys of a reply step's ``sdp`` mapping."""
T38_KEYS = ("version", "max_bit_rate", "max_buffer", "max_datagram", "udp_ec",
            "fill_bit_removal", "transcoding_mmr", "transcoding_jbig")
"""The keys of ``sdp: {t38: {...}}`` (ITU-T T.38 Annex D.2.3, in snake case)."""
_AUXILIARY = ("telephone-event", "cn")
_T38_RATES = (2400, 4800, 7200, 9600, 12000, 14400, 16800, 19200, 21600, 24000, 26400, 28800,
              31200, 33600)


def codec(value: object) -> str:
    """An audio codec's encoding name as rtpmap writes it (RFC 8866 §6.6): a token; a name
    sipfault knows is written its usual way (``pcmu`` is PCMU)."""
    name = token(value, "codec", "codec name")
    known = next((known for known in AUDIO_CODECS if known.lower() == name.lower()), None)
    return known or name


def codecs(names: Sequence[str]) -> tuple[str, ...]:
    """A codec list needs a codec besides telephone-event and CN (they only go with one)."""
    at_least_one(names, "'codecs'", "codec")
    if all(name.lower() in _AUXILIARY for name in names):
        raise InvalidValue(
            "'codecs' names only telephone-event or CN (expected at least one audio codec, "
            "e.g. PCMU)"
        )
    return tuple(names)


def ptime(value: object) -> int:
    """``a=ptime`` in milliseconds (RFC 8866 §6.4): 1 to 1000."""
    number = whole(value, "'ptime'", 1)
    if number > 1000:
        raise InvalidValue(f"'ptime' is {number} (expected milliseconds, 1-1000)")
    return number


def t38_version(value: object) -> int:
    """T38FaxVersion: 0 to 3 (ITU-T T.38 Annex D.2.3)."""
    number = _integer(value, "'version'", "a T.38 version 0-3")
    if not 0 <= number <= 3:
        raise InvalidValue(f"'version' is {number} (expected a T.38 version 0-3)")
    return number


def t38_bit_rate(value: object) -> int:
    """T38MaxBitRate: one of the fax rates, 2400 to 33600 bit/s (ITU-T T.38 Annex D.2.3)."""
    hint = "a fax rate in bit/s: " + ", ".join(str(rate) for rate in _T38_RATES)
    number = _integer(value, "'max_bit_rate'", hint)
    if number not in _T38_RATES:
        raise InvalidValue(f"'max_bit_rate' is {number} (expected {hint})")
    return number


def t38_udp_ec(value: object) -> str:
    """T38FaxUdpEC: t38UDPNoEC, t38UDPRedundancy or t38UDPFEC (as written, case ignored)."""
    written = text(value, "'udp_ec'", "t38UDPRedundancy, t38UDPFEC or t38UDPNoEC")
    found = next((ec for ec in T38_ERROR_CORRECTION if ec.lower() == written.lower()), None)
    if found is None:
        raise InvalidValue(
            f"unknown T38FaxUdpEC {written!r} for 'udp_ec' (expected one of: "
            f"{', '.join(T38_ERROR_CORRECTION)})"
        )
    return found


def t38_fields(fields: Mapping[str, object]) -> T38Settings:
    """T.38 settings from the keys of ``sdp: {t38: {...}}``."""
    known_keys(fields, T38_KEYS, "in t38")
    default = T38Settings()

    def get(key: str, check: Callable[[object], T], fallback: T) -> T:
        return check(fields[key]) if key in fields else fallback

    return T38Settings(
        version=get("version", t38_version, default.version),
        max_bit_rate=get("max_bit_rate", t38_bit_rate, default.max_bit_rate),
        max_buffer=get("max_buffer", lambda v: whole(v, "'max_buffer'", 1), default.max_buffer),
        max_datagram=get("max_datagram", lambda v: whole(v, "'max_datagram'", 1),
                         default.max_datagram),
        udp_ec=get("udp_ec", t38_udp_ec, default.udp_ec),
        fill_bit_removal=get("fill_bit_removal", lambda v: boolean(v, "'fill_bit_removal'"),
                             default.fill_bit_removal),
        transcoding_mmr=get("transcoding_mmr", lambda v: boolean(v, "'transcoding_mmr'"),
                            default.transcoding_mmr),
        transcoding_jbig=get("transcoding_jbig", lambda v: boolean(v, "'transcoding_jbig'"),
                             default.transcoding_jbig),
    )


def t38_settings(value: object) -> T38Settings | None:
    """``t38``: a mapping of settings, ``true`` (the defaults), ``false`` (refuse T.38)."""
    if isinstance(value, T38Settings):
        t38_version(value.version)
        t38_bit_rate(value.max_bit_rate)
        whole(value.max_buffer, "'max_buffer'", 1)
        whole(value.max_datagram, "'max_datagram'", 1)
        if value.udp_ec is not None:
            t38_udp_ec(value.udp_ec)
        return value
    if isinstance(value, bool):
        return T38Settings() if value else None
    if isinstance(value, Mapping):
        return t38_fields(value)
    raise wrong_type("'t38'", value, "a mapping of T.38 settings, true, or false to refuse T.38")


def sdp_fields(fields: Mapping[str, object]) -> SdpSettings:
    """Answer settings from the keys of a step's ``sdp`` mapping."""
    known_keys(fields, SDP_KEYS, "in sdp")
    default = SdpSettings()
    chosen = default.codecs
    if "codecs" in fields:
        given = fields["codecs"]
        items = [given] if isinstance(given, str) else given
        if not isinstance(items, list | tuple):
            raise wrong_type("'codecs'", given, "a codec name or a list of them")
        chosen = codecs([codec(item) for item in items])
    return SdpSettings(
        codecs=chosen,
        ptime=ptime(fields["ptime"]) if "ptime" in fields else default.ptime,
        t38=t38_settings(fields["t38"]) if "t38" in fields else default.t38,
    )


def sdp_settings(settings: SdpSettings) -> SdpSettings:
    """Answer settings built as a model object, checked as written ones are."""
    codecs([codec(name) for name in settings.codecs])
    if settings.ptime is not None:
        ptime(settings.ptime)
    if settings.t38 is not None:
        t38_settings(settings.t38)
    return settings


def body_or_sdp(has_body: bool, has_sdp: bool) -> None:
    """A reply step's body is either literal (``body``) or SDP (``sdp``), never both."""
    if has_body and has_sdp:
        raise InvalidValue("a reply step cannot have both 'body' and 'sdp' (expected one of them)")


# -- tokens ---------------------------------------------------------------------------------

_TOKEN_RE = re.compile(grammar.TOKEN)


def token(value: object, subject: str, kind: str) -> str:
    """An RFC 3261 §25.1 token: a method, a header field name, an option tag..."""
    if not isinstance(value, str):
        raise wrong_type(subject, value, kind)
    if not _TOKEN_RE.fullmatch(value):
        raise InvalidValue(
            f"{subject} {value!r} is not a valid {kind} (expected letters, "
            "digits and - . ! % * _ + ` ' ~ only, RFC 3261 §25.1)"
        )
    return value


def method(value: object) -> str:
    """A request method (RFC 3261 §7.1): a token."""
    return token(value, "method", "method name")


def method_case_advice(name: str) -> str | None:
    """Methods are case-sensitive (RFC 3261 §7.1): ``invite`` matches no ordinary INVITE."""
    if name == name.upper():
        return None
    return (
        f"method {name!r} is not upper-case and matches only requests that spell it so "
        f"(methods are case-sensitive, RFC 3261 §7.1); did you mean {name.upper()!r}?"
    )


def header_name(value: object, subject: str = "header name") -> str:
    """A header field name (RFC 3261 §7.3.1): a token."""
    return token(value, subject, "header name")


def not_set_and_omitted(name: str, set_names: Iterable[str]) -> str:
    """A header named in ``omit`` must not also be set in the step's ``headers``."""
    if name.lower() in {set_name.lower() for set_name in set_names}:
        raise InvalidValue(
            f"header {name!r} is both set in 'headers' and left out in 'omit' "
            "(expected one of them)"
        )
    return name


# RFC 4566 §5.14 and its registry; "image" carries T.38 fax (RFC 3362).
MEDIA_TYPES = frozenset({"audio", "video", "text", "application", "message", "image"})


def media_type(value: object) -> str:
    """An SDP ``m=`` media type (RFC 4566 §5.14): a token."""
    return token(value, "media type", "SDP media type")


def media_type_advice(name: str) -> str | None:
    """A media type outside the registry never matches a real offer."""
    if name in MEDIA_TYPES:
        return None
    known = ", ".join(sorted(MEDIA_TYPES))
    return (
        f"media type {name!r} is not a known SDP media type (known: {known}; T.38 fax is 'image')"
    )


TRANSPORTS = ("tcp", "tls", "udp")


def transport(value: object) -> str:
    """``udp``, ``tcp`` or ``tls``, in any case; the model holds it in lower case."""
    written = text(value, "transport")
    if written.lower() not in TRANSPORTS:
        raise InvalidValue(
            f"unknown transport {written!r} (expected one of: {', '.join(TRANSPORTS)})"
        )
    return written.lower()


# -- numbers --------------------------------------------------------------------------------


def _integer(value: object, subject: str, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(subject, value, expected)
    return value


def boolean(value: object, subject: str) -> bool:
    """True or false."""
    if not isinstance(value, bool):
        raise wrong_type(subject, value, "true or false")
    return value


def whole(value: object, subject: str, minimum: int) -> int:
    """A whole number of at least ``minimum``: a counter, a count, a number of attempts."""
    expected = f"a whole number of at least {minimum}"
    number = _integer(value, subject, expected)
    if number < minimum:
        raise InvalidValue(f"{subject} is {number} (expected {expected})")
    return number


COUNTERS = ("first", "nth", "every")


def counters(given: Sequence[str]) -> None:
    """A rule counts requests one way: at most one of ``first``, ``nth`` and ``every``."""
    if len(given) > 1:
        raise InvalidValue(
            f"'{given[1]}' cannot be combined with '{given[0]}' "
            "(expected one counter per rule: first, nth or every)"
        )


PROBABILITY_HINT = "a number from 0 to 1, or a percentage like 25%"
_PERCENT_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%")


def probability(value: object) -> float:
    """A chance from 0 to 1, given as a number or as a percentage like ``25%``."""
    chance: float
    if isinstance(value, str):
        found = _PERCENT_RE.fullmatch(value.strip())
        if found is None:
            raise wrong_type("'probability'", value, PROBABILITY_HINT)
        chance = float(found.group(1)) / 100
    elif isinstance(value, int | float) and not isinstance(value, bool):
        chance = _as_float(value)
    else:
        raise wrong_type("'probability'", value, PROBABILITY_HINT)
    if not 0.0 <= chance <= 1.0:
        raise InvalidValue(f"'probability' {value} is out of range (expected {PROBABILITY_HINT})")
    return chance


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return math.inf


# -- status codes ---------------------------------------------------------------------------


def not_sip_note(code: int) -> str:
    """The catalogue's explanation of a number that vendor material wrongly calls a SIP code."""
    return f". {code}: {NOT_SIP[code]}" if code in NOT_SIP else ""


def not_sip_advice(code: int) -> str | None:
    """303 and 304 fit the grammar but are vendor misprints, not SIP codes."""
    if is_valid_status(code) and code in NOT_SIP:
        return f"status code {code} is sent as written, but: {NOT_SIP[code]}"
    return None


NO_CODE = "reply step has no 'code' (expected a status code 100-699)"
"""The message for a reply step written without its code."""


def status_code(value: object, *, fault: bool = False) -> int:
    """A reply step's code: 100-699 (RFC 3261 §7.2), or 0-999 in a step with a ``fault``.

    A deliberate malformed message may carry any three-digit number, 701 included.
    """
    if fault:
        code = _integer(value, "'code'", "a number 0-999 in a step with 'fault'")
        if not 0 <= code <= 999:
            raise InvalidValue(
                f"status code {code} is out of range even for a fault (expected 0-999: "
                "a status line has three digits)"
            )
        return code
    code = _integer(value, "'code'", f"a status code {MIN_STATUS}-{MAX_STATUS}")
    if not is_valid_status(code):
        raise InvalidValue(
            f"status code {code} is out of range (expected 100-699, RFC 3261 §7.2, "
            "or a step with 'fault' to send it as a malformed message)" + not_sip_note(code)
        )
    return code


def status_in(value: object, subject: str, low: int = MIN_STATUS, high: int = MAX_STATUS) -> int:
    """A status code from ``low`` to ``high``, as settings take one (a fallback, a failure)."""
    expected = f"a status code {low}-{high}"
    code = _integer(value, subject, expected)
    if not low <= code <= high:
        raise InvalidValue(
            f"{subject} {code} is out of range (expected {expected})" + not_sip_note(code)
        )
    return code


def reliable_code(code: int) -> int:
    """RFC 3262 §3: only a 101-199 provisional response is sent reliably."""
    hint = "(expected a 101-199 provisional response, RFC 3262 §3)"
    if code == 100:
        raise InvalidValue(f"100 Trying cannot be sent reliably {hint}")
    if code >= 200:
        raise InvalidValue(f"a final response ({code}) cannot be sent reliably {hint}")
    if code < 100:
        raise InvalidValue(f"{code} is no provisional response and cannot be sent reliably {hint}")
    return code


# -- durations ------------------------------------------------------------------------------

DURATION_HINT = "a number of seconds or a duration like 200ms, 1.5s or 2m"
SECONDS_HINT = "a whole number of seconds, or a duration like 30s or 5m"
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m)?")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


def duration(value: object, subject: str, hint: str = DURATION_HINT) -> float:
    """Seconds from a number or a text like ``0.5``, ``200ms``, ``1.5s``, ``2m``; never negative."""
    seconds: float
    if isinstance(value, str):
        found = _DURATION_RE.fullmatch(value.strip())
        if found is None:
            raise InvalidValue(f"bad duration {value!r} for {subject} (expected {hint})")
        seconds = float(found.group(1)) * _DURATION_UNITS[found.group(2)]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = _as_float(value)
    else:
        raise wrong_type(subject, value, hint)
    if math.isnan(seconds):
        raise InvalidValue(f"{subject} is not a number (expected {hint})")
    if seconds < 0:
        raise InvalidValue(f"{subject} is negative (expected {hint})")
    if math.isinf(seconds):
        raise InvalidValue(f"{subject} is too long (expected a finite duration)")
    return seconds


def positive_duration(value: object, subject: str) -> float:
    """A duration greater than zero: a timer value, a lifetime."""
    seconds = duration(value, subject)
    if seconds == 0:
        raise InvalidValue(f"{subject} is zero (expected a positive duration)")
    return seconds


def whole_seconds(value: object, subject: str, minimum: int) -> int:
    """Whole seconds as SIP sends them (delta-seconds, RFC 3261 §25.1): ``3600`` or ``1m``."""
    seconds: float
    if isinstance(value, str):
        seconds = duration(value, subject, SECONDS_HINT)
        if not seconds.is_integer():
            raise InvalidValue(
                f"{subject} is {seconds:g} seconds (expected whole seconds: SIP sends "
                "delta-seconds)"
            )
    else:
        seconds = _integer(value, subject, SECONDS_HINT)
    if seconds < minimum:
        unit = "second" if minimum == 1 else "seconds"
        raise InvalidValue(f"{subject} is {seconds:g} (expected at least {minimum} {unit})")
    return int(seconds)


# -- regular expressions --------------------------------------------------------------------


def regex(value: object, subject: str, flags: int = 0) -> re.Pattern[str]:
    """A Python regular expression given as text (or already compiled)."""
    if isinstance(value, re.Pattern):
        compiled: re.Pattern[str] = value
        return compiled
    if not isinstance(value, str):
        raise wrong_type(subject, value, "a regular expression")
    try:
        return re.compile(value, flags)
    except Exception as exc:  # re.error, OverflowError, RecursionError
        raise InvalidValue(
            f"invalid regex {value!r} for {subject}: {exc} (expected a Python regular expression)"
        ) from None


# -- faults ---------------------------------------------------------------------------------

_SCOPE_WORDS = {STEP: "a reply step", RULE: "a rule's 'faults'", ENDPOINT: "'endpoint_faults'"}
FAULT_STEP_KEYS = ("count", "by", "min", "max", "bytes", "probability")
"""Fault parameters a reply step may carry beside its ``fault``."""
FAULT_HINT = "a fault name, or a mapping with 'fault' and its parameters"


def fault_name(value: object, scope: str = STEP) -> str:
    """The name of a fault of ``sipfault.model.faults.FAULTS`` that may be written in ``scope``
    (``step``, ``rule`` or ``endpoint``)."""
    name = text(value, "'fault'", "a fault name")
    kind = FAULTS.get(name)
    usable = sorted(known for known, each in FAULTS.items() if scope in each.scopes)
    if kind is None:
        raise InvalidValue(f"unknown fault {name!r} (expected one of: {', '.join(usable)})")
    if scope not in kind.scopes:
        where = " or ".join(words for each, words in _SCOPE_WORDS.items() if each in kind.scopes)
        raise InvalidValue(
            f"fault {name!r} cannot be used in {_SCOPE_WORDS[scope]} (expected it in {where})"
        )
    return name


def _taken(name: str) -> tuple[str, ...]:
    return (*FAULTS[name].params, "probability")


def fault_parameter(name: str, key: str, value: object) -> object:
    """One parameter of fault ``name``, checked and converted (seconds for durations)."""
    if key not in _taken(name):
        if key not in PARAMETERS:
            raise InvalidValue(unknown_key(key, f"in fault {name!r}", ("fault", *_taken(name))))
        raise InvalidValue(
            f"fault {name!r} takes no {key!r} (expected: {', '.join(_taken(name))})"
        )
    subject = f"'{key}'"
    if key == "count":
        return whole(value, subject, 1)
    if key in ("by", "min", "max", "after"):
        return duration(value, subject)
    if key == "for":
        return positive_duration(value, subject)
    if key == "retry_after":
        return whole_seconds(value, subject, 0)
    if key == "bytes":
        return raw_bytes(value)
    return probability(value)


def raw_bytes(value: object) -> str:
    """The text of a ``raw`` fault: not blank, and only placeholders it can fill."""
    written = text(value, "'bytes'", "the text of a SIP message")
    if not written.strip():
        raise InvalidValue("'bytes' is blank (expected the text of a SIP message)")
    unknown = [name for name in placeholder_names(written) if name not in RAW_PLACEHOLDERS]
    if unknown:
        raise InvalidValue(
            f"unknown placeholder {{{unknown[0]}}} in 'bytes' (expected one of: "
            f"{', '.join(sorted(RAW_PLACEHOLDERS))})"
        )
    return written


def make_fault(name: str, params: Mapping[str, object], scope: str = STEP) -> Fault:
    """A fault from its name and parameters already checked by :func:`fault_parameter`."""
    fault_name(name, scope)
    kind = FAULTS[name]
    has = params.keys()
    if "by" in has and ("min" in has or "max" in has):
        raise InvalidValue(
            f"fault {name!r} has both 'by' and 'min'/'max' (expected a fixed delay 'by', "
            "or a range 'min' to 'max')"
        )
    if ("min" in has) != ("max" in has):
        given, missing = ("min", "max") if "min" in has else ("max", "min")
        raise InvalidValue(f"fault {name!r} has {given!r} without {missing!r} (expected both)")
    delay: tuple[float, float] | None = None
    if "by" in has:
        by = _seconds_of(params["by"])
        delay = (by, by)
    elif "min" in has:
        delay = (_seconds_of(params["min"]), _seconds_of(params["max"]))
        if delay[0] > delay[1]:
            raise InvalidValue(
                f"fault {name!r} has 'min' {delay[0]:g}s above 'max' {delay[1]:g}s "
                "(expected min <= max)"
            )
    if "by" in kind.params and delay is None:
        raise InvalidValue(
            f"fault {name!r} needs 'by' or 'min' and 'max' (expected a delay like by: 500ms)"
        )
    if "bytes" in kind.params and "bytes" not in has:
        raise InvalidValue(f"fault {name!r} needs 'bytes' (expected the text to send)")
    count = params.get("count")
    if name == "duplicate" and isinstance(count, int) and count < 2:
        raise InvalidValue(f"'count' is {count} (expected at least 2 copies for 'duplicate')")
    raw = params.get("bytes")
    retry_after = params.get("retry_after")
    chance = params.get("probability")
    duration_value = params.get("for")
    return Fault(
        name=name,
        count=count if isinstance(count, int) else None,
        delay=delay,
        raw=raw if isinstance(raw, str) else None,
        retry_after=retry_after if isinstance(retry_after, int) else None,
        start=_seconds_of(params.get("after", 0.0)),
        duration=None if duration_value is None else _seconds_of(duration_value),
        probability=None if chance is None else _seconds_of(chance),
    )


def _seconds_of(value: object) -> float:
    """A number already checked (a duration, a probability) as a float."""
    assert isinstance(value, int | float) and not isinstance(value, bool)
    return float(value)


def fault(value: object, scope: str = STEP) -> Fault:
    """A fault given as its name, a mapping with ``fault`` and its parameters, or a
    :class:`~sipfault.model.faults.Fault` (checked again, as a step object is)."""
    if isinstance(value, Fault):
        params = _fault_params(value)
        checked = {key: fault_parameter(value.name, key, item) for key, item in params.items()}
        return make_fault(value.name, checked, scope)
    if isinstance(value, str):
        return make_fault(fault_name(value, scope), {}, scope)
    if isinstance(value, Mapping):
        if "fault" not in value:
            raise InvalidValue(f"a fault mapping has no 'fault' (expected {FAULT_HINT})")
        name = fault_name(value["fault"], scope)
        params = {
            str(key): fault_parameter(name, str(key), item)
            for key, item in value.items() if key != "fault"
        }
        return make_fault(name, params, scope)
    raise wrong_type("'fault'", value, FAULT_HINT)


def _fault_params(value: Fault) -> dict[str, object]:
    """The parameters a :class:`Fault` object holds, as a scenario file writes them."""
    params: dict[str, object] = {}
    if value.count is not None:
        params["count"] = value.count
    if value.delay is not None:
        low, high = value.delay
        params.update({"by": low} if low == high else {"min": low, "max": high})
    if value.raw is not None:
        params["bytes"] = value.raw
    if value.retry_after is not None:
        params["retry_after"] = value.retry_after
    if value.start:
        params["after"] = value.start
    if value.duration is not None:
        params["for"] = value.duration
    if value.probability is not None:
        params["probability"] = value.probability
    return params


def faults(value: object, scope: str) -> tuple[Fault, ...]:
    """A list of faults (a rule's ``faults``, ``endpoint_faults``); one fault alone is a list
    of one."""
    if isinstance(value, str | Mapping | Fault):
        return (fault(value, scope),)
    if not isinstance(value, list | tuple):
        raise wrong_type("'faults'", value, f"a list of faults ({FAULT_HINT})")
    return tuple(fault(item, scope) for item in value)


_NEEDS_PROVISIONAL = frozenset({"reorder", "late-100"})


def fault_on_step(step_fault: Fault, code: int) -> Fault:
    """A fault that only some responses can carry: ``fork`` a 101-299, ``reorder`` and
    ``late-100`` a provisional, ``to-tag-changed`` anything but 100 Trying (which has no tag)."""
    name = step_fault.name
    if name == "fork" and not 100 < code < 300:
        raise InvalidValue(
            f"fault 'fork' on a {code} (expected a 101-199 or 2xx response to fork, "
            "RFC 3261 §13.2.2.4)"
        )
    if name in _NEEDS_PROVISIONAL and not 100 <= code < 200:
        raise InvalidValue(f"fault {name!r} on a {code} (expected a provisional response)")
    if name == "to-tag-changed" and code <= 100:
        raise InvalidValue(
            f"fault 'to-tag-changed' on a {code} (expected a response with a To tag, 101-699)"
        )
    return step_fault


# -- whole reply steps ----------------------------------------------------------------------

STEP_KEYS = (
    "code", "reason", "after", "headers", "omit", "body", "sdp", "reliable", "fault",
    *FAULT_STEP_KEYS,
)
"""The keys of a reply step, in a scenario file and in a step given as a dict."""


def reply(step: Reply) -> Reply:
    """A reply step built as a model object, checked as a step written in a file is."""
    status_code(step.code, fault=step.fault is not None)
    if step.reason is not None:
        reason(step.reason)
    duration(step.after, "'after'")
    for name, value in step.headers:
        header_name(name)
        header_value(value, f"header {name!r}")
    for name in step.omit:
        header_name(name, "'omit' entry")
        not_set_and_omitted(name, (set_name for set_name, _ in step.headers))
    body_or_sdp(step.body is not None, step.sdp is not None)
    if step.sdp is not None:
        sdp(step.sdp)
    if step.reliable:
        reliable_code(step.code)
    if step.fault is not None:
        # A name written where the model holds a Fault is taken as that fault.
        checked = fault_on_step(fault(step.fault, STEP), step.code)
        if checked != step.fault:
            step = dataclasses.replace(step, fault=checked)
    return step


# -- the answer to requests no rule takes ---------------------------------------------------

UNMATCHED_KEYS = ("code", "reason")
"""The keys of ``unmatched`` written as a mapping."""
UNMATCHED_HINT = "a status code 300-699, or a mapping like {code: 404, reason: Not Here}"
NO_UNMATCHED_CODE = "'unmatched' has no 'code' (expected a status code 300-699)"
"""The message for ``unmatched`` written as a mapping without its code."""


def unmatched_code(value: object) -> int:
    """A final answer that refuses or redirects: 300-699 (a 2xx would accept the request)."""
    return status_in(value, "'unmatched' code", 300, MAX_STATUS)


def unmatched(answer: UnmatchedAnswer) -> UnmatchedAnswer:
    """An ``unmatched`` answer built as a model object, checked as one written in a file is."""
    unmatched_code(answer.code)
    if answer.reason is not None:
        reason(answer.reason)
    return answer


# -- actions --------------------------------------------------------------------------------

ACTION_KEYS = ("send", "after", "from", "sdp", "headers")
"""The keys of an action in a rule's ``then`` list."""
ACTION_STARTS = ("answer", "media")
"""What an action's ``after`` counts from."""
ACTION_SDP = ("t38", "audio", "same")
"""What a re-INVITE or UPDATE of ours offers."""


def action_send(value: object) -> str:
    """What an action sends: reinvite, bye, update or info."""
    written = text(value, "'send'", f"one of: {', '.join(ACTION_SENDS)}")
    if written not in ACTION_SENDS:
        raise InvalidValue(
            f"unknown request {written!r} for 'send' (expected one of: {', '.join(ACTION_SENDS)})"
        )
    return written


def action_start(value: object) -> str:
    """``from``: the rule's answer, or the first media packet after it."""
    written = text(value, "'from'", "answer or media")
    if written not in ACTION_STARTS:
        raise InvalidValue(f"'from' is {written!r} (expected answer or media)")
    return written


def action_sdp(value: object, send: str | None) -> str:
    """The offer of a re-INVITE or UPDATE: t38, audio or same."""
    written = text(value, "'sdp'", "t38, audio or same")
    if written not in ACTION_SDP:
        raise InvalidValue(f"'sdp' is {written!r} (expected t38, audio or same)")
    if send is not None and send not in ("reinvite", "update"):
        raise InvalidValue(
            f"'sdp' goes with send: reinvite or update, not {send} (expected no 'sdp' here)"
        )
    return written


def action_fields(fields: Mapping[str, object]) -> Action:
    """An action from the keys of a ``then`` entry."""
    known_keys(fields, ACTION_KEYS, "in action")
    if "send" not in fields:
        raise InvalidValue(
            f"action has no 'send' (expected one of: {', '.join(ACTION_SENDS)})"
        )
    send = action_send(fields["send"])
    headers: list[tuple[str, str]] = []
    given = fields.get("headers")
    if given is not None:
        if not isinstance(given, Mapping):
            raise wrong_type("'headers'", given, "a mapping")
        for name, value in given.items():
            headers.append((header_name(name), header_value(value, f"header {name!r}")))
    return Action(
        send=send,
        after=duration(fields["after"], "'after'") if "after" in fields else 0.0,
        start=action_start(fields["from"]) if "from" in fields else "answer",
        sdp=action_sdp(fields["sdp"], send) if "sdp" in fields else None,
        headers=tuple(headers),
    )


def action(item: Action) -> Action:
    """An action built as a model object, checked as a written one is."""
    action_send(item.send)
    duration(item.after, "'after'")
    action_start(item.start)
    if item.sdp is not None:
        action_sdp(item.sdp, item.send)
    for name, value in item.headers:
        header_name(name)
        header_value(value, f"header {name!r}")
    return item


def then_needs_2xx(steps: Sequence[Reply]) -> None:
    """A rule's actions start with its 2xx: a rule with ``then`` must reply one."""
    if not any(200 <= step.code < 300 for step in steps):
        raise InvalidValue(
            "'then' needs a 2xx in 'reply' (expected a reply step with a code 200-299: the "
            "actions start when the rule answers)"
        )


# -- media ----------------------------------------------------------------------------------

MEDIA_KEYS = ("ports", "echo", "no_media_within", "audio_after_t38")
"""The keys of the top-level ``media`` section."""
PORT_RANGE_HINT = "a port range like 40000-40999, or [40000, 40999]"
_RANGE_RE = re.compile(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*")


def port_range(value: object) -> tuple[int, int]:
    """The ports streams may take: ``40000-40999`` or ``[40000, 40999]``, 1024-65535."""
    if isinstance(value, str):
        found = _RANGE_RE.fullmatch(value)
        if found is None:
            raise InvalidValue(f"'ports' is {shorten(value)!r} (expected {PORT_RANGE_HINT})")
        low, high = int(found.group(1)), int(found.group(2))
    elif isinstance(value, list | tuple) and len(value) == 2:
        low = _integer(value[0], "'ports'", PORT_RANGE_HINT)
        high = _integer(value[1], "'ports'", PORT_RANGE_HINT)
    else:
        raise wrong_type("'ports'", value, PORT_RANGE_HINT)
    if not 1024 <= low <= high <= 65535:
        raise InvalidValue(
            f"'ports' {low}-{high} is not a range within 1024-65535 (expected "
            f"{PORT_RANGE_HINT}, lowest first)"
        )
    return (low, high)


def media_settings(settings: MediaSettings) -> MediaSettings:
    """Media settings built as a model object, checked as written ones are."""
    if settings.ports is not None:
        port_range(settings.ports)
    boolean(settings.echo, "'echo'")
    for name in ("no_media_within", "audio_after_t38"):
        value = getattr(settings, name)
        if value is not None:
            positive_duration(value, f"'{name}'")
    return settings


# -- named T.38 answers ---------------------------------------------------------------------

T38_ANSWER_KEYS = ("answer", "after", "sdp")
"""The keys of a rule's ``t38`` mapping."""
_CHOICE_HINT = ", ".join(sorted(T38_CHOICES))


def t38_choice(value: object) -> str:
    """A name of ``T38_CHOICES``: accept, refuse-488, refuse-606, refuse-415, port-zero..."""
    written = text(value, "'t38'", f"one of: {_CHOICE_HINT}")
    if written not in T38_CHOICES:
        raise InvalidValue(f"unknown T.38 answer {written!r} (expected one of: {_CHOICE_HINT})")
    return written


def t38_answer_sdp(choice: str) -> None:
    """Answer settings go with a choice that answers with SDP."""
    if choice not in ("accept", "port-zero"):
        raise InvalidValue(
            f"'sdp' goes with answer: accept or port-zero, not {choice} (expected no 'sdp' here)"
        )


def t38_answer_fields(value: object) -> T38Answer:
    """A rule's ``t38``: a choice's name, or ``{answer, after, sdp}``."""
    if not isinstance(value, Mapping):
        return T38Answer(t38_choice(value))
    known_keys(value, T38_ANSWER_KEYS, "in t38")
    if "answer" not in value:
        raise InvalidValue(f"'t38' has no 'answer' (expected one of: {_CHOICE_HINT})")
    choice = t38_choice(value["answer"])
    settings = None
    if "sdp" in value:
        t38_answer_sdp(choice)
        given = value["sdp"]
        if not isinstance(given, Mapping):
            raise wrong_type("'sdp'", given, "a mapping with codecs, ptime and t38")
        settings = sdp_fields(given)
    after = duration(value["after"], "'after'") if "after" in value else 0.0
    return T38Answer(choice, after, settings)


def t38_answer(answer: T38Answer) -> T38Answer:
    """A named T.38 answer built as a model object, checked as a written one is."""
    t38_choice(answer.choice)
    duration(answer.after, "'after'")
    if answer.sdp is not None:
        t38_answer_sdp(answer.choice)
        sdp_settings(answer.sdp)
    return answer


# -- fax ------------------------------------------------------------------------------------

FAX_KEYS = ("receive", "send", "capabilities", "faults")
"""The keys of a rule's ``fax`` mapping."""
FAX_CAPABILITY_KEYS = ("ident", "max_rate", "ecm", "compressions", "resolutions")
"""The keys of ``fax.capabilities``."""
FAX_FAULT_KEYS = tuple(item.name for item in fields(FaxFaultSettings))
"""The keys of ``fax.faults``: the fax terminal's T.30 faults."""
FAX_RATES = (2400, 4800, 7200, 9600, 12000, 14400)
_POST_PAGE = ("MPS", "EOP", "EOM", "PPS")
_CRP_COMMANDS = ("DCS", "MPS", "EOP", "PPS")
_SILENCE_AFTER = ("DIS", "CFR", "MCF", "DCS", "page")
_ROLE_HINT = "a mapping with receive: a directory, or send: a TIFF or PNG file or testpage"


def _choices(value: object, subject: str, allowed: Sequence[str]) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    hint = ", ".join(allowed)
    out: list[str] = []
    for item in items:
        written = text(item, subject, f"one or more of: {hint}")
        if written not in allowed:
            raise InvalidValue(f"{subject} has {written!r} (expected one or more of: {hint})")
        out.append(written)
    if not out:
        raise InvalidValue(f"{subject} is empty (expected one or more of: {hint})")
    return tuple(dict.fromkeys(out))


def _pages(value: object, subject: str) -> tuple[int, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(whole(item, subject, 1) for item in items)


def fax_rate(value: object) -> int:
    """A fax modem rate: 2400-14400 bit/s in steps of 2400 (ITU-T T.30 Table 2)."""
    rate = _integer(value, "'max_rate'", "a fax rate like 14400")
    if rate not in FAX_RATES:
        raise InvalidValue(f"'max_rate' is {rate} (expected one of: "
                           f"{', '.join(map(str, FAX_RATES))})")
    return rate


def fax_faults(fields_given: Mapping[str, object]) -> FaxFaultSettings:
    """``fax.faults``: the fax terminal's T.30 faults by name."""
    known_keys(fields_given, FAX_FAULT_KEYS, "in fax faults")
    given = dict(fields_given)
    responses: list[tuple[int, str]] = []
    page_response = given.get("page_response", {})
    if isinstance(page_response, Mapping):
        pairs = list(page_response.items())
    elif isinstance(page_response, list | tuple):
        pairs = [tuple(pair) for pair in page_response]
    else:
        raise wrong_type("'page_response'", page_response, "a mapping of page number to RTN/RTP")
    for page, answer in pairs:
        if isinstance(page, str) and page.strip().isdigit():
            page = int(page)  # a mapping key written in quotes, or JSON's
        responses.append((whole(page, "'page_response' page", 1),
                          _choices(answer, "'page_response'", ("RTN", "RTP"))[0]))
    silence_after = given.get("silence_after")
    silence = given.get("silence_seconds", 0.0)
    dcn = given.get("dcn_mid_page")
    return FaxFaultSettings(
        seed=whole(given.get("seed", 0), "'seed'", 0),
        page_response=tuple(responses),
        never_answer=(_choices(given["never_answer"], "'never_answer'", _POST_PAGE)
                      if "never_answer" in given else ()),
        dcn_mid_page=None if dcn is None else whole(dcn, "'dcn_mid_page'", 1),
        ftt_on_tcf=whole(given.get("ftt_on_tcf", 0), "'ftt_on_tcf'", 0),
        crp_on=_choices(given["crp_on"], "'crp_on'", _CRP_COMMANDS) if "crp_on" in given else (),
        drop_ecm_frames=(_pages(given["drop_ecm_frames"], "'drop_ecm_frames'")
                         if "drop_ecm_frames" in given else ()),
        drop_ecm_random=whole(given.get("drop_ecm_random", 0), "'drop_ecm_random'", 0),
        silence_after=(None if silence_after is None
                       else _choices(silence_after, "'silence_after'", _SILENCE_AFTER)[0]),
        silence_seconds=duration(silence, "'silence_seconds'") if silence else 0.0,
    )


def fax_fields(value: object) -> FaxSettings:
    """A rule's ``fax``: ``{receive: dir/}`` or ``{send: file.tif | file.png | testpage}``,
    with ``capabilities`` and ``faults``."""
    if not isinstance(value, Mapping):
        raise wrong_type("'fax'", value, _ROLE_HINT)
    known_keys(value, FAX_KEYS, "in fax")
    if ("receive" in value) == ("send" in value):
        raise InvalidValue(f"'fax' needs one of 'receive' and 'send' (expected {_ROLE_HINT})")
    receive = text(value["receive"], "'receive'", "a directory") if "receive" in value else None
    send = (text(value["send"], "'send'", "a TIFF or PNG file, or testpage")
            if "send" in value else None)
    caps = value.get("capabilities", {})
    if not isinstance(caps, Mapping):
        raise wrong_type("'capabilities'", caps, "a mapping with " + ", ".join(FAX_CAPABILITY_KEYS))
    known_keys(caps, FAX_CAPABILITY_KEYS, "in fax capabilities")
    faults = value.get("faults", {})
    if not isinstance(faults, Mapping):
        raise wrong_type("'faults'", faults, "a mapping of T.30 fault names")
    settings = FaxSettings(
        receive=receive, send=send,
        ident=text(caps.get("ident", "sipfault"), "'ident'"),
        max_rate=fax_rate(caps.get("max_rate", 14400)),
        ecm=boolean(caps.get("ecm", True), "'ecm'"),
        compressions=(_choices(caps["compressions"], "'compressions'", FAX_COMPRESSIONS)
                      if "compressions" in caps else FAX_COMPRESSIONS),
        resolutions=(_choices(caps["resolutions"], "'resolutions'", FAX_RESOLUTIONS)
                     if "resolutions" in caps else FAX_RESOLUTIONS),
        faults=fax_faults(faults),
    )
    return fax(settings)


def fax(settings: FaxSettings) -> FaxSettings:
    """Fax settings built as a model object, checked as written ones are."""
    if (settings.receive is None) == (settings.send is None):
        raise InvalidValue(f"'fax' needs one of 'receive' and 'send' (expected {_ROLE_HINT})")
    if settings.send is not None and settings.send != TEST_PAGE:
        lower = settings.send.lower()
        if not lower.endswith((".tif", ".tiff", ".png")):
            raise InvalidValue(f"'send' is {shorten(settings.send)!r} (expected a .tif, .tiff "
                               f"or .png file, or {TEST_PAGE})")
    if len(settings.ident) > 20 or not settings.ident.isascii():
        raise InvalidValue(f"'ident' is {shorten(settings.ident)!r} (expected at most 20 "
                           "ASCII characters, ITU-T T.30 §5.3.6.2.4)")
    fax_rate(settings.max_rate)
    _choices(settings.compressions, "'compressions'", FAX_COMPRESSIONS)
    _choices(settings.resolutions, "'resolutions'", FAX_RESOLUTIONS)
    if "MMR" in settings.compressions and not settings.ecm and len(settings.compressions) == 1:
        raise InvalidValue("'compressions' MMR needs 'ecm: true' (ITU-T T.30 Table 2, bit 31: "
                           "T.6 coding only with error correction)")
    return settings
