"""The ladder of one call: an arrow per message, drops, retransmissions, findings, timers."""

from __future__ import annotations

import base64
from pathlib import Path

from sipfault.report.ladder import build_rows, render_call
from sipfault.report.model import build_run
from tests.report.dom import parse

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")


def _call(entries: list[dict[str, object]], call_id: str):  # type: ignore[no-untyped-def]
    return next(call for call in build_run(entries).calls if call.call_id == call_id)


def test_a_dropped_200_is_a_drop_and_the_unanswered_bye_is_flagged(
        exchange: list[dict[str, object]]) -> None:
    call = _call(exchange, "drop@test")
    rows = build_rows(call)
    drops = [row for row in rows if row.kind == "drop"]
    assert len(drops) == 7  # the first transmission and six on the 2xx timer
    # The fault record names the response it kept back.
    assert all(row.label == "SIP/2.0 200 OK dropped" for row in drops), [row.label for row in drops]
    assert [row.data["attempt"] for row in drops] == [str(n) for n in range(7)]
    # The fault kept the 2xx from the client, so its missing ACK is no finding; the
    # no-response finding stands on sipfault's BYE that got no answer, with its section.
    flagged = {flag.kind: row for row in rows for flag in row.flags}
    assert "no-ack" not in flagged
    assert flagged["no-response"].flags[0].sections
    assert flagged["no-response"].label.startswith("BYE ")
    assert flagged["no-response"].direction == "out"
    timers = [row.data["timer"] for row in rows if row.kind == "timer"]
    assert timers.count("2xx") == 6 and "2xx-timeout" in timers and timers.count("E") == 6
    assert not any(row.kind == "message" and row.data.get("status") == "200" for row in rows)


def test_a_retransmission_is_marked_and_the_rule_noted(
        exchange: list[dict[str, object]]) -> None:
    rows = build_rows(_call(exchange, "busy@test"))
    arrows = [row for row in rows if row.is_arrow]
    assert [row.label.split(" sip:")[0] for row in arrows] == [
        "INVITE", "SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 486 Busy Here",
        "SIP/2.0 486 Busy Here", "ACK"]
    assert [row.direction for row in arrows] == ["in", "out", "out", "out", "out", "in"]
    assert ["retrans" in row.classes for row in arrows] == [False] * 4 + [True, False]
    assert arrows[4].tags == ["retransmission"]
    assert arrows[0].notes == ["rule 'rule 2' took the INVITE"]
    timer = next(row for row in rows if row.kind == "timer")
    assert timer.data == {"timer": "G"} and rows.index(timer) == rows.index(arrows[4]) - 1


def test_the_t38_switch_and_sdp_media_are_shown(exchange: list[dict[str, object]]) -> None:
    rows = build_rows(_call(exchange, "fax@test"))
    sdp_notes = [(row.label.split()[0], note) for row in rows for note in row.notes
                 if note.startswith("SDP")]
    assert sdp_notes == [("INVITE", "SDP: audio RTP/AVP"), ("SIP/2.0", "SDP: audio RTP/AVP"),
                         ("INVITE", "SDP: image udptl"), ("SIP/2.0", "SDP: image udptl")]
    switched = [row for row in rows if "t38" in row.classes]
    assert len(switched) == 2
    assert all("T.38 switch (m=image)" in row.tags for row in switched)
    unmatched = next(row for row in rows if row.label.startswith("BYE"))
    assert unmatched.notes == ["no rule: default 200"]


def test_the_call_section_has_one_svg_an_arrow_per_message_and_the_messages(
        exchange: list[dict[str, object]]) -> None:
    call = _call(exchange, "busy@test")
    section = parse(render_call(call)).find_all("section", "call")[0]
    assert section.attrs["data-call"] == "busy@test"
    assert section.attrs["data-code"] == "100 180 486"
    (svg,) = section.find_all("svg")
    arrows = svg.find_all("g", "arrow")
    assert len(arrows) == call.messages == 6
    assert len(svg.find_all("g", "retrans")) == 1
    # Each arrow links to the details holding the whole message.
    links = [link.attrs["href"][1:] for link in svg.find_all("a", "to-detail")]
    details = {element.attrs["id"]: element for element in section.find_all("details")}
    assert set(links) <= set(details)
    invite = details[links[0]]
    assert "INVITE sip:busy@" in invite.text and "Call-ID: busy@test" in invite.text


def test_a_drop_is_drawn_dashed_and_short(exchange: list[dict[str, object]]) -> None:
    svg = parse(render_call(_call(exchange, "drop@test"))).find_all("svg")[0]
    drops = svg.find_all("g", "drop")
    assert len(drops) == 7 and all(group.attrs["data-fault"] == "drop" for group in drops)
    shaft = drops[0].find_all("line", "shaft")[0]
    assert shaft.attrs["stroke-dasharray"]
    assert shaft.attrs["marker-end"] == "url(#lad-cross)"
    assert int(shaft.attrs["x2"]) > 170  # it stops short of the client's line
    assert "data-finding" not in drops[0].attrs  # the fault's doing, not the client's
    flags = svg.find_all("g", "flag")
    assert sorted(flag.attrs["data-finding"] for flag in flags) == ["no-response"]


