"""The T.30 table on a manual clock against a scripted far end: timers end every stall
with a phase E reason, and findings report a far end that breaks the procedure."""

from __future__ import annotations

from sipfault.fax.dis import MODEMS, Capabilities, Resolution, Session
from sipfault.fax.faults import FaxFaults
from sipfault.fax.hdlc import FCF, Frame, decode_frame
from sipfault.fax.link import LinkReceiver, LinkSender
from sipfault.fax.phase_e import PhaseE
from sipfault.fax.t4 import Compression
from sipfault.fax.t30 import TRANSITIONS, FaxConfig, FaxTerminal, Role, State
from sipfault.fax.t38 import DataType, IFPPacket
from sipfault.fax.tiff import Page


def packets_of(*frames: Frame, data_type: DataType = DataType.V21) -> list[IFPPacket]:
    encoded = [Frame(f.fcf, f.fif, index == len(frames) - 1, True).encode()
               for index, f in enumerate(frames)]
    return LinkSender().frames(encoded, data_type)


def feed(terminal: FaxTerminal, packets: list[IFPPacket], now: float) -> None:
    for packet in packets:
        terminal.receive(packet, now)


def sent_frames(terminal: FaxTerminal) -> list[str]:
    link = LinkReceiver()
    names = []
    for packet in terminal.take_packets():
        for event in link.feed(packet):
            data = getattr(event, "data", None)
            if isinstance(data, bytes) and hasattr(event, "ok"):
                names.append(decode_frame(data).fcf.name)
    return names


def run_clock(terminal: FaxTerminal, until: float) -> list[str]:
    """Fire timers up to ``until``; the frames sent meanwhile."""
    names: list[str] = []
    while (deadline := terminal.next_deadline()) is not None and deadline <= until:
        terminal.handle_timer(deadline)
        names += sent_frames(terminal)
    return names


def test_every_transition_names_an_action_and_states() -> None:
    for (state, trigger), transition in TRANSITIONS.items():
        assert isinstance(state, State) and trigger
        assert callable(getattr(FaxTerminal, f"_{transition.action}"))
        assert transition.targets and all(isinstance(t, State) for t in transition.targets)


def test_a_silent_caller_ends_in_t1_after_dis_repeats() -> None:
    terminal = FaxTerminal(Role.RECEIVE)
    terminal.start(0.0)
    assert sent_frames(terminal) == ["CSI", "DIS"]
    repeats = run_clock(terminal, 100.0)
    assert repeats.count("DIS") == 11  # every T4 (3 s) until T1 (35 s)
    assert terminal.result is PhaseE.T1_EXPIRED and terminal.done
    assert terminal.next_deadline() is None


def test_a_silent_answerer_ends_in_t1() -> None:
    terminal = FaxTerminal(Role.SEND, pages=[Page([bytes(216)] * 4, 1728)])
    terminal.start(0.0)
    run_clock(terminal, 100.0)
    assert terminal.result is PhaseE.T1_EXPIRED
    assert terminal.take_events()[-1].line().startswith("t30 phase E T30_ERR_T1_EXPIRED")


def test_no_answer_to_dcs_is_tried_three_times_more_then_phbdead() -> None:
    terminal = FaxTerminal(Role.SEND, pages=[Page([bytes(216)] * 4, 1728)])
    terminal.start(0.0)
    feed(terminal, packets_of(Frame(FCF.DIS, Capabilities().encode())), 1.0)
    assert sent_frames(terminal) == ["TSI", "DCS"]
    names = run_clock(terminal, 60.0)
    assert names.count("DCS") == 3 and names[-1] == "DCN"
    assert terminal.result is PhaseE.TX_PHBDEAD


def test_a_receiver_that_never_sends_the_page_ends_in_t2() -> None:
    terminal = FaxTerminal(Role.RECEIVE)
    terminal.start(0.0)
    session = Session(MODEMS[0], Resolution.FINE, Compression.MH)
    feed(terminal, packets_of(Frame(FCF.DCS, session.encode())), 1.0)
    feed(terminal, LinkSender().image(bytes(2700), DataType.V17_14400), 2.0)
    assert sent_frames(terminal)[-1] == "CFR"
    run_clock(terminal, 30.0)
    assert terminal.result is PhaseE.RX_T2EXPFAX


