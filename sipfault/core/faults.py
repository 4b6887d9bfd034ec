"""Named faults: what a scenario does to a response on its way out.

A response sent under faults is a :class:`FaultedResponse`: the faults of its reply step and of
its rule (``sipfault.model.faults.Fault``). Each transmission of it (0 for the first send, 1 for
the first retransmission...) goes through :meth:`FaultedResponse.transmit`, which gives the
:class:`Emission` items to send instead: none (a lost packet), one altered copy, several, each
with a delay, and over TCP or TLS with a connection instruction (close, reset, stop reading).
The transaction above goes on as if the response had been sent normally, so retransmission
timers still run.

The byte faults are pure functions of the serialized message (:data:`BYTE_FAULTS`). Faults that
change what the UAS does rather than the bytes (``to-tag-changed``, ``fork``, ``swallow``,
``reorder``, ``late-100``) are carried out by the UAS and ``forking.py``; the endpoint's
(``outage``, ``overload``, ``slow``) by ``endpoint_faults.py``.

Random choices (``probability``, a delay from ``min`` to ``max``) come from the exchange's
own generator (:class:`ExchangeFaults`), seeded from the run's seed, the call's place among the
calls seen and the request's CSeq: the same seed and the same client behaviour give the same
faults on the same messages, however calls interleave.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from sipfault.model.faults import STREAM_FAULTS, Fault
from sipfault.sip.message import Response

__all__ = [
    "BYTE_FAULTS",
    "CallOrdinals",
    "Emission",
    "ExchangeFaults",
    "FaultedResponse",
    "apply_byte_fault",
]

ByteFault = Callable[[bytes], bytes]

_CONTENT_LENGTH_RE = re.compile(rb"^(Content-Length|l)[ \t]*:[ \t]*(\d+)\r\n", re.M | re.I)
_TO_TAG_RE = re.compile(rb"^((?:To|t)[ \t]*:[^\r\n]*?);tag=[^;\r\n]*", re.M | re.I)
_BRANCH_RE = re.compile(rb"(;[ \t]*branch[ \t]*=[ \t]*)([^;,\s]+)", re.I)

PADDING_HEADER = b"X-Padding"
"""The header field that pads ``over-mtu`` and ``max-size`` responses."""
OVER_MTU_PADDING = 4096
"""Bytes of padding of ``over-mtu``: far above a 1500-byte path MTU (RFC 3261 §18.1.1)."""
MAX_DATAGRAM = 65507
"""The largest UDP payload over IPv4 (65,535 - 8 - 20): ``max-size`` pads to it."""

# RFC 3261 §7.3.3 and the registry of compact forms.
_COMPACT = {
    b"via": b"v", b"from": b"f", b"to": b"t", b"call-id": b"i", b"contact": b"m",
    b"content-length": b"l", b"content-type": b"c", b"supported": b"k", b"subject": b"s",
    b"content-encoding": b"e", b"allow-events": b"u", b"event": b"o", b"refer-to": b"r",
    b"referred-by": b"b", b"session-expires": b"x",
}


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """The start line and header lines, and the rest (the empty line and the body)."""
    head, separator, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), separator + body


def _join(lines: list[bytes], rest: bytes) -> bytes:
    return b"\r\n".join(lines) + rest


def _name_of(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().lower() if b":" in line else b""


def _is(line: bytes, *names: bytes) -> bool:
    return _name_of(line) in names


def _edit_lines(data: bytes, edit: Callable[[list[bytes]], list[bytes]]) -> bytes:
    lines, rest = _split(data)
    return _join(edit(lines), rest)


def _value_edit(names: tuple[bytes, ...], change: Callable[[bytes], bytes]) -> ByteFault:
    """A fault that rewrites the value of the first field named one of ``names``."""

    def edit(lines: list[bytes]) -> list[bytes]:
        for index, line in enumerate(lines[1:], 1):
            if _is(line, *names):
                name, _, value = line.partition(b":")
                lines[index] = name + b": " + change(value.strip())
                break
        return lines

    return lambda data: _edit_lines(data, edit)


def _repeat_field(*names: bytes) -> ByteFault:
    """The first field named one of ``names`` written twice."""

    def edit(lines: list[bytes]) -> list[bytes]:
        for index, line in enumerate(lines[1:], 1):
            if _is(line, *names):
                return [*lines[: index + 1], line, *lines[index + 1:]]
        return lines

    return lambda data: _edit_lines(data, edit)


def _insert_field(line: bytes) -> ByteFault:
    """A field line added after the start line's first header (before Content-Length)."""
    return lambda data: _edit_lines(data, lambda lines: [*lines[:2], line, *lines[2:]])


