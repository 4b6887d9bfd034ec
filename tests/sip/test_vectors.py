"""The 49 RFC 4475 torture messages through the message layer.

Each vector is parsed whole as a datagram, fed to the stream framer one byte at a time and all
at once, with trailing bytes, with leading CRLF keep-alives, and concatenated with the others.
:data:`EXPECTED` is the manifest (``MANIFEST.tsv``) turned into what the message layer must do
with each one; where RFC 4475 allows a choice between 400 and leniency the comment says which one
sipfault makes. What the UAS then answers is checked over real sockets in
``tests/integration/test_vectors_over_sockets.py``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.sip.errors import SipParseError
from sipfault.sip.framer import PING, StreamFramer
from sipfault.sip.message import Message, Request, Response
from sipfault.sip.parser import parse_message
from sipfault.sip.validate import validate_request

_CANDIDATES = (
    os.environ.get("SIPFAULT_RFC4475_DIR", ""),
    str(Path(__file__).resolve().parents[1] / "vectors" / "rfc4475"),
    "/work/shared/vectors/rfc4475",
)


def _vector_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate and (Path(candidate) / "MANIFEST.tsv").is_file():
            return Path(candidate)
    pytest.skip("RFC 4475 vectors not found (set SIPFAULT_RFC4475_DIR)")


def _manifest() -> dict[str, dict[str, str]]:
    with (_vector_dir() / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["name"]: row for row in csv.DictReader(handle, delimiter="\t")}


def vector(name: str) -> bytes:
    """The bytes of one vector."""
    return (_vector_dir() / f"{name}.dat").read_bytes()


# --- what the message layer must do with each vector ----------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What parse_message (and validate_request, for a request) does with a datagram."""

    stage: str
    """"ok" (parses, and a request passes validation), "parse" or "validate" (refused there)."""
    status: int | None = None
    """The status SipParseError carries when refused."""


OK = Outcome("ok")


def parse(status: int) -> Outcome:
    """Refused by parse_message."""
    return Outcome("parse", status)


def validate(status: int) -> Outcome:
    """Parsed, refused by validate_request."""
    return Outcome("validate", status)


@dataclass(frozen=True)
class Stream:
    """What StreamFramer does with the vector's bytes over TCP."""

    messages: int = 1
    """How many messages it cuts (0: it waits for more bytes)."""
    error: int | None = None
    """The status of the SipParseError it raises, or None."""
    cuts: tuple[tuple[int, int], ...] | None = None
    """Where the messages lie in the vector, when not the whole vector is one message."""
    leftover: int = 0
    """Bytes left buffered after the messages."""


ONE = Stream()
WAITS = Stream(messages=0)

