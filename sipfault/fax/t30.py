"""A T.30 fax terminal over T.38 IFP packets, sending or receiving (ITU-T T.30).

Sans-I/O: feed it IFP packets with :meth:`FaxTerminal.receive` and the time with
:meth:`FaxTerminal.handle_timer` at :meth:`FaxTerminal.next_deadline`; take the packets to
send with :meth:`FaxTerminal.take_packets` and what happened with
:meth:`FaxTerminal.take_events`.

The procedure is the table :data:`TRANSITIONS`: (state, trigger) -> (action, next states).
A trigger is the name of a received frame (``DCS``, ``MPS`` ...), of a timer (``T1`` ...),
or of a judgement made on received data (``TCF_GOOD``, ``PPS_COMPLETE`` ...). Where the
table lists more than one next state the action picks one of them. A trigger the table does
not list for the state is ignored (and reported).

Timers (T.30 §5.4.3.1): T1 35 s to identify the far end, T2 6 s waiting for a command or
page, T3 10 s for a procedure interrupt (unused: no operator here), T4 3 s waiting for a
response (three tries), T5 60 s waiting for a receiver that is not ready (ECM).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from sipfault.fax.dis import MODEM_OF_DATA_TYPE, Capabilities, Modem, Resolution, Session
from sipfault.fax.events import (
    FaultEvent,
    FaxEvent,
    Finding,
    FrameEvent,
    Outcome,
    PageEvent,
    SignalEvent,
)
from sipfault.fax.faults import FaxFaults
from sipfault.fax.hdlc import (
    FCF,
    Frame,
    FrameError,
    decode_frame,
    decode_ident,
    encode_ident,
    reverse_bits,
)
from sipfault.fax.link import (
    DATA_TYPE_OF_TRAINING,
    HdlcReceived,
    ImageReceived,
    LinkReceiver,
    LinkSender,
    SignalEnded,
    SignalStarted,
)
from sipfault.fax.phase_e import PhaseE
from sipfault.fax.t4 import Compression, decode_page, encode_page
from sipfault.fax.t38 import DataType, IFPPacket, Indicator
from sipfault.fax.tiff import Page

T1 = 35.0
T2 = 6.0
T3 = 10.0
T4 = 3.0
T5 = 60.0
RR_INTERVAL = 1.0
DCN_GRACE = 1.0
RETRIES = 3
PPR_LIMIT = 4
TCF_SECONDS = 1.5
WIDTH = 1728


class Role(Enum):
    SEND = "send"
    RECEIVE = "receive"


class State(Enum):
    IDLE = "idle"
    # Receiving (called terminal).
    R_WAIT_COMMAND = "waiting for DCS"
    R_TCF = "receiving TCF"
    R_WAIT_PAGE = "waiting for a page"
    R_PAGE = "receiving a page"
    R_ECM_BLOCK = "receiving ECM frames"
    R_WAIT_POST_PAGE = "waiting for the post-page message"
    R_WAIT_DCN = "waiting for DCN"
    # Sending (calling terminal).
    S_WAIT_DIS = "waiting for DIS"
    S_WAIT_CFR = "waiting for CFR"
    S_WAIT_PAGE_RESPONSE = "waiting for the answer to a page"
    S_WAIT_PPS_RESPONSE = "waiting for the answer to PPS"
    DONE = "done"


@dataclass(frozen=True)
class Transition:
    action: str
    targets: tuple[State, ...]


def _t(action: str, *targets: State) -> Transition:
    return Transition(action, targets)


S = State
_POST_PAGE = ("MPS", "EOP", "EOM")
TRANSITIONS: dict[tuple[State, str], Transition] = {
    # -- receiving --------------------------------------------------------------------------
    (S.R_WAIT_COMMAND, "TSI"): _t("note_ident", S.R_WAIT_COMMAND),
    (S.R_WAIT_COMMAND, "SUB"): _t("note_ident", S.R_WAIT_COMMAND),
    (S.R_WAIT_COMMAND, "SID"): _t("note_ident", S.R_WAIT_COMMAND),
    (S.R_WAIT_COMMAND, "NSS"): _t("note_frame", S.R_WAIT_COMMAND),
    (S.R_WAIT_COMMAND, "PWD"): _t("note_frame", S.R_WAIT_COMMAND),
    (S.R_WAIT_COMMAND, "DCS"): _t("accept_dcs", S.R_TCF, S.R_WAIT_COMMAND),
    (S.R_WAIT_COMMAND, "CRP"): _t("repeat_last", S.R_WAIT_COMMAND),
    (S.R_WAIT_COMMAND, "DCN"): _t("fail_rx_dcnwhy", S.DONE),
    (S.R_WAIT_COMMAND, "T4"): _t("send_dis_again", S.R_WAIT_COMMAND, S.DONE),
    (S.R_WAIT_COMMAND, "T1"): _t("fail_t1", S.DONE),
    (S.R_WAIT_COMMAND, "T2"): _t("fail_rx_t2exp", S.DONE),
    (S.R_TCF, "TRAINING"): _t("start_tcf", S.R_TCF),
    (S.R_TCF, "TCF_GOOD"): _t("answer_tcf_good", S.R_WAIT_PAGE, S.R_WAIT_COMMAND),
    (S.R_TCF, "TCF_BAD"): _t("answer_tcf_bad", S.R_WAIT_COMMAND),
    (S.R_TCF, "DCS"): _t("accept_dcs", S.R_TCF, S.R_WAIT_COMMAND),
    (S.R_TCF, "TSI"): _t("note_ident", S.R_TCF),
    (S.R_TCF, "DCN"): _t("fail_rx_dcnwhy", S.DONE),
    (S.R_TCF, "T2"): _t("fail_rx_t2exp", S.DONE),
    (S.R_WAIT_PAGE, "TRAINING"): _t("start_page", S.R_PAGE, S.R_ECM_BLOCK),
    (S.R_WAIT_PAGE, "IMAGE"): _t("start_page_late", S.R_PAGE),
    (S.R_WAIT_PAGE, "FCD"): _t("store_ecm_frame", S.R_ECM_BLOCK),
    (S.R_WAIT_PAGE, "TSI"): _t("note_ident", S.R_WAIT_PAGE),
    (S.R_WAIT_PAGE, "DCS"): _t("accept_dcs", S.R_TCF, S.R_WAIT_COMMAND),
    (S.R_WAIT_PAGE, "CRP"): _t("repeat_last", S.R_WAIT_PAGE),
    (S.R_WAIT_PAGE, "PPS"): _t("answer_pps", S.R_WAIT_PAGE, S.R_WAIT_DCN, S.R_WAIT_COMMAND),
    (S.R_WAIT_PAGE, "EOR"): _t("answer_eor", S.R_WAIT_PAGE, S.R_WAIT_DCN, S.R_WAIT_COMMAND),
    (S.R_WAIT_PAGE, "CTC"): _t("answer_ctc", S.R_WAIT_PAGE),
    (S.R_WAIT_PAGE, "RR"): _t("answer_rr", S.R_WAIT_PAGE),
    **{(S.R_WAIT_PAGE, name): _t("repeat_post_page", S.R_WAIT_PAGE) for name in _POST_PAGE},
    (S.R_WAIT_PAGE, "DCN"): _t("fail_rx_dcndata", S.DONE),
    (S.R_WAIT_PAGE, "T2"): _t("fail_rx_t2expfax", S.DONE),
    (S.R_PAGE, "IMAGE"): _t("store_image", S.R_PAGE, S.DONE),
    (S.R_PAGE, "IMAGE_END"): _t("end_page", S.R_WAIT_POST_PAGE),
    **{(S.R_PAGE, name): _t("end_page_and_answer", S.R_WAIT_PAGE, S.R_WAIT_DCN,
                            S.R_WAIT_COMMAND, S.R_WAIT_POST_PAGE) for name in _POST_PAGE},
    (S.R_PAGE, "DCN"): _t("fail_rx_dcndata", S.DONE),
    (S.R_PAGE, "T2"): _t("fail_rx_t2expfax", S.DONE),
    **{(S.R_WAIT_POST_PAGE, name): _t("answer_post_page", S.R_WAIT_PAGE, S.R_WAIT_DCN,
                                      S.R_WAIT_COMMAND, S.R_WAIT_POST_PAGE)
       for name in _POST_PAGE},
    (S.R_WAIT_POST_PAGE, "CRP"): _t("repeat_last", S.R_WAIT_POST_PAGE),
    (S.R_WAIT_POST_PAGE, "DCN"): _t("fail_rx_dcnfax", S.DONE),
    (S.R_WAIT_POST_PAGE, "T2"): _t("fail_rx_t2expmps", S.DONE),
    (S.R_ECM_BLOCK, "FCD"): _t("store_ecm_frame", S.R_ECM_BLOCK, S.DONE),
    (S.R_ECM_BLOCK, "RCP"): _t("note_rcp", S.R_ECM_BLOCK),
    (S.R_ECM_BLOCK, "PPS"): _t("answer_pps", S.R_WAIT_PAGE, S.R_WAIT_DCN, S.R_WAIT_COMMAND,
                               S.R_ECM_BLOCK),
    (S.R_ECM_BLOCK, "EOR"): _t("answer_eor", S.R_WAIT_PAGE, S.R_WAIT_DCN, S.R_WAIT_COMMAND),
    (S.R_ECM_BLOCK, "CTC"): _t("answer_ctc", S.R_WAIT_PAGE),
    (S.R_ECM_BLOCK, "RR"): _t("answer_rr", S.R_ECM_BLOCK),
    (S.R_ECM_BLOCK, "DCN"): _t("fail_rx_dcndata", S.DONE),
    (S.R_ECM_BLOCK, "T2"): _t("fail_rx_t2expfax", S.DONE),
    (S.R_WAIT_DCN, "DCN"): _t("finish_received", S.DONE),
    **{(S.R_WAIT_DCN, name): _t("repeat_post_page", S.R_WAIT_DCN) for name in _POST_PAGE},
    (S.R_WAIT_DCN, "PPS"): _t("repeat_post_page", S.R_WAIT_DCN),
    (S.R_WAIT_DCN, "CRP"): _t("repeat_last", S.R_WAIT_DCN),
    (S.R_WAIT_DCN, "T2"): _t("finish_without_dcn", S.DONE),
    # -- sending ----------------------------------------------------------------------------
    (S.S_WAIT_DIS, "CSI"): _t("note_ident", S.S_WAIT_DIS),
    (S.S_WAIT_DIS, "NSF"): _t("note_frame", S.S_WAIT_DIS),
    (S.S_WAIT_DIS, "DIS"): _t("send_dcs", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_DIS, "DCN"): _t("fail_tx_gotdcn", S.DONE),
    (S.S_WAIT_DIS, "T1"): _t("fail_t1", S.DONE),
    (S.S_WAIT_CFR, "CFR"): _t("send_page", S.S_WAIT_PAGE_RESPONSE, S.S_WAIT_PPS_RESPONSE,
                              S.DONE),
    (S.S_WAIT_CFR, "FTT"): _t("fall_back", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_CFR, "DIS"): _t("send_dcs_again", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_CFR, "CSI"): _t("note_ident", S.S_WAIT_CFR),
    (S.S_WAIT_CFR, "NSF"): _t("note_frame", S.S_WAIT_CFR),
    (S.S_WAIT_CFR, "CRP"): _t("send_dcs_again", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_CFR, "T4"): _t("send_dcs_again", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_CFR, "DCN"): _t("fail_tx_baddcs", S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "MCF"): _t("page_confirmed", S.S_WAIT_PAGE_RESPONSE, S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "PIP"): _t("page_confirmed", S.S_WAIT_PAGE_RESPONSE, S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "RTP"): _t("page_confirmed_retrain", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "RTN"): _t("page_rejected", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "PIN"): _t("page_rejected", S.S_WAIT_CFR, S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "CRP"): _t("repeat_post_page_command", S.S_WAIT_PAGE_RESPONSE,
                                        S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "T4"): _t("repeat_post_page_command", S.S_WAIT_PAGE_RESPONSE,
                                       S.DONE),
    (S.S_WAIT_PAGE_RESPONSE, "DCN"): _t("fail_tx_badpg", S.DONE),
    (S.S_WAIT_PPS_RESPONSE, "MCF"): _t("block_confirmed", S.S_WAIT_PPS_RESPONSE, S.DONE),
    (S.S_WAIT_PPS_RESPONSE, "ERR"): _t("block_confirmed", S.S_WAIT_PPS_RESPONSE, S.DONE),
    (S.S_WAIT_PPS_RESPONSE, "PPR"): _t("resend_frames", S.S_WAIT_PPS_RESPONSE),
    (S.S_WAIT_PPS_RESPONSE, "RNR"): _t("wait_until_ready", S.S_WAIT_PPS_RESPONSE),
    (S.S_WAIT_PPS_RESPONSE, "RR_DUE"): _t("send_rr", S.S_WAIT_PPS_RESPONSE),
    (S.S_WAIT_PPS_RESPONSE, "T5"): _t("fail_tx_t5exp", S.DONE),
    (S.S_WAIT_PPS_RESPONSE, "CRP"): _t("repeat_post_page_command", S.S_WAIT_PPS_RESPONSE,
                                       S.DONE),
    (S.S_WAIT_PPS_RESPONSE, "T4"): _t("repeat_post_page_command", S.S_WAIT_PPS_RESPONSE,
                                      S.DONE),
    (S.S_WAIT_PPS_RESPONSE, "DCN"): _t("fail_tx_badpg", S.DONE),
}


@dataclass
class FaxConfig:
    """What the terminal offers (receiving) or may use (sending)."""

    ident: str = "sipfault"
    max_rate: int = 14400
    ecm: bool = True
    compressions: tuple[Compression, ...] = (Compression.MMR, Compression.MR, Compression.MH)
    """Accepted (receiving) or allowed (sending), best first."""
    resolutions: tuple[Resolution, ...] = (Resolution.STANDARD, Resolution.FINE,
                                           Resolution.SUPERFINE)
    chunk: int = 256
    """Most octets of data in one IFP packet (keeps datagrams under T38FaxMaxDatagram)."""
    ecm_frame_size: int = 256
    bad_row_limit: float = 0.1
    """Share of bad rows above which a non-ECM page is answered RTN."""
    t1: float = T1
    t2: float = T2
    t4: float = T4
    t5: float = T5

    def capabilities(self) -> Capabilities:
        return Capabilities(max_rate=self.max_rate, resolutions=self.resolutions,
                            compressions=self.compressions, ecm=self.ecm)


@dataclass
class _EcmBlock:
    """The sender's view of one ECM block: its frames and the post-page command after it."""

    frames: list[bytes]
    last_of_page: bool
    number: int