def test_records_of_other_types_show_by_the_generic_conventions() -> None:
    entries = [
        {"time": 1.0, "type": "message", "direction": "in", "transport": "udp",
         "src": {"host": "10.0.0.5", "port": 5060}, "dst": {"host": "10.0.0.1", "port": 5060},
         "retransmission": False, "first_line": "INVITE sip:fax@x SIP/2.0", "method": "INVITE",
         "call_id": "f1", "raw": "INVITE sip:fax@x SIP/2.0\r\nCall-ID: f1\r\n\r\n"},
        {"time": 2.0, "type": "t30", "call_id": "f1", "sent": True, "frame": "DIS",
         "detail": "V.17 14400"},
        {"time": 2.5, "type": "t30", "call_id": "f1", "direction": "in", "frame": "DCS"},
        {"time": 3.0, "type": "fax_page", "call_id": "f1", "number": 1,
         "png": {"base64": base64.b64encode(PNG).decode()}},
        {"time": 4.0, "type": "fax", "call_id": "f1", "result": "ok", "pages": 1},
    ]
    rows = build_rows(build_run(entries).calls[0])
    kinds = [(row.kind, row.direction, row.label) for row in rows]
    assert kinds[1:3] == [("other", "out", "t30 DIS"), ("other", "in", "t30 DCS")]
    assert rows[3].kind == "note" and rows[3].images == [("png", PNG)]
    assert rows[4].label == "fax: result=ok pages=1"
    html = render_call(build_run(entries).calls[0])
    svg = parse(html).find_all("svg")[0]
    assert len(svg.find_all("g", "type-t30")) == 2
    assert len(svg.find_all("image", "thumb")) == 1
    assert 'src="data:image/png;base64,' in html  # the thumbnail in the details too


def test_a_fault_that_altered_a_message_names_it_and_a_stated_first_line_wins() -> None:
    def sent(time: float, line: str) -> dict[str, object]:
        return {"time": time, "type": "message", "direction": "out", "transport": "udp",
                "src": {"host": "h", "port": 1}, "dst": {"host": "c", "port": 2},
                "retransmission": time > 1, "first_line": line, "method": "INVITE",
                "status": 200, "call_id": "c", "raw": line + "\r\n\r\n"}

    entries = [
        {"time": 0.5, "type": "message", "direction": "in", "transport": "udp",
         "src": {"host": "c", "port": 2}, "dst": {"host": "h", "port": 1},
         "retransmission": False, "first_line": "INVITE sip:a@h SIP/2.0", "method": "INVITE",
         "call_id": "c", "raw": "INVITE sip:a@h SIP/2.0\r\n\r\n"},
        {"time": 1.0, "type": "fault_applied", "fault": "drop-first", "call_id": "c",
         "attempt": 0, "emitted": 0},
        {"time": 1.5, "type": "fault_applied", "fault": "drop-first", "call_id": "c",
         "attempt": 1, "emitted": 1},
        sent(1.5, "SIP/2.0 200 OK"),
        {"time": 2.0, "type": "fault_applied", "fault": "truncate", "call_id": "c",
         "attempt": 0, "emitted": 1},
        sent(2.0, "SIP/2.0 200 OK"),
        {"time": 3.0, "type": "fault_applied", "fault": "drop", "call_id": "c",
         "attempt": 0, "emitted": 0, "first_line": "SIP/2.0 202 Accepted"},
    ]
    rows = build_rows(build_run(entries).calls[0])
    assert rows[1].kind == "drop" and rows[1].label == "SIP/2.0 200 OK dropped"
    assert rows[2].tags == ["retransmission"]  # drop-first lets the resend through as it is
    assert rows[3].tags == ["retransmission", "fault truncate"]
    assert "faulted" in rows[3].classes
    assert rows[4].label == "SIP/2.0 202 Accepted dropped"


def test_a_fax_page_written_to_a_png_file_is_embedded_as_a_thumbnail(tmp_path: Path) -> None:
    """sipfault's received pages name their PNG files; the report embeds the picture, so it
    stays one file that opens anywhere. A file that is gone by then is shown as its name."""
    page = tmp_path / "call-page1.png"
    page.write_bytes(PNG)
    entries = [
        {"time": 3.0, "type": "fax_page", "call_id": "f2", "number": 1, "png": str(page)},
        {"time": 3.5, "type": "fax_page", "call_id": "f2", "number": 2,
         "png": str(tmp_path / "gone.png")},
    ]
    rows = build_rows(build_run(entries).calls[0])
    assert rows[0].images == [("png", PNG)]
    assert rows[1].images == []
    assert 'src="data:image/png;base64,' in render_call(build_run(entries).calls[0])
