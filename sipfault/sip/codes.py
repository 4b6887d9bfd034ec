"""The catalogue of SIP response codes and what each one must carry.

Pure data plus small lookups; the response builder asks it which header fields a code needs
for a given request method. Sources: RFC 3261 §21 and §8.2, the extension RFCs named per row,
and the IANA "Response Codes" registry for the reason phrases. The normative summary that this
module mirrors row by row is the project's reference table of response codes.

Requirements that hold only in a situation the catalogue cannot see (a copied header that the
request may lack, a reliable provisional response, an overlapping re-INVITE) carry a ``when``
condition; :func:`required_headers` and :func:`recommended_headers` leave them out unless asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

__all__ = [
    "CATALOGUE",
    "MAX_STATUS",
    "MIN_STATUS",
    "NOT_SIP",
    "RETRY_AFTER_CODES",
    "CodeInfo",
    "HeaderRequirement",
    "ResponseClass",
    "effective_code",
    "is_valid_status",
    "lookup",
    "reason_phrase",
    "recommended_headers",
    "required_headers",
    "response_class",
]

MIN_STATUS = 100
"""Lowest status code the grammar allows (RFC 3261 §7.2, §25.1 Status-Code = 3DIGIT)."""

MAX_STATUS = 699
"""Highest status code: the first digit names one of six classes (RFC 3261 §7.2)."""


class ResponseClass(IntEnum):
    """The six response classes, named by the first digit of the code (RFC 3261 §7.2)."""

    PROVISIONAL = 1
    SUCCESS = 2
    REDIRECTION = 3
    CLIENT_ERROR = 4
    SERVER_ERROR = 5
    GLOBAL_FAILURE = 6


def is_valid_status(code: int) -> bool:
    """Whether ``code`` is a well-formed SIP status code, 100..699 (RFC 3261 §7.2)."""
    return MIN_STATUS <= code <= MAX_STATUS


def _check(code: int) -> None:
    if not is_valid_status(code):
        raise ValueError(f"{code} is not a SIP status code (expected 100..699, RFC 3261 §7.2)")


def response_class(code: int) -> ResponseClass:
    """The class of ``code`` from its first digit (RFC 3261 §7.2); ValueError outside 100..699."""
    _check(code)
    return ResponseClass(code // 100)


_GENERIC_PHRASES: Mapping[ResponseClass, str] = MappingProxyType(
    {
        ResponseClass.PROVISIONAL: "Provisional",
        ResponseClass.SUCCESS: "Success",
        ResponseClass.REDIRECTION: "Redirection",
        ResponseClass.CLIENT_ERROR: "Client Error",
        ResponseClass.SERVER_ERROR: "Server Error",
        ResponseClass.GLOBAL_FAILURE: "Global Failure",
    }
)

RETRY_AFTER_CODES: frozenset[int] = frozenset({404, 413, 480, 486, 500, 503, 600, 603})
"""Codes that may carry Retry-After (RFC 3261 §20.33)."""

# RFC 2543 codes that RFC 3261 dropped and IANA never registered: an RFC 3261 client does not
# know them, so it reads them as x00 of their class (RFC 3261 §8.1.3.2).
_UNREGISTERED_LEGACY: frozenset[int] = frozenset({409, 411})


@dataclass(frozen=True)
class HeaderRequirement:
    """One header field that a response code must or should carry."""

    header: str
    """Canonical header field name, e.g. ``WWW-Authenticate``."""
    methods: frozenset[str] | None = None
    """Request methods it applies to (case-sensitive, RFC 3261 §7.1); None: every method."""
    note: str = ""
    """What the value holds, or a qualifier such as "MAY" for an optional field."""
    when: str = ""
    """A condition beyond the method, in words; "" means it always applies."""

    def applies_to(self, method: str) -> bool:
        """Whether the requirement covers a response to a request of ``method``."""
        return self.methods is None or method in self.methods

    @property
    def conditional(self) -> bool:
        """True when the requirement depends on a situation named in ``when``."""
        return bool(self.when)


@dataclass(frozen=True)
class CodeInfo:
    """Everything sipfault knows about one response code."""

    code: int
    """The status code, 100..699."""
    reason: str
    """Default reason phrase, as registered by IANA (RFC 3261 §21 for the core codes)."""
    response_class: ResponseClass
    """Class from the first digit (RFC 3261 §7.2)."""
    defined_in: str
    """Where the code is defined, e.g. "RFC 3261 §21.4.24" or "RFC 4028 §6"."""
    must: tuple[HeaderRequirement, ...] = ()
    """Header fields the standards require in this response."""
    should: tuple[HeaderRequirement, ...] = ()
    """Header fields recommended (SHOULD) or allowed (MAY, said in the note)."""
    body: str = ""
    """Expectations on the message body; "" if none."""
    notes: str = ""
    """Anything else worth knowing when sending or judging this code."""
    deprecated: bool = False
    """Legacy code: sipfault emits it only on request and flags it."""
    retry_after: bool = False
    """Retry-After is allowed with this code (RFC 3261 §20.33)."""
    dialog_creating_for_invite: bool = False
    """Creates a dialog (early for 1xx) when it answers an INVITE (RFC 3261 §12.1)."""
    needs_to_tag: bool = True
    """Carries a To tag when the request's To had none (RFC 3261 §8.2.6.2): all but 100."""
    uncertain: bool = False
    """A detail of this row is not yet checked against the RFC text."""


