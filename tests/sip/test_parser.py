"""parse_message, the Message readers and validate_request on hand-made messages (RFC 3261 §7,
§8.1.1, §8.2, §18.3, §20).

Each test states the rule it proves; the RFC 4475 vectors are in ``test_vectors.py``.
"""

from __future__ import annotations

import pytest

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.sip.errors import SipParseError
from sipfault.sip.headers import Headers
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import MAX_MESSAGE_SIZE, content_length, parse_message
from sipfault.sip.validate import validate_request

VIA = "Via: SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK776asdhds"
BASE_HEADERS = (
    VIA,
    "Max-Forwards: 70",
    "To: Bob <sip:bob@example.com>",
    "From: Alice <sip:alice@example.com>;tag=1928301774",
    "Call-ID: a84b4c76e66710@pc33.example.com",
    "CSeq: 314159 OPTIONS",
)


def build(
    *headers: str,
    start: str = "OPTIONS sip:bob@example.com SIP/2.0",
    body: bytes = b"",
    base: tuple[str, ...] = BASE_HEADERS,
) -> bytes:
    """A message: start line, the base header fields, ``headers``, an empty line, ``body``."""
    lines = [start, *base, *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def request(data: bytes, **kwargs: bool) -> Request:
    message = parse_message(data, **kwargs)
    assert isinstance(message, Request)
    return message


def refused(data: bytes, *, stream: bool = False) -> SipParseError:
    with pytest.raises(SipParseError) as caught:
        parse_message(data, stream=stream)
    return caught.value


def invalid(data: bytes) -> SipParseError:
    with pytest.raises(SipParseError) as caught:
        validate_request(request(data), KNOWN_METHODS)
    assert caught.value.partial is not None  # the UAS answers from it
    return caught.value


# --- start lines -------------------------------------------------------------------------------


def test_request_line() -> None:
    message = request(build())
    assert (message.method, message.uri, message.version) == (
        "OPTIONS",
        "sip:bob@example.com",
        "SIP/2.0",
    )


def test_status_line_with_and_without_reason() -> None:
    response = parse_message(build(start="SIP/2.0 486 Busy Here"))
    assert isinstance(response, Response)
    assert (response.status, response.reason) == (486, "Busy Here")
    bare = parse_message(build(start="SIP/2.0 180"))
    assert isinstance(bare, Response)
    assert (bare.status, bare.reason) == (180, "")


def test_sip_version_is_case_insensitive() -> None:
    assert request(build(start="OPTIONS sip:bob@example.com sip/2.0")).version == "sip/2.0"


@pytest.mark.parametrize(
    "start", ["OPTIONS sip:bob@example.com SIP/3.0", "OPTIONS sip:bob@example.com SIP/2.1"]
)
def test_other_sip_versions_are_505_with_the_request_attached(start: str) -> None:
    error = refused(build(start=start))
    assert error.status == 505
    assert isinstance(error.partial, Request)
    assert error.partial.call_id == "a84b4c76e66710@pc33.example.com"


def test_a_response_of_another_version_is_505_too() -> None:
    error = refused(build(start="SIP/3.0 200 OK"))
    assert error.status == 505
    assert isinstance(error.partial, Response)


@pytest.mark.parametrize(
    "start",
    [
        "OPTIONS sip:bob@example.com HTTP/1.1",
        "OPTIONS sip:bob@example.com SIP/2",
        "OPTIONS sip:bob@example.com",
        "OPTIONS",
        "",
        "OPT\x01ONS sip:bob@example.com SIP/2.0",
        "SIP/2.0 20 OK",
        "SIP/2.0 2000 OK",
        "SIP/2.0 099 Too Low",
        "SIP/2.0 700 Too High",
        "SIP/2.0 abc OK",
    ],
)
def test_malformed_start_lines_are_400(start: str) -> None:
    error = refused(build(start=start))
    assert error.status == 400
    assert error.reason


def test_angle_brackets_around_the_request_uri_are_answered_400() -> None:
    """RFC 4475 §3.1.2.7: the request is refused, but it still carries what a 400 needs."""
    error = refused(build(start="OPTIONS <sip:bob@example.com> SIP/2.0"))
    assert error.status == 400
    assert isinstance(error.partial, Request)
    assert error.partial.method == "OPTIONS"
    assert error.partial.headers.get("Via") == VIA.removeprefix("Via: ")


def test_whitespace_inside_the_request_uri_is_answered_400() -> None:
    """RFC 4475 §3.1.2.8."""
    error = refused(build(start="OPTIONS sip:bob@example.com; lr SIP/2.0"))
    assert error.status == 400
    assert isinstance(error.partial, Request)
    assert error.partial.cseq == (314159, "OPTIONS")


@pytest.mark.parametrize(
    "start", ["HELLO WORLD", "GET / HTTP 1.1", "\x00\x01\x02 x SIP/2.0", "SIP/2.0 2x0 OK"]
)
def test_a_start_line_that_is_no_request_is_not_taken_for_one(start: str) -> None:
    assert refused(build(start=start)).partial is None


def test_runs_of_spaces_in_the_request_line_are_accepted() -> None:
    """RFC 4475 §3.1.2.9 and §3.1.2.10 allow this leniency."""
    data = build(start="OPTIONS  sip:bob@example.com   SIP/2.0  ")
    message = request(data)
    assert message.uri == "sip:bob@example.com"
    assert message.to_bytes() == data


def test_leading_crlfs_before_the_start_line_are_ignored() -> None:
    """RFC 3261 §7.5."""
    assert request(b"\r\n\r\n\r\n" + build()).method == "OPTIONS"


@pytest.mark.parametrize("data", [b"", b"\r\n", b"\r\n\r\n\r\n"])
def test_empty_input_is_400(data: bytes) -> None:
    assert refused(data).status == 400


# --- header fields -----------------------------------------------------------------------------


def test_header_names_are_case_insensitive() -> None:
    message = request(build("cOnTeNt-TyPe: application/sdp", "X-Odd-Name: 1"))
    for name in ("Call-ID", "call-id", "CALL-ID", "cAlL-iD", "i"):
        assert message.headers.get(name) == "a84b4c76e66710@pc33.example.com"
    assert message.headers.get("content-type") == "application/sdp"
    assert message.headers.get("x-odd-name") == "1"
    assert message.content_type == "application/sdp"


def test_compact_forms_read_as_their_long_forms() -> None:
    """RFC 3261 §7.3.3 and §20: i, m, e, l, c, f, s, k, t, v."""
    data = build(
        start="INVITE sip:bob@example.com SIP/2.0",
        base=(
            "v: SIP/2.0/UDP client.example.com;branch=z9hG4bKcompact",
            "f: <sip:alice@example.com>;tag=88",
            "t: <sip:bob@example.com>",
            "i: compact@example.com",
            "CSeq: 1 INVITE",
            "m: <sip:alice@client.example.com>",
            "k: timer, 100rel",
            "s: compact forms",
            "e: identity",
            "c: application/sdp",
            "l: 4",
        ),
        body=b"v=0\n",
    )
    message = request(data)
    assert message.call_id == "compact@example.com"
    assert message.top_via.branch == "z9hG4bKcompact"
    assert message.from_.tag == "88"
    assert message.to.uri.user == "bob"
    assert message.headers.values("Contact") == ["<sip:alice@client.example.com>"]
    assert message.headers.values("Supported") == ["timer", "100rel"]
    assert message.headers.get("Subject") == "compact forms"
    assert message.headers.get("Content-Encoding") == "identity"
    assert message.content_type == "application/sdp"
    assert message.body == b"v=0\n"
    validate_request(message, KNOWN_METHODS)
    assert message.to_bytes() == data  # compact names stay compact on the wire


def test_comma_separated_values_and_repeated_lines_are_one_list() -> None:
    """RFC 3261 §7.3.1: ``Route: a, b`` and ``Route: a`` + ``Route: b`` mean the same."""
    message = request(
        build(
            "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
            "Route: <sip:p3.example.com;lr>",
            'Contact: "Smith, J" <sip:j@a.example.com>, <sip:j@b.example.com;x=a,b>',
            'Authorization: Digest username="a", realm="b", nonce="c"',
        )
    )
    assert message.headers.values("Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>",
        "<sip:p3.example.com;lr>",
    ]
    assert message.headers.lines("Route") == [
        "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
        "<sip:p3.example.com;lr>",
    ]
    assert message.headers.values("Contact") == [
        '"Smith, J" <sip:j@a.example.com>',
        "<sip:j@b.example.com;x=a,b>",
    ]
    # Authorization is not a list: its commas separate parameters.
    assert len(message.headers.values("Authorization")) == 1


def test_several_vias_in_one_line_and_in_several_lines() -> None:
    message = request(
        build(
            base=(
                "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070"
                ";branch=z9hG4bK2",
                "v: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK3",
                *BASE_HEADERS[1:],
            )
        )
    )
    assert [(via.transport, via.host, via.port, via.branch) for via in message.vias] == [
        ("UDP", "a.example.com", None, "z9hG4bK1"),
        ("TCP", "b.example.com", 5070, "z9hG4bK2"),
        ("TLS", "[2001:db8::9]", 5061, "z9hG4bK3"),
    ]
    assert message.top_via.host == "a.example.com"


def test_folded_header_values_are_unfolded() -> None:
    """RFC 3261 §7.3.1: a line starting with SP or HTAB continues the previous one."""
    data = build(
        "Subject: I know you're there,\r\n   pick up the phone\r\n\tand talk to me!",
        "Contact:\r\n <sip:alice@client.example.com>",
    )
    message = request(data)
    assert message.headers.get("Subject") == (
        "I know you're there, pick up the phone and talk to me!"
    )
    assert message.headers.values("Contact") == ["<sip:alice@client.example.com>"]
    assert message.to_bytes() == data  # the folding is kept on the wire


def test_whitespace_around_the_colon_and_empty_values() -> None:
    message = request(build("Subject   :   hello  ", "X-Empty:", "X-Tab:\tv"))
    assert message.headers.get("Subject") == "hello"
    assert message.headers.get("X-Empty") == ""
    assert message.headers.get("X-Tab") == "v"


@pytest.mark.parametrize("line", ["No colon here", ": no name", "Bad Name: x", "B\xe4d: x"])
def test_a_malformed_header_line_is_400_with_the_fields_read(line: str) -> None:
    error = refused(build(line))
    assert error.status == 400
    assert isinstance(error.partial, Request)
    assert error.partial.call_id == "a84b4c76e66710@pc33.example.com"


def test_non_utf8_header_bytes_survive_a_round_trip() -> None:
    data = build("X-Latin1: caf\xe9").replace("caf\xe9".encode(), b"caf\xe9")
    message = request(data)
    assert message.to_bytes() == data
    assert message.headers.get("X-Latin1") == "caf\udce9"


def test_line_feed_only_line_endings_are_read() -> None:
    data = build().replace(b"\r\n", b"\n")
    message = request(data)
    assert message.call_id == "a84b4c76e66710@pc33.example.com"
    assert message.headers.get("CSeq") == "314159 OPTIONS"


# --- the readers of the fields every message carries -------------------------------------------


def test_cseq_reader() -> None:
    assert request(build()).cseq == (314159, "OPTIONS")
    assert request(build(base=(*BASE_HEADERS[:-1], "CSeq:  0009\t INVITE"))).cseq == (9, "INVITE")
    assert request(build(base=(*BASE_HEADERS[:-1], "CSeq: 2147483647 BYE"))).cseq == (
        2**31 - 1,
        "BYE",
    )


@pytest.mark.parametrize(
    "value",
    [
        "2147483648 OPTIONS",  # §8.1.1.5: less than 2**31
        "4294967296 OPTIONS",
        "9" * 5000 + " OPTIONS",  # more digits than int() converts
        "0" * 5000 + "1 OPTIONS x",
        "-1 OPTIONS",
        "OPTIONS",
        "1",
        "one OPTIONS",
        "\u00b2 OPTIONS",  # a digit to str.isdigit(), not to the grammar
        "\u0661 OPTIONS",
    ],
)
def test_malformed_cseq_is_a_parse_error_not_a_crash(value: str) -> None:
    message = request(build(base=(*BASE_HEADERS[:-1], f"CSeq: {value}")))
    with pytest.raises(SipParseError) as caught:
        message.cseq  # noqa: B018
    assert caught.value.status == 400


def test_cseq_with_many_leading_zeros_is_still_a_number() -> None:
    message = request(build(base=(*BASE_HEADERS[:-1], "CSeq: " + "0" * 5000 + "7 OPTIONS")))
    assert message.cseq == (7, "OPTIONS")


@pytest.mark.parametrize(
    ("missing", "reader"),
    [("Call-ID", "call_id"), ("CSeq", "cseq"), ("Via", "top_via"), ("From", "from_"), ("To", "to")],
)
def test_readers_name_the_missing_field(missing: str, reader: str) -> None:
    base = tuple(line for line in BASE_HEADERS if not line.startswith(missing + ":"))
    message = request(build(base=base))
    with pytest.raises(SipParseError, match=missing):
        getattr(message, reader)
    if missing == "Via":
        assert message.vias == []


def test_content_type_is_lower_case_without_parameters() -> None:
    message = request(build("Content-Type: Multipart/Mixed ; boundary=x"))
    assert message.content_type == "multipart/mixed"
    assert request(build()).content_type is None


# --- bodies and Content-Length ------------------------------------------------------------------


def test_body_framed_by_content_length_and_the_rest_ignored() -> None:
    """RFC 3261 §18.3: octets after Content-Length in a datagram are discarded."""
    message = request(build("Content-Length: 5", body=b"hello, and some noise"))
    assert message.body == b"hello"
    assert message.to_bytes() == build("Content-Length: 5", body=b"hello")


def test_body_may_hold_crlfs_nuls_and_empty_lines() -> None:
    body = b"a\r\n\r\nb\x00c\n\n"
    message = request(build(f"Content-Length: {len(body)}", body=body))
    assert message.body == body


def test_without_content_length_a_datagram_body_is_the_rest() -> None:
    assert request(build(body=b"v=0\r\n")).body == b"v=0\r\n"


def test_without_content_length_a_stream_message_has_no_body() -> None:
    assert request(build(body=b"v=0\r\n"), stream=True).body == b""


def test_content_length_beyond_the_data_is_400() -> None:
    """RFC 4475 §3.1.2.2: 400, with the request attached so that the 400 can be sent."""
    error = refused(build("Content-Length: 10", body=b"short"))
    assert error.status == 400
    assert "Content-Length" in error.reason
    assert isinstance(error.partial, Request)


@pytest.mark.parametrize("value", ["-1", "12abc", "", "1 2", "0x10", "\u00b2", "+5"])
def test_malformed_content_length_is_400(value: str) -> None:
    error = refused(build(f"Content-Length: {value}", body=b"hello"))
    assert error.status == 400
    assert isinstance(error.partial, Request)


def test_conflicting_content_lengths_are_400() -> None:
    """RFC 4475 §3.3.9; long and compact forms count alike."""
    error = refused(build("Content-Length: 5", "l: 3", body=b"hello"))
    assert (error.status, error.reason) == (400, "Conflicting Content-Length")


def test_the_same_content_length_twice_is_not_a_conflict() -> None:
    assert request(build("Content-Length: 5", "l: 5", body=b"hello")).body == b"hello"


def test_content_length_function() -> None:
    assert content_length(Headers([("l", " 42 ")])) == 42
    assert content_length(Headers([("Content-Length", "007")])) == 7
    assert content_length(Headers()) is None
    assert content_length(Headers([("Content-Length", "9" * 5000)])) == MAX_MESSAGE_SIZE + 1


@pytest.mark.parametrize("stream", [False, True])
def test_content_length_beyond_64_kib_is_513(stream: bool) -> None:
    error = refused(build(f"Content-Length: {MAX_MESSAGE_SIZE + 1}"), stream=stream)
    assert error.status == 513
    assert isinstance(error.partial, Request)


@pytest.mark.parametrize("digits", [20, 4300, 5000, 20000])
def test_content_length_of_thousands_of_digits_is_513_not_a_crash(digits: int) -> None:
    error = refused(build("Content-Length: " + "9" * digits))
    assert error.status == 513
    assert error.reason == "Message Too Large"


def test_a_message_over_64_kib_is_513() -> None:
    padding = "X-Pad: " + "p" * (MAX_MESSAGE_SIZE)
    error = refused(build(padding))
    assert error.status == 513


def test_a_message_of_exactly_64_kib_is_accepted() -> None:
    data = build("X-Pad: ")
    data = data[:-4] + b"p" * (MAX_MESSAGE_SIZE - len(data)) + b"\r\n\r\n"
    assert len(data) == MAX_MESSAGE_SIZE
    assert len(request(data).headers.get("X-Pad") or "") > 60000


# --- serialization -----------------------------------------------------------------------------


def test_parse_then_serialize_gives_back_the_bytes() -> None:
    data = build(
        "Contact:   <sip:alice@client.example.com>;expires=60  ",
        "SUBJECT:lunch",
        "Content-Length: 4",
        start="OPTIONS   sip:bob@example.com   SIP/2.0",
        body=b"body",
    )
    assert request(data).to_bytes() == data


def test_a_changed_header_is_reserialized_in_place() -> None:
    data = build("Content-Length: 0")
    message = request(data)
    message.headers.set("max-forwards", "69")
    out = message.to_bytes()
    assert out == data.replace(b"Max-Forwards: 70", b"max-forwards: 69")
    assert request(out).headers.get("Max-Forwards") == "69"


def test_added_and_removed_headers_are_reserialized() -> None:
    data = build("Content-Length: 0")
    message = request(data)
    message.headers.remove("Call-ID")
    message.headers.add("X-New", "1")
    out = message.to_bytes()
    assert b"Call-ID" not in out
    assert out.endswith(b"Content-Length: 0\r\nX-New: 1\r\n\r\n")
    assert out.startswith(b"OPTIONS sip:bob@example.com SIP/2.0\r\n" + VIA.encode())


def test_a_changed_start_line_is_written_anew() -> None:
    data = build(start="OPTIONS   sip:bob@example.com  SIP/2.0")
    message = request(data)
    assert message.first_line() == "OPTIONS   sip:bob@example.com  SIP/2.0"
    message.uri = "sip:carol@example.com"
    assert message.to_bytes().startswith(b"OPTIONS sip:carol@example.com SIP/2.0\r\n")
    assert message.first_line() == "OPTIONS sip:carol@example.com SIP/2.0"


def test_a_changed_body_is_written() -> None:
    message = request(build("Content-Length: 2", body=b"hi"))
    message.body = b"bye"
    message.headers.set("Content-Length", "3")
    assert message.to_bytes().endswith(b"Content-Length: 3\r\n\r\nbye")


def test_a_message_built_in_code_serializes() -> None:
    response = Response(200, "OK")
    response.headers.add("Via", "SIP/2.0/UDP h;branch=z9hG4bKx")
    response.headers.add("Content-Length", "0")
    assert response.to_bytes() == (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n"
    )
    again = parse_message(response.to_bytes())
    assert isinstance(again, Response)
    assert again.top_via.branch == "z9hG4bKx"


# --- validate_request ----------------------------------------------------------------------------


def test_a_well_formed_request_validates_and_gives_the_request_uri() -> None:
    uri = validate_request(request(build()), KNOWN_METHODS)
    assert (uri.scheme, uri.user, uri.host) == ("sip", "bob", "example.com")


@pytest.mark.parametrize("missing", ["Via", "Call-ID", "From", "To", "CSeq"])
def test_each_required_field_missing_is_400_naming_it(missing: str) -> None:
    base = tuple(line for line in BASE_HEADERS if not line.startswith(missing + ":"))
    error = invalid(build(base=base))
    assert (error.status, error.reason) == (400, f"Missing {missing}")


def test_max_forwards_may_be_missing_for_rfc_2543_peers() -> None:
    base = tuple(line for line in BASE_HEADERS if not line.startswith("Max-Forwards"))
    validate_request(request(build(base=base)), KNOWN_METHODS)


@pytest.mark.parametrize("name", ["Call-ID", "CSeq", "From", "To", "Max-Forwards"])
def test_a_repeated_single_field_is_400(name: str) -> None:
    """RFC 4475 §3.3.8."""
    line = next(line for line in BASE_HEADERS if line.startswith(name + ":"))
    error = invalid(build(line))
    assert error.reason == f"Multiple {name} headers"


def test_the_first_repeated_field_is_named_every_time() -> None:
    data = build("To: <sip:x@example.com>", "Call-ID: other")
    assert invalid(data).reason == "Multiple To headers"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Max-Forwards: 256", "Max-Forwards out of range"),
        ("Max-Forwards: " + "9" * 5000, "Max-Forwards out of range"),
        ("Max-Forwards: seventy", "Malformed Max-Forwards"),
        ("Max-Forwards: -1", "Malformed Max-Forwards"),
        ("Expires: 4294967296", "Expires out of range"),
        ("Expires: " + "9" * 5000, "Expires out of range"),
        ("Expires: \u00b2", "Malformed Expires"),
    ],
)
def test_out_of_range_integers_are_400(header: str, reason: str) -> None:
    base = tuple(line for line in BASE_HEADERS if not line.startswith("Max-Forwards"))
    assert invalid(build(header, base=base)).reason == reason