def _wrong_cseq_number(value: bytes) -> bytes:
    number, _, method = value.partition(b" ")
    return (str(int(number) + 1).encode() if number.isdigit() else b"2") + b" " + method.strip()


def _wrong_cseq_method(value: bytes) -> bytes:
    number, _, method = value.partition(b" ")
    other = b"INFO" if method.strip() == b"OPTIONS" else b"OPTIONS"
    return number + b" " + other


def _wrong_branch(value: bytes) -> bytes:
    return _BRANCH_RE.sub(lambda match: match.group(1) + match.group(2) + b"-wrong", value,
                          count=1)


def _no_via(lines: list[bytes]) -> list[bytes]:
    return [line for line in lines if not _is(line, b"via", b"v")]


def _via_reversed(lines: list[bytes]) -> list[bytes]:
    """Every Via value (across lines and commas) written one per line, in reverse order."""
    positions = [index for index, line in enumerate(lines) if index and _is(line, b"via", b"v")]
    if not positions:
        return lines
    values = [
        part.strip()
        for index in positions
        for part in lines[index].partition(b":")[2].split(b",")
        if part.strip()
    ]
    vias = [b"Via: " + value for value in reversed(values)]
    first = positions[0]
    kept = [line for index, line in enumerate(lines) if index not in positions[1:]]
    return [*kept[:first], *vias, *kept[first + 1:]]


def _status_line(change: Callable[[bytes], bytes]) -> ByteFault:
    return lambda data: _edit_lines(data, lambda lines: [change(lines[0]), *lines[1:]])


def _empty_reason(line: bytes) -> bytes:
    version, _, rest = line.partition(b" ")
    return version + b" " + rest.partition(b" ")[0] + b" "


def _content_length(delta: int) -> ByteFault:
    def change(match: re.Match[bytes]) -> bytes:
        claimed = max(0, int(match.group(2)) + delta)
        return match.group(1) + b": " + str(claimed).encode() + b"\r\n"

    return lambda data: _CONTENT_LENGTH_RE.sub(change, data, count=1)


def _pad(size: Callable[[bytes], int]) -> ByteFault:
    """A padding field of ``size(data)`` bytes added before the empty line."""

    def pad(data: bytes) -> bytes:
        lines, rest = _split(data)
        padding = size(data)
        if padding <= 0:
            return data
        return _join([*lines, PADDING_HEADER + b": " + b"x" * padding], rest)

    return pad


def _to_max_datagram(data: bytes) -> int:
    return MAX_DATAGRAM - len(data) - len(PADDING_HEADER) - 4  # ": " and CRLF


def _compact(lines: list[bytes]) -> list[bytes]:
    out = [lines[0]]
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        short = _COMPACT.get(name.strip().lower())
        out.append(short + b":" + value if colon and short is not None else line)
    return out


def _folded(lines: list[bytes]) -> list[bytes]:
    """Each value on a continuation line of its own (``Name:`` CRLF SP ``value``, §7.3.1)."""
    out = [lines[0]]
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        out.append(name + b":\r\n   " + value.strip() if colon and value.strip() else line)
    return out


