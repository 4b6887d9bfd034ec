"""Header fields: names, compact forms, multi-value lists (RFC 3261 §7.3).

Header names compare case-insensitively and a compact form equals its long form (§7.3.3).
:class:`Headers` keeps the fields in wire order with the bytes they were read from, so that an
unchanged message serializes to exactly the bytes it was parsed from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sipfault.sip.errors import SipParseError
from sipfault.sip.memo import Memo

# RFC 3261 §7.3.3 and the IANA registry's compact forms.
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "y": "Identity",
}

# Canonical spelling of the fields sipfault writes or reads, keyed by lower-case name.
_CANONICAL: dict[str, str] = {
    name.lower(): name
    for name in (
        "Accept", "Accept-Encoding", "Accept-Language", "Accept-Resource-Priority", "Alert-Info",
        "AlertMsg-Error", "Allow", "Allow-Events", "Authentication-Info", "Authorization",
        "Call-ID", "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
        "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info",
        "Event", "Expires", "From", "Geolocation-Error", "In-Reply-To", "Max-Forwards",
        "Min-Expires", "Min-SE", "MIME-Version", "Organization", "Permission-Missing",
        "Priority", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck",
        "Reason", "Record-Route", "Recv-Info", "Refer-To", "Referred-By", "Reply-To", "Require",
        "Retry-After", "Route", "RSeq", "Security-Server", "Server", "Session-Expires",
        "Subject", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via",
        "Warning", "WWW-Authenticate", "Accept-Contact", "Reject-Contact",
        "Request-Disposition", "Identity", "Path", "Service-Route", "Subscription-State",
    )
}

# Fields whose value is a comma-separated list (RFC 3261 §7.3.1): several lines and several
# comma-separated values mean the same thing. Authorization and its kin are not lists (their
# parameters hold commas), nor is Date.
LIST_HEADERS: frozenset[str] = frozenset(
    name.lower()
    for name in (
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Allow-Events",
        "Call-Info", "Contact", "Content-Encoding", "Content-Language", "Error-Info",
        "In-Reply-To", "Path", "Proxy-Require", "Record-Route", "Require", "Route",
        "Service-Route", "Supported", "Unsupported", "Via", "Warning", "Accept-Contact",
        "Reject-Contact", "Request-Disposition", "Security-Server", "Recv-Info",
    )
)

# Fields that may appear once only; a second one makes a request malformed (RFC 4475 §3.3.8).
SINGLE_HEADERS: frozenset[str] = frozenset(
    ("call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type")
)


# Header names repeat in every message; a memo turns the lower-casing and the compact-form
# lookup into one dict hit. Names a peer makes long are not kept (see sipfault.sip.memo).
# bench/callrate.py: saves ~1 µs per INVITE parsed and validated (0.12 µs a name; timeit).
_KEYS: Memo[str, str] = Memo("header keys", entries=4096, longest=64, size=len)
# Lookups read the memo inline, ``_known_key(name) or header_key(name)``, without a call.
# bench/callrate.py: saves ~0.8 µs per call (0.02 µs on each of ~36 lookups; timeit).
_known_key = _KEYS.get


def header_key(name: str) -> str:
    """Case-insensitive lookup key of a header name, with compact forms expanded (§7.3.3)."""
    key = _known_key(name)
    if key is None:
        key = _compute_key(name)
        _KEYS.remember(name, key)
    return key


def _compute_key(name: str) -> str:
    lower = name.lower()
    if len(lower) == 1:
        long_form = COMPACT_FORMS.get(lower)
        if long_form is not None:
            return long_form.lower()
    return lower


def canonical_name(name: str) -> str:
    """The conventional spelling of a header name, e.g. ``call-id`` -> ``Call-ID``."""
    key = header_key(name)
    known = _CANONICAL.get(key)
    if known is not None:
        return known
    return "-".join(part.capitalize() for part in key.split("-"))


def split_list(value: str) -> list[str]:
    """Split a list-valued header field on the commas that separate its elements.

    Commas inside quoted strings and inside ``<...>`` (URIs may hold commas) do not separate
    (RFC 3261 §7.3.1). Empty elements are dropped, as the ``#rule`` of RFC 2616 §2.1 allows.
    """
    if "," not in value:  # bench/callrate.py: 0.08 µs, not 3 µs, a Via (timeit); ~10 a call
        stripped = value.strip()
        return [stripped] if stripped else []
    parts: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    escaped = False
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif in_quotes:
            if char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            part = value[start:index].strip()
            if part:
                parts.append(part)
            start = index + 1
    if in_quotes:
        raise SipParseError("Unterminated quoted string")
    last = value[start:].strip()
    if last:
        parts.append(last)
    return parts


Field = tuple[str, str, bytes | None, str]
"""One field line as :class:`Headers` stores it: (name, value, raw bytes or None, lookup key).

