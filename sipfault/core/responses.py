"""Building a response to a request (RFC 3261 §8.2.6, RFC 3581 §4).

The builder copies what §8.2.6.2 says to copy, adds the To-tag, fixes the top Via for symmetric
response routing, and frames the body. The fields a status code itself requires are added by
:mod:`sipfault.core.required`; scenario overrides and omissions come last.
"""

from __future__ import annotations

from collections.abc import Iterable

from sipfault.core.events import Peer
from sipfault.sip.codes import is_valid_status, reason_phrase
from sipfault.sip.headers import Header, Headers, header_key, split_list
from sipfault.sip.message import Request, Response
from sipfault.sip.via import parse_via

_COPIED = ("from", "call-id", "cseq")


def response_vias(request: Request, peer: Peer) -> list[Header]:
    """The request's Via lines, the topmost one marked with ``received``/``rport``.

    RFC 3261 §18.2.1: add ``received`` when the sent-by host differs from the packet's source.
    RFC 3581 §4: when the client sent ``rport``, fill it with the source port and add
    ``received`` whatever the host.
    """
    lines = [field for field in request.headers if field.key == "via"]
    if not lines:
        return []
    elements = split_list(lines[0].value)
    top = parse_via(elements[0])
    source_host, source_port = peer.remote
    fixed = top
    if top.has_rport:
        fixed = fixed.with_param("rport", str(source_port))
    if top.has_rport or top.host.strip("[]") != source_host:
        fixed = fixed.with_param("received", source_host)
    if fixed is top:
        return [Header("Via", line.value) for line in lines]
    first = ", ".join([str(fixed), *elements[1:]])
    return [Header("Via", first)] + [Header("Via", line.value) for line in lines[1:]]


def build_response(
    request: Request,
    status: int,
    *,
    vias: list[Header],
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
    fields: list[Header] = list(vias)
    to_field: Header | None = None
    record_routes: list[Header] = []
    timestamp: Header | None = None
    copied: dict[str, Header] = {}
    for field in request.headers:
        key = field.key
        if key in _COPIED and key not in copied:
            copied[key] = field
        elif key == "to" and to_field is None:
            to_field = field
        elif key == "record-route":
            record_routes.append(field)
        elif key == "timestamp":
            timestamp = field
    if "from" in copied:
        fields.append(Header("From", copied["from"].value))
    if to_field is not None:
        to_value = to_field.value
        if to_tag is not None and not _has_tag(to_value):
            to_value = f"{to_value};tag={to_tag}"
        fields.append(Header("To", to_value))
    for key, name in (("call-id", "Call-ID"), ("cseq", "CSeq")):
        if key in copied:
            fields.append(Header(name, copied[key].value))
    if record_route:
        fields.extend(Header("Record-Route", field.value) for field in record_routes)
    if status == 100 and timestamp is not None:
        fields.append(Header("Timestamp", timestamp.value))
    fields.extend(Header(name, value) for name, value in extra)
    if body and content_type is not None:
        fields.append(Header("Content-Type", content_type))
    fields.append(Header("Content-Length", str(len(body))))
    if reason is None:
        reason = reason_phrase(status) if is_valid_status(status) else "Unknown Status"
    return Response(status, reason, Headers(fields), body)


def _has_tag(address: str) -> bool:
    """Whether a To value carries a tag parameter (outside its URI)."""
    closing = address.rfind(">")
    params = address[closing + 1:] if closing >= 0 else address
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
