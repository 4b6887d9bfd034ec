"""Checks that a parsed request is well-formed enough to process (RFC 3261 §8.1.1, §8.2).

The UAS answers each defect with 400 and a reason phrase that names it (RFC 3261 §21.4.1), or
416 for a Request-URI scheme it does not handle (§8.2.2.1). The checks follow the RFC 4475
torture tests; where the RFC lets a receiver choose between 400 and leniency, the choice is noted.
"""

from __future__ import annotations

from sipfault.sip.address import parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.grammar import bounded_int
from sipfault.sip.headers import LIST_HEADERS, SINGLE_HEADERS, canonical_name, split_list
from sipfault.sip.message import Request
from sipfault.sip.uri import Uri, parse_uri

REQUIRED_HEADERS = ("Via", "Call-ID", "From", "To", "CSeq")
"""§8.1.1: the fields every request carries (Max-Forwards too, but RFC 2543 peers omit it)."""

SUPPORTED_URI_SCHEMES = frozenset({"sip", "sips", "tel"})


def validate_request(request: Request, known_methods: frozenset[str]) -> Uri:
    """Raise :class:`SipParseError` (with ``partial`` set) on a defect; return the Request-URI.

    The CSeq method must equal the request method (RFC 4475 §3.1.2.17) for known methods only:
    an unknown method is answered 501 by the UAS whatever its CSeq says (§3.1.2.18 prefers it).
    """
    try:
        return _validate(request, known_methods)
    except SipParseError as exc:
        exc.partial = request
        raise


def _validate(request: Request, known_methods: frozenset[str]) -> Uri:
    headers = request.headers
    for name in REQUIRED_HEADERS:
        if name not in headers:
            raise SipParseError(f"Missing {name}")
    seen: set[str] = set()
    for _, value, _, key in headers.fields():  # in wire order: the reason names the first
        if key in SINGLE_HEADERS:
            if key in seen:
                raise SipParseError(f"Multiple {canonical_name(key)} headers")  # §3.3.8
            seen.add(key)
        elif key in LIST_HEADERS:
            # Split every list now, so that Headers.values() cannot raise later, in the middle
            # of answering (Require, Supported, Record-Route... are read after validation).
            try:
                split_list(value)
            except SipParseError as exc:
                name = canonical_name(key)
                raise SipParseError(f"Malformed {name}: {exc.reason.lower()}") from None
    request.vias  # noqa: B018  (parses every Via: RFC 4475 §3.1.2.1)
    request.from_  # noqa: B018
    to = request.to
    if request.method == "REGISTER" and not to.uri.is_sip:
        # §10.2: the To of a REGISTER is the address-of-record, a SIP or SIPS URI; a
        # registrar answers 400 to anything else (RFC 4475 §3.3.4).
        raise SipParseError("To of a REGISTER must be a SIP or SIPS URI")
    number, method = request.cseq
    del number
    if request.method in known_methods and method != request.method:
        raise SipParseError("CSeq method does not match the request method")
    for contact in headers.values("Contact"):
        if contact != "*":
            parse_address(contact, "Contact")
    _check_integer(headers.get("Max-Forwards"), "Max-Forwards", 255)
    _check_integer(headers.get("Expires"), "Expires", 2**32 - 1)
    uri = parse_uri(request.uri)
    if uri.scheme not in SUPPORTED_URI_SCHEMES:
        raise SipParseError("Unsupported URI Scheme", 416)
    if uri.is_sip and uri.headers is not None:
        raise SipParseError("Request-URI must not contain headers")  # RFC 4475 §3.1.2.11
    return uri


def _check_integer(value: str | None, name: str, maximum: int) -> None:
    if value is None:
        return
    number = bounded_int(value.strip(), maximum)
    if number is None:
        raise SipParseError(f"Malformed {name}")
    if number > maximum:
        raise SipParseError(f"{name} out of range")
