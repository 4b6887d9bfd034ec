"""Any record, shown as it is: its fields in a table, its pictures as thumbnails.

This is how the report shows a record type it has no special place for, such as the media,
fax and T.30 records of the fax terminal. The conventions a new record type can rely on:

- ``call_id``: it appears in that call's ladder, at its time.
- ``direction`` (``"in"`` from the client, ``"out"`` from sipfault) or ``sent`` (true for
  sipfault's): it is drawn as an arrow, labelled by the first of ``first_line``, ``frame``,
  ``name``, ``text``, ``detail``, ``event``, ``result`` it has (else its type); without one it is
  a note across the ladder.
- A field holding a PNG image (bytes, ``{"base64": ...}``, or a ``data:image/png;base64,``
  text), or naming a PNG file that exists when the report is written (a received fax page's
  ``png``), is shown as a thumbnail, embedded so that the report stays one file.
- Every other field is shown by name, nested values flattened to ``name=value``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from sipfault.report.entries import Entry, as_bytes, as_text
from sipfault.report.markup import clock, esc, shorten

__all__ = [
    "LABEL_FIELDS",
    "entries_table",
    "entry_direction",
    "entry_images",
    "entry_label",
    "entry_line",
    "fields_table",
    "thumbnail",
]

LABEL_FIELDS = ("first_line", "frame", "name", "text", "detail", "event", "result")
"""Fields that name what a record is about, in order of preference."""

_SKIPPED = frozenset({"type", "time", "raw"})
_PNG = b"\x89PNG\r\n\x1a\n"
_DATA_PNG = "data:image/png;base64,"
_PATH_LIMIT = 4096
"""Longest text taken for a file name."""
_PNG_LIMIT = 2 * 1024 * 1024
"""Largest PNG file embedded (a fax page at fine resolution is far smaller)."""
_CELL = 160
"""Characters of a field value shown in a table cell."""


def _png(value: object) -> bytes | None:
    """The PNG bytes a field holds, or None."""
    if isinstance(value, str):
        if value.startswith(_DATA_PNG):
            try:
                decoded = base64.b64decode(value[len(_DATA_PNG):])
            except ValueError:
                return None
            return decoded if decoded.startswith(_PNG) else None
        if value.lower().endswith(".png") and len(value) < _PATH_LIMIT:
            try:
                with open(value, "rb") as handle:
                    picture = handle.read(_PNG_LIMIT + 1)
            except OSError:
                return None
            return picture if picture.startswith(_PNG) and len(picture) <= _PNG_LIMIT else None
        return None
    if isinstance(value, bytes | bytearray) or (isinstance(value, dict) and "base64" in value):
        data = as_bytes(value)
        return data if data is not None and data.startswith(_PNG) else None
    return None


def entry_images(entry: Entry) -> list[tuple[str, bytes]]:
    """(field name, PNG bytes) of each picture the entry holds."""
    found = []
    for name, value in entry.items():
        data = _png(value)
        if data is not None:
            found.append((name, data))
    return found


def thumbnail(data: bytes, title: str = "", width: int = 120) -> str:
    """An ``<img>`` of PNG bytes, inline."""
    encoded = base64.b64encode(data).decode("ascii")
    return (f'<img class="thumb" width="{width}" alt="{esc(title)}" title="{esc(title)}" '
            f'src="{_DATA_PNG}{encoded}">')


def entry_direction(entry: Entry) -> str | None:
    """``"in"`` (from the client), ``"out"`` (from sipfault), or None."""
    direction = entry.get("direction")
    if direction in ("in", "out"):
        return str(direction)
    sent = entry.get("sent")
    if isinstance(sent, bool):
        return "out" if sent else "in"
    return None


def entry_label(entry: Entry) -> str:
    """What the record is about, in a few words."""
    for name in LABEL_FIELDS:
        value = entry.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            kind = str(entry.get("type"))
            text = str(value)
            return text if text.lower().startswith(kind.lower()) else f"{kind} {text}"
    return str(entry.get("type"))


def _plain(value: object) -> str:
    if isinstance(value, dict):
        if "base64" in value and len(value) == 1:
            size = len(as_bytes(value) or b"")
            return f"({size} bytes)"
        return " ".join(f"{key}={_plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, bytes | bytearray):
        return as_text(value)
    if value is None:
        return "-"
    return str(value)


def entry_line(entry: Entry, skip: Sequence[str] = ()) -> str:
    """Its fields as one line: ``name=value ...``."""
    return " ".join(
        f"{name}={_plain(value)}" for name, value in entry.items()
        if name not in _SKIPPED and name not in skip and _png(value) is None
    )


def _cell(name: str, value: object) -> str:
    data = _png(value)
    if data is not None:
        return thumbnail(data, name)
    text = _plain(value)
    if len(text) > _CELL:
        return (f"<details><summary>{esc(shorten(text, 60))}</summary>"
                f"<pre>{esc(text)}</pre></details>")
    return esc(text)


def fields_table(entry: Entry) -> str:
    """One record as a two-column table of its fields."""
    rows = "".join(
        f"<tr><th>{esc(name)}</th><td>{_cell(name, value)}</td></tr>"
        for name, value in entry.items() if name not in ("type",)
    )
    return f'<table class="fields">{rows}</table>'


def entries_table(entries: Sequence[Entry], limit: int = 50) -> str:
    """Records of one type as a table: a column per field any of them has."""
    shown = entries[:limit]
    columns: list[str] = []
    for entry in shown:
        for name in entry:
            if name not in columns and name not in ("type", "time"):
                columns.append(name)
    head = "<th>time</th>" + "".join(f"<th>{esc(name)}</th>" for name in columns)
    body = []
    for entry in shown:
        time = entry.get("time")
        when = clock(float(time)) if isinstance(time, int | float) else ""
        cells = "".join(f"<td>{_cell(name, entry[name]) if name in entry else ''}</td>"
                        for name in columns)
        body.append(f"<tr><td>{esc(when)}</td>{cells}</tr>")
    more = (f'<p class="more">{len(entries) - limit} more not shown.</p>'
            if len(entries) > limit else "")
    return (f'<table class="records"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>{more}')