def _req(header: str, *methods: str, note: str = "", when: str = "") -> HeaderRequirement:
    """Shorthand: a requirement for ``methods`` (none given: every method)."""
    return HeaderRequirement(
        header=header,
        methods=frozenset(methods) if methods else None,
        note=note,
        when=when,
    )


def _info(
    code: int,
    reason: str,
    defined_in: str,
    *,
    must: tuple[HeaderRequirement, ...] = (),
    should: tuple[HeaderRequirement, ...] = (),
    body: str = "",
    notes: str = "",
    deprecated: bool = False,
    uncertain: bool = False,
) -> CodeInfo:
    """Build a row, deriving the flags that follow from the code itself."""
    cls = response_class(code)
    dialog_creating = (
        cls is ResponseClass.SUCCESS
        # 199 ends an early dialog created by an earlier 1xx (RFC 6228); it creates none.
        or (cls is ResponseClass.PROVISIONAL and code not in (100, 199))
    )
    return CodeInfo(
        code=code,
        reason=reason,
        response_class=cls,
        defined_in=defined_in,
        must=must,
        should=should,
        body=body,
        notes=notes,
        deprecated=deprecated,
        retry_after=code in RETRY_AFTER_CODES,
        dialog_creating_for_invite=dialog_creating,
        needs_to_tag=code != 100,
        uncertain=uncertain,
    )


_RECORD_ROUTE_COPY = _req(
    "Record-Route",
    "INVITE",
    note="every value copied from the request, in order (RFC 3261 §12.1.1)",
    when="the request carries Record-Route",
)

# RFC 3261 §12.1.1: a response that creates a dialog carries Contact and copies Record-Route.
# RFC 3262 §3: a reliable provisional response carries Require: 100rel and RSeq.
_EARLY_DIALOG_MUST: tuple[HeaderRequirement, ...] = (
    _req("Contact", "INVITE", note="the UAS's own URI for the early dialog (RFC 3261 §12.1.1)"),
    _RECORD_ROUTE_COPY,
    _req("Require", "INVITE", note="value 100rel (RFC 3262 §3)", when="the response is reliable"),
    _req("RSeq", "INVITE", note="RFC 3262 §7.1", when="the response is reliable"),
)

_SUBSCRIBE_EXPIRES = _req(
    "Expires", "SUBSCRIBE", note="granted subscription duration (RFC 6665 §4.2.1.1)"
)

