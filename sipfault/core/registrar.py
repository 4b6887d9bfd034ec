"""A registrar's location service, sans-I/O (RFC 3261 §10.3).

:class:`Registrar` turns one REGISTER into the answer the UAS sends (a status, a reason and the
header fields to add) and keeps the bindings per address-of-record. Time is always the ``now``
argument; only the ``Date`` header field reads a wall clock, which is injected.

Faults the scenario may ask for (``RegistrarSettings``): answer the first REGISTERs with another
code, grant a shorter expiry than asked for, and drop bindings early behind the client's back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from sipfault.model.scenario import (
    ForcedExpiry,
    RegistrarFailure,
    RegistrarSettings,
    ResponseDefaults,
)
from sipfault.sip.address import Address, parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.grammar import bounded_int, sip_date
from sipfault.sip.message import Request
from sipfault.sip.params import format_params
from sipfault.sip.uri import Uri

__all__ = [
    "MALFORMED_EXPIRES",
    "MAX_BINDINGS",
    "MAX_BINDINGS_PER_AOR",
    "Binding",
    "Registrar",
    "RegistrarAnswer",
    "address_of_record",
]

MALFORMED_EXPIRES = 3600
"""Seconds a malformed ``expires`` parameter or Expires value stands for (RFC 3261 §20.10,
§20.19)."""

MAX_BINDINGS_PER_AOR = 64
"""Contacts one address-of-record may hold at once; a REGISTER that would add more is refused
with 503 (see :class:`Registrar`)."""

MAX_BINDINGS = 16384
"""Bindings the registrar holds over all addresses-of-record; past it, the same 503."""

_MAX_SECONDS = 2**32 - 1  # RFC 3261 §20.19: delta-seconds range


@dataclass(frozen=True)
class Binding:
    """One contact bound to an address-of-record (RFC 3261 §10.3 step 7)."""

    aor: str
    """The address-of-record, canonical (see :func:`address_of_record`)."""
    contact: str
    """The Contact value as the client sent it, without its ``expires`` parameter."""
    uri: str
    """The contact URI as written (escapes, URI parameters and headers kept)."""
    expires_at: float
    """Clock time the granted expiry ends, as told to the client."""
    registered_at: float
    """Clock time of the REGISTER that last added or refreshed it."""
    call_id: str
    """Call-ID of that REGISTER (§10.3 step 7 ordering)."""
    cseq: int
    """CSeq number of that REGISTER (§10.3 step 7 ordering)."""
    q: str | None
    """The ``q`` parameter as sent, or None."""

    def remaining(self, now: float) -> int:
        """Whole seconds of granted expiry left at ``now``, rounded up; never negative."""
        # Rounded to the microsecond first, so that float noise in now + granted - now does
        # not turn 3600 into 3601.
        return max(0, math.ceil(round(self.expires_at - now, 6)))


@dataclass(frozen=True)
class RegistrarAnswer:
    """What to answer a REGISTER with; the UAS builds the response around it."""

    status: int
    """Status code."""
    reason: str | None = None
    """Reason phrase; None uses the standard phrase of the code."""
    headers: tuple[tuple[str, str], ...] = ()
    """Header fields to add, in order (Contact, Date, Min-Expires...)."""


def address_of_record(uri: Uri) -> str | None:
    """The canonical address-of-record of a To URI, or None when it is not sip/sips.

    RFC 3261 §10.3 step 5: ``scheme:user@host[:port]`` with every URI parameter and header
    dropped and escapes in the user part decoded (RFC 4475 §3.1.1.4: ``%00`` is kept as a NUL,
    not a terminator). The host is lower-cased; the user part compares case-sensitively
    (§19.1.4), so it keeps its case.
    """
    if not uri.is_sip:
        return None
    text = f"{uri.scheme}:"
    if uri.user:
        text += f"{uri.user_unescaped}@"
    text += uri.host.lower()
    if uri.port is not None:
        text += f":{uri.port}"
    return text


@dataclass(frozen=True)
class _Entry:
    """A binding with the time a forced-expiry fault drops it, if any."""

    binding: Binding
    drop_at: float | None

    @property
    def deadline(self) -> float:
        """When the binding leaves the location service, whichever comes first."""
        if self.drop_at is None:
            return self.binding.expires_at
        return min(self.binding.expires_at, self.drop_at)


class _Refused(Exception):
    """Ends processing of a REGISTER early with ``answer``; nothing has changed yet."""

    def __init__(self, answer: RegistrarAnswer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


def _refuse(status: int, reason: str | None = None, *headers: tuple[str, str]) -> _Refused:
    return _Refused(RegistrarAnswer(status, reason, tuple(headers)))


class Registrar:
    """Bindings per address-of-record, kept as RFC 3261 §10.3 says, with scenario faults.

    Rules, in the order a REGISTER meets them:

    - **Failures** (a fault): the first REGISTERs are answered with another code, counted over
      every REGISTER :meth:`handle` sees (not per client), the ``failures`` entries taking their
      turns in list order: ``(count=2, 503), (count=1, 500)`` answers 503, 503, 500, then works.
    - **Address-of-record** (step 5): the To URI made canonical (:func:`address_of_record`); a
      To URI that is not sip/sips is a 400 "Invalid address-of-record" (RFC 4475 §3.3.4).
    - **Query**: no Contact lists the current bindings and changes nothing.
    - **Wildcard** (step 6): ``Contact: *`` with ``Expires: 0`` and no other Contact removes
      every binding of the address-of-record; with other Contacts, or an Expires that is missing
      or not zero, it is a 400 naming the defect.
    - **Expiry** (steps 6-7): the Contact's ``expires`` parameter, else the Expires header field,
      else ``default_expires``; a malformed value stands for 3600 (§20.10, §20.19). A request of
      0 < s < ``ResponseDefaults.min_expires`` gets 423 with Min-Expires. The grant is clamped to
      ``max_expires``, then to ``grant_expires`` when that fault is set. 0 removes the binding.
    - **Ordering** (step 7): a binding refreshed with its own Call-ID and a CSeq not above the
      stored one refuses the whole request with 500 "Request Out Of Order"; another Call-ID
      replaces the binding whatever its CSeq.
    - **Atomicity** (step 7): a refused request changes no binding.
    - **Bounds**: a REGISTER that would leave its address-of-record with more than
      ``max_per_aor`` bindings (:data:`MAX_BINDINGS_PER_AOR`), or the registrar with more than
      ``max_bindings`` (:data:`MAX_BINDINGS`), is refused whole with 503 "Too Many Registered
      Contacts" and a Retry-After of the seconds until the soonest of those bindings leaves
      (§21.5.4: the condition is temporary). The bindings the clients hold are never dropped
      to make room: each client was told its binding lasts, and §10.3 gives the registrar no
      way to take that back unasked. Refreshes and removals of bindings already held always
      pass, since they do not grow the table.
    - **Answer** (step 8): 200 with one ``Contact: <uri>;expires=<remaining>`` per current
      binding of the address-of-record (``;q=`` added when the client gave one), then ``Date``
      from ``wall_clock()``.

    Contacts are the same binding when their URIs are equal by RFC 3261 §19.1.4, read strictly:
    scheme, user and password (escapes decoded, case kept), host (any case) and port must be
    equal, and both URIs must carry the same parameters and headers.

    **Forced expiry** (a fault): a binding whose address-of-record user part (escapes decoded,
    "" when absent) fully matches ``aor_user`` (every binding when it is None) is dropped
    ``after`` seconds after it was last registered or refreshed, however long the expiry granted
    in the 200 was. The client is not told: it believes it is registered until its own timer
    runs out, which is the point of the fault (requests routed to it would now find nobody).
    When several entries match, the shortest ``after`` wins. A binding that outlives its fault
    can be told from an expired one by ``binding.expires_at > now`` in :meth:`expire`'s result.

    Bindings leave on the clock: one whose time has come is gone for :meth:`handle` and
    :meth:`bindings`, and is handed out once by :meth:`expire`. Bindings removed by the client
    (expires 0, ``*``) are not handed out by :meth:`expire`.
    """

    def __init__(
        self,
        settings: RegistrarSettings,
        defaults: ResponseDefaults,
        wall_clock: Callable[[], float] = lambda: 0.0,
        *,
        max_per_aor: int = MAX_BINDINGS_PER_AOR,
        max_bindings: int = MAX_BINDINGS,
    ) -> None:
        self.settings = settings
        self.defaults = defaults
        self._wall_clock = wall_clock
        self.max_per_aor = max_per_aor
        self.max_bindings = max_bindings
        self._registers = 0
        # aor -> contact URI key -> entry; dicts keep registration order for the 200.
        self._aors: dict[str, dict[Hashable, _Entry]] = {}
        # Bindings whose time came but that expire() has not handed out yet.
        self._lapsed: list[_Entry] = []

    # ------------------------------------------------------------------------- the surface

    @property
    def registers_seen(self) -> int:
        """How many REGISTERs :meth:`handle` has answered."""
        return self._registers

    def handle(self, request: Request, now: float) -> RegistrarAnswer:
        """Answer one REGISTER (a new transaction, not a retransmission) at ``now``."""
        self._lapse(now)
        self._registers += 1
        failure = self._failure(self._registers)
        if failure is not None:
            return RegistrarAnswer(failure.code, failure.reason, failure.headers)
        try:
            return self._register(request, now)
        except _Refused as refused:
            return refused.answer

    def bindings(self, now: float) -> dict[str, list[Binding]]:
        """The current bindings by address-of-record, each list in registration order."""
        self._lapse(now)
        return {
            aor: [entry.binding for entry in entries.values()]
            for aor, entries in self._aors.items()
        }

    def next_deadline(self) -> float | None:
        """When the next binding leaves (expires or is dropped by a fault), or None."""
        deadlines = [entry.deadline for entry in self._lapsed]
        deadlines += [
            entry.deadline for entries in self._aors.values() for entry in entries.values()
        ]
        return min(deadlines, default=None)

    def expire(self, now: float) -> list[Binding]:
        """Remove the bindings whose time has come by ``now`` and return them, in deadline
        order; each is returned once. A binding still within ``expires_at`` was forced out."""
        self._lapse(now)
        lapsed = sorted(self._lapsed, key=lambda entry: entry.deadline)
        self._lapsed = []
        return [entry.binding for entry in lapsed]

    # ----------------------------------------------------------------------- processing

    def _register(self, request: Request, now: float) -> RegistrarAnswer:
        aor, user = self._address_of_record(request)
        call_id, cseq = _ordering_fields(request)
        current = self._aors.get(aor, {})
        values = request.headers.values("Contact")
        if any(value == "*" for value in values):
            self._check_wildcard(request, values)
            for entry in current.values():
                _check_order(entry.binding, call_id, cseq)
            self._aors.pop(aor, None)
            return self._ok(aor, now)
        if not values:
            return self._ok(aor, now)

        header_expires = _header_expires(request)
        requests: list[tuple[str, Address, int | None]] = []
        for value in values:
            try:
                address = parse_address(value, "Contact")
            except SipParseError as exc:
                raise _refuse(400, exc.reason) from None
            asked = _contact_expires(address, header_expires)
            if asked is not None and 0 < asked < self.defaults.min_expires:
                raise _refuse(423, None, ("Min-Expires", str(self.defaults.min_expires)))
            requests.append((value, address, asked))

        updated = dict(current)
        for value, address, asked in requests:
            key = _uri_key(address.uri)
            stored = current.get(key)
            if stored is not None:
                _check_order(stored.binding, call_id, cseq)
            if asked == 0:
                updated.pop(key, None)
                continue
            granted = self._grant(asked)
            binding = Binding(
                aor=aor,
                contact=_without_expires(value, address),
                uri=address.uri.text,
                expires_at=now + granted,
                registered_at=now,
                call_id=call_id,
                cseq=cseq,
                q=address.param("q") or None,
            )
            updated[key] = _Entry(binding, self._drop_at(user, now))
        self._check_bounds(current, updated, now)
        if updated:
            self._aors[aor] = updated
        else:
            self._aors.pop(aor, None)
        return self._ok(aor, now)

    def _check_bounds(
        self, current: dict[Hashable, _Entry], updated: dict[Hashable, _Entry], now: float
    ) -> None:
        """Refuse (503) a REGISTER that grows the AOR past ``max_per_aor`` or the registrar
        past ``max_bindings``; one that does not grow the table always passes."""
        if len(updated) <= len(current):
            return
        if len(updated) > self.max_per_aor:
            raise _too_many(current.values(), now)
        total = sum(len(entries) for entries in self._aors.values())
        if total - len(current) + len(updated) > self.max_bindings:
            raise _too_many(
                (entry for entries in self._aors.values() for entry in entries.values()), now
            )

    def _address_of_record(self, request: Request) -> tuple[str, str]:
        """The canonical AOR and its decoded user part, or a refusal (§10.3 step 5)."""
        try:
            to_uri = request.to.uri
        except SipParseError as exc:
            raise _refuse(400, exc.reason) from None
        aor = address_of_record(to_uri)
        if aor is None:
            raise _refuse(400, "Invalid address-of-record")
        return aor, to_uri.user_unescaped

    @staticmethod
    def _check_wildcard(request: Request, values: list[str]) -> None:
        """§10.3 step 6: ``*`` only alone and only with ``Expires: 0``."""
        if len(values) > 1:
            raise _refuse(400, "Contact * must be the only Contact")
        expires = request.headers.get("Expires")
        if expires is None:
            raise _refuse(400, "Contact * requires Expires: 0")
        if _seconds(expires) != 0:
            raise _refuse(400, "Contact * with non-zero Expires")

    def _grant(self, asked: int | None) -> int:
        granted = self.settings.default_expires if asked is None else asked
        granted = min(granted, self.settings.max_expires)
        if self.settings.grant_expires is not None:
            granted = min(granted, self.settings.grant_expires)
        return granted

    def _drop_at(self, user: str, now: float) -> float | None:
        matching = [rule.after for rule in self.settings.forced_expiry if _forces(rule, user)]
        return now + min(matching) if matching else None

    def _failure(self, number: int) -> RegistrarFailure | None:
        """The failure that answers the ``number``-th REGISTER (1-based), if any."""
        for failure in self.settings.failures:
            if number <= failure.count:
                return failure
            number -= failure.count
        return None

    def _ok(self, aor: str, now: float) -> RegistrarAnswer:
        """§10.3 step 8: every current binding of the AOR, with its remaining expiry, and Date."""
        headers = [
            ("Contact", _listing(entry.binding, now))
            for entry in self._aors.get(aor, {}).values()
        ]
        headers.append(("Date", sip_date(self._wall_clock())))
        return RegistrarAnswer(200, None, tuple(headers))

    def _lapse(self, now: float) -> None:
        """Move every binding whose deadline is at or before ``now`` to the lapsed list."""
        for aor in list(self._aors):
            entries = self._aors[aor]
            due = [key for key, entry in entries.items() if entry.deadline <= now]
            for key in due:
                self._lapsed.append(entries.pop(key))
            if not entries:
                del self._aors[aor]


# ------------------------------------------------------------------------------- helpers


def _ordering_fields(request: Request) -> tuple[str, int]:
    try:
        return request.call_id, request.cseq[0]
    except SipParseError as exc:
        raise _refuse(400, exc.reason) from None


def _too_many(entries: Iterable[_Entry], now: float) -> _Refused:
    """503 with Retry-After: the seconds until the soonest of ``entries`` leaves (§21.5.4)."""
    soonest = min((entry.deadline for entry in entries), default=now + 1)
    wait = max(1, math.ceil(round(soonest - now, 6)))
    return _refuse(503, "Too Many Registered Contacts", ("Retry-After", str(wait)))


def _check_order(stored: Binding, call_id: str, cseq: int) -> None:
    """§10.3 steps 6-7: the same Call-ID must come with a higher CSeq."""
    if stored.call_id == call_id and cseq <= stored.cseq:
        raise _refuse(500, "Request Out Of Order")


def _seconds(text: str) -> int | None:
    """delta-seconds (RFC 3261 §25.1), capped at 2**32-1; None when malformed."""
    value = bounded_int(text.strip(), _MAX_SECONDS)
    return None if value is None else min(value, _MAX_SECONDS)


def _header_expires(request: Request) -> int | None:
    """The Expires header field's seconds; None when absent (§20.19: malformed means 3600)."""
    value = request.headers.get("Expires")
    if value is None:
        return None
    seconds = _seconds(value)
    return MALFORMED_EXPIRES if seconds is None else seconds


