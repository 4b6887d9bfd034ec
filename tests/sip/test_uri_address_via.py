"""URIs, name-addr / addr-spec, Via and generic parameters (RFC 3261 §19.1, §20, §25.1;
RFC 3581 rport; RFC 5118 IPv6 references)."""

from __future__ import annotations

import pytest

from sipfault.sip.address import parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.params import format_params, get_param, has_param, parse_params, set_param
from sipfault.sip.uri import format_sip_uri, parse_uri
from sipfault.sip.via import MAGIC_COOKIE, parse_via

# --- URIs --------------------------------------------------------------------------------------


def test_a_full_sip_uri() -> None:
    uri = parse_uri("sip:alice:secret@atlanta.example.com:5070;transport=tcp;lr?subject=x&h=y")
    assert uri.is_sip
    assert (uri.scheme, uri.user, uri.password) == ("sip", "alice", "secret")
    assert (uri.host, uri.port) == ("atlanta.example.com", 5070)
    assert uri.params == (("transport", "tcp"), ("lr", None))
    assert uri.param("TRANSPORT") == "tcp"
    assert uri.param("lr") == ""
    assert uri.param("maddr") is None
    assert uri.headers == "subject=x&h=y"
    assert str(uri) == uri.text


def test_scheme_is_case_insensitive_and_the_text_is_kept() -> None:
    uri = parse_uri("SIPS:Bob@Biloxi.Example.COM")
    assert uri.scheme == "sips"
    assert uri.is_sip
    assert uri.text == "SIPS:Bob@Biloxi.Example.COM"


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("sip:alice@[2001:db8::10]", "[2001:db8::10]", None),
        ("sip:alice@[2001:db8::10]:5070", "[2001:db8::10]", 5070),
        ("sip:[::1]:5060;transport=udp", "[::1]", 5060),
        ("sip:bob@[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]", None),
        ("sip:192.0.2.1:5060", "192.0.2.1", 5060),
        ("sip:example.com", "example.com", None),
    ],
)
def test_hosts_ipv4_and_ipv6_references(text: str, host: str, port: int | None) -> None:
    uri = parse_uri(text)
    assert (uri.host, uri.port) == (host, port)


def test_userinfo_ends_at_the_last_at_sign() -> None:
    """RFC 4475 §3.1.1.9: the user part may hold ``;`` and escaped ``@``."""
    uri = parse_uri("sip:user;par=u%40example.net@example.com")
    assert uri.user == "user;par=u%40example.net"
    assert uri.user_unescaped == "user;par=u@example.net"
    assert uri.host == "example.com"
    assert uri.params == ()


def test_escaped_user_is_decoded_on_demand() -> None:
    uri = parse_uri("sip:%61lice%20b@example.com")
    assert uri.user == "%61lice%20b"
    assert uri.user_unescaped == "alice b"
    assert parse_uri("sip:example.com").user_unescaped == ""


