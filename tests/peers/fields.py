"""Read the header field values the peer tests check, independently of sipfault's own parser.

Small regular-expression readers for what a peer saw on the wire: a Contact's URI, a digest
challenge's parameters, Retry-After's seconds, option-tag lists. They accept what RFC 3261's
grammar allows in the messages these tests exchange, and raise AssertionError, quoting the
value, when a field does not parse: a malformed field fails the test that reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: sip:user@host:port;params or sips:... (RFC 3261 §19.1.1), host a name, IPv4 or [IPv6].
_SIP_URI_RE = re.compile(
    r"(?P<scheme>sips?):(?:(?P<user>[^@;>?\s]+)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?P<params>(?:;[^;>?\s]*)*)"
)
#: name-addr: [display-name] <URI> *(;param), or an addr-spec alone (RFC 3261 §20.10).
_NAME_ADDR_RE = re.compile(r'^\s*(?:"(?:[^"\\]|\\.)*"\s*|[^<"]*?)?<(?P<uri>[^>]+)>(?P<rest>.*)$')
#: auth-param: name = token / quoted-string (RFC 3261 §25.1, RFC 7616 §3.3).
_AUTH_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)\s*(?:,|$)')


@dataclass(frozen=True)
class SipUri:
    """The parts of a SIP or SIPS URI."""

    scheme: str
    """"sip" or "sips"."""
    user: str | None
    """User part, None when the URI has none."""
    host: str
    """Host, IPv6 references without their brackets."""
    port: int | None
    """Port, None when the URI names none."""
    params: dict[str, str]
    """URI parameters, names in lower case ("" for a parameter without a value)."""

    @property
    def target(self) -> tuple[str | None, str, int | None]:
        """(user, host, port): where a request to this URI goes, and to whom."""
        return (self.user, self.host.lower(), self.port)


def parse_sip_uri(text: str) -> SipUri:
    """Parse a whole SIP URI (no angle brackets)."""
    match = _SIP_URI_RE.fullmatch(text.strip())
    if match is None:
        raise AssertionError(f"not a SIP URI: {text!r}")
    params: dict[str, str] = {}
    for item in filter(None, match["params"].split(";")):
        name, _, value = item.partition("=")
        params[name.lower()] = value
    return SipUri(
        scheme=match["scheme"],
        user=match["user"],
        host=match["host"].strip("[]"),
        port=int(match["port"]) if match["port"] else None,
        params=params,
    )


def contact_uri(value: str) -> SipUri:
    """The URI of a Contact (or To/From) value, name-addr or addr-spec."""
    match = _NAME_ADDR_RE.match(value)
    if match is not None:
        return parse_sip_uri(match["uri"])
    # An addr-spec's parameters belong to the header field, not the URI (RFC 3261 §20.10).
    return parse_sip_uri(value.split(";", 1)[0])


def name_addr_params(value: str) -> dict[str, str]:
    """Header parameters after a name-addr's `>` (e.g. Contact's expires), names lower-cased."""
    match = _NAME_ADDR_RE.match(value)
    rest = match["rest"] if match else ""
    params: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(";"))):
        name, _, param_value = item.partition("=")
        params[name.lower()] = param_value.strip('"')
    return params


def digest_params(value: str) -> dict[str, str]:
    """Parameters of a Digest challenge or credentials, names lower-cased, quotes removed.

    Raises AssertionError unless the value is `Digest` followed by a comma-separated list of
    name=value pairs that covers the whole value.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise AssertionError(f"not a Digest value: {value!r}")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _AUTH_PARAM_RE.match(rest, position)
        if match is None:
            raise AssertionError(f"unparsable digest parameters at {rest[position:]!r}: {value!r}")
        raw = match[2]
        params[match[1].lower()] = raw[1:-1] if raw.startswith('"') else raw
        position = match.end()
    return params


def delta_seconds(retry_after: str) -> int:
    """Seconds of a Retry-After value: delta-seconds [comment] *(;param) (RFC 3261 §20.33)."""
    head = retry_after.split(";", 1)[0].split("(", 1)[0].strip()
    if not head.isdigit():
        raise AssertionError(f"Retry-After is not delta-seconds: {retry_after!r}")
    return int(head)


def option_tags(values: list[str]) -> list[str]:
    """Option tags of Require/Supported/Unsupported values, comma lists flattened."""
    return [tag.strip() for value in values for tag in value.split(",") if tag.strip()]