def test_max_forwards_zero_and_leading_zeros_are_fine() -> None:
    base = tuple(line for line in BASE_HEADERS if not line.startswith("Max-Forwards"))
    validate_request(request(build("Max-Forwards: 0", base=base)), KNOWN_METHODS)
    validate_request(request(build("Max-Forwards: 0070", base=base)), KNOWN_METHODS)


def test_cseq_method_must_match_a_known_method() -> None:
    """RFC 4475 §3.1.2.17; an unknown method is left for the 501 (§3.1.2.18)."""
    error = invalid(build(start="INVITE sip:bob@example.com SIP/2.0"))
    assert error.reason == "CSeq method does not match the request method"
    unknown = request(build(start="NEWMETHOD sip:bob@example.com SIP/2.0"))
    validate_request(unknown, KNOWN_METHODS)


@pytest.mark.parametrize(
    "uri", ["http://example.com/", "urn:service:sos", "name:John_Smith", "soap.beep://x:1"]
)
def test_unsupported_request_uri_scheme_is_416(uri: str) -> None:
    error = invalid(build(start=f"OPTIONS {uri} SIP/2.0"))
    assert (error.status, error.reason) == (416, "Unsupported URI Scheme")


@pytest.mark.parametrize(
    "uri", ["sip:bob@example.com", "SIP:bob@example.com", "sips:bob@example.com", "tel:+15551234"]
)
def test_supported_request_uri_schemes(uri: str) -> None:
    assert validate_request(request(build(start=f"OPTIONS {uri} SIP/2.0")), KNOWN_METHODS)


