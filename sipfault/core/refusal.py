"""The 503 of load shedding, built from a request's bytes without the parser (RFC 3261 §8.2.7).

While sipfault sheds load, refusing a request must cost far less than serving one, or refusing
twice the rate it can serve would still swamp it. Most of the cost of a refusal is reading the
request: the parser and the §8.2 checks. :func:`read_request` reads only the request line and
the five fields a response copies (Via, From, To, Call-ID, CSeq, §8.2.6.2) and gives up (None)
on anything unusual: a folded line, one of them twice or missing, a Via it cannot read, a byte
that is not printable ASCII. What it gives up on goes through the parser as every message does.

:func:`refusal` writes the 503: the Vias as they came, the topmost marked with ``received`` and
``rport`` (§18.2.1, RFC 3581 §4), From, To with the tag given, Call-ID, CSeq, then the fields
given. The same request gives the same bytes, so a retransmission gets the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sipfault.core.events import Peer
from sipfault.core.responses import DEFAULT_PORT

__all__ = ["RawRequest", "read_request", "refusal", "refusal_peer"]

_FIELDS = {b"via": 0, b"v": 0, b"from": 1, b"f": 1, b"to": 2, b"t": 2, b"call-id": 3, b"i": 3,
           b"cseq": 4}
"""The fields a response copies, by name and compact form (RFC 3261 §7.3.3), and their place."""

_VIA = re.compile(
    rb"SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)"
    rb"(?:\s*:\s*(\d{1,5}))?\s*((?:;[^;,]*)*)")
"""A via-parm: protocol, transport, host, port, parameters (§20.42), one per line."""

_TAG = re.compile(rb";\s*tag\s*=\s*([^;\s]+)", re.IGNORECASE)
_UNSAFE = re.compile(rb"[^\t\r\n\x20-\x7e]")
"""Bytes a field copied as it stands may not hold (the parser's path escapes them); a CR or
LF alone is caught line by line."""


@dataclass(frozen=True, slots=True)
class RawRequest:
    """What a refusal needs of a request, read from its bytes."""

    method: str
    call_id: str
    from_tag: str | None
    to_tag: str | None
    branch: str | None
    """The topmost Via's branch."""
    has_rport: bool
    """Whether the topmost Via asks for ``rport`` (RFC 3581)."""
    via_port: int | None
    """The topmost Via's sent-by port, None when it names none."""
    _top: tuple[bytes, bytes, bytes | None, list[tuple[bytes, bytes | None]]]
    """Transport, host, port and parameters of the topmost Via."""
    _fields: tuple[bytes, ...]
    """The Via values after the topmost, then From, To, Call-ID and CSeq, as they came."""


def read_request(data: bytes) -> RawRequest | None:
    """The request line and the copied fields of a request, or None when it is not plain."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or _UNSAFE.search(data, 0, end):
        return None
    lines = data[:end].split(b"\r\n")
    method = lines[0].split(b" ", 1)[0]
    vias: list[bytes] = []
    single: list[bytes | None] = [None, None, None, None]
    for line in lines[1:]:
        if not line or line[0] in b" \t":
            return None  # a folded line (RFC 3261 §7.3.1): the parser's work
        name, colon, value = line.partition(b":")
        place = _FIELDS.get(name.strip().lower())
        if not colon or place is None:
            continue
        value = value.strip()
        if b"\r" in value or b"\n" in value:
            return None
        if place == 0:
            vias.append(value)
        elif single[place - 1] is not None:
            return None
        else:
            single[place - 1] = value
    from_, to, call_id, cseq = single
    if not vias or from_ is None or to is None or not call_id or cseq is None:
        return None
    via = _VIA.fullmatch(vias[0])
    if via is None:
        return None
    transport, host, port, param_text = via.groups()
    params: list[tuple[bytes, bytes | None]] = []
    for part in param_text.split(b";")[1:]:
        key, equals, value = part.partition(b"=")
        params.append((key.strip().lower(), value.strip() if equals else None))
    named = dict(params)
    branch = named.get(b"branch")
    from_tag, to_tag = _tag(from_), _tag(to)
    return RawRequest(
        method.decode(), call_id.decode(), from_tag, to_tag,
        branch.decode() if branch else None, b"rport" in named,
        int(port) if port else None, (transport.upper(), host, port, params),
        (*vias[1:], from_, to, call_id, cseq),
    )


def _tag(address: bytes) -> str | None:
    """The tag parameter of a From or To, outside its URI."""
    closing = address.rfind(b">")
    match = _TAG.search(address, closing + 1 if closing >= 0 else 0)
    return match[1].decode() if match else None


def refusal(raw: RawRequest, peer: Peer, to_tag: str, fields: list[tuple[str, str]]) -> bytes:
    """The bytes of ``503 Service Unavailable`` to ``raw`` (RFC 3261 §21.5.4), with ``to_tag``
    added to its To and ``fields`` after the copied ones."""
    transport, host, port, params = raw._top
    source_host, source_port = peer.remote
    if raw.has_rport or host.strip(b"[]").decode() != source_host:
        kept = [(key, value) for key, value in params if key not in (b"rport", b"received")]
        if raw.has_rport:
            kept.append((b"rport", str(source_port).encode()))
        params = [*kept, (b"received", source_host.encode())]
    top = b"SIP/2.0/" + transport + b" " + host + (b":" + port if port else b"") + b"".join(
        b";" + key + (b"=" + value if value is not None else b"") for key, value in params)
    *vias, from_, to, call_id, cseq = raw._fields
    lines = [b"SIP/2.0 503 Service Unavailable", b"Via: " + top]
    lines += [b"Via: " + via for via in vias]
    lines += [b"From: " + from_, b"To: " + to + b";tag=" + to_tag.encode(),
              b"Call-ID: " + call_id, b"CSeq: " + cseq]
    lines += [f"{name}: {value}".encode() for name, value in fields]
    lines.append(b"Content-Length: 0")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def refusal_peer(raw: RawRequest, peer: Peer, force_rport: bool) -> Peer:
    """Where the refusal goes, as ``responses.response_peer`` says for a parsed request."""
    if peer.reliable or force_rport or raw.has_rport:
        return peer
    port = raw.via_port or DEFAULT_PORT
    if port == peer.remote[1]:
        return peer
    return Peer(peer.transport, (peer.remote[0], port), peer.local, peer.connection)
