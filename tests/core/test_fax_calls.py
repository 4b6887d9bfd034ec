"""A fax on a call's T.38 stream, on the sans-I/O core with a manual clock: the rule's ``fax``
starts a terminal when the stream becomes ``m=image udptl t38``, datagrams go in with the time
and out to the far end's SDP address, its timers run on the UAS's queue, and the journal gets
each T.30 frame, each page with its files and the outcome."""

from __future__ import annotations

import random
from pathlib import Path

from sipfault.core.events import Event, FaxOutcome, FaxPage, Finding, MediaStarted, T30Frame
from sipfault.core.sessions import NominalPorts
from sipfault.core.uas import UserAgentServer
from sipfault.fax.dis import MODEMS, Resolution, Session
from sipfault.fax.hdlc import FCF, Frame
from sipfault.fax.png import read_png
from sipfault.fax.session import FaxSession
from sipfault.fax.t4 import Compression
from sipfault.fax.t30 import FaxConfig, FaxTerminal, Role
from sipfault.fax.t38 import encode_ifp
from sipfault.fax.tiff import Page, read_tiff
from sipfault.fax.udptl import UDPTLSender
from sipfault.media.fax import make_fax_call
from sipfault.record.records import to_record
from sipfault.scenario.loader import load_scenario_text
from tests.core.far_end import T38_ANSWER, reply_to, requests_of
from tests.core.uas_harness import OFFER, Harness, request, response
from tests.fax.images import random_rows
from tests.fax.test_t30 import packets_of

WIDTH = 1728
T38_OFFER = OFFER.replace("m=audio 49170 RTP/AVP 0 8 101", "m=image 49172 udptl t38") + (
    "a=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxRateManagement:transferredTCF\r\n")
STEP = 0.02


def harness(text: str) -> Harness:
    scenario = load_scenario_text(text, "test.yaml")
    return Harness(UserAgentServer(scenario, seed=1, rng=random.Random(1), fax=make_fax_call))


def pages(count: int) -> list[Page]:
    return [Page(random_rows(WIDTH, 80, seed=70 + n), WIDTH, 204.0, 196.0) for n in range(count)]


def run_far_end(h: Harness, far: FaxSession, limit: float = 120.0) -> None:
    """Carry datagrams both ways until both terminals are done, moving the manual clock."""
    ports = h.uas.media.ports
    assert isinstance(ports, NominalPorts)
    stream = next(e.stream for e in h.events if isinstance(e, MediaStarted) and e.media == "image")
    far.start(h.now)
    taken = 0
    end = h.now + limit
    while h.now < end:
        for _, data, remote in ports.sent[taken:]:
            assert remote == ("127.0.0.1", 49172)  # the far end's SDP address
            far.datagram_received(data, h.now)
        taken = len(ports.sent)
        for data in far.datagrams_to_send():
            h.uas.media_datagram(stream, data, ("127.0.0.1", 49172), h.now)
        h.advance(STEP)
        deadline = far.next_deadline()
        if deadline is not None and deadline <= h.now:
            far.handle_timer(h.now)
        if far.terminal.done and any(isinstance(e, FaxOutcome) for e in h.events):
            return
    raise AssertionError("the fax did not end")


def of(events: list[Event], kind: type) -> list:
    return [event for event in events if isinstance(event, kind)]


def test_an_invite_that_offers_t38_gets_a_receiver_that_writes_the_pages(tmp_path: Path) -> None:
    h = harness(f"""
rules:
  - match: {{method: INVITE}}
    fax: {{receive: '{tmp_path}', capabilities: {{max_rate: 9600}}}}
    reply: [{{code: 200, sdp: answer}}]
""")
    response(h.feed(request(body=T38_OFFER)), 200)
    source = pages(2)
    sender = FaxTerminal(Role.SEND, FaxConfig(ident="far end"), pages=source)
    run_far_end(h, FaxSession(sender, version=0))
    (outcome,) = of(h.events, FaxOutcome)
    assert (outcome.ok, outcome.role, outcome.pages, outcome.rate, outcome.bad_rows) == (
        True, "receive", 2, 9600, 0)
    record = to_record(outcome, 0.0)
    assert record.type == "fax"
    assert record.line().startswith("   fax received: 2 pages, 9600 bps, ECM, 0 bad rows")
    frames = [f"t30 {e.direction} {e.frame}" for e in of(h.events, T30Frame)]
    assert frames[:3] == ["t30 -> CED", 't30 -> CSI "sipfault"',
                          "t30 -> DIS 9600 bps, standard/fine/superfine, MH/MR/MMR, ECM"]
    assert "t30 <- DCS 9600 bps, fine, MMR, ECM" in frames
    assert to_record(of(h.events, T30Frame)[0], 0.0).to_json()["type"] == "t30"
    received = of(h.events, FaxPage)
    assert [(p.number, p.rows, p.resolution, p.compression, p.response) for p in received] == [
        (1, 80, "fine", "MMR", "MCF"), (2, 80, "fine", "MMR", "MCF")]
    tiff = Path(received[-1].tiff or "")
    assert tiff.parent == tmp_path and tiff.suffix == ".tif"
    assert [p.rows for p in read_tiff(tiff.read_bytes())] == [p.rows for p in source]
    assert read_png(Path(received[0].png or "").read_bytes()).rows == source[0].rows
    assert of(h.events, Finding) == []