# name: (datagram outcome, stream outcome). Derived from MANIFEST.tsv, one line per vector.
EXPECTED: dict[str, tuple[Outcome, Stream]] = {
    # §3.1.1 valid messages: all parse and validate.
    "wsinv": (OK, ONE),
    "intmeth": (OK, ONE),  # unknown method: the UAS answers 501
    "esc01": (OK, ONE),
    "escnull": (OK, ONE),
    "esc02": (OK, ONE),  # RE%47IST%45R is not REGISTER: 501
    "lwsdisp": (OK, ONE),
    "longreq": (OK, ONE),
    # Over UDP the INVITE after Content-Length 0 is noise (§18.3); on a stream it is the next
    # message, and what follows its 150 body bytes is a 5-byte third "message" of noise.
    "dblreq": (OK, Stream(messages=3, cuts=((0, 300), (302, 745), (745, 750)))),
    "semiuri": (OK, ONE),
    "transports": (OK, ONE),
    "mpart01": (OK, ONE),  # binary body with NUL, CR, LF framed by Content-Length
    "unreason": (OK, ONE),  # responses: parsed, then dropped by the UAS
    "noreason": (OK, ONE),
    # §3.1.2 invalid messages.
    "badinv01": (validate(400), ONE),  # ";;,;" in Via and Contact
    "clerr": (parse(400), WAITS),  # Content-Length 9999: UDP 400, TCP waits for the body
    "ncl": (parse(400), Stream(messages=0, error=400)),  # Content-Length -999
    "scalar02": (validate(400), ONE),  # CSeq 2**32+, Max-Forwards 300, Expires 2**32+
    "scalarlg": (OK, ONE),  # a response: parses; its CSeq reader refuses (checked below)
    "quotbal": (validate(400), ONE),  # unterminated quote in To
    "ltgtruri": (parse(400), ONE),  # <sip:...> as Request-URI
    "lwsruri": (parse(400), ONE),  # "sip:user@example.com; lr" in the Request-Line
    "lwsstart": (OK, ONE),  # leniency: runs of SP in the Request-Line are accepted
    "trws": (OK, ONE),  # leniency: trailing SP after SIP/2.0 is accepted
    "escruri": (validate(400), ONE),  # ?Route=... in a SIP Request-URI
    "baddate": (OK, ONE),  # leniency: Date does not matter to the UAS, so it is not read
    "regbadct": (validate(400), ONE),  # Contact addr-spec with ?... outside <>
    "badaspec": (validate(400), ONE),  # spaces inside To's <...>
    "baddn": (validate(400), WAITS),  # unquoted "Bell, Alexander"; no blank line after the head
    "badvers": (parse(505), ONE),  # SIP/7.0
    "mismatch01": (validate(400), ONE),  # OPTIONS with CSeq INVITE
    "mismatch02": (OK, ONE),  # NEWMETHOD: unknown, so its CSeq is not compared; UAS 501
    "bigcode": (parse(400), ONE),  # status 4294967301: a response, dropped
    # §3.2, §3.3 transaction and application semantics.
    "badbranch": (OK, ONE),  # branch=z9hG4bK alone: RFC 2543 matching
    "insuf": (validate(400), ONE),  # no Call-ID, From, To
    "unkscm": (validate(416), ONE),  # name: URI scheme
    "novelsc": (validate(416), ONE),  # soap.beep: URI scheme
    "unksm2": (validate(400), ONE),  # REGISTER with To isbn:...: registrar answers 400
    "bext01": (OK, ONE),  # Require: the UAS answers 420
    "invut": (OK, ONE),  # application/unknownformat: the UAS answers 415
    "regaut01": (OK, ONE),
    "multi01": (validate(400), ONE),  # two CSeq, Call-ID, From, To
    "mcl01": (parse(400), Stream(messages=0, error=400)),  # Content-Length 13 and l: 5
    "bcast": (OK, ONE),  # a response: parsed, then dropped
    "zeromf": (OK, ONE),  # Max-Forwards 0 is for proxies; a UAS answers
    "cparam01": (OK, ONE),
    "cparam02": (OK, ONE),
    "regescrt": (OK, ONE),
    "sdp01": (OK, ONE),  # Accept: text/nobodyKnowsThis is the UAS's decision (406 or 400)
    # §3.4: RFC 2543 INVITE without Content-Length. On a stream a message without one has no
    # body (lenient framing), so its 105 SDP bytes stay buffered.
    "inv2543": (OK, Stream(cuts=((0, 340),), leftover=105)),
}

# Bytes after the message proper in a datagram (RFC 3261 §18.3: ignored).
SPURIOUS_TAIL = {"dblreq": 450}
# Vectors whose bytes do not end the head with an empty line (the RFC's text lacks it).
NO_BLANK_LINE = {"baddn"}

NAMES = sorted(EXPECTED)


def outcome_of(data: bytes, *, stream: bool = False) -> tuple[Outcome, Message | None, str]:
    """Run the message layer on one message: the outcome, the message, and the reason."""
    try:
        message = parse_message(data, stream=stream)
    except SipParseError as exc:
        return Outcome("parse", exc.status), None, exc.reason
    if isinstance(message, Request):
        try:
            validate_request(message, KNOWN_METHODS)
        except SipParseError as exc:
            return Outcome("validate", exc.status), message, exc.reason
    return OK, message, ""


