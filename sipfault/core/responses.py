"""Building a response to a request (RFC 3261 §8.2.6, RFC 3581 §4).

The builder copies what §8.2.6.2 says to copy, adds the To-tag, fixes the top Via for symmetric
response routing, and frames the body. The fields a status code itself requires are added by
:mod:`sipfault.core.required`; scenario overrides and omissions come last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sipfault.core.events import Peer
from sipfault.sip.codes import is_valid_status, reason_phrase
from sipfault.sip.errors import SipParseError
from sipfault.sip.headers import Field, Headers, built_field, header_key, split_list
from sipfault.sip.message import Request, Response
from sipfault.sip.params import set_param
from sipfault.sip.via import Via, parse_via

_COPIED = frozenset({"from", "to", "call-id", "cseq"})


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
    first, elements = next(((index, parts) for index, line in enumerate(lines)
                            if (parts := split_list(line))), (0, []))
    if not elements:  # callers copy such Vias as they stand
        raise SipParseError("Malformed Via: no via-parm")
    if top is None:
        top = parse_via(elements[0])
    source_host, source_port = peer.remote
    rport = top.has_rport
    if rport or top.host.strip("[]") != source_host:
        params = top.params
        if rport:
            params = set_param(params, "rport", str(source_port))
        params = set_param(params, "received", source_host)
        fixed = Via(top.protocol, top.transport, top.host, top.port, params)
        lines[first] = ", ".join([str(fixed), *elements[1:]])
    return [built_field("Via", line) for line in lines]


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

    ``to_tag`` is added to To when the request's To has none (§8.2.6.2); pass None for 100
    Trying, which never carries one. ``record_route`` copies Record-Route for a
    dialog-creating response (§12.1.1). Timestamp is copied into 100 Trying (§8.2.6.1).
    """
    fields: list[Field] = list(vias)
    headers = request.headers
    from_value = headers.get("From")
    if from_value is not None:
        fields.append(built_field("From", from_value))
    to_value = headers.get("To")
    if to_value is not None:
        if to_tag is not None and not _has_tag(to_value):
            to_value = f"{to_value};tag={to_tag}"
        fields.append(built_field("To", to_value))
    call_id = headers.get("Call-ID")
    if call_id is not None:
        fields.append(built_field("Call-ID", call_id))
    cseq = headers.get("CSeq")
    if cseq is not None:
        fields.append(built_field("CSeq", cseq))
    if record_route:
        fields += [built_field("Record-Route", value) for value in headers.lines("Record-Route")]
    if status == 100:
        fields += [built_field("Timestamp", value) for value in headers.lines("Timestamp")[-1:]]
    fields += [built_field(name, value) for name, value in extra]
    if body and content_type is not None:
        fields.append(built_field("Content-Type", content_type))
    fields.append(built_field("Content-Length", str(len(body))))
    if reason is None:
        reason = reason_phrase(status) if is_valid_status(status) else "Unknown Status"
    return Response(status, reason, Headers.of_fields(fields), body)


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
