"""Building a response to a request, and where it goes (RFC 3261 §8.2.6, §18.2.2; RFC 3581).

The builder copies what §8.2.6.2 says to copy, adds the To-tag, marks the top Via with
``received`` and ``rport``, and frames the body. What it copies never carries a control
character the client sent (:mod:`sipfault.sip.sanitize`). The fields a status code itself
requires are added by :mod:`sipfault.core.required`; scenario overrides and omissions come last.

:func:`response_peer` says where responses go: over a stream, on the connection the request
came on; over UDP, to the packet's source address, at the source port when the top Via has
``rport`` (RFC 3581 §4), else at the Via's sent-by port (5060 when absent, §18.2.2). Never to
another address, a name to resolve, or a ``maddr``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sipfault.core.events import Peer
from sipfault.sip.codes import is_valid_status, reason_phrase
from sipfault.sip.errors import SipParseError
from sipfault.sip.headers import Field, Headers, built_field, header_key, split_list
from sipfault.sip.message import Request, Response
from sipfault.sip.sanitize import safe_value
from sipfault.sip.via import Via, parse_via

_COPIED = frozenset({"from", "to", "call-id", "cseq"})

DEFAULT_PORT = 5060
"""Where a UDP response goes when the top Via names no port and no ``rport`` (§18.2.2)."""


def response_peer(peer: Peer, top: Via | None, force_rport: bool = False) -> Peer:
    """Where responses to a request from ``peer`` with top Via ``top`` go.

    Over TCP and TLS: ``peer`` itself, the connection (§18.2.2). Over UDP: the packet's source
    address always (§18.2.1 ``received``; a sent-by host is never resolved, a ``maddr`` never
    used), at the source port when the Via has ``rport`` (RFC 3581 §4) or ``force_rport`` is
    set, else at the sent-by port, 5060 when absent or 0 (older printers and ATAs send from an
    ephemeral port and listen on 5060). Without a readable Via: ``peer``.
    """
    if peer.reliable or top is None or force_rport or top.has_rport:
        return peer
    port = top.port or DEFAULT_PORT
    if port == peer.remote[1]:
        return peer
    return Peer(peer.transport, (peer.remote[0], port), peer.local, peer.connection)


def response_vias(request: Request, peer: Peer, top: Via | None = None) -> list[Field]:
    """The request's Via lines, the topmost one marked with ``received``/``rport``.

    RFC 3261 §18.2.1: add ``received`` when the sent-by host differs from the packet's source.
    RFC 3581 §4: when the client sent ``rport``, fill it with the source port and add
    ``received`` whatever the host. ``top`` is the topmost Via when it was read already.
    Raises SipParseError when the topmost Via cannot be read.
    """
    lines = request.headers.lines("Via")
    if not lines:
        return []
    # The topmost via-parm is the first element of the first line that has one: a line of
    # "Via: ," alone names no hop (the #rule allows empty elements, RFC 3261 §7.3.1).
    first = 0
    for line in lines:
        elements = split_list(line)
        if elements:
            break
        first += 1
    else:  # callers copy such Vias as they stand
        raise SipParseError("Malformed Via: no via-parm")
    if top is None:
        top = parse_via(elements[0])
    source_host, source_port = peer.remote
    rport = top.has_rport
    if rport or top.host.strip("[]") != source_host:
        fixed = _marked(top, str(source_port) if rport else None, source_host)
        lines[first] = ", ".join([fixed, *elements[1:]]) if len(elements) > 1 else fixed
    return [built_field("Via", safe_value(line)) for line in lines]


def _marked(top: Via, rport: str | None, received: str) -> str:
    """The Via element as ``str`` writes it once ``set_param`` has set ``rport`` (unless None)
    and then ``received``, written in one pass: 1 µs, not 2.5 µs, a response (timeit)."""
    port = "" if top.port is None else f":{top.port}"
    out = [f"{top.protocol}/{top.transport} {top.host}{port}"]
    rport_set = rport is None
    received_set = False
    for key, value in top.params:
        lower = key.lower()
        if lower == "rport" and rport is not None:
            if rport_set:
                continue  # set_param keeps the first of repeated parameters only
            rport_set, value = True, rport
        elif lower == "received":
            if received_set:
                continue
            received_set, value = True, received
        out.append(f";{key}" if value is None else f";{key}={value}")
    if not rport_set:
        out.append(f";rport={rport}")
    if not received_set:
        out.append(f";received={received}")
    return "".join(out)


def build_response(
    request: Request,
    status: int,
    *,
    vias: Sequence[Field],
    to_tag: str | None,
    reason: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    record_route: bool = False,
) -> Response:
    """A response with the copied fields, the given extras, Content-Type and Content-Length.

    Control characters in the copied fields and in ``reason`` go out escaped (a malformed
    request's 400 still copies its fields; a scenario's reason may hold UTF-8, kept).

    ``to_tag`` is added to To when the request's To has none (§8.2.6.2); pass None for 100
    Trying, which never carries one. ``record_route`` copies Record-Route for a
    dialog-creating response (§12.1.1). Timestamp is copied into 100 Trying (§8.2.6.1).
    """
    fields: list[Field] = list(vias)
    headers = request.headers
    from_value = headers.get("From")
    if from_value is not None:
        fields.append(built_field("From", safe_value(from_value)))
    to_value = headers.get("To")
    if to_value is not None:
        if to_tag is not None and not _has_tag(to_value):
            to_value = f"{to_value};tag={to_tag}"
        fields.append(built_field("To", safe_value(to_value)))
    call_id = headers.get("Call-ID")
    if call_id is not None:
        fields.append(built_field("Call-ID", safe_value(call_id)))
    cseq = headers.get("CSeq")
    if cseq is not None:
        fields.append(built_field("CSeq", safe_value(cseq)))
    if record_route:
        fields += [built_field("Record-Route", safe_value(value))
                   for value in headers.lines("Record-Route")]
    if status == 100:
        fields += [built_field("Timestamp", safe_value(value))
                   for value in headers.lines("Timestamp")[-1:]]
    fields += [built_field(name, value) for name, value in extra]
    if body and content_type is not None:
        fields.append(built_field("Content-Type", content_type))
    fields.append(built_field("Content-Length", str(len(body))))
    if reason is None:
        reason = reason_phrase(status) if is_valid_status(status) else "Unknown Status"
    return Response(status, safe_value(reason), Headers.of_fields(fields), body)


def _has_tag(address: str) -> bool:
    """Whether a To value carries a tag parameter (outside its URI)."""
    closing = address.rfind(">")
    params = address[closing + 1:] if closing >= 0 else address
    if ";" not in params:
        return False
    return any(
        part.split("=", 1)[0].strip().lower() == "tag" for part in params.split(";")[1:]
    )


def apply_overrides(
    response: Response, headers: Iterable[tuple[str, str]], omit: Iterable[str]
) -> None:
    """Scenario values replace the builder's (one line per name), then omissions remove fields."""
    replaced: set[str] = set()
    for name, value in headers:
        key = header_key(name)
        if key in replaced or name not in response.headers:
            response.headers.insert_before(("content-type", "content-length"), name, value)
        else:
            response.headers.set(name, value)
        replaced.add(key)
    for name in omit:
        response.headers.remove(name)