BYTE_FAULTS: dict[str, ByteFault] = {
    "malformed-status": lambda data: data,  # the UAS built the status line as written
    "no-content-length": lambda data: _CONTENT_LENGTH_RE.sub(b"", data, count=1),
    "wrong-content-length": _content_length(10),
    "short-content-length": _content_length(-10),
    "no-to-tag": lambda data: _TO_TAG_RE.sub(rb"\1", data, count=1),
    "wrong-call-id": _value_edit((b"call-id", b"i"), lambda value: value + b".wrong"),
    "wrong-cseq-number": _value_edit((b"cseq",), _wrong_cseq_number),
    "wrong-cseq-method": _value_edit((b"cseq",), _wrong_cseq_method),
    "wrong-via-branch": _value_edit((b"via", b"v"), _wrong_branch),
    "no-via": lambda data: _edit_lines(data, _no_via),
    "via-reversed": lambda data: _edit_lines(data, _via_reversed),
    "bad-sip-version": _status_line(lambda line: line.replace(b"SIP/2.0", b"SIP/3.0", 1)),
    "empty-reason": _status_line(_empty_reason),
    "header-without-colon": _insert_field(b"X-Broken-Header this line has no colon"),
    "two-to": _repeat_field(b"to", b"t"),
    "two-call-id": _repeat_field(b"call-id", b"i"),
    "non-utf8-header": _insert_field(b"Organization: caf\xe9 \xff\xfe"),
    "over-mtu": _pad(lambda data: OVER_MTU_PADDING),
    "max-size": _pad(_to_max_datagram),
    "compact-form": lambda data: _edit_lines(data, _compact),
    "line-folded": lambda data: _edit_lines(data, _folded),
    "truncate": lambda data: data[: len(data) // 2],
    "bare-lf": lambda data: data.replace(b"\r\n", b"\n"),
}
"""The faults that rewrite a message's bytes, by name."""


def apply_byte_fault(name: str, data: bytes) -> bytes:
    """``data`` rewritten by the byte fault ``name``."""
    return BYTE_FAULTS[name](data)


@dataclass(frozen=True, slots=True)
class Emission:
    """What one transmission puts on the wire (one of several, for ``duplicate``)."""

    data: bytes
    """The bytes; empty for a connection instruction alone."""
    delay: float = 0.0
    """Seconds to hold them back."""
    close_after: bool = False
    """Close the stream connection once written."""
    reset: bool = False
    """Reset the stream connection (RST) instead of writing."""
    pause_reading: bool = False
    """Stop reading the stream connection once written."""


HOLDS = {"reorder": "next", "late-100": "final"}
"""Faults that hold a response's first transmission back, and until what goes out."""


class FaultedResponse:
    """A response sent under faults, and how many times it has gone out so far.

    The exchange that sent it keeps it (in :class:`ExchangeFaults`), so retransmissions (by the
    transaction, the 2xx and reliable 1xx timers) go through the same faults, and it is
    forgotten with the exchange.
    """

    __slots__ = ("faults", "hold", "intact", "raw", "response", "sends")

    def __init__(
        self, response: Response, faults: tuple[Fault, ...], raw: bytes | None = None,
        hold: str | None = None,
    ) -> None:
        self.response = response
        self.faults = faults
        self.raw = raw
        """The ``raw`` fault's bytes, placeholders filled."""
        self.hold = hold
        """``next`` or ``final``: the first transmission waits for that (:data:`HOLDS`)."""
        self.sends = 0
        self.intact = 0
        """Transmissions that reached the wire with no fault that spoils them."""

    def transmit(
        self, data: bytes, stream: bool, dice: Callable[[], random.Random],
    ) -> tuple[int, list[Emission], list[tuple[Fault, str]]]:
        """Transmission number (0 first), what goes out instead of ``data``, and the faults
        that acted with a word on what each did.

        ``dice`` gives the exchange's generator (made on first use) for ``probability`` and
        random delays. Faults for TCP and TLS connections do nothing over UDP.
        """
        attempt = self.sends
        self.sends = attempt + 1
        acted: list[tuple[Fault, str]] = []
        emissions = [Emission(data)]
        corrupted = False
        for fault in self.faults:
            name = fault.name
            if name in HOLDS or (name in STREAM_FAULTS and not stream) or not emissions:
                continue  # nothing for it to act on (after a drop: nothing left)
            if fault.probability is not None and dice().random() >= fault.probability:
                continue
            note = ""
            if name in BYTE_FAULTS:
                emissions = [Emission(BYTE_FAULTS[name](item.data), item.delay)
                             for item in emissions]
            elif name == "raw" and self.raw is not None:
                emissions = [Emission(self.raw, item.delay) for item in emissions]
            elif name in ("drop", "drop-first", "no-retransmit"):
                lost = (attempt == 0 if name == "drop-first"
                        else attempt > 0 if name == "no-retransmit"
                        else fault.count is None or attempt < fault.count)
                if not lost:
                    continue
                emissions = []
            elif name == "duplicate":
                emissions = [item for item in emissions for _ in range(fault.count or 2)]
            elif name == "delay" and fault.delay is not None:
                wait = draw_delay(fault.delay, dice)
                emissions = [Emission(item.data, item.delay + wait) for item in emissions]
                note = f"delayed {wait:.3f} s"
            elif name in STREAM_FAULTS:
                emissions = _stream(name, emissions)
            else:
                continue
            corrupted = corrupted or fault.kind.corrupts
            acted.append((fault, note))
        if emissions and not corrupted:
            self.intact += 1
        return attempt, emissions, acted


def draw_delay(delay: tuple[float, float], dice: Callable[[], random.Random]) -> float:
    """A fixed delay, or one drawn uniformly from the range."""
    low, high = delay
    return low if low == high else dice().uniform(low, high)


def _stream(name: str, emissions: list[Emission]) -> list[Emission]:
    """A connection instruction with (or instead of) what would have been written."""
    data = b"".join(item.data for item in emissions)
    delay = emissions[0].delay if emissions else 0.0
    if name == "close-before":
        return [Emission(b"", delay, close_after=True)]
    if name == "close-after":
        return [Emission(data, delay, close_after=True)]
    if name == "close-mid":
        return [Emission(data[: len(data) // 2], delay, close_after=True)]
    if name == "reset":
        return [Emission(b"", delay, reset=True)]
    return [Emission(data, delay, pause_reading=True)]  # stop-reading


class ExchangeFaults:
    """The faults of one exchange: its rule's, the responses sent under faults, the responses
    held back, and the generator of its random choices."""

    __slots__ = ("_dice", "_seed_key", "delivered_at", "final_delivered_at", "held",
                 "provisional_delivered", "responses", "rule_faults")

    def __init__(self, seed_key: str, rule_faults: tuple[Fault, ...] = ()) -> None:
        self._seed_key = seed_key
        self._dice: random.Random | None = None
        self.rule_faults = rule_faults
        """Faults of the rule that took the request: every response gets them."""
        self.responses: list[FaultedResponse] = []
        self.held: list[tuple[FaultedResponse, list[Emission]]] = []
        """First transmissions held back by ``reorder`` or ``late-100``."""
        self.delivered_at: float | None = None
        """When a response first reached the wire intact (a withheld one does not count)."""
        self.provisional_delivered = False
        """Whether a provisional response reached the wire intact."""
        self.final_delivered_at: float | None = None
        """When the final response first reached the wire intact."""

    def dice(self) -> random.Random:
        """The exchange's generator, made on first use from its seed key."""
        if self._dice is None:
            self._dice = random.Random(self._seed_key)
        return self._dice

    def chance(self, fault: Fault) -> bool:
        """Whether a fault with a ``probability`` applies this time (always without one)."""
        return fault.probability is None or self.dice().random() < fault.probability

    def add(self, response: Response, faults: tuple[Fault, ...], raw: bytes | None = None,
            hold: str | None = None) -> FaultedResponse:
        """Send ``response`` under ``faults`` from now on."""
        faulted = FaultedResponse(response, faults, raw, hold)
        self.responses.append(faulted)
        return faulted

    def find(self, response: object) -> FaultedResponse | None:
        """The faults ``response`` goes out under, if any."""
        for faulted in self.responses:
            if faulted.response is response:
                return faulted
        return None

    def delivered(self, response: Response, now: float) -> None:
        """A response reached the wire intact."""
        if self.delivered_at is None:
            self.delivered_at = now
        if response.status < 200:
            self.provisional_delivered = True
        elif self.final_delivered_at is None:
            self.final_delivered_at = now

    def intact(self, response: object) -> bool:
        """Whether ``response`` reached the wire intact at least once (True when sent under no
        fault of this exchange)."""
        faulted = self.find(response)
        return faulted is None or faulted.intact > 0


class CallOrdinals:
    """The place of each Call-ID among the calls seen (1 for the first), for seeding.

    Bounded: the oldest are forgotten past ``size`` calls (a call seen again later gets a new
    place, the same in every run with the same traffic).
    """

    __slots__ = ("_next", "_places", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._places: dict[str, int] = {}
        self._next = 1
        self._size = size

    def __len__(self) -> int:
        return len(self._places)

    def place(self, call_id: str) -> int:
        """The ordinal of ``call_id``, given on first sight."""
        place = self._places.get(call_id)
        if place is None:
            place = self._places[call_id] = self._next
            self._next += 1
            if len(self._places) > self._size:
                del self._places[next(iter(self._places))]
        return place
