"""The faults sipfault can inject, each with a line saying what it does, and the fault model.

A fault is named, and some take parameters: ``{fault: drop, count: 2}`` loses the first two
transmissions of a response, ``{fault: delay, min: 200ms, max: 2s}`` holds each one back for a
seeded random time. :class:`Fault` is the model object (a name and its parameters); the checks
of ``sipfault.model.validate`` make one from a scenario file or the Python API alike.

Names and parameters only: ``sipfault.core.faults`` applies them, so the model and its validators
know every fault without importing the core.

Where a fault may be written (:class:`FaultKind.scopes`):

- ``step``: on one reply step, for that response (``{code: 200, fault: drop, count: 2}``);
- ``rule``: in a rule's ``faults`` list, for every response of the transactions it answers
  (and, for ``swallow``, for the request itself);
- ``endpoint``: in the scenario's ``endpoint_faults`` list, or set at run time, for the whole
  endpoint, from ``after`` for a time ``for`` (or until cleared).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "ENDPOINT",
    "FAULTS",
    "PARAMETERS",
    "RAW_PLACEHOLDERS",
    "RULE",
    "STEP",
    "STREAM_FAULTS",
    "Fault",
    "FaultKind",
]

STEP = "step"
"""Scope: one reply step's response."""
RULE = "rule"
"""Scope: every response of the transactions a rule answers."""
ENDPOINT = "endpoint"
"""Scope: the whole endpoint, for a time."""

_RESPONSE = frozenset({STEP, RULE})
_STEP_ONLY = frozenset({STEP})
_RULE_ONLY = frozenset({RULE})
_ENDPOINT_ONLY = frozenset({ENDPOINT})


@dataclass(frozen=True)
class FaultKind:
    """What one named fault does, where it may be written and which parameters it takes."""

    description: str
    """One line: what the fault does on the wire."""
    group: str
    """The heading it is listed under: timing, malformed, forking, raw, stream, endpoint."""
    scopes: frozenset[str] = _RESPONSE
    """Where it may be written: ``step``, ``rule``, ``endpoint``."""
    params: tuple[str, ...] = ()
    """Parameters it takes besides ``probability`` (which every fault takes)."""
    corrupts: bool = False
    """A client cannot take the response as meant (a malformed message, a cut connection):
    what the client does next is not held against it (no ``no-ack`` finding, say)."""


PARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "count": "how many: transmissions dropped, copies sent, extra forks",
        "by": "a fixed delay, e.g. 500ms",
        "min": "the shortest random delay (with max)",
        "max": "the longest random delay (with min)",
        "bytes": "the raw message, with placeholders from the request",
        "retry_after": "Retry-After seconds of an overload 503",
        "after": "an endpoint fault starts this long after the endpoint (default 0)",
        "for": "an endpoint fault lasts this long (default: until cleared)",
        "probability": "chance 0-1 (or 25%) that the fault applies, drawn from the run's seed",
    }
)
"""Every fault parameter, with what it means."""

_DELAY = ("by", "min", "max")
_ENDPOINT_TIME = ("after", "for")

