"""The header fields a response code requires, filled from the server's own state.

The catalogue (:mod:`sipfault.sip.codes`) says which fields a code MUST or SHOULD carry; this
module says what goes in each one. A scenario step's own headers win over these values, and its
``omit`` removes one on purpose (a fault).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sipfault.core.capabilities import ACCEPTED_ENCODINGS, SESSION_BODY_TYPES, SUPPORTED_OPTIONS
from sipfault.model.scenario import ResponseDefaults
from sipfault.sip.codes import is_valid_status, recommended_headers, required_headers
from sipfault.sip.memo import Memo
from sipfault.sip.message import Request

Fields = list[tuple[str, str]]


@dataclass
class FieldSources:
    """Where the values come from: the UAS and the exchange supply these."""

    request: Request
    defaults: ResponseDefaults
    allow: Callable[[], str]
    """The Allow list (RFC 3261 §20.5)."""
    contact: Callable[[], str]
    """Our Contact (§20.10)."""
    challenge: Callable[[bool], Fields]
    """Digest challenge fields; the flag asks for Proxy-Authenticate (§22.1, §22.3)."""
    local_host: str


def _unsupported(sources: FieldSources) -> Fields:
    """§8.2.2.3: the option tags of Require/Proxy-Require we do not support."""
    request = sources.request
    tags = request.headers.values("Require") + request.headers.values("Proxy-Require")
    unknown = [tag for tag in tags if tag not in SUPPORTED_OPTIONS] or tags
    return [("Unsupported", ", ".join(unknown) or "unknown-extension")]


def _require(code: int, sources: FieldSources) -> Fields:
    if code == 494:  # RFC 3329 §2.3.1
        return [("Require", "sec-agree")]
    return [("Require", ", ".join(sources.defaults.require))]


_FILLERS: dict[str, Callable[[int, FieldSources], Fields]] = {
    "Allow": lambda code, s: [("Allow", s.allow())],
    "Supported": lambda code, s: [("Supported", ", ".join(SUPPORTED_OPTIONS))],
    "Accept": lambda code, s: [("Accept", ", ".join(SESSION_BODY_TYPES))],
    "Accept-Encoding": lambda code, s: [("Accept-Encoding", ", ".join(ACCEPTED_ENCODINGS))],
    "Accept-Language": lambda code, s: [("Accept-Language", "en")],
    "Unsupported": lambda code, s: _unsupported(s),
    "Require": _require,
    "Min-Expires": lambda code, s: [("Min-Expires", str(s.defaults.min_expires))],
    "Min-SE": lambda code, s: [("Min-SE", str(s.defaults.min_se))],
    "WWW-Authenticate": lambda code, s: s.challenge(False),
    "Proxy-Authenticate": lambda code, s: s.challenge(True),
    "Contact": lambda code, s: [("Contact", s.contact())],
    "Recv-Info": lambda code, s: [("Recv-Info", "")],  # RFC 6086 §5.2.3: none accepted
    "Allow-Events": lambda code, s: [("Allow-Events", ", ".join(s.defaults.allow_events))],
    "Security-Server": lambda code, s: [("Security-Server", "digest;d-qop=verify")],
    "Warning": lambda code, s: [("Warning", f'304 {s.local_host} "Media type not available"')],
    "Call-Info": lambda code, s: [
        ("Call-Info", "<https://sipfault.invalid/jwscard>;purpose=jwscard")  # RFC 8688
    ],
    "Geolocation-Error": lambda code, s: [
        ("Geolocation-Error", '100;message="Cannot Process Location"')  # RFC 6442 §4.3
    ],
    "AlertMsg-Error": lambda code, s: [
        ("AlertMsg-Error", '100;message="Cannot process the alert payload"')  # RFC 8876
    ],
    "Permission-Missing": lambda code, s: [
        ("Permission-Missing", f"<{s.request.uri}>")  # RFC 5360 §5.9.3
    ],
    "Accept-Resource-Priority": lambda code, s: [
        ("Accept-Resource-Priority", "dsn.routine, dsn.priority, wps.4")  # RFC 4412 §3.2
    ],
    "Expires": lambda code, s: [("Expires", s.request.headers.get("Expires") or "3600")],
}


# Every response reads the catalogue for its code and method; the answer never changes. The
# method is the peer's: its length bounds the key. bench/callrate.py: saves ~1.7 µs per
# response (timeit).
_FIELD_NAMES: Memo[tuple[int, str], tuple[str, ...]] = Memo(
    "fields a code requires", entries=1024, longest=32, size=lambda key: len(key[1])
)


def _field_names(code: int, method: str) -> tuple[str, ...]:
    """The MUST fields of ``code`` for ``method``, then its SHOULD fields (catalogue order)."""
    key = (code, method)
    names = _FIELD_NAMES.get(key)
    if names is None:
        found = list(required_headers(code, method))
        found += [n for n in recommended_headers(code, method) if n not in found]
        names = tuple(found)
        _FIELD_NAMES.remember(key, names)
    return names


def may_need_fields(code: int, method: str, defaults: ResponseDefaults) -> bool:
    """False when :func:`code_fields` has nothing to add (most 2xx): a cheap check first.

    bench/callrate.py: spares ~1 µs per response that needs nothing (timeit).
    """
    if not is_valid_status(code):  # a malformed-status fault: nothing is required of it
        return False
    return bool(_field_names(code, method)) or any(
        number == code for number, _ in defaults.retry_after
    )


def code_fields(code: int, sources: FieldSources) -> Fields:
    """Every field the catalogue asks of ``code`` for this request that we know how to fill.

    MUST fields first, then SHOULD fields that have a value here. Retry-After comes from the
    scenario's ``defaults.retry_after``; Date, and Contact on a 2xx to REGISTER, are the
    registrar's.
    """
    method = sources.request.method
    fields: Fields = []
    if not is_valid_status(code):  # a malformed-status fault: nothing is required of it
        return fields
    for name in _field_names(code, method):
        if name == "Contact" and method == "REGISTER" and code < 300:
            continue
        filler = _FILLERS.get(name)
        if filler is not None:
            fields += filler(code, sources)
    for number, seconds in reversed(sources.defaults.retry_after):  # the last one wins
        if number == code:
            fields.append(("Retry-After", str(seconds)))
            break
    return fields
