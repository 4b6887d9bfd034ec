"""One call as a ladder diagram: an SVG with the client and sipfault as columns.

Every message is an arrow from the column that sent it to the one that received it, labelled
with its first line and its time since the call began (the journal's convention: ``in`` from
the client, ``out`` from sipfault, :mod:`sipfault.record.records`). On the ladder:

- a retransmission is drawn lighter and says so;
- a message a fault altered carries the fault's name; a transmission a fault dropped
  (``fault_applied`` with ``emitted: 0``) is a dashed arrow that stops short with a cross;
- a finding is a flag on the arrow that caused it (the final response left unacknowledged,
  the stray ACK, the malformed request), with its RFC section;
- a timer (Timer G, H, the 2xx retransmission...) is a mark on sipfault's line where it fired;
- a rule taken or a default answer is noted beside the request; an SDP's media is noted
  beside its message, and an ``m=image`` (T.38) switch is marked;
- a record of another type (T.30 frames, fax pages, media) is drawn by the conventions of
  :mod:`sipfault.report.generic`.

Each arrow links to a ``<details>`` below the diagram that holds the whole message.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sipfault.report.entries import Entry, as_text, integer, number
from sipfault.report.generic import (
    entry_direction,
    entry_images,
    entry_label,
    entry_line,
    fields_table,
    thumbnail,
)
from sipfault.report.markup import clock, esc, relative, shorten, token
from sipfault.report.model import KNOWN_TYPES, Call
from sipfault.report.sections import finding_sections, timer_name

__all__ = ["MARKER_DEFS", "Row", "build_rows", "render_call", "render_ladder"]

WIDTH = 1000
CLIENT_X = 170
SIPFAULT_X = 640
NOTES_X = SIPFAULT_X + 14
TOP = 52
ARROW_HEIGHT = 40
NOTE_HEIGHT = 24
IMAGE_HEIGHT = 96
LABEL_CHARS = 62
NOTE_CHARS = 44
DROP_REACH = 0.55
"""How far across a dropped transmission's arrow goes before it stops."""

MARKER_DEFS = (
    '<svg class="defs" width="0" height="0" aria-hidden="true"><defs>'
    + "".join(
        f'<marker id="lad-head-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{colour}"/></marker>'
        for name, colour in (("in", "#0969da"), ("out", "#1a7f37"), ("retrans", "#bf8700"),
                             ("fault", "#8250df"), ("other", "#6e7781")))
    + '<marker id="lad-cross" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="10" '
    'markerHeight="10" orient="auto"><path d="M1,1 L9,9 M9,1 L1,9" stroke="#c0392b" '
    'stroke-width="2"/></marker>'
    '</defs></svg>'
)
"""The arrow heads every ladder of a page uses; put once in the page."""

_MEDIA = re.compile(r"^m=(\w+)\s+\d+(?:/\d+)?\s+(\S+)", re.M)
_CONTENT_TYPE = re.compile(r"^(?:content-type|c)[ \t]*:[ \t]*([^\r\n;]+)", re.I | re.M)


@dataclass
class Flag:
    """A finding drawn on an arrow."""

    kind: str
    text: str
    sections: list[str]
    time: float


@dataclass
class Row:
    """One line of the ladder."""

    kind: str
    """"message", "drop", "timer", "other" (an arrow of another record type) or "note"."""
    time: float
    direction: str | None = None
    """"in" (client to sipfault) or "out" for arrows."""
    label: str = ""
    classes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    """Small text under the arrow: retransmission, fault."""
    notes: list[str] = field(default_factory=list)
    """Text beside sipfault's line: rule taken, SDP media."""
    flags: list[Flag] = field(default_factory=list)
    images: list[tuple[str, bytes]] = field(default_factory=list)
    entry: Entry | None = None
    """The entry shown in the row's details."""
    data: dict[str, str] = field(default_factory=dict)
    """``data-*`` attributes of the row's group."""

    @property
    def is_arrow(self) -> bool:
        """Drawn as an arrow between the columns."""
        return self.kind in ("message", "drop", "other")

    @property
    def height(self) -> int:
        """Its height on the ladder."""
        if self.images:
            return IMAGE_HEIGHT
        return ARROW_HEIGHT if self.is_arrow else NOTE_HEIGHT