def test_a_malformed_sip_request_uri_is_400() -> None:
    error = invalid(build(start="OPTIONS sip: SIP/2.0"))
    assert error.status == 400


def test_headers_in_the_request_uri_are_400() -> None:
    """RFC 4475 §3.1.2.11."""
    error = invalid(build(start="OPTIONS sip:bob@example.com?Route=%3Csip:x%3E SIP/2.0"))
    assert error.reason == "Request-URI must not contain headers"


def test_contact_star_and_contacts_are_read() -> None:
    ok = build(
        "Contact: *",
        start="REGISTER sip:example.com SIP/2.0",
        base=(*BASE_HEADERS[:-1], "CSeq: 1 REGISTER"),
    )
    validate_request(request(ok), KNOWN_METHODS)
    error = invalid(build("Contact: <sip:a@b", start="OPTIONS sip:bob@example.com SIP/2.0"))
    assert error.status == 400


def test_a_register_for_a_non_sip_address_of_record_is_400() -> None:
    """RFC 3261 §10.2; RFC 4475 §3.3.4: a registrar answers 400."""
    base = tuple(line for line in BASE_HEADERS if not line.startswith(("To:", "CSeq:")))
    data = build(
        "To: <tel:+15551234>",
        "CSeq: 2 REGISTER",
        base=base,
        start="REGISTER sip:example.com SIP/2.0",
    )
    assert invalid(data).reason == "To of a REGISTER must be a SIP or SIPS URI"
    other = build("To: <tel:+15551234>", "CSeq: 314159 OPTIONS", base=base)
    validate_request(request(other), KNOWN_METHODS)  # any other method may name a tel: To


@pytest.mark.parametrize(
    "header",
    [
        'Require: "100rel, timer',
        'Supported: timer, "x',
        'Record-Route: <sip:p1.example.com;lr>, "Proxy <sip:p2.example.com>',
        'Route: "a, <sip:r>',
        'Allow: INVITE, "BYE',
        'Contact: <sip:a@example.com>, "Bob, <sip:b@example.com>',
    ],
)
def test_an_unterminated_quote_in_any_list_header_is_400_naming_it(header: str) -> None:
    """Every list the UAS may read later is split during validation, where a defect is a 400
    (read later, the same defect escaped the UAS in the middle of answering)."""
    error = invalid(build(header))
    name = header.partition(":")[0]
    assert (error.status, error.reason) == (400, f"Malformed {name}: unterminated quoted string")


def test_after_validation_every_list_header_can_be_read() -> None:
    message = request(build('Require: "a, b", c', 'Supported: "x,y"', "Allow: INVITE, BYE"))
    validate_request(message, KNOWN_METHODS)
    assert message.headers.values("Require") == ['"a, b"', "c"]
    assert message.headers.values("Supported") == ['"x,y"']