def test_a_dcs_at_a_rate_not_offered_is_a_finding_citing_t30(tmp_path: Path) -> None:
    h = harness(f"""
rules:
  - match: {{method: INVITE}}
    fax: {{receive: '{tmp_path}', capabilities: {{max_rate: 9600}}}}
    reply: [{{code: 200, sdp: answer}}]
""")
    response(h.feed(request(body=T38_OFFER)), 200)
    stream = next(e.stream for e in h.events if isinstance(e, MediaStarted))
    dcs = Session(MODEMS[0], Resolution.FINE, Compression.MH)  # V.17 14400
    wrapper = UDPTLSender(redundancy=0)
    for packet in packets_of(Frame(FCF.DCS, dcs.encode())):
        h.uas.media_datagram(stream, wrapper.wrap(encode_ifp(packet, 0)), ("127.0.0.1", 49172),
                             h.now)
    h.events += h.uas.take_events()
    (finding,) = [f for f in of(h.events, Finding) if f.kind == "t30-rate-not-offered"]
    assert "V.17 14400" in finding.text and "ITU-T T.30 Table 2, bits 11-14" in finding.text
    assert finding.call_id and finding.details["section"].startswith("ITU-T T.30 Table 2")


def test_the_fax_receive_pack_file_starts_the_terminal_after_its_own_reinvite() -> None:
    text = (Path(__file__).resolve().parents[2] / "scenarios" / "foip"
            / "fax-receive.yaml").read_text()
    h = harness(text)
    h.feed(request(body=OFFER))
    ok = response(h.advance(1.3), 200)
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=ok.to.tag, cseq_method="ACK"))
    ports = h.uas.media.ports
    assert isinstance(ports, NominalPorts)
    (ours,) = requests_of(h.advance(2.0), "INVITE")
    assert ports.sent == []  # audio: no terminal yet
    h.feed(reply_to(ours, 200, T38_ANSWER, "OK"))
    assert len(ports.sent) >= 2  # CED, then the DIS, to the far end's T.38 address
    frames = [e.frame for e in of(h.events, T30Frame)]
    assert frames[0] == "CED" and frames[2].startswith("DIS 14400 bps")
    # Nobody answers: the DIS goes again at T4 (3 s), and T1 (35 s) ends the call.
    before = len(ports.sent)
    h.advance(3.1)
    assert len(ports.sent) > before
    h.advance(35.0)
    (outcome,) = of(h.events, FaxOutcome)
    assert not outcome.ok and outcome.pages == 0


def test_the_html_report_shows_the_t30_ladder_pages_and_outcome(tmp_path: Path) -> None:
    from sipfault.report.page import render_report

    h = harness(f"""
rules:
  - match: {{method: INVITE}}
    fax: {{receive: '{tmp_path}'}}
    reply: [{{code: 200, sdp: answer}}]
""")
    response(h.feed(request(body=T38_OFFER)), 200)
    sender = FaxTerminal(Role.SEND, FaxConfig(ident="far end"), pages=pages(1))
    run_far_end(h, FaxSession(sender, version=0))
    entries = [to_record(event, 1000.0 + event.time).to_json() for event in h.events]
    t30 = [entry for entry in entries if entry["type"] == "t30"]
    assert {entry["direction"] for entry in t30} == {"in", "out"}
    page = render_report(entries)
    assert "t30 DCS 14400 bps, fine, MMR, ECM" in page  # an arrow in the call's ladder
    assert 'data-type="fax_page"' in page and 'data-type="fax"' in page
    assert "<td>T30_ERR_OK</td><td>completed</td>" in page
