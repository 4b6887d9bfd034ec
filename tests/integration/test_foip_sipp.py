"""Fax over IP against SIPp playing a fax printer, with real media: `sipfault run` answers
with live ports, the T.38 re-INVITE goes both ways (the printer's, and sipfault's own as a
receiving gateway), is accepted or refused, either side hangs up, and the RTP and UDPTL that
SIPp plays from pcap files (play_pcap_audio, play_pcap_image) are counted in the journal.

Each SIPp scenario checks what sipfault sends (the T.38 answer's attributes, the Warning of a
488, the T.38 offer of sipfault's re-INVITE) and fails the call otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.peers.fixtures import StartSipfault
from tests.peers.media_pcap import (
    journal_records,
    media_stops,
    rtp_packet,
    udptl_packet,
    write_pcap,
)
from tests.peers.ports import free_port
from tests.peers.sipfault_cli import SipfaultProcess
from tests.peers.sipp import SippResult, run_sipp

pytestmark = pytest.mark.peer

SIPP_DIR = Path(__file__).with_name("sipp")
SCENARIOS = Path(__file__).with_name("scenarios")
RTP_PACKETS = 10
UDPTL_PACKETS = 8


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """SIPp's working directory, with the pcap files its scenarios play."""
    write_pcap(tmp_path / "rtp.pcap", [rtp_packet(n) for n in range(1, RTP_PACKETS + 1)])
    write_pcap(tmp_path / "udptl.pcap", [udptl_packet(n) for n in range(UDPTL_PACKETS)])
    return tmp_path


def start(start_sipfault: StartSipfault, scenario: str | Path) -> tuple[SipfaultProcess, Path]:
    """sipfault on ``scenario``, and its journal."""
    server = start_sipfault(scenario, t1="100ms", transports=["udp"])
    return server, server.journal_file.path


def run(server: SipfaultProcess, xml: str, media_dir: Path) -> SippResult:
    return run_sipp(SIPP_DIR / xml, server.host, server.port, service="fax", timeout=20,
                    workdir=media_dir, extra_args=["-mp", str(free_port("127.0.0.1"))])


def explain(result: SippResult, server: SipfaultProcess) -> str:
    return f"{result.describe()}\n--- sipfault output ---\n{server.output}"


def counts(stop: dict[str, object]) -> tuple[object, ...]:
    return (stop["media"], stop["packets"], stop["rtp"], stop["udptl"], stop["lost"])


def test_the_printers_t38_switch_is_accepted_and_its_rtp_and_udptl_counted(
    sipp: str, start_sipfault: StartSipfault, media_dir: Path, tmp_path: Path
) -> None:
    server, journal = start(start_sipfault, "scenarios/foip/t38-accept.yaml")

    result = run(server, "uac-t38-switch.xml", media_dir)

    assert (result.returncode, result.successful) == (0, 1), explain(result, server)
    server.stop()  # SIPp got the answer to its last request: nothing is in flight
    assert server.summary.requests == {"INVITE": 2, "ACK": 2, "BYE": 1}, server.output
    audio, image = media_stops(journal)
    assert counts(audio) == ("audio", RTP_PACKETS, RTP_PACKETS, 0, 0), server.output
    assert audio["reason"] == "now image" and audio["payload_types"] == [0]
    assert counts(image) == ("image", UDPTL_PACKETS, 0, UDPTL_PACKETS, 0), server.output
    assert image["reason"] == "dialog ended"
    assert (image["udptl_redundancy"], image["udptl_fec"]) == (UDPTL_PACKETS - 1, 0)
    assert audio["local"] == image["local"]  # the T.38 stream kept the audio port
    assert f"audio#0 {RTP_PACKETS} packets" in server.output  # the summary line
    assert server.summary.findings == {}, server.output


