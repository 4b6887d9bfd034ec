"""SIP, SIPS and other URIs (RFC 3261 §19.1, §25.1; tel URIs RFC 3966).

Only sip: and sips: URIs are taken apart; any other scheme keeps its opaque text, so that the UAS
can answer 416 Unsupported URI Scheme (§8.2.2.1) instead of failing to parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from sipfault.sip.errors import SipParseError
from sipfault.sip.frozen import quick_init
from sipfault.sip.grammar import IPV6_REFERENCE, PORT
from sipfault.sip.memo import memoised
from sipfault.sip.params import Params, format_params, get_param, parse_params

# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )   (RFC 3986 §3.1, RFC 3261 §25.1)
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):")

# Characters a SIP URI never holds unescaped (RFC 3261 §25.1: no LWS, no <, >, DQUOTE).
_FORBIDDEN_RE = re.compile(r'[ \t\r\n<>"]')

# hostport = host [ ":" port ];  host = hostname / IPv4address / IPv6reference
# Leniency: a host name may hold any unreserved character or sub-delimiter.
_HOSTPORT_RE = re.compile(f"({IPV6_REFERENCE}|[A-Za-z0-9\\-._~!$&'()*+,=%]+)(?::({PORT}))?$")


@quick_init
@dataclass(frozen=True, slots=True)
class Uri:
    """A URI: sip/sips fill every part; other schemes only ``scheme`` and ``opaque``."""

    scheme: str
    """Lower-case scheme: "sip", "sips", "tel", or anything else."""
    text: str
    """The URI exactly as written."""
    user: str | None = None
    """User part, still %-escaped, or None (for tel: the number)."""
    password: str | None = None
    """Password part of userinfo, if any (deprecated by §19.1.1)."""
    host: str = ""
    """Host: a name, an IPv4 address, or an IPv6 reference with brackets."""
    port: int | None = None
    """Port, if written."""
    params: Params = ()
    """uri-parameters, e.g. transport, lr, maddr."""
    headers: str | None = None
    """The ``?h=v&...`` part without ``?``, or None."""
    opaque: str = ""
    """For non-SIP schemes: everything after the colon."""

    @property
    def is_sip(self) -> bool:
        """Whether this is a sip: or sips: URI."""
        return self.scheme in ("sip", "sips")

    @property
    def user_unescaped(self) -> str:
        """The user part with %HEX escapes decoded (§19.1.2); "" when absent."""
        return unquote(self.user, errors="surrogateescape") if self.user else ""

    def param(self, name: str) -> str | None:
        """A uri-parameter's value ("" when valueless), None when absent."""
        return get_param(self.params, name)

    def __str__(self) -> str:
        return self.text


# Clients send the same Request-URI, From, To and Contact URIs call after call.
# bench/callrate.py: saves ~3 µs per INVITE validated (timeit).
@memoised("URIs", entries=4096, longest=512)
def parse_uri(text: str) -> Uri:
    """Parse a URI; raise :class:`SipParseError` naming the defect.

    RFC 3261 §19.1.1: ``sip:user:password@host:port;uri-parameters?headers``. The user part may
    hold ``;`` and ``?`` (``user-unreserved``), so userinfo ends at the last ``@``
    (RFC 4475 §3.1.1.9).
    """
    match = _SCHEME_RE.match(text)
    if match is None:
        raise SipParseError(f"Malformed URI {text[:40]!r}")
    scheme = match.group(1).lower()
    rest = text[match.end():]
    if scheme not in ("sip", "sips"):
        if scheme == "tel":
            number = rest.split(";", 1)[0]
            return Uri(scheme=scheme, text=text, user=number, opaque=rest)
        return Uri(scheme=scheme, text=text, opaque=rest)
    if not rest or _FORBIDDEN_RE.search(rest) is not None:
        raise SipParseError(f"Malformed SIP URI {text[:40]!r}")
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, colon, pw = userinfo.partition(":")
        password = pw if colon else None
        if not user:
            raise SipParseError(f"Malformed SIP URI {text[:40]!r}: empty user")
    headers: str | None = None
    if "?" in rest:
        rest, _, headers = rest.partition("?")
    hostport, semicolon, param_text = rest.partition(";")
    host_match = _HOSTPORT_RE.match(hostport)
    if host_match is None:
        raise SipParseError(f"Malformed SIP URI {text[:40]!r}: bad host")
    port = int(host_match.group(2)) if host_match.group(2) else None
    if port is not None and port > 65535:
        raise SipParseError(f"Malformed SIP URI {text[:40]!r}: port out of range")
    params = parse_params(";" + param_text, "URI") if semicolon else ()
    return Uri(
        scheme=scheme,
        text=text,
        user=user,
        password=password,
        host=host_match.group(1),
        port=port,
        params=params,
        headers=headers,
    )


def format_sip_uri(
    host: str, port: int | None = None, user: str | None = None, params: Params = (),
    scheme: str = "sip",
) -> str:
    """Build a SIP URI; IPv6 hosts get brackets (§19.1.1)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    text = f"{scheme}:"
    if user:
        text += f"{user}@"
    text += host
    if port is not None:
        text += f":{port}"
    return text + format_params(params)
