"""How a fax call ended: the T.30 phase E results, named as spandsp's ``T30_ERR_*`` are.

ITU-T T.30 §3.3 ends every call in phase E; the reasons below are those spandsp and the fax
modules of Asterisk and FreeSWITCH report, in spandsp's numbering, so a result reads the same
on both ends of a test.
"""

from __future__ import annotations

from enum import IntEnum


class PhaseE(IntEnum):
    OK = 0
    CEDTONE = 1
    T0_EXPIRED = 2
    T1_EXPIRED = 3
    T3_EXPIRED = 4
    HDLC_CARRIER = 5
    CANNOT_TRAIN = 6
    OPER_INT_FAIL = 7
    INCOMPATIBLE = 8
    RX_INCAPABLE = 9
    TX_INCAPABLE = 10
    NORESSUPPORT = 11
    NOSIZESUPPORT = 12
    UNEXPECTED = 13
    TX_BADDCS = 14
    TX_BADPG = 15
    TX_ECMPHD = 16
    TX_GOTDCN = 17
    TX_INVALRSP = 18
    TX_NODIS = 19
    TX_PHBDEAD = 20
    TX_PHDDEAD = 21
    TX_T5EXP = 22
    RX_ECMPHD = 23
    RX_GOTDCS = 24
    RX_INVALCMD = 25
    RX_NOCARRIER = 26
    RX_NOEOL = 27
    RX_NOFAX = 28
    RX_T2EXPDCN = 29
    RX_T2EXPD = 30
    RX_T2EXPFAX = 31
    RX_T2EXPMPS = 32
    RX_T2EXPRR = 33
    RX_T2EXP = 34
    RX_DCNWHY = 35
    RX_DCNDATA = 36
    RX_DCNFAX = 37
    RX_DCNPHD = 38
    RX_DCNRRD = 39
    RX_DCNNORTN = 40
    FILEERROR = 41
    NOPAGE = 42
    BADTIFF = 43
    BADPAGE = 44
    BADTAG = 45
    BADTIFFHDR = 46
    NOMEM = 47
    RETRYDCN = 48
    CALLDROPPED = 49

    @property
    def label(self) -> str:
        """The spandsp spelling, such as ``T30_ERR_T1_EXPIRED``."""
        return f"T30_ERR_{self.name}"


DESCRIPTIONS = {
    PhaseE.OK: "completed",
    PhaseE.T1_EXPIRED: "timed out waiting for the first message (T1)",
    PhaseE.CANNOT_TRAIN: "failed to train at any rate both ends offer",
    PhaseE.INCOMPATIBLE: "the far end is not compatible",
    PhaseE.RX_INCAPABLE: "the far end cannot receive",
    PhaseE.TX_BADDCS: "bad answer to DCS or training",
    PhaseE.TX_BADPG: "DCN after a page was sent",
    PhaseE.TX_ECMPHD: "invalid ECM answer from the receiver",
    PhaseE.TX_GOTDCN: "DCN while waiting for DIS",
    PhaseE.TX_INVALRSP: "invalid answer after a page",
    PhaseE.TX_PHBDEAD: "no answer to DCS and training",
    PhaseE.TX_PHDDEAD: "no answer after a page",
    PhaseE.TX_T5EXP: "timed out waiting for the receiver to be ready (T5)",
    PhaseE.RX_T2EXPDCN: "T2 expired waiting for DCN",
    PhaseE.RX_T2EXPFAX: "T2 expired waiting for page data",
    PhaseE.RX_T2EXPMPS: "T2 expired waiting for the post-page message",
    PhaseE.RX_T2EXP: "T2 expired waiting for a command",
    PhaseE.RX_DCNWHY: "unexpected DCN while waiting for DCS",
    PhaseE.RX_DCNDATA: "unexpected DCN while waiting for page data",
    PhaseE.RX_DCNFAX: "unexpected DCN while waiting for EOM, EOP or MPS",
    PhaseE.RETRYDCN: "disconnected after the permitted retries",
    PhaseE.CALLDROPPED: "the call ended before the fax did",
}