def test_the_table_covers_the_manifest_exactly() -> None:
    manifest = _manifest()
    assert set(manifest) == set(EXPECTED)
    for name, row in manifest.items():
        data = vector(name)
        assert len(data) == int(row["bytes"]), name
        is_response = row["method_or_response"].startswith("response")
        assert data.startswith(b"SIP/2.0 ") == is_response, name


def test_the_table_follows_the_manifest_on_validity() -> None:
    """Every "valid" vector is accepted; every refusal is of an invalid or semantic one."""
    for name, row in _manifest().items():
        outcome = EXPECTED[name][0]
        if row["valid_or_invalid"] == "valid":
            assert outcome == OK, name
        if outcome != OK:
            assert row["valid_or_invalid"] != "valid", name


@pytest.mark.parametrize("name", NAMES)
def test_vector_parsed_whole_as_a_datagram(name: str) -> None:
    expected = EXPECTED[name][0]
    outcome, _, reason = outcome_of(vector(name))
    assert outcome == expected, reason
    if outcome != OK:
        assert reason  # the reason phrase names the defect


@pytest.mark.parametrize(
    "name", [n for n in NAMES if EXPECTED[n][0].stage == "parse" and not n.startswith("big")]
)
def test_refused_requests_keep_what_the_answer_needs(name: str) -> None:
    """A request refused while parsing still carries Via, From, To, Call-ID and CSeq, so the UAS
    can answer it (RFC 3261 §8.2.6) rather than drop it."""
    with pytest.raises(SipParseError) as caught:
        parse_message(vector(name))
    partial = caught.value.partial
    assert isinstance(partial, Request)
    for field in ("Via", "From", "To", "Call-ID", "CSeq"):
        assert field in partial.headers, field


def test_a_refused_response_is_never_taken_for_a_request() -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(vector("bigcode"))
    assert caught.value.status == 400
    assert not isinstance(caught.value.partial, Request)


@pytest.mark.parametrize(
    "name", [n for n in NAMES if EXPECTED[n][0].stage != "parse" and n not in NO_BLANK_LINE]
)
def test_parsed_vectors_serialize_byte_exactly(name: str) -> None:
    data = vector(name)
    message = parse_message(data)
    expected = data[: len(data) - SPURIOUS_TAIL.get(name, 0)]
    assert message.to_bytes() == expected


def test_a_head_without_its_blank_line_gets_one_on_serialization() -> None:
    data = vector("baddn")
    assert parse_message(data).to_bytes() == data + b"\r\n"


# --- over a stream ---------------------------------------------------------------------------


def _feed(framer: StreamFramer, chunks: list[bytes]) -> list[object]:
    out: list[object] = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    return out


def _check_stream(name: str, chunks: list[bytes]) -> None:
    data = vector(name)
    expected = EXPECTED[name][1]
    framer = StreamFramer()
    if expected.error is not None:
        with pytest.raises(SipParseError) as caught:
            _feed(framer, chunks)
        assert caught.value.status == expected.error
        return
    messages = _feed(framer, chunks)
    assert PING not in messages
    assert len(messages) == expected.messages
    if expected.messages == 0:
        assert framer.buffered == len(data)  # waits for the rest
        return
    cuts = expected.cuts or ((0, len(data)),)
    assert messages == [data[start:end] for start, end in cuts]
    assert framer.buffered == expected.leftover
    if expected.cuts is None:
        # The framer cut exactly the datagram: the stream parse agrees with the datagram one.
        assert outcome_of(data, stream=True)[0] == EXPECTED[name][0]


@pytest.mark.parametrize("name", NAMES)
def test_vector_fed_one_byte_at_a_time(name: str) -> None:
    data = vector(name)
    _check_stream(name, [data[i : i + 1] for i in range(len(data))])