def test_the_printers_t38_switch_refused_488_and_the_fax_goes_on_as_audio(
    sipp: str, start_sipfault: StartSipfault, media_dir: Path, tmp_path: Path
) -> None:
    server, journal = start(start_sipfault, "scenarios/foip/t38-reject-488.yaml")

    result = run(server, "uac-t38-refused.xml", media_dir)

    assert (result.returncode, result.successful) == (0, 1), explain(result, server)
    server.stop()  # SIPp got the answer to its last request: nothing is in flight
    assert server.summary.responses == {"100": 1, "180": 1, "200": 2, "488": 1}, server.output
    (audio,) = media_stops(journal)
    assert counts(audio) == ("audio", 2 * RTP_PACKETS, 2 * RTP_PACKETS, 0, 0), server.output
    assert audio["reason"] == "dialog ended"
    assert server.summary.findings == {}, server.output


def test_sipfault_asks_for_t38_as_the_receiving_gateway_and_the_printer_accepts(
    sipp: str, start_sipfault: StartSipfault, media_dir: Path, tmp_path: Path
) -> None:
    server, journal = start(start_sipfault, "scenarios/foip/receive-as-gateway.yaml")

    result = run(server, "uac-gateway-t38-accept.xml", media_dir)

    assert (result.returncode, result.successful) == (0, 1), explain(result, server)
    server.stop()  # SIPp got the answer to its last request: nothing is in flight
    (outcome,) = journal_records(journal, "outcome")
    assert (outcome["method"], outcome["purpose"], outcome["status"]) == ("INVITE", "t38", 200)
    audio, image = media_stops(journal)
    assert counts(audio) == ("audio", RTP_PACKETS, RTP_PACKETS, 0, 0), server.output
    assert counts(image) == ("image", UDPTL_PACKETS, 0, UDPTL_PACKETS, 0), server.output
    acks = [record for record in journal_records(journal, "message")
            if record["direction"] == "out" and record["method"] == "ACK"]
    assert len(acks) == 1  # sipfault acknowledged the printer's 200 once, and it was not resent
    assert server.summary.findings == {}, server.output


def test_sipfault_asks_for_t38_and_the_printer_refuses_488(
    sipp: str, start_sipfault: StartSipfault, media_dir: Path, tmp_path: Path
) -> None:
    server, journal = start(start_sipfault, "scenarios/foip/receive-as-gateway.yaml")

    result = run(server, "uac-gateway-t38-refuse.xml", media_dir)

    assert (result.returncode, result.successful) == (0, 1), explain(result, server)
    server.stop()  # SIPp got the answer to its last request: nothing is in flight
    (outcome,) = journal_records(journal, "outcome")
    assert (outcome["purpose"], outcome["status"]) == ("t38", 488)
    assert server.summary.findings == {"request-refused": 1}, server.output
    (audio,) = media_stops(journal)  # the call stayed on audio: one stream, one phase
    assert counts(audio) == ("audio", 2 * RTP_PACKETS, 2 * RTP_PACKETS, 0, 0), server.output


def test_sipfault_hangs_up_mid_fax(
    sipp: str, start_sipfault: StartSipfault, media_dir: Path, tmp_path: Path
) -> None:
    server, journal = start(start_sipfault, SCENARIOS / "foip-hangup-fast.yaml")

    result = run(server, "uac-hangup-mid-fax.xml", media_dir)

    assert (result.returncode, result.successful) == (0, 1), explain(result, server)
    # SIPp may be gone before sipfault has read its 200 to our BYE.
    server.wait_for(lambda records: any(r.get("type") == "outcome" for r in records.records),
                    "the outcome of sipfault's BYE")
    server.stop()
    outcomes = journal_records(journal, "outcome")
    assert [(o["method"], o["status"]) for o in outcomes] == [("BYE", 200)], server.output
    audio, image = media_stops(journal)
    assert image["reason"] == "dialog ended" and image["udptl"] == UDPTL_PACKETS
    assert audio["rtp"] == RTP_PACKETS
