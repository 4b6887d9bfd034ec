"""Header names, compact forms, list splitting and the Headers container (RFC 3261 §7.3)."""

from __future__ import annotations

import pytest

from sipfault.sip.errors import SipParseError
from sipfault.sip.headers import (
    COMPACT_FORMS,
    LIST_HEADERS,
    SINGLE_HEADERS,
    Header,
    Headers,
    canonical_name,
    header_key,
    split_list,
)

# RFC 3261 §7.3.3 and §20: the compact forms every SIP stack knows.
RFC3261_COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
}


@pytest.mark.parametrize(("short", "long"), sorted(RFC3261_COMPACT.items()))
def test_compact_forms_share_the_long_forms_key(short: str, long: str) -> None:
    assert COMPACT_FORMS[short] == long
    assert header_key(short) == header_key(short.upper()) == header_key(long) == long.lower()
    assert canonical_name(short) == long


def test_header_keys_are_case_insensitive() -> None:
    assert header_key("CALL-ID") == header_key("call-id") == header_key("Call-Id") == "call-id"
    assert header_key("X-Custom") == "x-custom"


def test_single_letter_names_that_are_no_compact_form_stay_themselves() -> None:
    assert header_key("q") == "q"
    assert header_key("Q") == "q"


def test_canonical_names() -> None:
    assert canonical_name("call-id") == "Call-ID"
    assert canonical_name("CSEQ") == "CSeq"
    assert canonical_name("www-authenticate") == "WWW-Authenticate"
    assert canonical_name("x-my-header") == "X-My-Header"


def test_list_and_single_headers_do_not_overlap() -> None:
    assert not LIST_HEADERS & SINGLE_HEADERS
    assert {"via", "contact", "route", "record-route", "allow", "supported"} <= LIST_HEADERS
    for name in ("authorization", "proxy-authorization", "www-authenticate", "date"):
        assert name not in LIST_HEADERS  # their values hold commas of their own


# --- split_list --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("a, b,c", ["a", "b", "c"]),
        ("single", ["single"]),
        ("", []),
        ("  ", []),
        ("a,,b, ,", ["a", "b"]),  # empty elements are dropped (RFC 2616 §2.1 #rule)
        ('"Smith, J" <sip:j@x>, <sip:k@x>', ['"Smith, J" <sip:j@x>', "<sip:k@x>"]),
        ("<sip:a@x;p=1,2>, <sip:b@x>", ["<sip:a@x;p=1,2>", "<sip:b@x>"]),
        ('"esc \\" , still" <sip:a@x>, b', ['"esc \\" , still" <sip:a@x>', "b"]),
        (
            "SIP/2.0/UDP a;branch=z9hG4bK1 , SIP/2.0/TCP b",
            ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/TCP b"],
        ),
    ],
)
def test_split_list(value: str, parts: list[str]) -> None:
    assert split_list(value) == parts


def test_split_list_refuses_an_unterminated_quote() -> None:
    with pytest.raises(SipParseError):
        split_list('"open, <sip:a@x>, b')


# --- Headers -----------------------------------------------------------------------------------


def make() -> Headers:
    return Headers(
        [
            ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2"),
            ("v", "SIP/2.0/TCP c;branch=z9hG4bK3"),
            ("To", "<sip:bob@example.com>"),
            ("Content-Length", "0"),
        ]
    )


def test_lookup_by_any_spelling() -> None:
    headers = make()
    assert "via" in headers
    assert "V" in headers
    assert "Route" not in headers
    assert 42 not in headers
    assert headers.get("t") == "<sip:bob@example.com>"
    assert headers.get("Route") is None
    assert headers.get("Route", "none") == "none"


def test_values_span_lines_and_commas_of_list_headers() -> None:
    headers = make()
    assert headers.count("Via") == 2
    assert headers.lines("v") == [
        "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
        "SIP/2.0/TCP c;branch=z9hG4bK3",
    ]
    assert headers.values("VIA") == [
        "SIP/2.0/UDP a;branch=z9hG4bK1",
        "SIP/2.0/UDP b;branch=z9hG4bK2",
        "SIP/2.0/TCP c;branch=z9hG4bK3",
    ]


def test_values_of_a_non_list_header_are_not_split() -> None:
    headers = Headers([("Subject", "a, b"), ("Date", "Sat, 13 Nov 2010 23:29:00 GMT")])
    assert headers.values("Subject") == ["a, b"]
    assert headers.values("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]


def test_add_set_remove_keep_wire_order() -> None:
    headers = make()
    headers.add("X-A", 1)
    assert headers.get("X-A") == "1"
    headers.set("VIA", "SIP/2.0/UDP z;branch=z9hG4bKz")
    assert [h.name for h in headers] == ["VIA", "To", "Content-Length", "X-A"]
    headers.set("Route", "<sip:r>")
    assert [h.name for h in headers][-1] == "Route"
    assert headers.remove("to") == 1
    assert headers.remove("to") == 0
    assert "To" not in headers
    assert len(headers) == 4


def test_insert_before() -> None:
    headers = make()
    headers.insert_before(("content-length",), "Allow", "INVITE")
    assert [h.key for h in headers] == ["via", "via", "to", "allow", "content-length"]
    headers.insert_before(("nothing",), "Supported", "")
    assert [h.key for h in headers][-1] == "supported"


def test_copy_is_independent() -> None:
    headers = make()
    clone = headers.copy()
    clone.add("X-B", "2")
    assert "X-B" not in headers
    assert len(clone) == len(headers) + 1


def test_serialization_uses_the_raw_bytes_of_parsed_fields() -> None:
    parsed = Header("cseq", "1 INVITE", b"cseq :   1\r\n  INVITE")
    built = Header("CSeq", "2 BYE")
    assert parsed.key == "cseq"
    assert parsed.to_bytes() == b"cseq :   1\r\n  INVITE"
    assert built.to_bytes() == b"CSeq: 2 BYE"
    assert Headers([parsed, built]).to_bytes() == b"cseq :   1\r\n  INVITE\r\nCSeq: 2 BYE\r\n"


def test_a_built_value_with_escaped_bytes_serializes_them_back() -> None:
    assert Header("X", "caf\udce9").to_bytes() == b"X: caf\xe9"


def test_repr_shows_the_fields() -> None:
    assert repr(Headers([("To", "x")])) == "Headers([('To', 'x')])"


def test_many_long_distinct_header_names_do_not_pin_memory() -> None:
    """Header keys are memoised, but not for names a peer can make 60 KB long."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(300):
            assert header_key(f"X-{n}-" + "A" * 60_000).startswith(f"x-{n}-a")
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 4 * 2**20, f"{retained / 2**20:.0f} MiB retained"
