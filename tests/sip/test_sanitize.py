"""Nothing a client sent goes back out as a control character (RFC 3261 §7.2, §25.1)."""

from __future__ import annotations

import pytest

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request
from sipfault.sip.parser import parse_message
from sipfault.sip.sanitize import control_character, safe_reason, safe_value
from sipfault.sip.uri import parse_uri
from sipfault.sip.validate import check_request


def test_reason_phrases_are_printable_ascii() -> None:
    assert safe_reason("Missing Call-ID") == "Missing Call-ID"
    assert safe_reason("Malformed URI 'sip:§@'") == "Malformed URI 'sip:%C2%A7@'"
    assert safe_reason("a\r\nX-Injected: 1") == "a%0D%0AX-Injected: 1"
    assert safe_reason("nul\x00 bel\x07 del\x7f tab\t") == "nul%00 bel%07 del%7F tab%09"
    assert safe_reason("raw \udcff byte") == "raw %FF byte"  # surrogateescape'd input


def test_values_keep_utf8_and_escape_control_characters() -> None:
    assert safe_value('"Zoë" <sip:zoe@example.com>') == '"Zoë" <sip:zoe@example.com>'
    assert safe_value("abc\x00def\rghi\x07") == "abc%00def%0Dghi%07"
    assert safe_value("SIP/2.0/UDP\thost") == "SIP/2.0/UDP\thost"  # HTAB is whitespace
    assert safe_value("Occupé") == "Occupé"


def test_control_character_names_the_first_one_the_grammar_refuses() -> None:
    assert control_character("plain") is None
    assert control_character("Zoë\t") is None
    assert control_character("a\x07b") == "0x07"
    assert control_character("lone\rcr") == "0x0D"
    # quoted-pair may escape any control character but CR and LF (RFC 4475 §3.1.1.2)
    assert control_character('"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f"') is None
    assert control_character('"\\\r"') == "0x0D"


def test_every_parse_error_reason_is_ascii() -> None:
    with pytest.raises(SipParseError) as caught:
        parse_uri("sip:§@[nope")
    assert caught.value.reason.isascii() and "%C2%A7" in caught.value.reason
    with pytest.raises(SipParseError) as caught:
        parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                      b"Bad\xc2\xa7Name: 1\r\n\r\n")
    assert caught.value.reason.isascii() and caught.value.reason.isprintable()


def request_with(field: str, value: str) -> Request:
    head = {
        "Via": "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c;rport",
        "From": "<sip:a@127.0.0.1>;tag=f",
        "To": "<sip:b@127.0.0.1>",
        "Call-ID": "ctl-1",
        "CSeq": "1 OPTIONS",
    }
    head[field] = value
    text = "OPTIONS sip:b@127.0.0.1 SIP/2.0\r\n" + "".join(
        f"{name}: {line}\r\n" for name, line in head.items()) + "Content-Length: 0\r\n\r\n"
    message = parse_message(text.encode("utf-8", "surrogateescape"))
    assert isinstance(message, Request)
    return message


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("Call-ID", "ctl\x00nul", "Control character 0x00 in Call-ID"),
        ("From", '"Al\x07ice" <sip:a@127.0.0.1>;tag=f', "Control character 0x07 in From"),
        ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK\rx", "Control character 0x0D in Via"),
        ("CSeq", "1 OPTIONS\x7f", "Control character 0x7F in CSeq"),
        ("To", "<sip:b@127.0.0.1>;x=\x1b", "Control character 0x1B in To"),
    ],
)
def test_a_control_character_in_an_echoed_field_is_a_400_naming_it(
    field: str, value: str, reason: str
) -> None:
    with pytest.raises(SipParseError) as caught:
        check_request(request_with(field, value), KNOWN_METHODS)
    assert (caught.value.status, caught.value.reason) == (400, reason)


def test_utf8_in_values_is_legal_and_accepted() -> None:
    checked = check_request(request_with("From", '"Zoë 李" <sip:a@127.0.0.1>;tag=f'),
                            KNOWN_METHODS)
    assert checked.from_.display_name is not None and "李" in checked.from_.display_name
