"""Checks that a parsed request is well-formed enough to process (RFC 3261 §8.1.1, §8.2).

The UAS answers each defect with 400 and a reason phrase that names it (RFC 3261 §21.4.1), or
416 for a Request-URI scheme it does not handle (§8.2.2.1). The checks follow the RFC 4475
torture tests; where the RFC lets a receiver choose between 400 and leniency, the choice is noted.
"""

from __future__ import annotations

from typing import NamedTuple

from sipfault.sip.address import Address, parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.grammar import bounded_int
from sipfault.sip.headers import (
    LIST_HEADERS,
    SINGLE_HEADERS,
    canonical_name,
    header_key,
    split_list,
)
from sipfault.sip.message import Request, parse_cseq
from sipfault.sip.sanitize import control_character
from sipfault.sip.uri import Uri, parse_uri
from sipfault.sip.via import Via, parse_via

REQUIRED_HEADERS = ("Via", "Call-ID", "From", "To", "CSeq")
"""§8.1.1: the fields every request carries (Max-Forwards too, but RFC 2543 peers omit it)."""
_REQUIRED_KEYS = tuple((header_key(name), name) for name in REQUIRED_HEADERS)

SUPPORTED_URI_SCHEMES = frozenset({"sip", "sips", "tel"})

ECHOED_KEYS = frozenset(
    {"via", "from", "to", "call-id", "cseq", "record-route", "timestamp", "contact"}
)
"""Fields whose values go back out: copied into responses (§8.2.6.2, §12.1.1), registered
(§10.3), or made the remote target and route set of requests of ours (§12.1.1). A control
character in one (NUL, BEL, a lone CR...; §25.1 allows none) makes the request a 400."""


class CheckedRequest(NamedTuple):
    """What validation read from a request, handed on so that it is not read again.

    bench/callrate.py: the top Via handed on spares ~2 µs per request (timeit); the addresses
    and the URI would be memo hits.
    """

    ruri: Uri
    """The Request-URI."""
    top_via: Via | None
    """The topmost Via element; None when the Via field is empty (no element to answer to)."""
    from_: Address
    """The From."""
    to: Address
    """The To."""
    cseq: tuple[int, str]
    """CSeq number and method."""


def validate_request(request: Request, known_methods: frozenset[str]) -> Uri:
    """Raise :class:`SipParseError` (with ``partial`` set) on a defect; return the Request-URI.

    The CSeq method must equal the request method (RFC 4475 §3.1.2.17) for known methods only:
    an unknown method is answered 501 by the UAS whatever its CSeq says (§3.1.2.18 prefers it).
    """
    return check_request(request, known_methods).ruri


def check_request(request: Request, known_methods: frozenset[str]) -> CheckedRequest:
    """:func:`validate_request`, returning what it read on the way."""
    try:
        return _check(request, known_methods)
    except SipParseError as exc:
        exc.partial = request
        raise


def _check(request: Request, known_methods: frozenset[str]) -> CheckedRequest:
    # One pass over the fields in wire order: of the repeated single fields and malformed
    # lists, the first on the wire is named. Other defects are raised in the order of the
    # checks below, whatever the order of the fields.
    firsts: dict[str, str] = {}  # the first value of each field, by key
    vias: list[str] = []
    contacts: list[str] = []
    defect: str | None = None  # the first repeated single field, malformed list or control
    # character in an echoed field, wire order
    for _, value, _, key in request.headers.fields():
        if key in ECHOED_KEYS and not value.isprintable():  # isprintable(): the fast path
            char = control_character(value)
            if char is not None:
                defect = defect or f"Control character {char} in {canonical_name(key)}"
        if key not in firsts:
            firsts[key] = value
        elif key in SINGLE_HEADERS:
            defect = defect or f"Multiple {canonical_name(key)} headers"  # RFC 4475 §3.3.8
            continue
        if key in LIST_HEADERS:
            # Split every list now, so that Headers.values() cannot raise later, in the middle
            # of answering (Require, Supported, Record-Route... are read after validation).
            try:
                elements = split_list(value)
            except SipParseError as exc:
                name = canonical_name(key)
                defect = defect or f"Malformed {name}: {exc.reason.lower()}"
                continue
            if key == "via":
                vias += elements
            elif key == "contact":
                contacts += elements
    for key, name in _REQUIRED_KEYS:
        if key not in firsts:
            raise SipParseError(f"Missing {name}")
    if defect is not None:
        raise SipParseError(defect)
    parsed_vias = [parse_via(value) for value in vias]  # every one: RFC 4475 §3.1.2.1
    from_ = parse_address(firsts["from"], "From")
    to = parse_address(firsts["to"], "To")
    if request.method == "REGISTER" and not to.uri.is_sip:
        # §10.2: the To of a REGISTER is the address-of-record, a SIP or SIPS URI; a
        # registrar answers 400 to anything else (RFC 4475 §3.3.4).
        raise SipParseError("To of a REGISTER must be a SIP or SIPS URI")
    cseq = parse_cseq(firsts["cseq"])
    if request.method in known_methods and cseq[1] != request.method:
        raise SipParseError("CSeq method does not match the request method")
    for contact in contacts:
        if contact != "*":
            parse_address(contact, "Contact")
    _check_integer(firsts.get("max-forwards"), "Max-Forwards", 255)
    _check_integer(firsts.get("expires"), "Expires", 2**32 - 1)
    uri = parse_uri(request.uri)
    if uri.scheme not in SUPPORTED_URI_SCHEMES:
        raise SipParseError("Unsupported URI Scheme", 416)
    if uri.is_sip and uri.headers is not None:
        raise SipParseError("Request-URI must not contain headers")  # RFC 4475 §3.1.2.11
    return CheckedRequest(uri, parsed_vias[0] if parsed_vias else None, from_, to, cseq)


def _check_integer(value: str | None, name: str, maximum: int) -> None:
    if value is None:
        return
    number = bounded_int(value.strip(), maximum)
    if number is None:
        raise SipParseError(f"Malformed {name}")
    if number > maximum:
        raise SipParseError(f"{name} out of range")
