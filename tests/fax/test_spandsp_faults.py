"""T.30 faults injected by our terminal, each observed on spandsp's side (its phase E
result and transfer statistics)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipfault.fax.dis import Capabilities
from sipfault.fax.faults import FaxFaults
from sipfault.fax.phase_e import PhaseE
from sipfault.fax.t30 import FaxConfig, FaxTerminal, Role
from tests.fax import spandsp
from tests.fax.harness import CallResult, run_call, write_pages_for_spandsp
from tests.fax.test_spandsp_calls import pages_for_test


@pytest.fixture(autouse=True)
def _library() -> None:
    spandsp.require()


def spandsp_sends(tmp_path: Path, faults: FaxFaults, *, ecm: bool = False) -> CallResult:
    pages = pages_for_test(count=2)
    write_pages_for_spandsp(pages, tmp_path / "send.tif")
    theirs = spandsp.T38Terminal(calling=True, tx_file=tmp_path / "send.tif", ecm=ecm)
    return run_call(FaxTerminal(Role.RECEIVE, FaxConfig(ecm=ecm), faults=faults), theirs,
                    limit=300)


def spandsp_receives(tmp_path: Path, faults: FaxFaults, *, ecm: bool = True) -> CallResult:
    theirs = spandsp.T38Terminal(calling=False, rx_file=tmp_path / "received.tif", ecm=ecm)
    return run_call(FaxTerminal(Role.SEND, FaxConfig(ecm=ecm), pages=pages_for_test(count=2),
                                faults=faults), theirs, limit=300)


def fault_names(call: CallResult) -> list[str]:
    return [line.split(":")[0].removeprefix("t30 fault ") for line in call.lines()
            if line.startswith("t30 fault")]


@pytest.mark.parametrize("response", ["RTN", "RTP"])
def test_a_page_answered_rtn_or_rtp_makes_spandsp_retrain(tmp_path: Path, response: str) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(page_response={1: response}))
    assert call.theirs.phase_e == PhaseE.OK
    stats = call.theirs.stats()
    # RTN and RTP both make the sender retrain, and spandsp steps down a rate.
    assert stats.bit_rate == 12000 and stats.pages_tx == 2
    assert len(call.ours.received_pages) == 2
    assert f"t30 -> {response}" in call.lines()
    assert call.lines().count("t30 <- DCS 12000 bps, fine, MR") == 1


@pytest.mark.parametrize(("command", "ecm"), [("MPS", False), ("EOP", False), ("PPS", True)])
def test_an_unanswered_post_page_message_is_repeated_then_spandsp_gives_up(
        tmp_path: Path, command: str, ecm: bool) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(never_answer=frozenset({command})), ecm=ecm)
    assert call.theirs.phase_e == PhaseE.TX_PHDDEAD
    received = [line for line in call.lines() if line.startswith(f"t30 <- {command}")
                or (line.startswith("t30 <- PPS-MPS") and command == "PPS")]
    assert len(received) >= 3  # the first and the repeats T.30 §5.4 asks for
    assert call.ours.findings == []
    assert call.ours.result is not PhaseE.OK


@pytest.mark.parametrize("ecm", [False, True])
def test_dcn_mid_page_from_the_receiver(tmp_path: Path, ecm: bool) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(dcn_mid_page=1), ecm=ecm)
    assert call.theirs.phase_e == PhaseE.UNEXPECTED
    assert call.theirs.stats().pages_tx == 0
    assert call.ours.result is PhaseE.CALLDROPPED


@pytest.mark.parametrize("ecm", [False, True])
def test_dcn_mid_page_from_the_sender(tmp_path: Path, ecm: bool) -> None:
    call = spandsp_receives(tmp_path, FaxFaults(dcn_mid_page=1), ecm=ecm)
    assert call.theirs.phase_e == PhaseE.RX_DCNDATA
    assert call.theirs.stats().pages_rx == 0


def test_ftt_on_tcf_makes_spandsp_fall_back(tmp_path: Path) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(ftt_on_tcf=1))
    assert call.theirs.phase_e == PhaseE.OK
    assert call.theirs.stats().bit_rate == 12000
    assert call.lines().count("t30 -> FTT") == 1


def test_ftt_on_every_tcf_ends_in_cannot_train(tmp_path: Path) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(ftt_on_tcf=99))
    assert call.theirs.phase_e == PhaseE.CANNOT_TRAIN
    assert call.ours.result is PhaseE.RX_DCNDATA or call.ours.result is not PhaseE.OK


@pytest.mark.parametrize("command", ["DCS", "MPS"])
def test_crp_makes_spandsp_repeat_the_command(tmp_path: Path, command: str) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(crp_on=frozenset({command})))
    assert call.theirs.phase_e == PhaseE.OK
    assert "t30 -> CRP" in call.lines()
    assert len([line for line in call.lines() if line.startswith(f"t30 <- {command}")]) == 2


def test_ecm_frames_treated_as_lost_make_spandsp_resend_them(tmp_path: Path) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(drop_ecm_frames=frozenset({1, 3})), ecm=True)
    assert call.theirs.phase_e == PhaseE.OK
    assert call.theirs.stats().ecm_retries > 0
    assert any(line.startswith("t30 -> PPR 2 frames: 1, 3") for line in call.lines())
    assert len(call.ours.received_pages) == 2 and call.ours.findings == []


@pytest.mark.parametrize("faults", [FaxFaults(drop_ecm_frames=frozenset({1, 3})),
                                    FaxFaults(drop_ecm_random=3, seed=5)])
def test_ecm_frames_left_out_are_asked_for_with_ppr(tmp_path: Path, faults: FaxFaults) -> None:
    call = spandsp_receives(tmp_path, faults)
    assert call.theirs.phase_e == PhaseE.OK
    assert call.theirs.stats().pages_rx == 2
    assert any(line.startswith("t30 <- PPR") for line in call.lines())
    assert "drop-ecm-frames" in fault_names(call)


def test_a_dis_that_cannot_receive(tmp_path: Path) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(dis=Capabilities(ready_to_receive=False)))
    assert call.theirs.phase_e == PhaseE.RX_INCAPABLE


def test_a_dis_offering_only_2400(tmp_path: Path) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(dis=Capabilities(max_rate=2400)))
    assert call.theirs.phase_e == PhaseE.OK
    assert call.theirs.stats().bit_rate == 2400


def test_silence_after_dis_leaves_spandsp_without_an_answer(tmp_path: Path) -> None:
    call = spandsp_sends(tmp_path, FaxFaults(silence_after="DIS", silence_seconds=60))
    assert call.theirs.phase_e == PhaseE.TX_PHBDEAD
    assert "silence" in fault_names(call)


def test_silence_after_a_page_from_the_sender(tmp_path: Path) -> None:
    call = spandsp_receives(tmp_path, FaxFaults(silence_after="page", silence_seconds=60),
                            ecm=False)
    assert call.theirs.phase_e not in (None, PhaseE.OK)
    assert call.ours.result is PhaseE.TX_PHDDEAD
    assert call.ours.findings == []