_ROWS: tuple[CodeInfo, ...] = (
    # 1xx (RFC 3261 §21.1)
    _info(
        100,
        "Trying",
        "RFC 3261 §21.1.1, §17.2.1",
        must=(
            _req(
                "Timestamp",
                note="copied from the request (RFC 3261 §8.2.6.1)",
                when="the request carries Timestamp",
            ),
        ),
        notes="Hop-by-hop; never carries a To tag; never sent reliably (RFC 3262 §3).",
    ),
    _info(
        180,
        "Ringing",
        "RFC 3261 §21.1.2",
        must=_EARLY_DIALOG_MUST,
        notes="Sent reliably when 100rel applies (RFC 3262).",
    ),
    _info(
        181,
        "Call Is Being Forwarded",
        "RFC 3261 §21.1.3",
        must=_EARLY_DIALOG_MUST,
        notes="As 180. Vendor tables sometimes mislabel it as session progress.",
    ),
    _info(
        182,
        "Queued",
        "RFC 3261 §21.1.4",
        must=_EARLY_DIALOG_MUST,
        notes="As 180. The reason phrase may describe the queue; may be sent repeatedly.",
    ),
    _info(
        183,
        "Session Progress",
        "RFC 3261 §21.1.5",
        must=_EARLY_DIALOG_MUST,
        body="usually early-media SDP",
        notes="As 180.",
    ),
    _info(
        199,
        "Early Dialog Terminated",
        "RFC 6228",
        should=(_req("Reason", note="MAY: why the early dialog ended (RFC 3326)"),),
        notes=(
            "Only when the request's Supported lists 199; carries the To tag of the early "
            "dialog it ends."
        ),
    ),
    # 2xx (RFC 3261 §21.2)
    _info(
        200,
        "OK",
        "RFC 3261 §21.2.1",
        must=(
            _req("Contact", "INVITE", note="the UAS's own URI (RFC 3261 §12.1.1)"),
            _RECORD_ROUTE_COPY,
            _req(
                "Contact",
                "REGISTER",
                note="one value per current binding, each with expires= (RFC 3261 §10.3)",
                when="the address-of-record has at least one binding",
            ),
            _SUBSCRIBE_EXPIRES,
        ),
        should=(
            _req("Allow", "INVITE", "OPTIONS"),
            _req("Accept", "OPTIONS"),
            _req("Supported", "INVITE", "OPTIONS"),
            _req("Date", "REGISTER", note="RFC 3261 §10.3 step 8"),
        ),
        body="INVITE: the SDP answer when the INVITE carried an offer (RFC 3264)",
        notes=(
            "RFC 3261 §11.2 also lists Accept-Encoding and Accept-Language for OPTIONS. "
            "A 2xx to INVITE is re-sent by the UAS core until ACK (RFC 3261 §13.3.1.4)."
        ),
    ),
    _info(
        202,
        "Accepted",
        "RFC 3265 (deprecated by RFC 6665)",
        must=(_SUBSCRIBE_EXPIRES,),
        notes="Legacy only: the 2xx to SUBSCRIBE or REFER under RFC 3265 and RFC 3515.",
        deprecated=True,
    ),
    _info(
        204,
        "No Notification",
        "RFC 5839",
        must=(_SUBSCRIBE_EXPIRES,),
        notes="Conditional SUBSCRIBE only: the subscription is refreshed, no NOTIFY follows.",
    ),
    # 3xx (RFC 3261 §21.3)
    _info(
        300,
        "Multiple Choices",
        "RFC 3261 §21.3.1",
        must=(_req("Contact", note="one or more alternative addresses"),),
        body="MAY list the alternatives",
    ),
    _info(
        301,
        "Moved Permanently",
        "RFC 3261 §21.3.2",
        must=(_req("Contact", note="the new address"),),
    ),
    _info(
        302,
        "Moved Temporarily",
        "RFC 3261 §21.3.3",
        must=(_req("Contact", note="the temporary address"),),
        notes="Expires, or an expires= Contact parameter, MAY say how long it holds.",
    ),
    _info(
        305,
        "Use Proxy",
        "RFC 3261 §21.3.4",
        must=(_req("Contact", note="the proxy URI"),),
        notes="Only a UAS sends it. Vendor tables misnumber it as 303.",
    ),
    _info(
        380,
        "Alternative Service",
        "RFC 3261 §21.3.5",
        body="describes the alternative services",
        notes="Vendor tables misnumber it as 304.",
    ),
    # 4xx (RFC 3261 §21.4 and extensions)
    _info(
        400,
        "Bad Request",
        "RFC 3261 §21.4.1",
        notes='The reason phrase SHOULD name the defect, e.g. "Missing Call-ID".',
    ),
    _info(
        401,
        "Unauthorized",
        "RFC 3261 §21.4.2, §22",
        must=(_req("WWW-Authenticate", note="one or more digest challenges (RFC 3261 §22.1)"),),
        notes="Several challenges allowed; RFC 8760: SHA-256 first, MD5 last.",
    ),
    _info(402, "Payment Required", "RFC 3261 §21.4.3", notes="Reserved for future use."),
    _info(
        403,
        "Forbidden",
        "RFC 3261 §21.4.4",
        notes='Vendor tables sometimes print it as "Use Forbidden".',
    ),
    _info(404, "Not Found", "RFC 3261 §21.4.5", notes="Retry-After MAY."),
    _info(
        405,
        "Method Not Allowed",
        "RFC 3261 §21.4.6",
        must=(_req("Allow", note="the methods this UAS allows (RFC 3261 §8.2.1)"),),
    ),
    _info(406, "Not Acceptable", "RFC 3261 §21.4.7"),
    _info(
        407,
        "Proxy Authentication Required",
        "RFC 3261 §21.4.8",
        must=(_req("Proxy-Authenticate", note="one or more digest challenges (RFC 3261 §22.3)"),),
        notes="Never sent to CANCEL or ACK (RFC 3261 §22.1).",
    ),
    _info(408, "Request Timeout", "RFC 3261 §21.4.9"),
    _info(
        409,
        "Conflict",
        "RFC 2543",
        notes="Not in RFC 3261 nor the IANA registry; emitted on request only, flagged.",
        deprecated=True,
    ),
    _info(410, "Gone", "RFC 3261 §21.4.10"),
    _info(
        411,
        "Length Required",
        "RFC 2543",
        notes="Not in RFC 3261 nor the IANA registry; emitted on request only, flagged.",
        deprecated=True,
    ),
    _info(
        412,
        "Conditional Request Failed",
        "RFC 3903",
        notes="Answers a PUBLISH whose SIP-If-Match names a stale entity tag.",
    ),
    _info(
        413,
        "Request Entity Too Large",
        "RFC 3261 §21.4.11",
        notes="Retry-After if the condition is temporary.",
    ),
    _info(414, "Request-URI Too Long", "RFC 3261 §21.4.12"),
    _info(
        415,
        "Unsupported Media Type",
        "RFC 3261 §21.4.13, §8.2.3",
        must=(
            _req("Accept", note="the body types this UAS understands (RFC 3261 §8.2.3)"),
            _req(
                "Accept-Encoding",
                note="RFC 3261 §8.2.3",
                when="a Content-Encoding of the request was not understood",
            ),
            _req(
                "Accept-Language",
                note="RFC 3261 §8.2.3",
                when="a Content-Language of the request was not understood",
            ),
        ),
        notes="Strictly, the Accept* field that matches what failed; Accept is the usual case.",
    ),
    _info(416, "Unsupported URI Scheme", "RFC 3261 §21.4.14"),
    _info(
        417,
        "Unknown Resource-Priority",
        "RFC 4412",
        should=(
            _req("Accept-Resource-Priority", note="the namespaces and values this UAS accepts"),
        ),
        uncertain=True,
    ),
    _info(
        420,
        "Bad Extension",
        "RFC 3261 §21.4.15, §8.2.2.3",
        must=(
            _req(
                "Unsupported",
                note="the unknown option tags from Require or Proxy-Require",
            ),
        ),
        notes="Require is ignored in CANCEL and in ACK for a non-2xx (RFC 3261 §8.2.2.3).",
    ),
    _info(
        421,
        "Extension Required",
        "RFC 3261 §21.4.16",
        must=(_req("Require", note="the extensions the UAS needs"),),
    ),
    _info(
        422,
        "Session Interval Too Small",
        "RFC 4028 §6",
        must=(_req("Min-SE", note="the smallest session interval accepted"),),
    ),
    _info(
        423,
        "Interval Too Brief",
        "RFC 3261 §21.4.17, §10.3",
        must=(_req("Min-Expires", note="the shortest expiration accepted"),),
    ),
    _info(
        424,
        "Bad Location Information",
        "RFC 6442",
        must=(_req("Geolocation-Error", note="location error code and text (RFC 6442 §4.4)"),),
        uncertain=True,
    ),
    _info(
        425,
        "Bad Alert Message",
        "RFC 8876",
        must=(_req("AlertMsg-Error", note="alert error code and text"),),
        uncertain=True,
    ),
    _info(428, "Use Identity Header", "RFC 8224"),
    _info(
        429,
        "Provide Referrer Identity",
        "RFC 3892",
        notes="Vendor tables sometimes repeat 430's text for it.",
    ),
    _info(
        430,
        "Flow Failed",
        "RFC 5626",
        notes="Proxy to proxy; an endpoint that receives it treats it as 400.",
    ),
    _info(433, "Anonymity Disallowed", "RFC 5079"),
    _info(
        436,
        "Bad Identity Info",
        "RFC 8224",
        notes='RFC 4474 called it "Bad Identity-Info".',
    ),
    _info(
        437,
        "Unsupported Credential",
        "RFC 8224",
        notes='RFC 4474 called it "Unsupported Certificate".',
    ),
    _info(438, "Invalid Identity Header", "RFC 8224"),
    _info(
        439,
        "First Hop Lacks Outbound Support",
        "RFC 5626",
        notes="A registrar's answer when the edge proxy lacks outbound support.",
    ),
    _info(440, "Max-Breadth Exceeded", "RFC 5393"),
    _info(
        469,
        "Bad Info Package",
        "RFC 6086",
        must=(_req("Recv-Info", note="the Info Packages this UA is willing to receive"),),
    ),
    _info(
        470,
        "Consent Needed",
        "RFC 5360",
        should=(_req("Permission-Missing", note="the URIs for which consent is missing"),),
    ),
    _info(
        480,
        "Temporarily Unavailable",
        "RFC 3261 §21.4.18",
        should=(_req("Retry-After", note="when to try again"),),
    ),
    _info(
        481,
        "Call/Transaction Does Not Exist",
        "RFC 3261 §21.4.19",
        notes="Answers an unmatched CANCEL, PRACK, BYE or other in-dialog request.",
    ),
    _info(482, "Loop Detected", "RFC 3261 §21.4.20", notes="Also answers merged requests."),
    _info(483, "Too Many Hops", "RFC 3261 §21.4.21"),
    _info(484, "Address Incomplete", "RFC 3261 §21.4.22", notes="Overlap dialling."),
    _info(
        485,
        "Ambiguous",
        "RFC 3261 §21.4.23",
        should=(_req("Contact", note="MAY: candidate addresses"),),
    ),
    _info(
        486,
        "Busy Here",
        "RFC 3261 §21.4.24",
        should=(_req("Retry-After", note="when to try again"),),
    ),
    _info(
        487,
        "Request Terminated",
        "RFC 3261 §21.4.25",
        notes="Answers the INVITE after a CANCEL; never the CANCEL itself (RFC 3261 §9.2).",
    ),
    _info(
        488,
        "Not Acceptable Here",
        "RFC 3261 §21.4.26",
        should=(_req("Warning", note='e.g. 304 host "Media type not available"'),),
        body="MAY carry SDP describing what is acceptable",
    ),
    _info(
        489,
        "Bad Event",
        "RFC 6665",
        must=(_req("Allow-Events", note="the event packages this notifier supports"),),
    ),
    _info(491, "Request Pending", "RFC 3261 §21.4.27", notes="Re-INVITE glare."),
    _info(493, "Undecipherable", "RFC 3261 §21.4.28"),
    _info(
        494,
        "Security Agreement Required",
        "RFC 3329",
        must=(
            _req("Security-Server", note="the security mechanisms this server supports"),
            _req("Require", note="value sec-agree"),
        ),
        uncertain=True,
    ),
    # 5xx (RFC 3261 §21.5)
    _info(
        500,
        "Server Internal Error",
        "RFC 3261 §21.5.1",
        must=(
            _req(
                "Retry-After",
                "INVITE",
                note="a random value of 0 to 10 seconds (RFC 3261 §14.2)",
                when="refusing a re-INVITE that overlaps one still pending in the dialog",
            ),
        ),
        notes="Otherwise Retry-After MAY.",
    ),
    _info(501, "Not Implemented", "RFC 3261 §21.5.2", notes="Answers an unknown method."),
    _info(502, "Bad Gateway", "RFC 3261 §21.5.3"),
    _info(
        503,
        "Service Unavailable",
        "RFC 3261 §21.5.4",
        notes="Retry-After MAY; without it clients treat the response as 500.",
    ),
    _info(504, "Server Time-out", "RFC 3261 §21.5.5"),
    _info(505, "Version Not Supported", "RFC 3261 §21.5.6"),
    _info(513, "Message Too Large", "RFC 3261 §21.5.7"),
    _info(555, "Push Notification Service Not Supported", "RFC 8599"),
    _info(
        580,
        "Precondition Failure",
        "RFC 3312",
        body="MAY carry SDP of the failed precondition",
    ),
    # 6xx (RFC 3261 §21.6)
    _info(600, "Busy Everywhere", "RFC 3261 §21.6.1", notes="Retry-After MAY."),
    _info(603, "Decline", "RFC 3261 §21.6.2", notes="Retry-After MAY."),
    _info(604, "Does Not Exist Anywhere", "RFC 3261 §21.6.3"),
    _info(
        606,
        "Not Acceptable",
        "RFC 3261 §21.6.4",
        should=(_req("Warning", note="MAY: why the session is not acceptable"),),
        body="MAY carry SDP",
    ),
    _info(607, "Unwanted", "RFC 8197"),
    _info(
        608,
        "Rejected",
        "RFC 8688",
        should=(_req("Call-Info", note="purpose=jwscard: who rejected the call"),),
    ),
)

