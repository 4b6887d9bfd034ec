"""The FoIP scenario pack (scenarios/foip/): each file loads cleanly, teaches in its comments,
is listed in the pack's README and in docs/scenarios.md, and does what the README says, played
on the sans-I/O core with a manual clock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sipfault.core.events import RequestOutcome
from sipfault.scenario import check_scenario_file, load_scenario
from sipfault.sip.message import Request
from sipfault.sip.sdp import parse_sdp
from tests.core.far_end import T38_ANSWER, reply_to, requests_of
from tests.core.uas_harness import OFFER, Harness, request, response, statuses

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "scenarios" / "foip"
NAMES = [
    "t38-accept", "t38-reject-488", "t38-reject-606", "t38-reject-415", "t38-port-zero",
    "t38-late", "t38-glare-491", "g711-only", "receive-as-gateway", "remote-hangup-mid-fax",
    "printer-register-auth", "fax-receive", "fax-send",
]  # fmt: skip
T38 = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=image 49172 udptl t38") + (
    "a=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxRateManagement:transferredTCF\r\n")


def test_the_pack_is_what_is_on_disk() -> None:
    assert sorted(path.stem for path in PACK.glob("*.yaml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_file_loads_teaches_and_is_listed(name: str) -> None:
    path = PACK / f"{name}.yaml"
    assert check_scenario_file(path) == []
    scenario = load_scenario(path)
    assert scenario.name == name and scenario.description
    comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert len(comments) >= 5
    assert any(f"sipfault run scenarios/foip/{name}.yaml" in line for line in comments)
    assert f"| `{name}.yaml` |" in (PACK / "README.md").read_text()
    assert f"`scenarios/foip/{name}.yaml`" in (REPO / "docs" / "scenarios.md").read_text()


def play(name: str) -> Harness:
    return Harness.from_yaml((PACK / f"{name}.yaml").read_text())


def call(h: Harness) -> str:
    """An answered and acknowledged audio call; the To-tag."""
    h.feed(request(body=OFFER))
    ok = response(h.advance(1.3), 200)
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=ok.to.tag, cseq_method="ACK"))
    return ok.to.tag or ""


def reinvite(h: Harness, tag: str, cseq: int = 2, body: str = T38) -> list[int]:
    """A re-INVITE, acknowledged when it got a final response; the statuses it got."""
    branch = f"z9hG4bK-re{cseq}"
    answered = statuses(h.feed(request(branch=branch, to_tag=tag, cseq=cseq, body=body)))
    if answered and answered[-1] >= 200:
        h.feed(request("ACK", branch=branch if answered[-1] >= 300 else branch + "-ack",
                       to_tag=tag, cseq=cseq, cseq_method="ACK"))
    return answered


@pytest.mark.parametrize(("name", "status", "field", "value"), [
    ("t38-reject-488", 488, "Warning", '304 127.0.0.1 "Media type not available: T.38"'),
    ("t38-reject-606", 606, "Warning", '304 127.0.0.1 "Media type not available: T.38"'),
    ("t38-reject-415", 415, "Accept", "application/sdp"),
    ("t38-glare-491", 491, None, None),
    ("g711-only", 488, "Warning", '304 127.0.0.1 "Media type not available: T.38"'),
])  # fmt: skip
def test_refusals(name: str, status: int, field: str | None, value: str | None) -> None:
    h = play(name)
    tag = call(h)
    sent = h.feed(request(branch="z9hG4bK-re", to_tag=tag, cseq=2, body=T38))
    assert statuses(sent) == [status]
    if field is not None:
        assert response(sent, status).headers.get(field) == value
    assert h.uas.media.ports.open_streams  # type: ignore[attr-defined]  # audio stays


def test_accept_and_port_zero() -> None:
    h = play("t38-accept")
    tag = call(h)
    (image,) = parse_sdp(response(h.feed(request(branch="z9hG4bK-re", to_tag=tag, cseq=2,
                                                 body=T38)), 200).body).media
    assert (image.media, image.port) == ("image", 40000)
    h = play("t38-port-zero")
    tag = call(h)
    (image,) = parse_sdp(response(h.feed(request(branch="z9hG4bK-re", to_tag=tag, cseq=2,
                                                 body=T38)), 200).body).media
    assert (image.media, image.port) == ("image", 0)


def test_late_answer_and_the_overlapping_reinvite() -> None:
    h = play("t38-late")
    tag = call(h)
    assert reinvite(h, tag) == [100]
    assert reinvite(h, tag, cseq=3) == [500]
    assert statuses(h.advance(4.9)) == []
    assert statuses(h.advance(0.2)) == [200]


def test_glare_then_accept() -> None:
    h = play("t38-glare-491")
    tag = call(h)
    assert reinvite(h, tag, 2) == [491]
    assert reinvite(h, tag, 3) == [491]
    assert reinvite(h, tag, 4) == [200]


def test_g711_only_answers_pcmu_at_20ms_and_refuses_an_offered_image_stream() -> None:
    h = play("g711-only")
    both = OFFER + "m=image 49172 udptl t38\r\na=T38FaxVersion:0\r\n"
    h.feed(request(body=both))
    audio, image = parse_sdp(response(h.advance(1.3), 200).body).media
    assert (audio.formats, audio.ptime) == (("0",), 20)
    assert (image.media, image.port) == ("image", 0)


def test_receive_as_gateway_asks_for_t38_two_seconds_after_the_answer() -> None:
    h = play("receive-as-gateway")
    call(h)  # answered at 1.2 s, acknowledged at 1.3 s
    assert requests_of(h.advance(1.8), "INVITE") == []
    (ours,) = requests_of(h.advance(0.2), "INVITE")
    assert parse_sdp(ours.body).media[0].media == "image"
    h.feed(reply_to(ours, 200, T38_ANSWER, "OK"))
    assert [e.status for e in h.events if isinstance(e, RequestOutcome)] == [200]
    h.advance(5.1)
    (silent,) = h.findings("no-media")  # no UDPTL within 5 s of the switch
    assert "no T.38 (UDPTL) packets on stream 0 within 5 s" in silent.text


def test_remote_hangup_mid_fax() -> None:
    h = play("remote-hangup-mid-fax")
    tag = call(h)
    reinvite(h, tag)
    h.advance(30.0)
    assert requests_of(h.sent, "BYE") == []  # waits for the fax to start
    h.uas.media_activity(1, "udptl", ("127.0.0.1", 49172), h.now)
    sent = h.advance(10.0)
    bye = requests_of(sent, "BYE")[0]
    assert isinstance(bye, Request) and h.uas.dialogs == []
    assert next(item.time for item in sent if item.message is bye) == pytest.approx(41.3)


def test_printer_register_auth_challenges_register_with_md5_only() -> None:
    h = play("printer-register-auth")
    sent = h.feed(request("REGISTER", uri="sip:127.0.0.1", call_id="reg-1"))
    challenge = response(sent, 401).headers.get("WWW-Authenticate") or ""
    assert re.search(r"algorithm=MD5\b", challenge) and 'qop="auth"' in challenge
    assert statuses(h.feed(request(branch="z9hG4bK-call", call_id="call-9", body=OFFER))) == [100]
