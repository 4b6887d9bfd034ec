"""A rule's ``fax``: the scenario file and ``RuleBuilder.fax`` accept and refuse the same values
with the same words (the one validator), and the model holds what was written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sipfault import Server
from sipfault.model.scenario import FaxFaultSettings, FaxSettings
from sipfault.model.validate import InvalidValue
from sipfault.scenario import check_scenario_text, load_scenario_text

ROLE = ("'fax' needs one of 'receive' and 'send' (expected a mapping with receive: a "
        "directory, or send: a TIFF or PNG file or testpage)")
CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"receive": "out/"}, None),
    ({"send": "testpage"}, None),
    ({"send": "pages.tif"}, None),
    ({"send": "page.PNG"}, None),
    ({}, ROLE),
    ({"receive": "out/", "send": "testpage"}, ROLE),
    ({"send": "page.pdf"}, "'send' is 'page.pdf' (expected a .tif, .tiff or .png file, or "
                           "testpage)"),
    ({"receive": "out/", "capabilities": {"max_rate": 12345}},
     "'max_rate' is 12345 (expected one of: 2400, 4800, 7200, 9600, 12000, 14400)"),
    ({"receive": "out/", "capabilities": {"compressions": ["JBIG"]}},
     "'compressions' has 'JBIG' (expected one or more of: MMR, MR, MH)"),
    ({"receive": "out/", "capabilities": {"ident": "x" * 21}},
     f"'ident' is '{'x' * 21}' (expected at most 20 ASCII characters, ITU-T T.30 §5.3.6.2.4)"),
    ({"receive": "out/", "faults": {"never_answer": ["MPS"], "page_response": {"2": "RTN"}}},
     None),
    ({"receive": "out/", "faults": {"never_answer": ["XYZ"]}},
     "'never_answer' has 'XYZ' (expected one or more of: MPS, EOP, EOM, PPS)"),
]


def _from_file(fields: dict[str, Any]) -> str | None:
    text = ("rules:\n  - match: {method: INVITE}\n    fax: " + json.dumps(fields)
            + "\n    reply: [{code: 200, sdp: answer}]\n")
    issues = [issue for issue in check_scenario_text(text) if issue.severity == "error"]
    return issues[0].message if issues else None


def _from_builder(fields: dict[str, Any]) -> str | None:
    server = Server()
    try:
        server.on("INVITE").fax(**fields).reply({"code": 200, "sdp": "answer"})
    except InvalidValue as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(("fields", "message"), CASES)
def test_the_file_and_the_builder_agree(fields: dict[str, Any], message: str | None) -> None:
    assert _from_file(fields) == message
    assert _from_builder(fields) == message


def test_the_model_holds_what_was_written() -> None:
    scenario = load_scenario_text("""
rules:
  - match: {method: INVITE}
    fax:
      receive: received/
      capabilities: {max_rate: 9600, ecm: false, compressions: [MR, MH], ident: "+1 555"}
      faults: {page_response: {2: RTN}, crp_on: DCS, silence_after: CFR, silence_seconds: 8s}
    reply: [{code: 200, sdp: answer}]
""")
    assert scenario.rules[0].fax == FaxSettings(
        receive="received/", ident="+1 555", max_rate=9600, ecm=False,
        compressions=("MR", "MH"),
        faults=FaxFaultSettings(page_response=((2, "RTN"),), crp_on=("DCS",),
                                silence_after="CFR", silence_seconds=8.0))
    assert scenario.rules[0].fax.role == "receive"