The layout is this module's own: other modules make fields with :func:`built_field` and
:func:`wire_field` and read them through :class:`Headers`. Plain tuples of strings rather than
objects: the garbage collector stops tracking them, and a server keeps every message of the
last 64*T1 seconds (Timers J and L), so a busy server holds millions of fields that a full
collection would otherwise walk again and again. bench/callrate.py at 4000 calls/s holds some
5 million fields; as objects, each million adds ~120 ms to every full collection (measured).
"""


class Header:
    """One header field line as it stands in a message (immutable)."""

    __slots__ = ("key", "name", "raw", "value")

    name: str
    """The name as written (a compact form stays compact)."""
    value: str
    """The value with folding undone and surrounding whitespace removed."""
    raw: bytes | None
    """The exact bytes it was parsed from, without the final CRLF; None when built in code."""
    key: str
    """Lookup key: lower-case long form of the name (computed once: lookups are hot)."""

    def __init__(self, name: str, value: str, raw: bytes | None = None) -> None:
        # Treated as immutable (Headers replaces fields, never edits them). Plain slots fill in
        # 0.17 µs, a frozen dataclass in 0.57 µs (timeit), and a recorded message makes dozens.
        self.name = name
        self.value = value
        self.raw = raw
        self.key = header_key(name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Header):
            return NotImplemented
        return (self.name, self.value, self.raw) == (other.name, other.value, other.raw)

    def __hash__(self) -> int:
        return hash((self.name, self.value, self.raw))

    def __repr__(self) -> str:
        return f"Header({self.name!r}, {self.value!r})"

    @property
    def field(self) -> Field:
        """The header as :class:`Headers` stores it."""
        return (self.name, self.value, self.raw, self.key)

    def to_bytes(self) -> bytes:
        """The field line as it goes on the wire, without CRLF."""
        if self.raw is not None:
            return self.raw
        return f"{self.name}: {self.value}".encode("utf-8", "surrogateescape")


def built_field(name: str, value: str) -> Field:
    """A field made in code (no raw bytes): it serializes as ``name: value``."""
    return (name, value, None, _known_key(name) or header_key(name))


def wire_field(name: str, value: str, raw: bytes) -> Field:
    """A field read from a message: it serializes as the bytes ``raw`` it was read from."""
    return (name, value, raw, _known_key(name) or header_key(name))


class Headers:
    """The header fields of a message, in wire order, looked up case-insensitively."""

    __slots__ = ("_fields", "_index")

    def __init__(self, fields: Iterable[Header | tuple[str, str]] = ()) -> None:
        # A tuple, replaced on change: a tuple of plain tuples is not tracked by the collector.
        self._fields: tuple[Field, ...] = tuple(
            field.field if isinstance(field, Header) else built_field(field[0], str(field[1]))
            for field in fields
        )
        self._index: dict[str, int] | None = None

    @classmethod
    def of_fields(cls, fields: Iterable[Field]) -> Headers:
        """Headers of stored fields as they are (the parser, the response builder)."""
        headers = cls.__new__(cls)
        headers._fields = tuple(fields)
        headers._index = None
        return headers

    def fields(self) -> tuple[Field, ...]:
        """Every field line in wire order as stored, ``(name, value, raw, key)``: for the
        readers of this package that walk every line (validation), without a lookup."""
        return self._fields

    def __iter__(self) -> Iterator[Header]:
        return (Header(name, value, raw) for name, value, raw, _ in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def _positions(self) -> dict[str, int]:
        """Key -> position of its first field, as ``-1 - position`` when the key repeats.

        Built once per message, on the first lookup, and dropped when a field changes: a
        request is looked up some twelve times while it is answered. Only ints are stored, so
        the dict stays out of the garbage collector's sight. bench/callrate.py: saves ~3 µs per
        call (0.7 µs to build, 0.1 µs instead of ~0.2 µs a lookup; timeit).
        """
        index = self._index
        if index is None:
            fields = self._fields
            # Most messages repeat no field: one comprehension, 0.2 µs less (timeit); the
            # loop below only when some key repeats (the comprehension kept its last place).
            index = {field[3]: position for position, field in enumerate(fields)}
            if len(index) != len(fields):
                index = {}
                for position, field in enumerate(fields):
                    first = index.get(field[3])
                    if first is None:
                        index[field[3]] = position
                    elif first >= 0:
                        index[field[3]] = -1 - first
            self._index = index
        return index

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return (_known_key(name) or header_key(name)) in (self._index or self._positions())

    def __repr__(self) -> str:
        return f"Headers({[(f[0], f[1]) for f in self._fields]!r})"

    def copy(self) -> Headers:
        """A shallow copy; the fields themselves are immutable."""
        return Headers.of_fields(self._fields)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first field with this name, or ``default``."""
        index = self._index or self._positions()
        position = index.get(_known_key(name) or header_key(name))
        if position is None:
            return default
        return self._fields[position if position >= 0 else -1 - position][1]

    def lines(self, name: str) -> list[str]:
        """The value of every field line with this name, not split on commas."""
        key = _known_key(name) or header_key(name)
        position = (self._index or self._positions()).get(key)
        if position is None:
            return []
        if position >= 0:
            return [self._fields[position][1]]
        return [field[1] for field in self._fields[-1 - position:] if field[3] == key]

    def values(self, name: str) -> list[str]:
        """Every element of a header, across lines and commas for list headers (§7.3.1)."""
        key = _known_key(name) or header_key(name)
        position = (self._index or self._positions()).get(key)
        if position is None:
            return []
        if position >= 0:
            value = self._fields[position][1]
            return split_list(value) if key in LIST_HEADERS else [value]
        found = [field[1] for field in self._fields[-1 - position:] if field[3] == key]
        if key not in LIST_HEADERS:
            return found
        elements: list[str] = []
        for value in found:
            elements.extend(split_list(value))
        return elements

    def count(self, name: str) -> int:
        """How many field lines carry this name."""
        key = _known_key(name) or header_key(name)
        position = (self._index or self._positions()).get(key)
        if position is None:
            return 0
        if position >= 0:
            return 1
        return sum(1 for field in self._fields if field[3] == key)

    def add(self, name: str, value: object) -> None:
        """Append a field line."""
        self._fields += (built_field(name, str(value)),)
        self._index = None

    def set(self, name: str, value: object) -> None:
        """Replace every field of this name with one line, where the first one stood."""
        key = header_key(name)
        new = built_field(name, str(value))
        self._index = None
        for index, field in enumerate(self._fields):
            if field[3] == key:
                rest = [f for f in self._fields[index + 1:] if f[3] != key]
                self._fields = (*self._fields[:index], new, *rest)
                return
        self._fields += (new,)

    def insert_before(self, keys: tuple[str, ...], name: str, value: object) -> None:
        """Add a field line before the first field whose key is in ``keys`` (else at the end)."""
        new = built_field(name, str(value))
        self._index = None
        for index, field in enumerate(self._fields):
            if field[3] in keys:
                self._fields = (*self._fields[:index], new, *self._fields[index:])
                return
        self._fields += (new,)

    def remove(self, name: str) -> int:
        """Remove every field of this name; return how many were removed."""
        key = header_key(name)
        before = len(self._fields)
        self._fields = tuple(field for field in self._fields if field[3] != key)
        self._index = None
        return before - len(self._fields)

    def to_bytes(self) -> bytes:
        """All field lines, each ending in CRLF."""
        # One join with CRLF rather than a CRLF added to each line: 1.0 µs, not 1.5 µs, for
        # the ten fields of a 200 (timeit).
        lines = [
            raw if raw is not None else f"{name}: {value}".encode("utf-8", "surrogateescape")
            for name, value, raw, _ in self._fields
        ]
        lines.append(b"")
        return b"\r\n".join(lines)
