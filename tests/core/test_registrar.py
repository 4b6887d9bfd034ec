"""The registrar (RFC 3261 §10.3) on a manual clock: bindings, expiry, ordering, wildcard,
423, the 200's listing and Date, the RFC 4475 REGISTER vectors, and the scenario's faults."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from sipfault.core.registrar import (
    MALFORMED_EXPIRES,
    Binding,
    Registrar,
    RegistrarAnswer,
    address_of_record,
)
from sipfault.model.scenario import (
    ForcedExpiry,
    RegistrarFailure,
    RegistrarSettings,
    ResponseDefaults,
)
from sipfault.sip.grammar import sip_date
from sipfault.sip.message import Request
from sipfault.sip.parser import parse_message
from sipfault.sip.uri import parse_uri

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc4475"  # RFC 4475 messages

# 2010-11-13 23:29:00 UTC, a Saturday.
WALL = 1289690940.0


def register(
    *contacts: str,
    to: str = "<sip:alice@Example.COM>",
    call_id: str = "reg-1",
    cseq: int = 1,
    expires: str | None = None,
) -> Request:
    """A REGISTER as a client would send it, parsed from its bytes."""
    lines = [
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK-reg",
        "Max-Forwards: 70",
        f"From: {to};tag=f1",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
    ]
    lines += [f"Contact: {contact}" for contact in contacts]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    lines.append("Content-Length: 0")
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def vector(name: str) -> Request:
    message = parse_message((VECTORS / f"{name}.dat").read_bytes())
    assert isinstance(message, Request)
    return message


def registrar(defaults: ResponseDefaults | None = None, **settings: Any) -> Registrar:
    """A registrar with these RegistrarSettings fields, the wall clock stopped at WALL."""
    return Registrar(
        RegistrarSettings(**settings),
        defaults or ResponseDefaults(),
        wall_clock=lambda: WALL,
    )


def contacts(answer: RegistrarAnswer) -> list[str]:
    return [value for name, value in answer.headers if name == "Contact"]


def header(answer: RegistrarAnswer, name: str) -> str | None:
    return next((value for key, value in answer.headers if key == name), None)


AOR = "sip:alice@example.com"
PHONE = "<sip:alice@192.0.2.4:5060>"
LAPTOP = "<sip:alice@192.0.2.5:5062;transport=tcp>"


# ------------------------------------------------------------------- address-of-record


def test_aor_is_canonical_scheme_user_host_port() -> None:
    uri = parse_uri("sip:Al%69ce:pw@Example.COM:5070;transport=tcp;user=phone?Subject=x")
    assert address_of_record(uri) == "sip:Alice@example.com:5070"
    assert address_of_record(parse_uri("sips:bob@EXAMPLE.org")) == "sips:bob@example.org"
    assert address_of_record(parse_uri("sip:example.com")) == "sip:example.com"
    assert address_of_record(parse_uri("tel:+15551234")) is None


def test_to_params_and_case_of_host_do_not_make_another_aor() -> None:
    reg = registrar()
    reg.handle(register(PHONE, to="<sip:alice@EXAMPLE.com;transport=udp>"), now=0.0)
    answer = reg.handle(register(to="<sip:al%69ce@example.com>", call_id="q"), now=1.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=3599"]
    assert list(reg.bindings(1.0)) == [AOR]


def test_non_sip_to_uri_is_400_invalid_aor_rfc4475_unksm2() -> None:
    reg = registrar()
    answer = reg.handle(vector("unksm2"), now=0.0)
    assert (answer.status, answer.reason) == (400, "Invalid address-of-record")
    assert reg.bindings(0.0) == {}


# ---------------------------------------------------------------------- binding rules


def test_register_binds_and_200_lists_binding_with_expires_and_date() -> None:
    reg = registrar()
    answer = reg.handle(register(PHONE), now=10.0)
    assert answer.status == 200 and answer.reason is None
    assert answer.headers == (
        ("Contact", "<sip:alice@192.0.2.4:5060>;expires=3600"),
        ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
    )
    [binding] = reg.bindings(10.0)[AOR]
    assert binding == Binding(
        aor=AOR, contact=PHONE, uri="sip:alice@192.0.2.4:5060", expires_at=3610.0,
        registered_at=10.0, call_id="reg-1", cseq=1, q=None,
    )


def test_several_contacts_per_aor_all_listed_with_their_own_expiry() -> None:
    reg = registrar()
    reg.handle(register(f"{PHONE};expires=600", call_id="phone"), now=0.0)
    answer = reg.handle(register(f"{LAPTOP};q=0.5", call_id="laptop", expires="1200"), now=100.0)
    assert contacts(answer) == [
        "<sip:alice@192.0.2.4:5060>;expires=500",
        "<sip:alice@192.0.2.5:5062;transport=tcp>;expires=1200;q=0.5",
    ]
    assert [b.uri for b in reg.bindings(100.0)[AOR]] == [
        "sip:alice@192.0.2.4:5060", "sip:alice@192.0.2.5:5062;transport=tcp",
    ]


def test_two_contacts_in_one_request() -> None:
    reg = registrar()
    answer = reg.handle(register(f"{PHONE};expires=120, {LAPTOP}", expires="300"), now=0.0)
    assert contacts(answer) == [
        "<sip:alice@192.0.2.4:5060>;expires=120",
        "<sip:alice@192.0.2.5:5062;transport=tcp>;expires=300",
    ]


def test_contact_expires_param_wins_over_expires_header() -> None:
    reg = registrar()
    answer = reg.handle(register(f"{PHONE};expires=120", expires="900"), now=0.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=120"]


def test_expires_header_used_when_contact_has_no_param() -> None:
    reg = registrar()
    answer = reg.handle(register(PHONE, expires="900"), now=0.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=900"]


def test_default_expires_when_neither_is_given() -> None:
    reg = registrar(default_expires=1800)
    answer = reg.handle(register(PHONE), now=0.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=1800"]


def test_expiry_is_clamped_to_max_expires() -> None:
    reg = registrar(max_expires=7200)
    answer = reg.handle(register(f"{PHONE};expires=99999"), now=0.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=7200"]
    assert reg.bindings(0.0)[AOR][0].expires_at == 7200.0


def test_expires_beyond_32_bits_is_clamped_not_refused() -> None:
    reg = registrar()
    answer = reg.handle(register(f"{PHONE};expires=99999999999999"), now=0.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=86400"]


def test_malformed_expires_param_stands_for_3600() -> None:
    reg = registrar(default_expires=60)
    answer = reg.handle(register(f"{PHONE};expires=soon"), now=0.0)
    assert contacts(answer) == [f"<sip:alice@192.0.2.4:5060>;expires={MALFORMED_EXPIRES}"]


def test_interval_too_brief_is_423_with_min_expires_and_changes_nothing() -> None:
    reg = registrar(ResponseDefaults(min_expires=300))
    reg.handle(register(f"{PHONE};expires=600", call_id="a"), now=0.0)
    answer = reg.handle(register(f"{LAPTOP};expires=3600", f"{PHONE};expires=299",
                                 call_id="a", cseq=2), now=1.0)
    assert answer == RegistrarAnswer(423, None, (("Min-Expires", "300"),))
    [binding] = reg.bindings(1.0)[AOR]  # the laptop was not added, the phone not refreshed
    assert (binding.uri, binding.cseq, binding.expires_at) == ("sip:alice@192.0.2.4:5060", 1, 600)


def test_423_comes_from_the_expires_header_too_and_the_minimum_itself_is_fine() -> None:
    reg = registrar(ResponseDefaults(min_expires=300))
    assert reg.handle(register(PHONE, expires="30"), now=0.0).status == 423
    answer = reg.handle(register(PHONE, expires="300", call_id="b"), now=0.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=300"]


def test_expires_zero_removes_that_binding_only() -> None:
    reg = registrar()
    reg.handle(register(PHONE, LAPTOP), now=0.0)
    answer = reg.handle(register(f"{PHONE};expires=0", cseq=2), now=5.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.5:5062;transport=tcp>;expires=3595"]
    answer = reg.handle(register(LAPTOP, expires="0", cseq=3), now=6.0)
    assert contacts(answer) == []
    assert reg.bindings(6.0) == {}
    assert reg.expire(10_000.0) == []  # removals by the client are not expiries


def test_expires_zero_for_an_unknown_contact_is_harmless() -> None:
    reg = registrar()
    reg.handle(register(PHONE), now=0.0)
    answer = reg.handle(register(LAPTOP, expires="0", cseq=2), now=1.0)
    assert answer.status == 200
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=3599"]


def test_refresh_with_higher_cseq_moves_the_expiry() -> None:
    reg = registrar()
    reg.handle(register(PHONE, expires="600"), now=0.0)
    answer = reg.handle(register(PHONE, expires="600", cseq=2), now=500.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=600"]
    [binding] = reg.bindings(500.0)[AOR]
    assert (binding.registered_at, binding.expires_at, binding.cseq) == (500.0, 1100.0, 2)


def test_contacts_are_the_same_binding_by_uri_equality_not_by_text() -> None:
    reg = registrar()
    reg.handle(register("<sip:alice@HOST.example.com;Transport=TCP>"), now=0.0)
    reg.handle(register('"Alice" <sip:%61lice@host.example.com;transport=tcp>;q=1', cseq=2),
               now=1.0)
    [binding] = reg.bindings(1.0)[AOR]
    assert binding.contact == '"Alice" <sip:%61lice@host.example.com;transport=tcp>;q=1'
    # The port, the user's case and an extra parameter each make another binding.
    reg.handle(register("<sip:alice@host.example.com:5060;transport=tcp>", cseq=3), now=2.0)
    reg.handle(register("<sip:Alice@host.example.com;transport=tcp>", cseq=4), now=3.0)
    reg.handle(register("<sip:alice@host.example.com;transport=tcp;lr>", cseq=5), now=4.0)
    assert len(reg.bindings(4.0)[AOR]) == 4


def test_binding_contact_is_the_value_as_sent_without_expires() -> None:
    reg = registrar()
    reg.handle(register('"A" <sip:alice@192.0.2.4>;q=0.7;expires=600;+sip.instance="<urn:x>"'),
               now=0.0)
    [binding] = reg.bindings(0.0)[AOR]
    assert binding.contact == '"A" <sip:alice@192.0.2.4>;q=0.7;+sip.instance="<urn:x>"'
    assert binding.q == "0.7"


# --------------------------------------------------------------- §10.3 step 7 ordering


def test_same_call_id_with_cseq_not_higher_is_refused_and_changes_nothing() -> None:
    reg = registrar()
    reg.handle(register(PHONE, expires="600", cseq=5), now=0.0)
    for cseq in (5, 4):
        answer = reg.handle(register(PHONE, LAPTOP, expires="900", cseq=cseq), now=10.0)
        assert (answer.status, answer.reason) == (500, "Request Out Of Order")
    [binding] = reg.bindings(10.0)[AOR]
    assert (binding.cseq, binding.expires_at) == (5, 600.0)


def test_out_of_order_removal_is_refused_too() -> None:
    reg = registrar()
    reg.handle(register(PHONE, cseq=5), now=0.0)
    assert reg.handle(register(PHONE, expires="0", cseq=3), now=1.0).status == 500
    assert len(reg.bindings(1.0)[AOR]) == 1


def test_a_new_call_id_replaces_the_binding_whatever_its_cseq() -> None:
    reg = registrar()
    reg.handle(register(PHONE, call_id="boot-1", cseq=50), now=0.0)
    answer = reg.handle(register(PHONE, call_id="boot-2", cseq=1, expires="120"), now=30.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=120"]
    [binding] = reg.bindings(30.0)[AOR]
    assert (binding.call_id, binding.cseq, binding.registered_at) == ("boot-2", 1, 30.0)


# ------------------------------------------------------------------------ wildcard


def test_wildcard_with_expires_zero_removes_every_binding_of_the_aor() -> None:
    reg = registrar()
    reg.handle(register(PHONE, LAPTOP, call_id="a"), now=0.0)
    reg.handle(register(PHONE, to="<sip:bob@example.com>", call_id="b"), now=0.0)
    answer = reg.handle(register("*", expires="0", call_id="c"), now=1.0)
    assert answer.status == 200 and contacts(answer) == []
    assert list(reg.bindings(1.0)) == ["sip:bob@example.com"]


@pytest.mark.parametrize(
    ("contact_values", "expires", "reason"),
    [
        (("*", PHONE), "0", "Contact * must be the only Contact"),
        (("*",), None, "Contact * requires Expires: 0"),
        (("*",), "60", "Contact * with non-zero Expires"),
        (("*",), "zero", "Contact * with non-zero Expires"),
    ],
)
def test_wildcard_misuse_is_400_naming_the_defect(
    contact_values: tuple[str, ...], expires: str | None, reason: str
) -> None:
    reg = registrar()
    reg.handle(register(PHONE, call_id="a"), now=0.0)
    answer = reg.handle(register(*contact_values, expires=expires, call_id="b"), now=1.0)
    assert (answer.status, answer.reason) == (400, reason)
    assert len(reg.bindings(1.0)[AOR]) == 1


def test_wildcard_obeys_ordering_for_its_own_call_id() -> None:
    reg = registrar()
    reg.handle(register(PHONE, cseq=7), now=0.0)
    assert reg.handle(register("*", expires="0", cseq=7), now=1.0).status == 500
    assert len(reg.bindings(1.0)[AOR]) == 1
    assert reg.handle(register("*", expires="0", cseq=8), now=1.0).status == 200
    assert reg.bindings(1.0) == {}


# --------------------------------------------------------------------------- query


def test_register_without_contact_is_a_query_that_changes_nothing() -> None:
    reg = registrar()
    reg.handle(register(PHONE, expires="600", cseq=9), now=0.0)
    answer = reg.handle(register(cseq=1), now=60.0)  # a query is not subject to ordering
    assert answer.status == 200
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=540"]
    assert header(answer, "Date") == "Sat, 13 Nov 2010 23:29:00 GMT"
    assert reg.bindings(60.0)[AOR][0].cseq == 9


def test_query_for_an_unknown_aor_is_200_without_contact() -> None:
    answer = registrar().handle(register(), now=0.0)
    assert answer == RegistrarAnswer(200, None, (("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),))


def test_malformed_contact_is_400_naming_the_defect() -> None:
    reg = registrar()
    answer = reg.handle(register("<sip:alice@192.0.2.4"), now=0.0)
    assert answer.status == 400
    assert answer.reason is not None and "Contact" in answer.reason
    assert reg.bindings(0.0) == {}


# -------------------------------------------------------------------------- Date


def test_date_is_rfc1123_gmt_from_the_wall_clock() -> None:
    assert sip_date(0.0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert sip_date(WALL) == "Sat, 13 Nov 2010 23:29:00 GMT"
    assert sip_date(1_700_000_005.9) == "Tue, 14 Nov 2023 22:13:25 GMT"
    clock = iter([1_000_000_000.0, 1_000_086_400.0])
    reg = Registrar(RegistrarSettings(), ResponseDefaults(), wall_clock=lambda: next(clock))
    first = header(reg.handle(register(PHONE), now=0.0), "Date")
    second = header(reg.handle(register(), now=0.0), "Date")
    assert first == "Sun, 09 Sep 2001 01:46:40 GMT"
    assert second == "Mon, 10 Sep 2001 01:46:40 GMT"
    date_re = r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"
    assert second is not None and re.fullmatch(date_re, second)
    assert parsedate_to_datetime(second).timestamp() == 1_000_086_400.0


# ------------------------------------------------------------------- expiry on the clock


def test_bindings_expire_on_the_clock() -> None:
    reg = registrar()
    reg.handle(register(f"{PHONE};expires=60", f"{LAPTOP};expires=120"), now=0.0)
    assert reg.next_deadline() == 60.0
    assert contacts(reg.handle(register(call_id="q"), now=59.5)) == [
        "<sip:alice@192.0.2.4:5060>;expires=1",
        "<sip:alice@192.0.2.5:5062;transport=tcp>;expires=61",
    ]
    assert reg.expire(59.9) == []
    [gone] = reg.expire(60.0)
    assert gone.uri == "sip:alice@192.0.2.4:5060"
    assert reg.expire(60.0) == []  # handed out once
    assert reg.next_deadline() == 120.0
    assert [b.uri for b in reg.bindings(60.0)[AOR]] == ["sip:alice@192.0.2.5:5062;transport=tcp"]
    assert reg.bindings(120.0) == {}
    assert [b.uri for b in reg.expire(121.0)] == ["sip:alice@192.0.2.5:5062;transport=tcp"]
    assert reg.next_deadline() is None


def test_an_expired_binding_is_gone_for_handle_and_still_handed_out_by_expire() -> None:
    reg = registrar()
    reg.handle(register(PHONE, expires="60", cseq=5), now=0.0)
    # The expired binding no longer guards its Call-ID/CSeq: a low CSeq registers anew.
    answer = reg.handle(register(PHONE, expires="60", cseq=1), now=61.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=60"]
    [lapsed] = reg.expire(61.0)
    assert (lapsed.cseq, lapsed.expires_at) == (5, 60.0)
    assert reg.bindings(61.0)[AOR][0].cseq == 1


def test_remaining_rounds_up_and_never_goes_negative() -> None:
    binding = Binding(AOR, PHONE, "sip:a@b", expires_at=3600.1, registered_at=0.1,
                      call_id="c", cseq=1, q=None)
    assert binding.remaining(0.1) == 3600
    assert binding.remaining(3599.2) == 1
    assert binding.remaining(4000.0) == 0


# --------------------------------------------------------------------------- faults


def test_failures_answer_the_first_registers_in_list_order() -> None:
    reg = registrar(failures=(
        RegistrarFailure(count=2, code=503, headers=(("Retry-After", "10"),)),
        RegistrarFailure(count=1, code=500, reason="Database Down"),
    ))
    answers = [reg.handle(register(PHONE, cseq=n), now=float(n)) for n in range(1, 5)]
    assert answers[0] == RegistrarAnswer(503, None, (("Retry-After", "10"),))
    assert answers[1] == answers[0]
    assert answers[2] == RegistrarAnswer(500, "Database Down", ())
    assert answers[3].status == 200
    assert reg.registers_seen == 4
    [binding] = reg.bindings(4.0)[AOR]
    assert binding.cseq == 4  # the refused REGISTERs bound nothing


def test_failures_count_every_register_whoever_sends_it() -> None:
    reg = registrar(failures=(RegistrarFailure(count=1, code=408),))
    assert reg.handle(register(PHONE, to="<sip:bob@example.com>"), now=0.0).status == 408
    assert reg.handle(register(PHONE), now=0.0).status == 200


def test_grant_expires_grants_the_shorter_of_asked_and_granted() -> None:
    reg = registrar(grant_expires=120)
    assert contacts(reg.handle(register(PHONE, expires="3600"), now=0.0)) == [
        "<sip:alice@192.0.2.4:5060>;expires=120"
    ]
    assert contacts(reg.handle(register(PHONE, expires="90", cseq=2), now=0.0)) == [
        "<sip:alice@192.0.2.4:5060>;expires=90"
    ]
    assert contacts(reg.handle(register(PHONE, cseq=3), now=0.0)) == [  # default 3600 asked
        "<sip:alice@192.0.2.4:5060>;expires=120"
    ]
    assert reg.expire(120.0)[0].uri == "sip:alice@192.0.2.4:5060"


def test_forced_expiry_drops_a_binding_behind_the_clients_back() -> None:
    reg = registrar(forced_expiry=(ForcedExpiry(after=30.0),))
    answer = reg.handle(register(PHONE, expires="3600"), now=100.0)
    assert contacts(answer) == ["<sip:alice@192.0.2.4:5060>;expires=3600"]  # client not told
    assert reg.next_deadline() == 130.0
    assert len(reg.bindings(129.0)[AOR]) == 1
    assert reg.bindings(130.0) == {}
    [dropped] = reg.expire(130.0)
    assert dropped.expires_at == 3700.0 and dropped.expires_at > 130.0  # forced, not expired
    assert contacts(reg.handle(register(call_id="q"), now=131.0)) == []


def test_forced_expiry_counts_from_each_refresh() -> None:
    reg = registrar(forced_expiry=(ForcedExpiry(after=30.0),))
    reg.handle(register(PHONE), now=0.0)
    reg.handle(register(PHONE, cseq=2), now=20.0)
    assert len(reg.bindings(45.0)[AOR]) == 1
    assert reg.bindings(50.0) == {}


def test_forced_expiry_only_for_matching_aor_users_shortest_after_wins() -> None:
    reg = registrar(forced_expiry=(
        ForcedExpiry(after=60.0, aor_user=re.compile("print.*")),
        ForcedExpiry(after=10.0, aor_user=re.compile("printer")),
        ForcedExpiry(after=5.0, aor_user=re.compile("print")),  # fullmatch: not "printer"
    ))
    reg.handle(register(PHONE, to="<sip:printer@example.com>"), now=0.0)
    reg.handle(register(PHONE, to="<sip:printer2@example.com>"), now=0.0)
    reg.handle(register(PHONE), now=0.0)
    assert set(reg.bindings(9.0)) == {"sip:printer@example.com", "sip:printer2@example.com", AOR}
    assert set(reg.bindings(10.0)) == {"sip:printer2@example.com", AOR}
    assert set(reg.bindings(60.0)) == {AOR}
    assert [b.aor for b in reg.expire(60.0)] == ["sip:printer@example.com",
                                                "sip:printer2@example.com"]


def test_forced_expiry_longer_than_the_grant_changes_nothing() -> None:
    reg = registrar(forced_expiry=(ForcedExpiry(after=500.0),))
    reg.handle(register(PHONE, expires="100"), now=0.0)
    assert reg.next_deadline() == 100.0
    [gone] = reg.expire(100.0)
    assert gone.expires_at == 100.0


# ----------------------------------------------------------------- RFC 4475 vectors


def test_rfc4475_escnull_two_distinct_contacts_and_the_aor_not_truncated() -> None:
    reg = registrar()
    answer = reg.handle(vector("escnull"), now=0.0)
    assert answer.status == 200
    assert contacts(answer) == [
        "<sip:%00@host5.example.com>;expires=3600",
        "<sip:%00%00@host5.example.com>;expires=3600",
    ]
    assert list(reg.bindings(0.0)) == ["sip:null-\x00-null@example.com"]


def test_rfc4475_cparam01_unknownparam_is_a_contact_param() -> None:
    reg = registrar()
    answer = reg.handle(vector("cparam01"), now=0.0)
    assert answer.status == 200
    assert contacts(answer) == ["<sip:+19725552222@gw1.example.net>;expires=3600"]
    [binding] = reg.bindings(0.0)["sip:watson@example.com"]
    assert binding.uri == "sip:+19725552222@gw1.example.net"
    assert binding.contact == "sip:+19725552222@gw1.example.net;unknownparam"


def test_rfc4475_cparam02_unknownparam_is_a_uri_param() -> None:
    reg = registrar()
    answer = reg.handle(vector("cparam02"), now=0.0)
    assert answer.status == 200
    assert contacts(answer) == ["<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600"]
    [binding] = reg.bindings(0.0)["sip:watson@example.com"]
    assert binding.uri == "sip:+19725552222@gw1.example.net;unknownparam"


def test_rfc4475_cparam01_and_cparam02_are_different_bindings() -> None:
    reg = registrar()
    reg.handle(vector("cparam01"), now=0.0)
    reg.handle(vector("cparam02"), now=0.0)
    assert len(reg.bindings(0.0)["sip:watson@example.com"]) == 2


def test_rfc4475_regescrt_escaped_route_kept_in_the_contact_uri() -> None:
    reg = registrar()
    answer = reg.handle(vector("regescrt"), now=0.0)
    assert answer.status == 200
    assert contacts(answer) == [
        "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600"
    ]