def _media(raw: str) -> list[str]:
    """``audio RTP/AVP``, ``image udptl`` for each m= line of an SDP body."""
    head, _, body = raw.partition("\r\n\r\n")
    content_type = _CONTENT_TYPE.search(head)
    if not body or content_type is None or "sdp" not in content_type.group(1).lower():
        return []
    return [f"{kind} {proto}" for kind, proto in _MEDIA.findall(body.replace("\r\n", "\n"))]


def _fault_chains(entries: list[Entry]) -> dict[int, str]:
    """What each dropped transmission was: index of its fault entry -> a description.

    A fault's transmissions (attempt 0, 1, 2...) form a chain. Its message's first line is
    known when the fault entry says it, or when a later transmission of the chain went out;
    otherwise the timer that retransmitted it tells its class (2xx, final, reliable 1xx),
    and the request last received tells what it answered.
    """
    described: dict[int, str] = {}
    chain: list[int] = []
    chains: list[list[int]] = []
    last_name = None
    for index, entry in enumerate(entries):
        if entry.get("type") != "fault_applied":
            continue
        name = entry.get("fault")
        if entry.get("attempt") == 0 or name != last_name or not chain:
            chain = []
            chains.append(chain)
        chain.append(index)
        last_name = name
    for chain in chains:
        line = _chain_first_line(entries, chain)
        if line is None:
            line = _chain_class(entries, chain)
        for index in chain:
            if entries[index].get("emitted") == 0:
                described[index] = line
    return described


def _chain_first_line(entries: list[Entry], chain: list[int]) -> str | None:
    for index in chain:
        stated = entries[index].get("first_line")
        if isinstance(stated, str) and stated:
            return stated
    for index in chain:
        if integer(entries[index], "emitted"):
            for later in entries[index + 1:index + 4]:
                if later.get("type") == "message" and later.get("direction") == "out":
                    return str(later.get("first_line"))
    return None


_TIMER_CLASS = {"2xx": "2xx response", "G": "final response", "1xx": "reliable provisional"}


def _chain_class(entries: list[Entry], chain: list[int]) -> str:
    what = "response"
    for index in chain:
        before = entries[index - 1] if index else None
        if before is not None and before.get("type") == "timer_fired":
            what = _TIMER_CLASS.get(str(before.get("timer")), what)
            break
    method = ""
    for entry in reversed(entries[:chain[0]]):
        if (entry.get("type") == "message" and entry.get("direction") == "in"
                and entry.get("status") is None):
            method = str(entry.get("method") or "")
            break
    return f"{what} to {method}" if method else what


def _cause(rows: list[Row], kind: str, text: str) -> Row | None:
    """The row a finding is about: the arrow that caused it."""
    def last(test: Callable[[Row], bool]) -> Row | None:
        for row in reversed(rows):
            if test(row):
                return row
        return None

    def final_sent(row: Row) -> bool:
        entry = row.entry or {}
        status = entry.get("status")
        if row.kind == "drop":
            return row.data.get("attempt") == "0"
        return (row.kind == "message" and row.direction == "out" and isinstance(status, int)
                and status >= 200 and not entry.get("retransmission"))

    def request_in(method: str | None = None) -> Callable[[Row], bool]:
        def test(row: Row) -> bool:
            entry = row.entry or {}
            return (row.kind == "message" and row.direction == "in"
                    and entry.get("status") is None
                    and (method is None or entry.get("method") == method))
        return test

    def request_out(row: Row) -> bool:
        entry = row.entry or {}
        return row.kind == "message" and row.direction == "out" and entry.get("status") is None

    def provisional_sent(row: Row) -> bool:
        status = (row.entry or {}).get("status")
        return row.kind == "message" and isinstance(status, int) and status < 200

    if kind == "no-ack":
        return last(final_sent)
    if kind == "stray-ack":
        return last(request_in("ACK"))
    if kind == "no-prack":
        return last(provisional_sent)
    if kind == "no-response":
        return last(request_out)
    if kind in ("bad-request", "auth-failed", "digest-without-qop"):
        return last(request_in())
    return last(lambda row: row.is_arrow)