FAULTS: Mapping[str, FaultKind] = MappingProxyType(
    {
        # -- timing and loss ---------------------------------------------------------------
        "drop": FaultKind(
            "lose every transmission, or the first `count` (the client must retransmit)",
            "timing", params=("count",)),
        "drop-first": FaultKind(
            "lose the first transmission; retransmissions get through", "timing"),
        "delay": FaultKind(
            "hold each transmission back `by` a time, or a seeded random time from `min` to "
            "`max`", "timing", params=_DELAY),
        "duplicate": FaultKind(
            "send every transmission `count` times (default 2)", "timing", params=("count",)),
        "no-retransmit": FaultKind(
            "send once, never again: no Timer G, 2xx or reliable 1xx retransmission, even "
            "without ACK or PRACK", "timing"),
        "swallow": FaultKind(
            "never answer the request, not even with 100 Trying", "timing",
            scopes=_RULE_ONLY),
        "reorder": FaultKind(
            "hold this response back until the next one went (a later provisional arrives "
            "before an earlier one)", "timing", scopes=_STEP_ONLY),
        "late-100": FaultKind(
            "send the 100 Trying (or this provisional) only after the final response",
            "timing"),
        # -- malformed responses -------------------------------------------------------------
        "malformed-status": FaultKind(
            "send the step's code as written, even outside 100-699", "malformed",
            corrupts=True),
        "no-content-length": FaultKind(
            "leave Content-Length out (RFC 3261 §20.14; a stream cannot be framed)",
            "malformed", corrupts=True),
        "wrong-content-length": FaultKind(
            "Content-Length too long: claim 10 bytes more body than sent", "malformed",
            corrupts=True),
        "short-content-length": FaultKind(
            "Content-Length too short: claim 10 bytes less body than sent", "malformed",
            corrupts=True),
        "no-to-tag": FaultKind(
            "strip the To tag (RFC 3261 §8.2.6.2 requires one)", "malformed", corrupts=True),
        "to-tag-changed": FaultKind(
            "a To tag other than the earlier provisionals' (another fork answers, RFC 3261 "
            "§13.2.2.4)", "malformed", scopes=_STEP_ONLY),
        "wrong-call-id": FaultKind(
            "a Call-ID other than the request's (RFC 3261 §8.2.6.2)", "malformed",
            corrupts=True),
        "wrong-cseq-number": FaultKind(
            "a CSeq number one above the request's (RFC 3261 §8.2.6.2)", "malformed",
            corrupts=True),
        "wrong-cseq-method": FaultKind(
            "a CSeq method other than the request's (RFC 3261 §8.2.6.2)", "malformed",
            corrupts=True),
        "wrong-via-branch": FaultKind(
            "a top Via branch other than the request's (RFC 3261 §17.1.3)", "malformed",
            corrupts=True),
        "no-via": FaultKind(
            "leave every Via out (RFC 3261 §8.2.6.2)", "malformed", corrupts=True),
        "via-reversed": FaultKind(
            "the Via fields in reverse order (with two or more Vias, RFC 3261 §8.2.6.2)",
            "malformed", corrupts=True),
        "bad-sip-version": FaultKind(
            "SIP/3.0 in the status line (RFC 3261 §7.1)", "malformed", corrupts=True),
        "empty-reason": FaultKind(
            "an empty reason phrase (legal, RFC 3261 §25.1, and rarely expected)",
            "malformed"),
        "header-without-colon": FaultKind(
            "add a header line without a colon (RFC 3261 §7.3.1)", "malformed",
            corrupts=True),
        "two-to": FaultKind(
            "the To field twice (RFC 3261 §7.3.1: a single-value field)", "malformed",
            corrupts=True),
        "two-call-id": FaultKind(
            "the Call-ID field twice (RFC 3261 §7.3.1: a single-value field)", "malformed",
            corrupts=True),
        "non-utf8-header": FaultKind(
            "a header value with bytes that are not UTF-8 (RFC 3261 §7.3.1, §25.1)",
            "malformed", corrupts=True),
        "over-mtu": FaultKind(
            "4 KB of padding: a UDP response above the path MTU (RFC 3261 §18.1.1)",
            "malformed"),
        "max-size": FaultKind(
            "padded to 65,507 bytes, the largest UDP datagram (RFC 3261 §18.1.1)",
            "malformed"),
        "compact-form": FaultKind(
            "every header in its compact form: v, f, t, i, m, l, c (legal, RFC 3261 §7.3.3)",
            "malformed"),
        "line-folded": FaultKind(
            "header values folded over several lines (legal, RFC 3261 §7.3.1)", "malformed"),
        "truncate": FaultKind(
            "send only the first half of the message", "malformed", corrupts=True),
        "bare-lf": FaultKind(
            "end lines with LF instead of CRLF (RFC 3261 §7)", "malformed", corrupts=True),
        # -- forking -----------------------------------------------------------------------
        "fork": FaultKind(
            "send this 1xx or 2xx from `count` more forks (default 1), each with its own To "
            "tag and dialog (RFC 3261 §13.2.2.4)", "forking", scopes=_STEP_ONLY,
            params=("count",)),
        # -- raw ---------------------------------------------------------------------------
        "raw": FaultKind(
            "send `bytes` instead of the response, placeholders filled from the request",
            "raw", params=("bytes",), corrupts=True),
        # -- TCP and TLS ---------------------------------------------------------------------
        "close-before": FaultKind(
            "close the connection instead of sending the response (TCP, TLS)", "stream",
            corrupts=True),
        "close-after": FaultKind(
            "close the connection right after the response (TCP, TLS)", "stream"),
        "close-mid": FaultKind(
            "send half the response, then close the connection (TCP, TLS)", "stream",
            corrupts=True),
        "reset": FaultKind(
            "reset the connection (RST) instead of sending the response (TCP, TLS)", "stream",
            corrupts=True),
        "stop-reading": FaultKind(
            "send the response, then stop reading the connection, keeping it open (TCP, TLS)",
            "stream"),
        # -- the whole endpoint --------------------------------------------------------------
        "outage": FaultKind(
            "the endpoint receives and drops everything, and sends nothing", "endpoint",
            scopes=_ENDPOINT_ONLY, params=_ENDPOINT_TIME),
        "overload": FaultKind(
            "503 with Retry-After (`retry_after`, default 30 s) to every new request "
            "(RFC 3261 §21.5.4)", "endpoint", scopes=_ENDPOINT_ONLY,
            params=(*_ENDPOINT_TIME, "retry_after")),
        "slow": FaultKind(
            "every response held back `by` a time, or a random time from `min` to `max`",
            "endpoint", scopes=_ENDPOINT_ONLY, params=(*_ENDPOINT_TIME, *_DELAY)),
    }
)
"""Every fault by name, with what it does on the wire."""