def _contact_expires(address: Address, header_expires: int | None) -> int | None:
    """The expiry the client asks for this contact, or None to let the registrar choose."""
    param = address.param("expires")
    if param is None:
        return header_expires
    seconds = _seconds(param)
    return MALFORMED_EXPIRES if seconds is None else seconds  # §20.10


def _forces(rule: ForcedExpiry, user: str) -> bool:
    return rule.aor_user is None or rule.aor_user.fullmatch(user) is not None


def _uri_key(uri: Uri) -> Hashable:
    """What makes two contact URIs the same binding (RFC 3261 §19.1.4, read strictly)."""
    if not uri.is_sip:
        return (uri.scheme, uri.opaque)
    params = frozenset(
        (name.lower(), None if value is None else _decoded(value).lower())
        for name, value in uri.params
    )
    headers = frozenset(_decoded(part) for part in (uri.headers or "").split("&") if part)
    return (
        uri.scheme,
        None if uri.user is None else _decoded(uri.user),
        None if uri.password is None else _decoded(uri.password),
        uri.host.lower(),
        uri.port,
        params,
        headers,
    )


def _decoded(text: str) -> str:
    """%HEX escapes decoded; bytes that are not UTF-8 stay distinct (as surrogates)."""
    return unquote(text, errors="surrogateescape")


def _without_expires(value: str, address: Address) -> str:
    """The Contact value as sent, with its ``expires`` parameter taken out."""
    if address.param("expires") is None:
        return value.strip()
    params = tuple((name, v) for name, v in address.params if name.lower() != "expires")
    if address.bracketed:
        prefix = f"{address.display_name} " if address.display_name else ""
        return f"{prefix}<{address.uri.text}>{format_params(params)}"
    return f"{address.uri.text}{format_params(params)}"


def _listing(binding: Binding, now: float) -> str:
    """One Contact value of a 200 to REGISTER (§10.3 step 8)."""
    text = f"<{binding.uri}>;expires={binding.remaining(now)}"
    if binding.q is not None:
        text += f";q={binding.q}"
    return text