def build_rows(call: Call) -> list[Row]:
    """The ladder's rows for one call, in journal order."""
    entries = call.entries
    dropped = _fault_chains(entries)
    rows: list[Row] = []
    last_request: Row | None = None
    pending: tuple[str, int, int] | None = None  # fault name, attempt, copies left to tag
    for index, entry in enumerate(entries):
        kind = entry.get("type")
        time = number(entry, "time")
        if kind == "message":
            row = _message_row(entry, time)
            if row.direction == "out" and pending is not None:
                name, attempt, left = pending
                if not (name == "drop-first" and attempt > 0):
                    row.tags.append(f"fault {name}")
                    row.classes.append("faulted")
                    row.data["fault"] = name
                pending = (name, attempt, left - 1) if left > 1 else None
            rows.append(row)
            if row.direction == "in" and entry.get("status") is None:
                last_request = row
        elif kind == "rule":
            _note_on(rows, last_request, f"rule {entry.get('rule')!r} took the "
                     f"{entry.get('method')}", time, "rule")
        elif kind == "unmatched":
            _note_on(rows, last_request, f"no rule: default {entry.get('status')}", time,
                     "unmatched")
        elif kind == "fault_applied":
            name = str(entry.get("fault"))
            attempt = integer(entry, "attempt") or 0
            emitted = entry.get("emitted")
            if emitted == 0:
                what = dropped.get(index, "response")
                rows.append(Row("drop", time, "out", f"{what} dropped", ["drop"],
                                [f"fault {name}, transmission {attempt + 1}"], entry=entry,
                                data={"fault": name, "attempt": str(attempt)}))
            elif isinstance(emitted, int):
                pending = (name, attempt, emitted)
        elif kind == "timer_fired":
            timer = str(entry.get("timer"))
            rows.append(Row("timer", time, label=timer_name(timer), classes=["timer"],
                            entry=entry, data={"timer": timer}))
        elif kind == "finding":
            finding_kind = str(entry.get("kind"))
            text = str(entry.get("text") or "")
            flag = Flag(finding_kind, text,
                        finding_sections(finding_kind, text, entry.get("details")), time)
            cause = _cause(rows, finding_kind, text)
            if cause is None:
                cause = Row("note", time, label=f"finding {finding_kind}: {text}",
                            classes=["finding-row"], entry=entry)
                rows.append(cause)
            cause.flags.append(flag)
        elif kind in ("run", "summary", "dropped", "binding_expired"):
            continue
        elif kind not in KNOWN_TYPES:
            rows.append(_other_row(entry, time))
    return rows


def _message_row(entry: Entry, time: float) -> Row:
    direction = "in" if entry.get("direction") == "in" else "out"
    status = entry.get("status")
    row = Row("message", time, direction, str(entry.get("first_line") or ""),
              ["msg", direction], entry=entry)
    row.data["method"] = str(entry.get("method") or "")
    if isinstance(status, int):
        row.data["status"] = str(status)
        row.classes.append("response")
    else:
        row.classes.append("request")
    if entry.get("retransmission"):
        row.classes.append("retrans")
        row.tags.append("retransmission")
    media = _media(as_text(entry.get("raw")))
    if media:
        row.notes.append("SDP: " + ", ".join(media))
        if any(item.startswith("image") for item in media):
            row.classes.append("t38")
            row.tags.append("T.38 switch (m=image)")
    return row