CATALOGUE: Mapping[int, CodeInfo] = MappingProxyType({info.code: info for info in _ROWS})
"""Every response code sipfault knows, keyed by code."""

NOT_SIP: Mapping[int, str] = MappingProxyType(
    {
        303: 'Not a SIP code: vendor tables print "303 Use proxy", a misnumbered 305.',
        304: 'Not a SIP code: vendor tables print "304 Alternative service", a misnumbered 380.',
        701: (
            '"Party Hangs Up" from a vendor manual\'s stack error codes. SIP status codes are '
            "100-699 (RFC 3261 §7.2); sipfault puts 701 on the wire only as a deliberate "
            "malformed-message fault."
        ),
    }
)
"""Numbers that vendor material presents as SIP codes but that are not, with an explanation."""


def lookup(code: int) -> CodeInfo | None:
    """The catalogue row for ``code``, or None if sipfault does not know it."""
    return CATALOGUE.get(code)


def reason_phrase(code: int) -> str:
    """The default reason phrase for ``code``.

    A catalogued code gets its IANA phrase. Any other code in 100..699 gets a neutral phrase
    naming its class ("Client Error", ...): the reason phrase is for humans only
    (RFC 3261 §7.2), and the x00 phrase would wrongly suggest a specific meaning.
    Raises ValueError outside 100..699.
    """
    _check(code)
    info = CATALOGUE.get(code)
    if info is not None:
        return info.reason
    return _GENERIC_PHRASES[ResponseClass(code // 100)]


def effective_code(code: int) -> int:
    """The code a conforming client acts on when it receives ``code`` (RFC 3261 §8.1.3.2).

    An unrecognised final code is treated as x00 of its class, and an unrecognised provisional
    code as 183. The RFC 2543 codes 409 and 411 count as unrecognised, since RFC 3261 dropped
    them and IANA never registered them. Raises ValueError outside 100..699.
    """
    cls = response_class(code)
    if code in CATALOGUE and code not in _UNREGISTERED_LEGACY:
        return code
    if cls is ResponseClass.PROVISIONAL:
        return 183
    return cls * 100


def _headers(
    requirements: tuple[HeaderRequirement, ...], method: str, include_conditional: bool
) -> tuple[str, ...]:
    names: list[str] = []
    for requirement in requirements:
        if not requirement.applies_to(method):
            continue
        if requirement.conditional and not include_conditional:
            continue
        if requirement.header not in names:
            names.append(requirement.header)
    return tuple(names)


def required_headers(
    code: int, method: str, *, include_conditional: bool = False
) -> tuple[str, ...]:
    """Header fields a ``code`` response to a ``method`` request must carry, in catalogue order.

    Only the code-specific fields: those every response carries (Via, From, To, Call-ID, CSeq,
    Content-Length; RFC 3261 §8.2.6) are the builder's own rule. Requirements that hold only in
    a situation named by their ``when`` are left out unless ``include_conditional`` is true.
    Method names are case-sensitive (RFC 3261 §7.1). An uncatalogued code yields ();
    ValueError outside 100..699.
    """
    _check(code)
    info = CATALOGUE.get(code)
    if info is None:
        return ()
    return _headers(info.must, method, include_conditional)


def recommended_headers(
    code: int, method: str, *, include_conditional: bool = False
) -> tuple[str, ...]:
    """Header fields a ``code`` response to a ``method`` request should (or may) carry.

    Same rules as :func:`required_headers`; a requirement whose note starts with "MAY" is
    optional rather than recommended.
    """
    _check(code)
    info = CATALOGUE.get(code)
    if info is None:
        return ()
    return _headers(info.should, method, include_conditional)
