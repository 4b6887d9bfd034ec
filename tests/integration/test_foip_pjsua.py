"""An audio leg with real RTP from PJSUA2 (its null audio device still sends a packet every
20 ms): the port sipfault's answer names receives it, and the journal counts it, from the
address the caller's SDP gave; the codec is the one the scenario prefers; an echo goes back.

The scenarios answer at once: PJSUA2 closes its idle (null) sound device after a second, and a
call answered after that sends no RTP at all (PJSUA2 reports TX 0 packets).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sipfault.sip.sdp import parse_sdp
from tests.peers.fixtures import StartSipfault
from tests.peers.media_pcap import journal_records, media_stops
from tests.peers.pjsua import AgentResult, pjsua_call
from tests.peers.sipfault_cli import SipfaultProcess

pytestmark = pytest.mark.peer

SCENARIOS = Path(__file__).with_name("scenarios")


def _explain(result: AgentResult, server: SipfaultProcess) -> str:
    return f"{result.describe()}\n--- sipfault output ---\n{server.output}"


def _answer_and_offer(result: AgentResult) -> tuple[int, int, list[str]]:
    """The port of sipfault's answer, the port of PJSUA's offer, the answer's formats."""
    offer = next(message for message in result.sent("INVITE"))
    answer = next(message for message in result.received("INVITE") if message.status == 200)
    (theirs,) = parse_sdp(offer.body.encode()).media[:1]
    ours = parse_sdp(answer.body.encode()).media[0]
    return ours.port, theirs.port, list(ours.formats)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_pjsua_rtp_is_counted_on_the_answered_port(
    pjsua2: None, start_sipfault: StartSipfault, transport: str, tmp_path: Path
) -> None:
    server = start_sipfault(SCENARIOS / "foip-g711-now.yaml", t1="100ms")
    journal = server.journal_file.path

    result = pjsua_call(server.uri("fax", transport), transport=transport, hangup_after=2.0,
                        timeout=15)

    why = _explain(result, server)
    assert result.returncode == 0 and result.status == 200, why
    ours, theirs, formats = _answer_and_offer(result)
    assert formats == ["0"], why  # PCMU first, no telephone-event
    server.wait_for(lambda records: any(r.get("type") == "media" and r.get("event") == "stop"
                                        for r in records.records), "the stream's end")
    server.stop()
    (start,) = [r for r in journal_records(journal, "media") if r["event"] == "start"]
    assert start["local"]["port"] == ours and start["remote"]["port"] == theirs
    (flowing,) = [r for r in journal_records(journal, "media") if r["event"] == "flowing"]
    assert (flowing["kind"], flowing["src"]["port"]) == ("rtp", theirs), why  # symmetric RTP
    (stop,) = media_stops(journal)
    assert stop["rtp"] >= 20 and stop["rtp"] == stop["packets"], why  # 2 s of 20 ms packets
    assert (stop["udptl"], stop["other"], stop["lost"]) == (0, 0, 0), why
    assert stop["payload_types"] == [0] and stop["ssrcs"] == 1, why
    assert stop["bytes"] == stop["packets"] * 172, why  # 12-octet header + 160 of G.711
    assert server.summary.findings == {}, server.output


def test_pjsua_gets_pcma_and_its_packets_echoed(
    pjsua2: None, start_sipfault: StartSipfault, tmp_path: Path
) -> None:
    server = start_sipfault(SCENARIOS / "foip-pcma-echo.yaml", t1="100ms")
    journal = server.journal_file.path

    result = pjsua_call(server.uri("fax"), hangup_after=1.5, timeout=15)

    why = _explain(result, server)
    assert result.returncode == 0 and result.status == 200, why
    _, _, formats = _answer_and_offer(result)
    assert formats == ["8"], why
    server.wait_for(lambda records: any(r.get("type") == "media" and r.get("event") == "stop"
                                        for r in records.records), "the stream's end")
    server.stop()
    (stop,) = media_stops(journal)
    assert stop["payload_types"] == [8] and stop["rtp"] >= 10, why
    assert stop["echoed"] == stop["packets"], why
    assert server.summary.findings == {}, server.output