def _other_row(entry: Entry, time: float) -> Row:
    kind = str(entry.get("type"))
    direction = entry_direction(entry)
    images = entry_images(entry)
    classes = ["other", f"type-{token(kind)}"]
    if direction is None:
        return Row("note", time, label=f"{kind}: {entry_line(entry, ('call_id',))}",
                   classes=classes, images=images, entry=entry, data={"type": kind})
    return Row("other", time, direction, entry_label(entry), classes, images=images,
               entry=entry, data={"type": kind})


def _note_on(rows: list[Row], target: Row | None, text: str, time: float, kind: str) -> None:
    if target is not None:
        target.notes.insert(0, text)
        return
    rows.append(Row("note", time, label=text, classes=[kind]))


# ------------------------------------------------------------------------------ drawing


def _data(values: dict[str, str]) -> str:
    return "".join(f' data-{name}="{esc(value)}"' for name, value in values.items())


def _drop_end() -> int:
    return int(SIPFAULT_X - (SIPFAULT_X - CLIENT_X) * DROP_REACH)


def _head(row: Row) -> str:
    if "retrans" in row.classes:
        return "retrans"
    if "faulted" in row.classes:
        return "fault"
    if row.kind == "other":
        return "other"
    return "in" if row.direction == "in" else "out"


def _arrow(row: Row, y: int, start: float, anchor: str) -> str:
    left_to_right = row.direction == "in"
    x1, x2 = (CLIENT_X, SIPFAULT_X) if left_to_right else (SIPFAULT_X, CLIENT_X)
    if row.kind == "drop":
        x2 = _drop_end()
        marker = "lad-cross"
        mid = (x1 + x2) // 2
    else:
        marker = "lad-head-" + _head(row)
        mid = (CLIENT_X + SIPFAULT_X) // 2
    classes = " ".join(["row", "arrow", *row.classes])
    flags = " ".join(flag.kind for flag in row.flags)
    data = dict(row.data)
    if flags:
        data["finding"] = flags
    when = relative(row.time, start)
    title = f"{when} {row.label}" + "".join(f" [{tag}]" for tag in row.tags)
    dash = ' stroke-dasharray="7 5"' if row.kind == "drop" else ""
    parts = [
        f'<a href="#{anchor}" class="to-detail"><g class="{esc(classes)}"{_data(data)}>',
        f"<title>{esc(title)}</title>",
        f'<rect class="hit" x="{CLIENT_X - 6}" y="{y - 22}" width="{SIPFAULT_X - CLIENT_X + 12}"'
        f' height="{ARROW_HEIGHT - 6}"/>',
        f'<text class="time" x="8" y="{y + 4}">{esc(when)}</text>',
        f'<text class="lbl" x="{mid}" y="{y - 7}" text-anchor="middle">'
        f"{esc(shorten(row.label, LABEL_CHARS))}</text>",
        f'<line class="shaft" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}"{dash} '
        f'marker-end="url(#{marker})"/>',
    ]
    if row.tags:
        parts.append(f'<text class="tag" x="{mid}" y="{y + 13}" text-anchor="middle">'
                     f'{esc(" · ".join(row.tags))}</text>')
    parts.append("</g></a>")
    return "".join(parts)


def _note(row: Row, y: int, start: float, anchor: str | None) -> str:
    classes = " ".join(["row", row.kind, *row.classes])
    when = relative(row.time, start)
    open_a = f'<a href="#{anchor}" class="to-detail">' if anchor else ""
    close_a = "</a>" if anchor else ""
    if row.kind == "timer":
        body = (f'<circle class="tick" cx="{SIPFAULT_X}" cy="{y}" r="5"/>'
                f'<text class="timer-lbl" x="{SIPFAULT_X - 10}" y="{y + 4}" '
                f'text-anchor="end">{esc(row.label)}</text>')
    else:
        body = (f'<text class="note-lbl" x="{(CLIENT_X + SIPFAULT_X) // 2}" y="{y + 4}" '
                f'text-anchor="middle">{esc(shorten(row.label, 90))}</text>')
    return (f'{open_a}<g class="{esc(classes)}"{_data(row.data)}><title>{esc(when)} '
            f'{esc(row.label)}</title><text class="time" x="8" y="{y + 4}">{esc(when)}</text>'
            f"{body}</g>{close_a}")