STREAM_FAULTS = frozenset({"close-before", "close-after", "close-mid", "reset", "stop-reading"})
"""Faults that act on a TCP or TLS connection; over UDP the response goes out unchanged."""

RAW_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "to_user", "from_user", "call_id", "ruri_user", "local_host", "local_port",
        "via", "from", "to", "cseq", "branch", "to_tag",
    }
)
"""Names usable as ``{name}`` in a ``raw`` fault's bytes: the reply placeholders, and ``via``
(every Via line of the response, ``Via: ...`` each), ``from``, ``to`` (the request's values),
``cseq`` (``1 INVITE``), ``branch`` (the top Via's) and ``to_tag`` (the tag sipfault answers
with)."""


@dataclass(frozen=True)
class Fault:
    """One fault and its parameters; made through ``sipfault.model.validate.fault``."""

    name: str
    """A name of :data:`FAULTS`."""
    count: int | None = None
    """``drop``: transmissions lost (None: all); ``duplicate``: copies (None: 2); ``fork``:
    extra forks (None: 1)."""
    delay: tuple[float, float] | None = None
    """``delay`` and ``slow``: the shortest and longest time in seconds, equal for ``by``."""
    raw: str | None = None
    """``raw``: the text sent, placeholders not yet filled."""
    retry_after: int | None = None
    """``overload``: Retry-After seconds (None: 30)."""
    start: float = 0.0
    """Endpoint faults: seconds after the endpoint starts (``after``)."""
    duration: float | None = None
    """Endpoint faults: seconds it lasts (``for``); None until cleared."""
    probability: float | None = None
    """Chance that it applies, each time it could (None: always)."""

    @property
    def kind(self) -> FaultKind:
        """What the fault does (its entry of :data:`FAULTS`)."""
        return FAULTS[self.name]

    def __str__(self) -> str:
        """``drop``, or ``drop count=2``: the fault as the journal names it."""
        parts = [self.name]
        if self.count is not None:
            parts.append(f"count={self.count}")
        if self.delay is not None:
            low, high = self.delay
            parts.append(f"by={low:g}s" if low == high else f"min={low:g}s max={high:g}s")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after}")
        if self.start:
            parts.append(f"after={self.start:g}s")
        if self.duration is not None:
            parts.append(f"for={self.duration:g}s")
        if self.probability is not None:
            parts.append(f"probability={self.probability:g}")
        return " ".join(parts)