@dataclass
class FaxTerminal:
    role: Role
    config: FaxConfig = field(default_factory=FaxConfig)
    pages: Sequence[Page] = ()
    faults: FaxFaults = field(default_factory=FaxFaults)

    def __post_init__(self) -> None:
        self.state = State.IDLE
        self.result: PhaseE | None = None
        self.received_pages: list[Page] = []
        self.pages_sent = 0
        self.findings: list[Finding] = []
        self.remote_ident = ""
        self.session: Session | None = None
        self.far_capabilities: Capabilities | None = None
        self._out: list[IFPPacket] = []
        self._events: list[FaxEvent] = []
        self._timers: dict[str, float] = {}
        self._now = 0.0
        self._link_rx = LinkReceiver()
        self._link_tx = LinkSender(self.config.chunk)
        self._last_sent: list[IFPPacket] = []
        self._retries = 0
        self._silent_until = -1.0
        self._dcn_at: float | None = None
        self._dcn_sent_by_us = False
        self._after_dcn_reported = False
        # Receiving.
        self._tcf_zero_run = 0
        self._tcf_longest = 0
        self._tcf_octets = 0
        self._ftt_left = self.faults.ftt_on_tcf
        self._crp_done: set[str] = set()
        self._image = bytearray()
        self._page_number = 1
        self._last_post_page: tuple[str, list[IFPPacket]] | None = None
        self._page_result: Page | None = None
        self._ecm_frames: dict[int, bytes] = {}
        self._ecm_page = bytearray()
        self._ecm_requested: set[int] = set()
        self._ecm_last_ack: tuple[int, int] | None = None
        self._ecm_ppr_count = 0
        self._ecm_block_count = 0
        self._ecm_dropped_once: set[tuple[int, int, int]] = set()
        self._unanswered: dict[str, float] = {}
        """Commands left unanswered on purpose and when; removed when the far end repeats."""
        self._repeated: set[str] = set()
        self._forced_done: set[int] = set()
        self._dcn_mid_page_sent = False
        # Sending.
        self._modems: list[Modem] = []
        self._page_index = 0
        self._page_retries = 0
        self._post_page_frames: list[IFPPacket] = []
        self._blocks: list[_EcmBlock] = []
        self._block_index = 0
        self._ppr_rounds = 0

    # -- the caller's interface ---------------------------------------------------------------

    def start(self, now: float) -> None:
        """Begin the call: CED and DIS when receiving, CNG when sending (T.30 §4.1, §4.2)."""
        self._now = now
        if self.role is Role.RECEIVE:
            self._emit([IFPPacket.signal(Indicator.CED)], "CED")
            self._send_dis()
            self.state = State.R_WAIT_COMMAND
            self._arm("T1", self.config.t1)
        else:
            self._emit([IFPPacket.signal(Indicator.CNG)], "CNG")
            self.state = State.S_WAIT_DIS
            self._arm("T1", self.config.t1)

    @property
    def done(self) -> bool:
        return self.state is State.DONE

    def receive(self, packet: IFPPacket, now: float) -> None:
        self._now = now
        for event in self._link_rx.feed(packet):
            if isinstance(event, HdlcReceived):
                self._frame_received(event)
            elif isinstance(event, ImageReceived):
                self._image_received(event)
            elif isinstance(event, SignalEnded):
                self._signal_ended(event)
            elif isinstance(event, SignalStarted):
                self._signal_started(event)

    def lost(self, count: int, now: float) -> None:
        """``count`` IFP packets were lost for good (UDPTL could not recover them)."""
        self._now = now
        del count
        self._link_rx.lost()

    def next_deadline(self) -> float | None:
        return min(self._timers.values(), default=None)

    def handle_timer(self, now: float) -> None:
        self._now = now
        while not self.done:
            due = [(deadline, name) for name, deadline in self._timers.items() if deadline <= now]
            if not due:
                return
            _, name = min(due)
            del self._timers[name]
            self._fire(name)

    def take_packets(self) -> list[IFPPacket]:
        out, self._out = self._out, []
        return out

    def take_events(self) -> list[FaxEvent]:
        out, self._events = self._events, []
        return out

    # -- the table ----------------------------------------------------------------------------

    def _fire(self, trigger: str, frame: Frame | None = None) -> None:
        if self.done:
            return
        transition = TRANSITIONS.get((self.state, trigger))
        if transition is None:
            return
        action: Callable[[Frame | None], State | None] = getattr(self, f"_{transition.action}")
        chosen = action(frame)
        if self.done:
            return
        if chosen is None:
            chosen = transition.targets[0]
        assert chosen in transition.targets, (self.state, trigger, chosen)
        self.state = chosen

    # -- input classification -----------------------------------------------------------------

    def _frame_received(self, event: HdlcReceived) -> None:
        if not event.ok:
            self._events.append(SignalEvent(self._now, False, "frame with bad FCS"))
            return
        try:
            frame = decode_frame(event.data)
        except FrameError as exc:
            self._events.append(SignalEvent(self._now, False, f"unusable frame ({exc})"))
            return
        if frame.fcf is not FCF.FCD:
            self._events.append(FrameEvent(self._now, False, _frame_name(frame),
                                           self._describe(frame)))
        self._check_after_dcn(frame.fcf.name)
        name = frame.fcf.name
        if name in self._unanswered or (name == "PPS" and "PPS" in self._unanswered):
            # The far end repeated a command we left unanswered, as the flow diagrams of
            # T.30 §5.2 ask when T4 expires.
            del self._unanswered[name]
            self._repeated.add(name)
        if name in ("PRI_MPS", "PRI_EOP", "PRI_EOM"):
            name = name[4:]
        if (name in self.faults.crp_on and name not in self._crp_done and name != "DCS"
                and self.role is Role.RECEIVE):
            self._crp_done.add(name)
            self._fault("crp", f"answered {name} with CRP")
            self._send_frames([Frame(FCF.CRP)])
            return
        self._fire(name, frame)

    def _image_received(self, event: ImageReceived) -> None:
        self._check_after_dcn("image data")
        if self.state is State.R_TCF:
            self._count_tcf(event.data)
        elif self.state is State.R_WAIT_PAGE:
            self._fire("IMAGE")  # training was lost: the page starts here
            self._image += event.data
        elif self.state is State.R_PAGE:
            self._image += event.data
            self._fire("IMAGE")

    def _signal_ended(self, event: SignalEnded) -> None:
        if event.hdlc:
            return
        if self.state is State.R_TCF:
            good = self._tcf_good()
            self._fire("TCF_GOOD" if good else "TCF_BAD")
        elif self.state is State.R_PAGE:
            self._fire("IMAGE_END")

    def _signal_started(self, event: SignalStarted) -> None:
        data_type = DATA_TYPE_OF_TRAINING.get(event.indicator)
        if data_type is not None:
            self._events.append(SignalEvent(self._now, False,
                                            f"training {MODEM_OF_DATA_TYPE[data_type].name}"))
            self._fire("TRAINING")
        elif event.indicator in (Indicator.CNG, Indicator.CED):
            self._events.append(SignalEvent(self._now, False, event.indicator.name))

    def _check_after_dcn(self, what: str) -> None:
        """T.30 §3.3: DCN begins phase E, so nothing more is sent (what was in flight is
        forgiven)."""
        if what == "DCN" or self._dcn_at is None or self._after_dcn_reported:
            return
        if self._dcn_sent_by_us and self._now - self._dcn_at < DCN_GRACE:
            return
        if self._dcn_at is not None and not self._after_dcn_reported:
            self._after_dcn_reported = True
            self._finding("sent-after-dcn", f"the far end sent {what} after DCN")

    # -- output -------------------------------------------------------------------------------

    def _emit(self, packets: list[IFPPacket], text: str | None = None) -> None:
        if self._now < self._silent_until:
            return
        self._out.extend(packets)
        if text:
            self._events.append(SignalEvent(self._now, True, text))

    def _send_frames(self, frames: list[Frame], remember: bool = True) -> list[IFPPacket]:
        x_bit = self.role is Role.SEND
        encoded = []
        for index, frame in enumerate(frames):
            final = index == len(frames) - 1
            item = Frame(frame.fcf, frame.fif, final, x_bit)
            encoded.append(item.encode())
            self._events.append(FrameEvent(self._now, True, _frame_name(item),
                                           self._describe(item)))
        packets = self._link_tx.frames(encoded)
        self._emit(packets)
        if remember:
            self._last_sent = packets
        last = frames[-1].fcf.name
        if self.faults.silence_after == last and self.faults.silence_seconds > 0:
            self._go_silent(last)
        if frames[-1].fcf is FCF.DCN and self._now >= self._silent_until:
            self._dcn_at = self._now
            self._dcn_sent_by_us = True
        return packets

    def _go_silent(self, after: str) -> None:
        self._silent_until = self._now + self.faults.silence_seconds
        self._fault("silence", f"silent for {self.faults.silence_seconds:g} s after {after}")

    def _arm(self, name: str, seconds: float) -> None:
        self._timers[name] = self._now + seconds

    def _disarm(self, *names: str) -> None:
        for name in names:
            self._timers.pop(name, None)

    def _finding(self, code: str, text: str) -> None:
        finding = Finding(self._now, code, text)
        self.findings.append(finding)
        self._events.append(finding)

    def _fault(self, name: str, text: str) -> None:
        self._events.append(FaultEvent(self._now, name, text))

    def _finish(self, result: PhaseE) -> State:
        self.result = result
        self._timers.clear()
        for name, at in self._unanswered.items():
            self._finding("no-repeat", f"the far end did not repeat {name} left unanswered at "
                                       f"{at:.1f} s")
        self._unanswered.clear()
        pages = len(self.received_pages) if self.role is Role.RECEIVE else self.pages_sent
        self._events.append(Outcome(self._now, result, pages))
        self.state = State.DONE
        return State.DONE

    def _fail_with_dcn(self, result: PhaseE) -> State:
        self._send_frames([Frame(FCF.DCN)])
        return self._finish(result)

    def _describe(self, frame: Frame) -> str:
        fcf = frame.fcf
        if fcf in (FCF.DIS, FCF.DTC):
            return Capabilities.decode(frame.fif).describe()
        if fcf is FCF.DCS:
            try:
                return Session.decode(frame.fif).describe()
            except ValueError as exc:
                return str(exc)
        if fcf in (FCF.CSI, FCF.TSI, FCF.CIG, FCF.SUB, FCF.SID):
            return f'"{decode_ident(frame.fif)}"'
        if fcf in (FCF.NSF, FCF.NSS, FCF.NSC):
            return frame.fif.hex()
        if fcf is FCF.PPS and len(frame.fif) >= 4:
            return (f"page {frame.fif[1]} block {frame.fif[2]}, {frame.fif[3] + 1} frames")
        if fcf is FCF.PPR:
            missing = _bitmap_frames(frame.fif)
            shown = ", ".join(map(str, missing[:12])) + (" ..." if len(missing) > 12 else "")
            return f"{len(missing)} frames: {shown}"
        return ""

    # -- actions: receiving -------------------------------------------------------------------

    def _send_dis(self) -> None:
        capabilities = self.faults.dis or self.config.capabilities()
        if self.faults.dis is not None:
            self._fault("dis", f"DIS offers {capabilities.describe()}")
        self._send_frames([Frame(FCF.CSI, encode_ident(self.config.ident)),
                           Frame(FCF.DIS, capabilities.encode())])
        self._arm("T4", self.config.t4)

    def _send_dis_again(self, frame: Frame | None) -> State | None:
        self._send_dis()
        return None

    def _note_ident(self, frame: Frame | None) -> State | None:
        assert frame is not None
        if frame.fcf in (FCF.TSI, FCF.CSI):
            self.remote_ident = decode_ident(frame.fif)
        return None

    def _note_frame(self, frame: Frame | None) -> State | None:
        return None

    def _repeat_last(self, frame: Frame | None) -> State | None:
        self._emit(list(self._last_sent))
        return None

    def _accept_dcs(self, frame: Frame | None) -> State | None:
        assert frame is not None
        self._disarm("T4", "T1")
        try:
            session = Session.decode(frame.fif)
        except ValueError as exc:
            self._finding("bad-dcs", f"DCS selects no modem ({exc})")
            self._arm("T2", self.config.t2)
            return State.R_WAIT_COMMAND
        offered = self.faults.dis or self.config.capabilities()
        if session.modem not in offered.modems():
            self._finding("rate-not-offered",
                          f"DCS chose {session.modem.name}, which the DIS did not offer "
                          f"({offered.describe()})")
        if session.compression not in offered.compressions:
            self._finding("coding-not-offered",
                          f"DCS chose {session.compression.value}, which the DIS did not offer")
        self.session = session
        self._tcf_zero_run = self._tcf_longest = self._tcf_octets = 0
        self._arm("T2", self.config.t2)
        return State.R_TCF

    def _start_tcf(self, frame: Frame | None) -> State | None:
        self._tcf_zero_run = self._tcf_longest = self._tcf_octets = 0
        return None

    def _count_tcf(self, data: bytes) -> None:
        self._tcf_octets += len(data)
        for octet in data:
            if octet == 0:
                self._tcf_zero_run += 1
                self._tcf_longest = max(self._tcf_longest, self._tcf_zero_run)
            else:
                self._tcf_zero_run = 0

    def _tcf_good(self) -> bool:
        """TCF is 1.5 s of zeros (ITU-T T.30); one second of them unbroken is good enough."""
        assert self.session is not None
        return self._tcf_longest * 8 >= self.session.rate * 1.0

    def _crp_instead_of_tcf_answer(self) -> bool:
        """CRP for DCS: sent where CFR or FTT would be, after the TCF that follows DCS."""
        if "DCS" in self.faults.crp_on and "DCS" not in self._crp_done:
            self._crp_done.add("DCS")
            self._fault("crp", "answered DCS with CRP")
            self._send_frames([Frame(FCF.CRP)])
            self._arm("T2", self.config.t2)
            return True
        return False

    def _answer_tcf_good(self, frame: Frame | None) -> State | None:
        assert self.session is not None
        if self._crp_instead_of_tcf_answer():
            return State.R_WAIT_COMMAND
        self._events.append(SignalEvent(
            self._now, False, f"TCF {self._tcf_octets} octets, {self._tcf_longest} zeros"))
        if self._ftt_left > 0:
            self._ftt_left -= 1
            self._fault("ftt", "answered a good TCF with FTT")
            return self._answer_tcf_bad(frame)
        self._send_frames([Frame(FCF.CFR)])
        self._arm("T2", self.config.t2)
        self._image.clear()
        return State.R_WAIT_PAGE

    def _answer_tcf_bad(self, frame: Frame | None) -> State | None:
        if self._crp_instead_of_tcf_answer():
            return None
        self._send_frames([Frame(FCF.FTT)])
        self._arm("T2", self.config.t2)
        return None

    def _start_page(self, frame: Frame | None) -> State | None:
        assert self.session is not None
        self._arm("T2", self.config.t2)
        if self.session.ecm:
            return State.R_ECM_BLOCK
        self._image.clear()
        return State.R_PAGE

    def _start_page_late(self, frame: Frame | None) -> State | None:
        self._image.clear()
        self._arm("T2", self.config.t2)
        return None

    def _store_image(self, frame: Frame | None) -> State | None:
        self._arm("T2", self.config.t2)
        if (self.faults.dcn_mid_page == self._page_number and not self._dcn_mid_page_sent
                and len(self._image) > self.config.chunk):
            self._dcn_mid_page_sent = True
            self._fault("dcn-mid-page", f"DCN in the middle of page {self._page_number}")
            self._send_frames([Frame(FCF.DCN)])
            return self._finish(PhaseE.CALLDROPPED)
        return None

    def _received_page(self, coded: bytes) -> Page:
        """A received page decoded, keeping its coded data as it arrived for the TIFF file."""
        assert self.session is not None
        compression = self.session.compression
        decoded = decode_page(coded, WIDTH, compression)
        return Page(decoded.rows, WIDTH, 204.0, self.session.resolution.y_dpi,
                    decoded.bad_rows, decoded.longest_bad_run, decoded.first_bad_row,
                    coded=coded, coding=compression)

    def _end_page(self, frame: Frame | None) -> State | None:
        assert self.session is not None
        self._page_result = self._received_page(bytes(self._image))
        self._arm("T2", self.config.t2)
        return None

    def _end_page_and_answer(self, frame: Frame | None) -> State | None:
        self._end_page(frame)
        return self._answer_post_page(frame)

    def _forced_response(self) -> str | None:
        forced = self.faults.page_response.get(self._page_number)
        if forced is None or self._page_number in self._forced_done:
            return None
        self._forced_done.add(self._page_number)
        return forced

    def _page_verdict(self, page: Page) -> str:
        forced = self._forced_response()
        if forced:
            self._fault("page-response", f"answered page {self._page_number} with {forced}")
            return forced
        if not page.rows:
            return "RTN"
        if page.bad_rows > self.config.bad_row_limit * max(page.length, 1):
            return "RTN"
        return "MCF"

    def _answer_post_page(self, frame: Frame | None) -> State | None:
        assert frame is not None
        name = frame.fcf.name.removeprefix("PRI_")
        if name in self.faults.never_answer:
            self._fault("never-answer", f"left {name} unanswered")
            if name not in self._repeated:
                self._unanswered.setdefault(name, self._now)
            self._arm("T2", self.config.t2 * 2)
            return State.R_WAIT_POST_PAGE
        page = self._page_result or Page([], WIDTH)
        verdict = self._page_verdict(page)
        self._page_result = None
        self._finish_page(page, verdict, name)
        packets = self._send_frames([Frame(FCF[verdict])])
        self._last_post_page = (name, packets)
        return self._after_post_page(name, verdict)

    def _after_post_page(self, name: str, verdict: str) -> State:
        self._arm("T2", self.config.t2)
        if name == "EOP":
            return State.R_WAIT_DCN
        if name == "EOM":
            self._send_dis()
            self._disarm("T2")
            self._arm("T1", self.config.t1)
            return State.R_WAIT_COMMAND
        return State.R_WAIT_PAGE

    def _finish_page(self, page: Page, verdict: str, name: str) -> None:
        assert self.session is not None
        if verdict != "RTN":
            self.received_pages.append(page)
        detail = f"{self.session.compression.value}{' ECM' if self.session.ecm else ''}"
        self._events.append(PageEvent(self._now, False, self._page_number, page, verdict,
                                      f"({detail}, then {name})"))
        if verdict != "RTN":
            self._page_number += 1

    def _repeat_post_page(self, frame: Frame | None) -> State | None:
        assert frame is not None
        if self._last_post_page is not None:
            self._emit(list(self._last_post_page[1]))
        return None

    # ECM receiving (T.4 Annex A, T.30 Annex A).

    def _store_ecm_frame(self, frame: Frame | None) -> State | None:
        assert frame is not None and self.session is not None
        self._arm("T2", self.config.t2)
        if not frame.fif:
            return None
        number = frame.fif[0]
        key = (self._page_number, self._ecm_block_number(), number)
        if number in self.faults.drop_ecm_frames and key not in self._ecm_dropped_once:
            self._ecm_dropped_once.add(key)
            self._fault("drop-ecm-frame", f"treated ECM frame {number} as lost")
            return None
        self._ecm_frames[number] = reverse_bits(frame.fif[1:])
        if (self.faults.dcn_mid_page == self._page_number and not self._dcn_mid_page_sent
                and len(self._ecm_frames) >= 4):
            self._dcn_mid_page_sent = True
            self._fault("dcn-mid-page", f"DCN in the middle of page {self._page_number}")
            self._send_frames([Frame(FCF.DCN)])
            return self._finish(PhaseE.CALLDROPPED)
        return None

    def _ecm_block_number(self) -> int:
        return self._ecm_last_ack[1] + 1 if self._ecm_last_ack else 0

    def _note_rcp(self, frame: Frame | None) -> State | None:
        return None

    def _answer_pps(self, frame: Frame | None) -> State | None:
        assert frame is not None and self.session is not None
        if len(frame.fif) < 4:
            return None
        command = _post_page_name(frame.fif[0])
        page, block, count = frame.fif[1], frame.fif[2], frame.fif[3] + 1
        if self._ecm_last_ack == (page, block) and not self._ecm_frames:
            # Our MCF was lost: the same PPS again.
            if self._last_post_page is not None:
                self._emit(list(self._last_post_page[1]))
            return None
        if "PPS" in self.faults.never_answer:
            self._fault("never-answer", "left PPS unanswered")
            if "PPS" not in self._repeated:
                self._unanswered.setdefault("PPS", self._now)
            self._arm("T2", self.config.t2 * 2)
            return State.R_ECM_BLOCK if self.state is State.R_ECM_BLOCK else State.R_WAIT_PAGE
        # The count may be that of the last burst only (a resend): keep the largest seen.
        self._ecm_block_count = max(self._ecm_block_count, count)
        count = self._ecm_block_count
        missing = [number for number in range(count) if number not in self._ecm_frames]
        if self._ecm_requested:
            ignored = sorted(self._ecm_requested & set(missing))
            if ignored and len(ignored) == len(self._ecm_requested):
                self._finding("ignored-ppr", f"the far end did not resend frames {ignored} "
                                             "asked for with PPR")
            self._ecm_requested = set()
        if missing:
            self._ecm_ppr_count += 1
            self._ecm_requested = set(missing)
            self._send_frames([Frame(FCF.PPR, _frames_bitmap(missing))])
            self._arm("T2", self.config.t2)
            return State.R_WAIT_PAGE
        for number in range(count):
            self._ecm_page += self._ecm_frames[number]
        self._ecm_frames = {}
        self._ecm_block_count = 0
        self._ecm_last_ack = (page, block)
        self._ecm_ppr_count = 0
        if command == "NULL":
            packets = self._send_frames([Frame(FCF.MCF)])
            self._last_post_page = ("PPS", packets)
            self._arm("T2", self.config.t2)
            return State.R_WAIT_PAGE
        return self._ecm_page_done(command)

    def _ecm_page_done(self, command: str) -> State:
        assert self.session is not None
        page = self._received_page(bytes(self._ecm_page))
        self._ecm_page.clear()
        verdict = "MCF"
        forced = self._forced_response()
        if forced:
            self._fault("page-response", f"answered page {self._page_number} with {forced}")
            verdict = forced
        self._ecm_last_ack = None if command != "NULL" else self._ecm_last_ack
        self._finish_page(page, verdict, f"PPS-{command}")
        packets = self._send_frames([Frame(FCF[verdict])])
        self._last_post_page = ("PPS", packets)
        return self._after_post_page(command, verdict)

    def _answer_eor(self, frame: Frame | None) -> State | None:
        assert frame is not None
        command = _post_page_name(frame.fif[0]) if frame.fif else "NULL"
        for number in sorted(self._ecm_frames):
            self._ecm_page += self._ecm_frames[number]
        self._ecm_frames = {}
        self._ecm_requested = set()
        if command == "NULL":
            self._send_frames([Frame(FCF.ERR)])
            self._arm("T2", self.config.t2)
            return State.R_WAIT_PAGE
        state = self._ecm_page_done(command)
        return state

    def _answer_ctc(self, frame: Frame | None) -> State | None:
        self._send_frames([Frame(FCF.CTR)])
        self._arm("T2", self.config.t2)
        return None

    def _answer_rr(self, frame: Frame | None) -> State | None:
        if self._last_post_page is not None:
            self._emit(list(self._last_post_page[1]))
        else:
            self._send_frames([Frame(FCF.MCF)])
        return None

    def _finish_received(self, frame: Frame | None) -> State | None:
        self._dcn_at = self._now
        return self._finish(PhaseE.OK)

    def _finish_without_dcn(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.RX_T2EXPDCN)

    # -- actions: sending ---------------------------------------------------------------------

    def _send_dcs(self, frame: Frame | None) -> State | None:
        assert frame is not None
        self._disarm("T1")
        far = Capabilities.decode(frame.fif)
        self.far_capabilities = far
        if not far.ready_to_receive:
            return self._fail_with_dcn(PhaseE.RX_INCAPABLE)
        ours = self.config.capabilities()
        self._modems = [m for m in far.modems() if m in ours.modems()]
        if not self._modems or not self.pages:
            return self._fail_with_dcn(PhaseE.INCOMPATIBLE if self.pages else PhaseE.NOPAGE)
        ecm = self.config.ecm and far.ecm
        compression = next((c for c in self.config.compressions if c in far.compressions
                            and (ecm or c is not Compression.MMR)), Compression.MH)
        first = self.pages[0]
        resolution = Resolution.from_dpi(first.y_dpi)
        while resolution not in far.resolutions:
            resolution = Resolution.FINE if resolution is Resolution.SUPERFINE else (
                Resolution.STANDARD)
        self.session = Session(self._modems[0], resolution, compression, ecm,
                               self.config.ecm_frame_size if ecm else 256,
                               0 if ecm else far.min_scan_ms)
        self._retries = 0
        return self._send_dcs_and_tcf()

    def _send_dcs_and_tcf(self) -> State:
        assert self.session is not None
        self._send_frames([Frame(FCF.TSI, encode_ident(self.config.ident)),
                           Frame(FCF.DCS, self.session.encode())])
        zeros = bytes(int(self.session.rate * TCF_SECONDS / 8))
        self._emit(self._link_tx.image(zeros, self.session.modem.data_type),
                   f"TCF {self.session.modem.name}")
        self._arm("T4", self.config.t4)
        return State.S_WAIT_CFR

    def _send_dcs_again(self, frame: Frame | None) -> State | None:
        self._retries += 1
        if self._retries > RETRIES:
            return self._fail_with_dcn(PhaseE.TX_PHBDEAD)
        return self._send_dcs_and_tcf()

    def _fall_back(self, frame: Frame | None) -> State | None:
        assert self.session is not None
        lower = [m for m in self._modems if m.rate < self.session.rate]
        if not lower:
            return self._fail_with_dcn(PhaseE.CANNOT_TRAIN)
        self.session = Session(lower[0], self.session.resolution, self.session.compression,
                               self.session.ecm, self.session.frame_size,
                               self.session.min_scan_ms)
        self._retries = 0
        return self._send_dcs_and_tcf()

    def _page_rows(self, page: Page) -> list[bytes]:
        assert self.session is not None
        rows = list(page.rows)
        target = self.session.resolution.y_dpi
        while Resolution.from_dpi(page.y_dpi).y_dpi > target and len(rows) > 1:
            rows = rows[::2]
            target *= 2
        return rows

    def _coded_page(self) -> bytes:
        assert self.session is not None
        page = self.pages[self._page_index]
        k = 4 if self.session.resolution is not Resolution.STANDARD else 2
        return encode_page(self._page_rows(page), page.width, self.session.compression, k=k,
                           min_row_bits=self.session.min_row_bits())

    def _post_page_command(self) -> str:
        return "EOP" if self._page_index == len(self.pages) - 1 else "MPS"

    def _send_page(self, frame: Frame | None) -> State | None:
        assert self.session is not None
        self._disarm("T4")
        self._retries = 0
        data = self._coded_page()
        if self.session.ecm:
            self._blocks = _ecm_blocks(data, self.session.frame_size)
            self._block_index = 0
            self._send_block(first=True)
            return State.S_WAIT_PPS_RESPONSE
        data_type = self.session.modem.data_type
        if self.faults.dcn_mid_page == self._page_index + 1:
            self._emit(self._link_tx.image(data[:len(data) // 2], data_type)[:-2],
                       f"half of page {self._page_index + 1}")
            self._fault("dcn-mid-page", f"DCN in the middle of page {self._page_index + 1}")
            return self._fail_with_dcn(PhaseE.CALLDROPPED)
        self._emit(self._link_tx.image(data, data_type),
                   f"page {self._page_index + 1}, {len(data)} octets {self.session.describe()}")
        self._post_page_frames = self._send_frames([Frame(FCF[self._post_page_command()])])
        self._arm("T4", self.config.t4)
        if self.faults.silence_after == "page" and self.faults.silence_seconds > 0:
            self._go_silent("page")
        return State.S_WAIT_PAGE_RESPONSE

    def _send_block(self, first: bool, only: Sequence[int] | None = None) -> None:
        assert self.session is not None
        block = self._blocks[self._block_index]
        numbers = list(range(len(block.frames))) if only is None else list(only)
        if first:
            dropped = set(self.faults.drop_ecm_frames)
            if self.faults.drop_ecm_random and self._block_index == 0 and self._page_index == 0:
                dropped |= set(self.faults.rng().sample(
                    numbers, min(self.faults.drop_ecm_random, len(numbers))))
            kept = [number for number in numbers if number not in dropped]
            if len(kept) != len(numbers):
                self._fault("drop-ecm-frames",
                            f"left out frames {sorted(set(numbers) - set(kept))}")
            numbers = kept
        frames = [Frame(FCF.FCD, bytes((number,)) + reverse_bits(block.frames[number]),
                        final=False).encode() for number in numbers]
        frames += [Frame(FCF.RCP, final=False).encode()] * 3
        data_type = self.session.modem.data_type
        if (self.faults.dcn_mid_page == self._page_index + 1 and first
                and self._block_index == 0):
            half = frames[:max(1, len(numbers) // 2)]
            self._emit(self._link_tx.frames(half, data_type, end=False))
            self._fault("dcn-mid-page", f"DCN in the middle of page {self._page_index + 1}")
            self._fail_with_dcn(PhaseE.CALLDROPPED)
            return
        self._emit(self._link_tx.frames(frames, data_type),
                   f"page {self._page_index + 1} block {block.number}: {len(numbers)} frames")
        command = self._post_page_command() if block.last_of_page else "NULL"
        pps = Frame(FCF.PPS, bytes((
            _POST_PAGE_FCF[command] | 1, self._page_index & 0xFF, block.number & 0xFF,
            max(len(block.frames) - 1, 0))))
        self._post_page_frames = self._send_frames([pps])
        self._arm("T4", self.config.t4)

    def _repeat_post_page_command(self, frame: Frame | None) -> State | None:
        self._retries += 1
        if self._retries > RETRIES:
            return self._fail_with_dcn(PhaseE.TX_PHDDEAD)
        self._emit(list(self._post_page_frames))
        self._events.append(SignalEvent(self._now, True, "post-page message repeated"))
        self._arm("T4", self.config.t4)
        return None

    def _next_page_or_end(self) -> State:
        self._page_index += 1
        self._page_retries = 0
        if self._page_index >= len(self.pages):
            self._send_frames([Frame(FCF.DCN)])
            return self._finish(PhaseE.OK)
        return State.S_WAIT_PAGE_RESPONSE

    def _page_sent(self, response: str) -> None:
        page = self.pages[self._page_index]
        self.pages_sent += 1
        assert self.session is not None
        self._events.append(PageEvent(self._now, True, self._page_index + 1, page, response,
                                      f"({self.session.describe()})"))

    def _page_confirmed(self, frame: Frame | None) -> State | None:
        self._disarm("T4")
        self._page_sent("MCF")
        state = self._next_page_or_end()
        if state is State.DONE:
            return state
        return self._send_page(None)

    def _page_confirmed_retrain(self, frame: Frame | None) -> State | None:
        self._disarm("T4")
        self._page_sent("RTP")
        state = self._next_page_or_end()
        if state is State.DONE:
            return state
        self._retries = 0
        return self._send_dcs_and_tcf()

    def _page_rejected(self, frame: Frame | None) -> State | None:
        self._disarm("T4")
        self._page_retries += 1
        if self._page_retries > RETRIES:
            return self._fail_with_dcn(PhaseE.RETRYDCN)
        self._retries = 0
        return self._send_dcs_and_tcf()

    def _block_confirmed(self, frame: Frame | None) -> State | None:
        self._disarm("T4", "T5", "RR_DUE")
        self._retries = 0
        self._ppr_rounds = 0
        block = self._blocks[self._block_index]
        if not block.last_of_page:
            self._block_index += 1
            self._send_block(first=True)
            return None
        self._page_sent("MCF")
        state = self._next_page_or_end()
        if state is State.DONE:
            return state
        return self._send_page(None)

    def _resend_frames(self, frame: Frame | None) -> State | None:
        assert frame is not None
        self._disarm("T4")
        self._retries = 0
        self._ppr_rounds += 1
        wanted = _bitmap_frames(frame.fif)
        block = self._blocks[self._block_index]
        wanted = [number for number in wanted if number < len(block.frames)]
        if self._ppr_rounds >= PPR_LIMIT:
            # T.30 §A.1.3: after the fourth PPR for a block send EOR and accept it as it is.
            command = self._post_page_command() if block.last_of_page else "NULL"
            self._post_page_frames = self._send_frames([Frame(FCF.EOR, bytes((
                _POST_PAGE_FCF[command] | 1,)))])
            self._arm("T4", self.config.t4)
            return None
        self._send_block(first=False, only=wanted or [0])
        return None

    def _wait_until_ready(self, frame: Frame | None) -> State | None:
        self._disarm("T4")
        if "T5" not in self._timers:
            self._arm("T5", self.config.t5)
        self._arm("RR_DUE", RR_INTERVAL)
        return None

    def _send_rr(self, frame: Frame | None) -> State | None:
        self._post_page_frames = self._send_frames([Frame(FCF.RR)])
        self._arm("T4", self.config.t4)
        return None

    # -- endings ------------------------------------------------------------------------------

    def _fail_t1(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.T1_EXPIRED)

    def _fail_rx_dcnwhy(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.RX_DCNWHY)

    def _fail_rx_dcndata(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.RX_DCNDATA)

    def _fail_rx_dcnfax(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.RX_DCNFAX)

    def _fail_rx_t2exp(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.RX_T2EXP)

    def _fail_rx_t2expfax(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.RX_T2EXPFAX)

    def _fail_rx_t2expmps(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.RX_T2EXPMPS)

    def _fail_tx_gotdcn(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.TX_GOTDCN)

    def _fail_tx_baddcs(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.TX_BADDCS)

    def _fail_tx_badpg(self, frame: Frame | None) -> State | None:
        return self._finish(PhaseE.TX_BADPG)

    def _fail_tx_t5exp(self, frame: Frame | None) -> State | None:
        return self._fail_with_dcn(PhaseE.TX_T5EXP)


_POST_PAGE_FCF = {"NULL": 0x00, "MPS": int(FCF.MPS), "EOP": int(FCF.EOP), "EOM": int(FCF.EOM),
                  "PRI_MPS": int(FCF.PRI_MPS), "PRI_EOP": int(FCF.PRI_EOP),
                  "PRI_EOM": int(FCF.PRI_EOM)}


def _post_page_name(octet: int) -> str:
    value = octet & 0xFE
    for name, fcf in _POST_PAGE_FCF.items():
        if fcf == value:
            return name.removeprefix("PRI_")
    return "NULL"


def _frame_name(frame: Frame) -> str:
    if frame.fcf is FCF.PPS and frame.fif:
        return f"PPS-{_post_page_name(frame.fif[0])}"
    if frame.fcf is FCF.EOR and frame.fif:
        return f"EOR-{_post_page_name(frame.fif[0])}"
    return frame.name


def _frames_bitmap(numbers: Sequence[int]) -> bytes:
    """PPR's 256-bit map: bit ``n`` set asks for frame ``n`` again (T.30 §A.4, its
    information field)."""
    bitmap = bytearray(32)
    for number in numbers:
        bitmap[number // 8] |= 1 << (number % 8)
    return bytes(bitmap)


def _bitmap_frames(bitmap: bytes) -> list[int]:
    return [index * 8 + bit for index, octet in enumerate(bitmap[:32]) for bit in range(8)
            if octet >> bit & 1]


def _ecm_blocks(data: bytes, frame_size: int) -> list[_EcmBlock]:
    """Split coded page data into frames and blocks of at most 256 frames (T.4 Annex A)."""
    frames = [data[offset:offset + frame_size] for offset in range(0, len(data), frame_size)]
    frames = frames or [b"\x00"]
    blocks = []
    for number, start in enumerate(range(0, len(frames), 256)):
        chunk = frames[start:start + 256]
        blocks.append(_EcmBlock(chunk, start + 256 >= len(frames), number))
    return blocks


__all__ = ["TRANSITIONS", "DataType", "FaxConfig", "FaxTerminal", "Role", "State"]