def _beside(row: Row, y: int) -> str:
    """Notes, flags and thumbnails to the right of sipfault's line."""
    parts = []
    line = y - 4 if row.is_arrow else y + 4
    # The flag stands where the arrow ends: at the client, or where a dropped one stops.
    flag_x = _drop_end() + 10 if row.kind == "drop" else CLIENT_X + 10
    for flag in row.flags:
        cite = f" ({flag.sections[0]})" if flag.sections else ""
        parts.append(
            f'<g class="flag" data-finding="{esc(flag.kind)}"><title>{esc(flag.kind)}: '
            f'{esc(flag.text)}{esc(cite)}</title>'
            f'<path d="M{flag_x},{y - 2} v-16 l12,4 l-12,4" class="flag-mark"/>'
            f'<text class="flag-lbl" x="{NOTES_X}" y="{line}">\u2691 {esc(flag.kind)}'
            f"{esc(cite)}</text></g>")
        line += 13
    for note in row.notes:
        parts.append(f'<text class="note" x="{NOTES_X}" y="{line}">'
                     f"{esc(shorten(note, NOTE_CHARS))}<title>{esc(note)}</title></text>")
        line += 13
    for name, data in row.images[:3]:
        parts.append(f'<image class="thumb" x="{NOTES_X}" y="{y - 30}" width="60" height="80" '
                     f'href="data:image/png;base64,{_b64(data)}"><title>{esc(name)}</title>'
                     f"</image>")
    return "".join(parts)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def render_ladder(call: Call, rows: list[Row], prefix: str) -> str:
    """The SVG of one call's rows; arrow ``k`` links to ``#{prefix}m{k}``."""
    height = TOP + sum(row.height for row in rows) + 16
    start = call.start
    client = call.client or "client"
    local = call.local or "sipfault"
    parts = [
        f'<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="message ladder of {esc(call.call_id)}">',
        f'<text class="col" x="{CLIENT_X}" y="16" text-anchor="middle">client</text>',
        f'<text class="addr" x="{CLIENT_X}" y="32" text-anchor="middle">{esc(client)}</text>',
        f'<text class="col" x="{SIPFAULT_X}" y="16" text-anchor="middle">sipfault</text>',
        f'<text class="addr" x="{SIPFAULT_X}" y="32" text-anchor="middle">{esc(local)}</text>',
        f'<line class="life" x1="{CLIENT_X}" y1="40" x2="{CLIENT_X}" y2="{height - 6}"/>',
        f'<line class="life" x1="{SIPFAULT_X}" y1="40" x2="{SIPFAULT_X}" y2="{height - 6}"/>',
    ]
    y = TOP
    for place, row in enumerate(rows):
        middle = y + (row.height * 2) // 3 if row.is_arrow else y + row.height // 2
        anchor = f"{prefix}m{place}"
        if row.is_arrow:
            parts.append(_arrow(row, middle, start, anchor))
        else:
            parts.append(_note(row, middle, start, anchor if row.entry is not None else None))
        parts.append(_beside(row, middle))
        y += row.height
    parts.append("</svg>")
    return "".join(parts)


