"""Named faults: what a scenario step can do to a response on its way out.

Each fault is a pure function of the serialized response and the transmission number (0 for the
first send, 1 for the first retransmission...) that returns the datagrams or stream writes to
emit instead: none (a lost packet), one altered copy, or several. The transaction above goes on
as if the response had been sent normally, so retransmission timers still run.

The names, and what each fault does, are listed in ``sipfault.model.faults`` (the validators
of the scenario model read them there); this module holds the functions under the same names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sipfault.sip.message import Response

FaultFunction = Callable[[bytes, int], list[bytes]]

_CONTENT_LENGTH_RE = re.compile(rb"^(Content-Length|l)[ \t]*:[ \t]*(\d+)\r\n", re.M | re.I)
_TO_TAG_RE = re.compile(rb"^((?:To|t)[ \t]*:[^\r\n]*?);tag=[^;\r\n]*", re.M | re.I)


def _as_is(data: bytes, attempt: int) -> list[bytes]:
    return [data]


def _drop(data: bytes, attempt: int) -> list[bytes]:
    return []


def _drop_first(data: bytes, attempt: int) -> list[bytes]:
    return [] if attempt == 0 else [data]


def _duplicate(data: bytes, attempt: int) -> list[bytes]:
    return [data, data]


def _no_content_length(data: bytes, attempt: int) -> list[bytes]:
    return [_CONTENT_LENGTH_RE.sub(b"", data, count=1)]


def _wrong_content_length(data: bytes, attempt: int) -> list[bytes]:
    def longer(match: re.Match[bytes]) -> bytes:
        return match.group(1) + b": " + str(int(match.group(2)) + 10).encode() + b"\r\n"

    return [_CONTENT_LENGTH_RE.sub(longer, data, count=1)]


def _no_to_tag(data: bytes, attempt: int) -> list[bytes]:
    return [_TO_TAG_RE.sub(rb"\1", data, count=1)]


def _truncate(data: bytes, attempt: int) -> list[bytes]:
    return [data[: len(data) // 2]]


def _bare_lf(data: bytes, attempt: int) -> list[bytes]:
    return [data.replace(b"\r\n", b"\n")]


FAULT_FUNCTIONS: dict[str, FaultFunction] = {
    "malformed-status": _as_is,
    "drop": _drop,
    "drop-first": _drop_first,
    "duplicate": _duplicate,
    "no-content-length": _no_content_length,
    "wrong-content-length": _wrong_content_length,
    "no-to-tag": _no_to_tag,
    "truncate": _truncate,
    "bare-lf": _bare_lf,
}
"""The function of every fault ``sipfault.model.faults.FAULTS`` names, by the same name."""


BUILT_FAULTS = frozenset({"malformed-status"})
"""Faults applied when the response is built: every transmission of it carries the fault."""


def fault_effect(name: str, data: bytes, emitted: list[bytes]) -> str:
    """What fault ``name`` did to one transmission of ``data``, given what it emitted instead:
    "dropped", "altered", "duplicated", or "passed" (sent as it was)."""
    if not emitted:
        return "dropped"
    if name in BUILT_FAULTS or any(item != data for item in emitted):
        return "altered"
    return "duplicated" if len(emitted) > 1 else "passed"


def copy_effect(name: str, data: bytes, item: bytes, index: int) -> str | None:
    """What fault ``name`` made of the ``index``-th copy it emitted of ``data``: "altered",
    "duplicated" (a copy after the first), or None (the message as it was)."""
    if name in BUILT_FAULTS or item != data:
        return "altered"
    return "duplicated" if index > 0 else None


def apply_fault(name: str, data: bytes, attempt: int) -> list[bytes]:
    """What to emit for transmission number ``attempt`` of ``data`` under fault ``name``."""
    return FAULT_FUNCTIONS[name](data, attempt)


class FaultedResponse:
    """A response sent under a fault, and how many times it has gone out so far.

    The exchange that sent it keeps it, so retransmissions (by the transaction, the 2xx and
    reliable 1xx timers) go through the same fault, and it is forgotten with the exchange.
    """

    __slots__ = ("fault", "response", "sends")

    def __init__(self, response: Response, fault: str) -> None:
        self.response = response
        self.fault = fault
        self.sends = 0

    def emit(self, data: bytes) -> tuple[int, list[bytes]]:
        """The attempt number of this transmission of ``data``, and what goes out instead."""
        attempt = self.sends
        self.sends = attempt + 1
        return attempt, apply_fault(self.fault, data, attempt)