def test_other_schemes_are_kept_opaque_for_a_416() -> None:
    tel = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert (tel.scheme, tel.user, tel.is_sip) == ("tel", "+1-201-555-0123", False)
    other = parse_uri("soap.beep://192.0.2.103:3002")
    assert (other.scheme, other.opaque, other.host) == ("soap.beep", "//192.0.2.103:3002", "")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.com",
        "sip:",
        "sip:@example.com",  # empty user
        "sip:a@",
        "sip:a@b c",  # LWS inside (RFC 4475 §3.1.2.8)
        "sip:a@<b>",
        'sip:a@b;x="q"',
        "sip:a@b:70000",  # port out of range
        "sip:a@b:5060:1",
        "sip:a@[2001:db8::1",  # unclosed IPv6 reference
        "sip:a@b;;lr",  # empty parameter (RFC 4475 §3.1.2.1)
        "1sip:a@b",
    ],
)
def test_malformed_uris(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_format_sip_uri_brackets_ipv6_hosts() -> None:
    assert format_sip_uri("::1", 5060, "alice") == "sip:alice@[::1]:5060"
    assert format_sip_uri("[::1]") == "sip:[::1]"
    assert format_sip_uri("192.0.2.1", None, None, (("transport", "tcp"),)) == (
        "sip:192.0.2.1;transport=tcp"
    )
    assert format_sip_uri("example.com", scheme="sips") == "sips:example.com"
    assert parse_uri(format_sip_uri("2001:db8::1", 5070, "bob")).host == "[2001:db8::1]"


# --- name-addr and addr-spec --------------------------------------------------------------------


def test_name_addr_with_quoted_display_name_and_parameters() -> None:
    address = parse_address('"Alice \\"A\\" Liddell" <sip:alice@example.com;lr>;tag=88sja8x;q=0.5')
    assert address.display_name == '"Alice \\"A\\" Liddell"'
    assert address.uri.user == "alice"
    assert address.uri.param("lr") == ""
    assert address.tag == "88sja8x"
    assert address.param("q") == "0.5"
    assert address.bracketed


def test_name_addr_with_token_display_name_and_no_space() -> None:
    """RFC 4475 §3.1.1.6: no LWS is needed between the display name and ``<``."""
    address = parse_address("Bob Smith<sip:bob@example.com>")
    assert address.display_name == "Bob Smith"
    assert address.uri.host == "example.com"


def test_addr_spec_parameters_belong_to_the_header() -> None:
    """RFC 3261 §20.10 / RFC 4475 §3.3.12: without ``<>`` the parameters are header params."""
    address = parse_address("sip:+19725552222@gw1.example.net;unknownparam;tag=9")
    assert not address.bracketed
    assert address.uri.params == ()
    assert address.param("unknownparam") == ""
    assert address.tag == "9"


def test_ipv6_in_a_name_addr() -> None:
    address = parse_address("<sip:alice@[2001:db8::1]:5070;transport=tcp>;expires=60")
    assert (address.uri.host, address.uri.port) == ("[2001:db8::1]", 5070)
    assert address.param("expires") == "60"


def test_whitespace_around_parameter_equals() -> None:
    address = parse_address("<sip:b@example.com> ;  tag  =  5 ; q = 0.33")
    assert address.tag == "5"
    assert address.param("q") == "0.33"


def test_tag_absent_or_empty() -> None:
    assert parse_address("<sip:b@example.com>").tag is None
    assert parse_address("<sip:b@example.com>;tag").tag is None


def test_non_sip_uris_in_name_addr() -> None:
    address = parse_address("<http://www.example.com>;tag=3234233")
    assert address.uri.scheme == "http"
    assert address.tag == "3234233"


def test_with_param_and_str() -> None:
    address = parse_address("sip:bob@example.com")
    tagged = address.with_param("tag", "abc")
    assert str(tagged) == "<sip:bob@example.com>;tag=abc"
    assert address.tag is None  # frozen: the original is unchanged
    retagged = parse_address(str(tagged)).with_param("TAG", "xyz")
    assert retagged.tag == "xyz"
    assert str(parse_address('"A" <sip:a@x>;q=1')) == '"A" <sip:a@x>;q=1'


@pytest.mark.parametrize(
    "value",
    [
        '"unterminated <sip:bob@example.com>',  # RFC 4475 §3.1.2.6
        "Bell, Alexander <sip:a.g.bell@example.com>",  # RFC 4475 §3.1.2.15
        "<sip:bob@example.com",
        "< sip:bob@example.com >",  # RFC 4475 §3.1.2.14
        "<>",
        '"Bob" sip:bob@example.com',
        "sip:bob@example.com?Route=%3Csip:x%3E",  # RFC 4475 §3.1.2.13
        "<sip:bob@example.com>;tag=1;;x",
        "<sip:bob@example.com> junk",
    ],
)
def test_malformed_addresses(value: str) -> None:
    with pytest.raises(SipParseError) as caught:
        parse_address(value, "To")
    assert caught.value.reason.startswith("Malformed")


# --- Via ---------------------------------------------------------------------------------------


def test_via_with_branch_received_and_rport() -> None:
    via = parse_via(
        "SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.4"
        ";rport=5067"
    )
    assert (via.protocol, via.transport) == ("SIP/2.0", "UDP")
    assert (via.host, via.port) == ("pc33.atlanta.example.com", 5066)
    assert via.branch == "z9hG4bK776asdhds"
    assert via.branch.startswith(MAGIC_COOKIE)
    assert get_param(via.params, "received") == "192.0.2.4"
    assert get_param(via.params, "rport") == "5067"
    assert via.has_rport


def test_rport_without_a_value_asks_for_symmetric_routing() -> None:
    """RFC 3581 §3."""
    via = parse_via("SIP/2.0/TCP client.example.com;rport;branch=z9hG4bKx")
    assert via.has_rport
    assert get_param(via.params, "rport") == ""
    filled = via.with_param("rport", "40123").with_param("received", "192.0.2.7")
    assert str(filled) == (
        "SIP/2.0/TCP client.example.com;rport=40123;branch=z9hG4bKx;received=192.0.2.7"
    )
    assert not parse_via("SIP/2.0/UDP h").has_rport


@pytest.mark.parametrize(
    ("value", "host", "port"),
    [
        ("SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bK1", "[2001:db8::9:1]", 5060),
        ("SIP/2.0/TLS [::1];branch=z9hG4bK1;received=::1", "[::1]", None),
        ("SIP/2.0/UDP 192.0.2.1:5060", "192.0.2.1", 5060),
    ],
)
def test_via_sent_by_ipv6_and_ipv4(value: str, host: str, port: int | None) -> None:
    via = parse_via(value)
    assert (via.host, via.port) == (host, port)


def test_via_allows_lws_around_slashes_colons_and_semicolons() -> None:
    """RFC 4475 §3.1.1.1."""
    via = parse_via("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2 : 5060 ;  branch  =  z9hG4bK9ikj8")
    assert (via.protocol, via.transport) == ("SIP/2.0", "UDP")
    assert (via.host, via.port) == ("192.0.2.2", 5060)
    assert via.branch == "z9hG4bK9ikj8"


def test_via_transport_is_upper_cased_and_extensions_are_kept() -> None:
    assert parse_via("sip/2.0/udp h").transport == "UDP"
    assert parse_via("SIP/2.0/UNKNOWN t4.example.com").transport == "UNKNOWN"
    assert parse_via("SIP/2.0/SCTP h;maddr=224.2.0.1;ttl=16").params == (
        ("maddr", "224.2.0.1"),
        ("ttl", "16"),
    )


def test_rfc_2543_via_without_branch() -> None:
    via = parse_via("SIP/2.0/UDP iftgw.example.com")
    assert via.branch is None
    assert str(via) == "SIP/2.0/UDP iftgw.example.com"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "SIP/2.0/UDP",
        "SIP/2.0 host",
        "SIP/2.0/UDP h:70000",
        "SIP/2.0/UDP h:port",
        "SIP/2.0/UDP h;;branch=z9hG4bK1",  # RFC 4475 §3.1.2.1
        "SIP/2.0/UDP h;branch=",
        "SIP/2.0/UDP [2001:db8::1",
        "SIP/2.0/UDP h extra",
    ],
)
def test_malformed_vias(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_via(value)


# --- generic parameters --------------------------------------------------------------------------


def test_parse_params_keeps_order_case_and_quotes() -> None:
    params = parse_params(';Tag=1;lr;x="a;b";maddr=[2001:db8::1]', "test")
    assert params == (("Tag", "1"), ("lr", None), ("x", '"a;b"'), ("maddr", "[2001:db8::1]"))
    assert get_param(params, "tag") == "1"
    assert get_param(params, "x") == "a;b"
    assert get_param(params, "LR") == ""
    assert get_param(params, "missing") is None
    assert has_param(params, "LR")
    assert not has_param(params, "missing")
    assert format_params(params) == ';Tag=1;lr;x="a;b";maddr=[2001:db8::1]'


def test_parse_params_of_nothing() -> None:
    assert parse_params("", "test") == ()
    assert parse_params("   ", "test") == ()


@pytest.mark.parametrize("text", ["tag=1", ";;", ";=1", ";a b", ';x="open', ";a=1 2"])
def test_malformed_params(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_params(text, "test")


def test_set_param_replaces_in_place_or_appends() -> None:
    params = parse_params(";a=1;B=2;b=3", "test")
    assert set_param(params, "b", "9") == (("a", "1"), ("B", "9"))
    assert set_param(params, "c", None) == (("a", "1"), ("B", "2"), ("b", "3"), ("c", None))


# --- caching ------------------------------------------------------------------------------------


def test_parsing_many_long_distinct_values_does_not_pin_memory() -> None:
    """Parses are cached for speed, but a peer sending distinct 60 KB values (a message may be
    64 KiB) must not make the cache hold them: 4096 such values once held 700 MiB."""
    import gc
    import tracemalloc

    padding = "a" * 60_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(300):
            parse_address(f"<sip:u{n}@example.com;x={padding}>", "To")
            parse_uri(f"sip:u{n}@example.com;x={padding}")
            parse_via(f"SIP/2.0/UDP h{n}.example.com;x={padding}")
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 8 * 2**20, f"{retained / 2**20:.0f} MiB retained"


def test_cached_parses_still_raise_for_each_call() -> None:
    for _ in range(2):
        with pytest.raises(SipParseError):
            parse_address("<sip:bob@example.com", "To")
        with pytest.raises(SipParseError):
            parse_via("SIP/2.0/UDP")