@pytest.mark.parametrize("name", NAMES)
def test_vector_fed_in_one_read(name: str) -> None:
    _check_stream(name, [vector(name)])


@pytest.mark.parametrize("name", NAMES)
def test_vector_fed_in_odd_sized_reads(name: str) -> None:
    data = vector(name)
    _check_stream(name, [data[i : i + 7] for i in range(0, len(data), 7)])


FRAMED_ALONE = [n for n in NAMES if EXPECTED[n][1] == ONE]


def test_every_framable_vector_concatenated_in_one_read() -> None:
    stream = b"".join(vector(name) for name in FRAMED_ALONE)
    framer = StreamFramer()
    messages = framer.feed(stream)
    assert messages == [vector(name) for name in FRAMED_ALONE]
    assert framer.buffered == 0


def test_every_framable_vector_concatenated_one_byte_at_a_time_with_keepalives() -> None:
    """RFC 5626 §4.4.1 double-CRLF pings between messages come out as pings, in order."""
    stream = b"".join(b"\r\n\r\n" + vector(name) for name in FRAMED_ALONE)
    framer = StreamFramer()
    out = _feed(framer, [stream[i : i + 1] for i in range(len(stream))])
    expected: list[object] = []
    for name in FRAMED_ALONE:
        expected += [PING, vector(name)]
    assert out == expected


@pytest.mark.parametrize("name", FRAMED_ALONE)
def test_vector_after_leading_crlf_keepalives(name: str) -> None:
    data = vector(name)
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n" + data) == [PING, data]
    # A datagram may start with CRLFs too (RFC 3261 §7.5): the outcome does not change.
    assert outcome_of(b"\r\n\r\n" + data)[0] == EXPECTED[name][0]


@pytest.mark.parametrize("name", FRAMED_ALONE)
def test_vector_followed_by_the_start_of_another(name: str) -> None:
    data = vector(name)
    framer = StreamFramer()
    assert framer.feed(data + b"OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/TCP") == [data]
    assert framer.buffered > 0


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("inv2543", "clerr", "baddn")])
def test_datagram_with_trailing_bytes(name: str) -> None:
    """Content-Length frames a datagram: bytes after the body are ignored (RFC 3261 §18.3)."""
    data = vector(name)
    outcome, message, _ = outcome_of(data + b"INVITE sip:noise@example.com SIP/2.0\r\n\r\n")
    assert outcome == EXPECTED[name][0]
    if message is not None and outcome.stage == "ok":
        assert message.to_bytes() == parse_message(data).to_bytes()


# --- what the vectors mean, field by field -----------------------------------------------------


def _request(name: str) -> Request:
    message = parse_message(vector(name))
    assert isinstance(message, Request)
    return message


def test_wsinv_folding_compact_forms_and_lws() -> None:
    request = _request("wsinv")
    assert request.method == "INVITE"
    assert request.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert request.cseq == (9, "INVITE")  # leading zeros, folded onto the next line
    assert request.headers.get("Max-Forwards") == "0068"
    assert request.to.tag == "1918181833n"
    assert request.from_.tag == "98asjd8"
    assert request.from_.display_name == '"J Rosenberg \\\\\\""'
    vias = request.vias
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert request.headers.get("Subject") == ""  # "s :" with an empty value
    assert request.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    contact = request.headers.values("Contact")
    assert len(contact) == 1
    assert contact[0].startswith('"Quoted string \\"\\"" <sip:jdrosen@example.com>')
    assert len(request.body) == 150


def test_esc01_user_part_is_unescaped_on_demand() -> None:
    request = _request("esc01")
    ruri = validate_request(request, KNOWN_METHODS)
    assert ruri.user_unescaped == "sips:user@example.com"
    assert ruri.host == "example.net"
    assert request.to.uri.user_unescaped == "user"
    assert request.from_.uri.user_unescaped == "I have spaces"