def _details(row: Row, place: int, prefix: str, start: float) -> str:
    entry = row.entry
    if entry is None:
        return ""
    when = relative(row.time, start)
    arrow = {"in": "client \u2192 sipfault", "out": "sipfault \u2192 client"}.get(
        row.direction or "", row.kind)
    summary = (f'<summary><span class="time">{esc(when)}</span> '
               f'<span class="clock">{esc(clock(row.time))}</span> '
               f'<span class="dir">{esc(arrow)}</span> {esc(row.label)}'
               + "".join(f' <span class="tagx">{esc(tag)}</span>' for tag in row.tags)
               + "</summary>")
    if row.kind == "message":
        body = f'<pre class="raw">{esc(as_text(entry.get("raw")).replace(chr(13), ""))}</pre>'
    else:
        body = fields_table(entry)
    for name, data in row.images:
        body += thumbnail(data, name, 240)
    flags = "".join(
        f'<p class="finding-text">\u2691 <b>{esc(flag.kind)}</b>: {esc(flag.text)}'
        f'{" (" + esc(", ".join(flag.sections)) + ")" if flag.sections else ""}</p>'
        for flag in row.flags)
    classes = " ".join(["msg", row.kind, *row.classes])
    return (f'<details class="{esc(classes)}" id="{prefix}m{place}">{summary}{flags}{body}'
            f"</details>")


def render_call(call: Call, prefix: str | None = None) -> str:
    """One call's section: heading, ladder, findings and every message in full."""
    prefix = prefix or f"c{call.number}"
    rows = build_rows(call)
    arrows = sum(1 for row in rows if row.is_arrow)
    finding_items = "".join(
        f'<li data-finding="{esc(finding.get("kind"))}"><b>{esc(finding.get("kind"))}</b> '
        f'{esc(relative(number(finding, "time"), call.start))}: '
        f'{esc(finding.get("text"))}'
        + "".join(f' <span class="rfc">{esc(section)}</span>' for section in finding_sections(
            str(finding.get("kind")), str(finding.get("text") or ""), finding.get("details")))
        + "</li>"
        for finding in call.findings)
    findings = f'<ul class="findings">{finding_items}</ul>' if finding_items else ""
    details = "".join(_details(row, place, prefix, call.start)
                      for place, row in enumerate(rows))
    users = ", ".join(call.users) or "-"
    badges = "".join(f'<span class="badge fault">fault {esc(name)}</span>'
                     for name in call.faults)
    if call.t38:
        badges += '<span class="badge t38">T.38</span>'
    if call.findings:
        badges += f'<span class="badge finding">{len(call.findings)} finding' \
                  f'{"s" if len(call.findings) != 1 else ""}</span>'
    return (
        f'<section class="call" id="call-{call.number}"{call_data(call)} '
        f'data-arrows="{arrows}">'
        f'<h3><a class="self" href="#call-{call.number}">#{call.number}</a> '
        f'<span class="outcome">{esc(call.outcome)}</span> '
        f'<code class="callid">{esc(call.call_id)}</code> {badges}</h3>'
        f'<p class="meta">user {esc(users)} · {esc(call.client or "-")} · started '
        f'{esc(clock(call.start))} · {call.messages} messages'
        f'{f" ({call.retransmissions} retransmitted)" if call.retransmissions else ""}</p>'
        f"{render_ladder(call, rows, prefix)}{findings}"
        f'<div class="messages">{details}</div></section>'
    )


def call_data(call: Call) -> str:
    """The ``data-*`` attributes the filter reads, for a call's section or index row."""
    codes = " ".join(str(code) for code in dict.fromkeys(call.statuses))
    kinds = " ".join(dict.fromkeys(str(finding.get("kind")) for finding in call.findings))
    users = " ".join(token(user) for user in call.users)
    faults = " ".join(call.faults)
    search = " ".join(filter(None, [token(call.call_id), users, codes, kinds.lower(),
                                    token(call.method), faults, "t38" if call.t38 else ""]))
    return (f' data-call="{esc(token(call.call_id))}" data-user="{esc(users)}" '
            f'data-code="{esc(codes)}" data-finding="{esc(kinds.lower())}" '
            f'data-fault="{esc(faults)}" data-search="{esc(search)}"')
