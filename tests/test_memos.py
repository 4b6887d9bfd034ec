"""Every memo of the package stays within its bounds, whatever keys a peer sends, and
``clear_memos()`` empties them all (sipfault.sip.memo)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sipfault.core.offer_answer import answer_offer
from sipfault.core.required import may_need_fields
from sipfault.model.scenario import ResponseDefaults, SdpSettings
from sipfault.sip.address import parse_address
from sipfault.sip.headers import header_key
from sipfault.sip.memo import Memo, clear_memos, memoised, memos
from sipfault.sip.message import parse_cseq
from sipfault.sip.parser import parse_message
from sipfault.sip.sdp import parse_sdp
from sipfault.sip.uri import parse_uri
from sipfault.sip.via import parse_via
from tests.core.uas_harness import Harness, request, response


def _message(n: int) -> bytes:
    """A request whose Request-Line and every header line are new for each ``n``."""
    return (
        f"OPTIONS sip:u{n}@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP h{n}.example.com;branch=z9hG4bK-{n}\r\n"
        f"X-Line: {n}\r\n\r\n"
    ).encode()


def _offer(n: int) -> bytes:
    return (
        f"v=0\r\no=- {n} 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n"
    ).encode()


def _contact(n: int) -> None:
    """A 200 to an INVITE whose Request-URI names a new user: the Contact names it too."""
    harness = Harness.from_yaml("rules:\n  - match: {method: INVITE}\n    reply: [200]\n")
    sent = harness.feed(request(uri=f"sip:user{n}@127.0.0.1:5060"))
    assert f"user{n}@" in (response(sent, 200).headers.get("Contact") or "")


_DEFAULTS = ResponseDefaults()

# Memo name -> what fills it with the n-th distinct key, through the public code that uses it.
FILLERS: dict[str, Callable[[int], object]] = {
    "header keys": lambda n: header_key(f"X-Field-{n}"),
    "header lines": lambda n: parse_message(_message(n)),
    "header names": lambda n: parse_message(
        f"OPTIONS sip:u@example.com SIP/2.0\r\nX-Name-{n}: 1\r\n\r\n".encode()),
    "Request-Lines": lambda n: parse_message(_message(n)),
    "CSeq values": lambda n: parse_cseq(f"{n} INVITE"),
    "Via sent-by": lambda n: parse_via(f"SIP/2.0/UDP h{n}.example.com;branch=z9hG4bK-{n}"),
    "URIs": lambda n: parse_uri(f"sip:u{n}@example.com"),
    "addresses": lambda n: parse_address(f"<sip:u{n}@example.com>", "To"),
    "SDP descriptions": lambda n: parse_sdp(_offer(n)),
    "SDP answer plans": lambda n: answer_offer(_offer(n), SdpSettings()),
    "fields a code requires": lambda n: may_need_fields(405, f"M{n}", _DEFAULTS),
    "Contact values": _contact,
}


def _memo(name: str) -> Memo[object, object]:
    return next(memo for memo in memos() if memo.name == name)


def test_every_memo_of_the_package_is_tested() -> None:
    package = {memo.name for memo in memos()} - {"test"}
    assert package == set(FILLERS)


@pytest.mark.parametrize("name", sorted(FILLERS))
def test_a_memo_never_holds_more_than_its_bound(name: str) -> None:
    memo = _memo(name)
    fill = FILLERS[name]
    clear_memos()
    for n in range(memo.entries + 50):
        fill(n)
        assert len(memo) <= memo.entries
    assert len(memo) > 0  # the filler does reach this memo
    clear_memos()
    assert len(memo) == 0


def test_clear_memos_empties_every_memo() -> None:
    for name, fill in FILLERS.items():
        fill(1)
        assert len(_memo(name)) > 0, name
    clear_memos()
    assert [memo.name for memo in memos() if len(memo)] == []


def test_a_full_memo_is_emptied_before_it_takes_more() -> None:
    memo: Memo[str, int] = Memo("test", entries=3, longest=10, size=len)
    for n in range(3):
        memo.remember(str(n), n)
    assert (len(memo), memo.get("2")) == (3, 2)
    memo.remember("3", 3)
    assert (len(memo), memo.get("0"), memo.get("3")) == (1, None, 3)


def test_a_key_longer_than_the_bound_is_never_kept() -> None:
    memo: Memo[str, int] = Memo("test", entries=3, longest=4, size=len)
    memo.remember("abcde", 1)
    memo.remember("abcd", 2)
    assert (memo.get("abcde"), memo.get("abcd"), len(memo)) == (None, 2, 1)


def test_a_long_value_is_parsed_every_time_and_never_kept() -> None:
    before = len(_memo("URIs"))
    long_uri = "sip:" + "u" * 600 + "@example.com"
    assert parse_uri(long_uri).user == "u" * 600
    assert len(_memo("URIs")) == before


def test_a_memoised_parser_keeps_results_not_errors() -> None:
    calls: list[str] = []

    @memoised("test", entries=8, longest=16)
    def double(text: str) -> str:
        calls.append(text)
        if text == "bad":
            raise ValueError(text)
        return text * 2

    assert double("ab") == double("ab") == "abab"
    for _ in range(2):
        with pytest.raises(ValueError):
            double("bad")
    assert calls == ["ab", "bad", "bad"]