def test_escnull_keeps_both_contacts_and_the_nul() -> None:
    from sipfault.sip.address import parse_address

    request = _request("escnull")
    assert request.to.uri.user_unescaped == "null-\x00-null"  # not cut at the NUL
    contacts = [
        parse_address(value).uri.user_unescaped for value in request.headers.values("Contact")
    ]
    assert contacts == ["\x00", "\x00\x00"]


def test_esc02_method_and_header_names_are_not_unescaped() -> None:
    request = _request("esc02")
    assert request.method == "RE%47IST%45R"
    assert request.cseq == (29344, "RE%47IST%45R")
    assert len(request.headers.values("Contact")) == 2  # "C%6Fntact" is another header
    assert request.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_semiuri_user_part_holds_a_semicolon() -> None:
    uri = validate_request(_request("semiuri"), KNOWN_METHODS)
    assert uri.user == "user;par=u%40example.net"
    assert uri.user_unescaped == "user;par=u@example.net"
    assert uri.host == "example.com"


def test_longreq_reads_every_via() -> None:
    request = _request("longreq")
    assert len(request.vias) > 20
    assert all(via.host for via in request.vias)


def test_dblreq_is_the_register_only() -> None:
    request = _request("dblreq")
    assert request.method == "REGISTER"
    assert request.body == b""


def test_mpart01_body_framed_by_content_length() -> None:
    request = _request("mpart01")
    assert len(request.body) == 553
    assert b"\x00" in request.body
    assert request.body.endswith(b"--7a9cbec02ceef655--\r\n")


def test_unreason_and_noreason_reason_phrases() -> None:
    unreason = parse_message(vector("unreason"))
    assert isinstance(unreason, Response)
    assert unreason.status == 200
    start = vector("unreason").split(b"\r\n", 1)[0]
    assert unreason.reason == start[len(b"SIP/2.0 200 ") :].decode("utf-8")
    assert "\ufffd" not in unreason.reason  # valid UTF-8 throughout
    noreason = parse_message(vector("noreason"))
    assert isinstance(noreason, Response)
    assert (noreason.status, noreason.reason) == (100, "")


def test_scalarlg_fields_are_refused_when_read() -> None:
    response = parse_message(vector("scalarlg"))
    with pytest.raises(SipParseError):
        response.cseq  # noqa: B018


def test_transports_accepts_unknown_via_transports() -> None:
    vias = _request("transports").vias
    assert [via.transport for via in vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_cparam01_and_cparam02_place_the_unknown_parameter() -> None:
    from sipfault.sip.address import parse_address

    contact01 = parse_address(_request("cparam01").headers.values("Contact")[0])
    assert contact01.param("unknownparam") == ""  # a contact-param (no <>)
    assert contact01.uri.param("unknownparam") is None
    contact02 = parse_address(_request("cparam02").headers.values("Contact")[0])
    assert contact02.uri.param("unknownparam") == ""  # a uri-parameter (inside <>)
    assert contact02.param("unknownparam") is None


def test_regescrt_keeps_the_escaped_route_in_the_contact_uri() -> None:
    from sipfault.sip.address import parse_address

    contact = parse_address(_request("regescrt").headers.values("Contact")[0])
    assert contact.uri.headers == "Route=%3Csip:sip.example.com%3E"


def test_inv2543_without_content_length_takes_the_rest_of_the_datagram() -> None:
    request = _request("inv2543")
    assert request.body.startswith(b"v=0\r\n")
    assert len(request.body) == 105
    assert request.top_via.branch is None


def test_unknown_schemes_are_416_not_parse_errors() -> None:
    for name in ("unkscm", "novelsc"):
        with pytest.raises(SipParseError) as caught:
            validate_request(_request(name), KNOWN_METHODS)
        assert caught.value.status == 416
        assert caught.value.partial is not None
