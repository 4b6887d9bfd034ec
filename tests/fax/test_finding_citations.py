"""The ITU-T T.30 citations of the fax terminal's findings, as checked against the text.

§5.4.3.1 (the time-outs, T4 among them), §3.3 (phase E) and §A.1.3 (frames a PPR names are
sent again; EOR after the fourth PPR) were read in the Recommendation's table of contents and
text; the DCS checks rest on Table 2's bits, whose clause numbers could not be checked.
"""

from __future__ import annotations

import re
from pathlib import Path

from sipfault.fax import t30
from sipfault.media.fax import FINDING_SECTIONS
from sipfault.report.sections import finding_sections


def test_the_catalogue_of_citations() -> None:
    assert FINDING_SECTIONS == {
        "rate-not-offered": "ITU-T T.30 Table 2, bits 11-14 (a DCS selects a rate the DIS "
                            "offered)",
        "coding-not-offered": "ITU-T T.30 Table 2, bits 16 and 31 (a DCS selects a coding the "
                              "DIS offered)",
        "bad-dcs": "ITU-T T.30 Table 2, bits 11-14 (the rates a DCS can select)",
        "no-repeat": "ITU-T T.30 §5.4.3.1, timer T4, and the flow diagrams of §5.2 (a command "
                     "left unanswered is repeated when T4 expires)",
        "ignored-ppr": "ITU-T T.30 §A.1.3 (the frames a PPR names are sent again)",
        "sent-after-dcn": "ITU-T T.30 §3.3 (DCN begins phase E, the release of the call)",
    }


def test_every_finding_the_terminal_raises_is_in_the_catalogue() -> None:
    raised = set(re.findall(r'_finding\("([a-z-]+)"', Path(t30.__file__).read_text()))
    assert raised == set(FINDING_SECTIONS)


def test_the_report_finds_each_citation_in_the_finding() -> None:
    first = {"rate-not-offered": "ITU-T T.30 Table 2", "coding-not-offered": "ITU-T T.30 Table 2",
             "bad-dcs": "ITU-T T.30 Table 2", "no-repeat": "ITU-T T.30 §5.4.3.1",
             "ignored-ppr": "ITU-T T.30 §A.1.3", "sent-after-dcn": "ITU-T T.30 §3.3"}
    for code, section in FINDING_SECTIONS.items():
        found = finding_sections(f"t30-{code}", f"what happened ({section})",
                                 {"section": section})
        assert found[:1] == [first[code]], code