def test_finding_a_dcs_at_a_rate_the_dis_did_not_offer() -> None:
    terminal = FaxTerminal(Role.RECEIVE, FaxConfig(max_rate=9600))
    terminal.start(0.0)
    session = Session(MODEMS[0], Resolution.FINE, Compression.MH)
    feed(terminal, packets_of(Frame(FCF.DCS, session.encode())), 1.0)
    assert [f.code for f in terminal.findings] == ["rate-not-offered"]
    assert "V.17 14400" in terminal.findings[0].text


def _receiver_with_page(faults: FaxFaults | None = None) -> FaxTerminal:
    terminal = FaxTerminal(Role.RECEIVE, faults=faults or FaxFaults())
    terminal.start(0.0)
    session = Session(MODEMS[0], Resolution.FINE, Compression.MH)
    feed(terminal, packets_of(Frame(FCF.DCS, session.encode())), 1.0)
    feed(terminal, LinkSender().image(bytes(2700), DataType.V17_14400), 2.0)
    from sipfault.fax.t4 import encode_page
    page = encode_page([bytes(216)] * 10, 1728, Compression.MH)
    feed(terminal, LinkSender().image(page, DataType.V17_14400), 3.0)
    return terminal


def test_finding_a_post_page_message_left_unanswered_and_not_repeated() -> None:
    terminal = _receiver_with_page(FaxFaults(never_answer=frozenset({"MPS"})))
    feed(terminal, packets_of(Frame(FCF.MPS)), 4.0)
    feed(terminal, packets_of(Frame(FCF.DCN)), 9.0)
    assert terminal.result is PhaseE.RX_DCNFAX
    assert [f.code for f in terminal.findings] == ["no-repeat"]


def test_a_repeated_post_page_message_is_no_finding() -> None:
    terminal = _receiver_with_page(FaxFaults(never_answer=frozenset({"MPS"})))
    feed(terminal, packets_of(Frame(FCF.MPS)), 4.0)
    feed(terminal, packets_of(Frame(FCF.MPS)), 7.0)
    feed(terminal, packets_of(Frame(FCF.DCN)), 9.0)
    assert terminal.findings == []


def test_finding_frames_sent_after_dcn() -> None:
    terminal = _receiver_with_page()
    feed(terminal, packets_of(Frame(FCF.EOP)), 4.0)
    assert sent_frames(terminal)[-1] == "MCF"
    feed(terminal, packets_of(Frame(FCF.DCN)), 5.0)
    assert terminal.result is PhaseE.OK and len(terminal.received_pages) == 1
    feed(terminal, packets_of(Frame(FCF.EOP)), 6.0)
    assert [f.code for f in terminal.findings] == ["sent-after-dcn"]


def test_finding_a_sender_that_ignores_ppr() -> None:
    terminal = FaxTerminal(Role.RECEIVE)
    terminal.start(0.0)
    session = Session(MODEMS[0], Resolution.FINE, Compression.MMR, ecm=True)
    feed(terminal, packets_of(Frame(FCF.DCS, session.encode())), 1.0)
    feed(terminal, LinkSender().image(bytes(2700), DataType.V17_14400), 2.0)
    sent_frames(terminal)
    fcd = [Frame(FCF.FCD, bytes((number,)) + bytes(256)) for number in (0, 2)]
    pps = Frame(FCF.PPS, bytes((int(FCF.MPS) | 1, 0, 0, 2)))
    for attempt in range(2):
        feed(terminal, packets_of(*fcd, Frame(FCF.RCP), data_type=DataType.V17_14400),
             3.0 + attempt)
        feed(terminal, packets_of(pps), 3.5 + attempt)
        assert sent_frames(terminal) == ["PPR"]
    assert [f.code for f in terminal.findings] == ["ignored-ppr"]
