"""The HTML report of a run: a summary, an index of calls and a ladder diagram per call.

Pure rendering: journal entries in (:mod:`sipfault.report.entries`), one self-contained HTML
page out, nothing fetched and no event loop. ``sipfault report RUN.jsonl -o report.html``,
``sipfault run --report report.html``, the pytest option ``--sipfault-report DIR`` and the live
view's ladders all render through :func:`render_report` (docs/report.md shows the page)::

    from sipfault.report import read_journal, write_report
    journal = read_journal("run.jsonl")
    write_report("report.html", journal.entries, bad_lines=journal.bad_lines)
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from sipfault.report.entries import Entry, JournalFile, entries_of, read_journal
from sipfault.report.ladder import render_call
from sipfault.report.model import Call, Run, build_run
from sipfault.report.page import (
    DEFAULT_LADDERS,
    render_calls_page,
    render_page,
    render_report,
    render_run,
)

__all__ = [
    "DEFAULT_LADDERS",
    "Call",
    "Entry",
    "JournalFile",
    "Run",
    "build_run",
    "entries_of",
    "read_journal",
    "render_call",
    "render_calls_page",
    "render_page",
    "render_report",
    "render_run",
    "write_report",
]


def write_report(path: str | os.PathLike[str], entries: Iterable[Entry], *,
                 max_ladders: int = DEFAULT_LADDERS, calls: Iterable[str] | None = None,
                 title: str | None = None, bad_lines: Iterable[int] = ()) -> int:
    """Render the entries to the HTML file at ``path``; return its size in bytes."""
    page = render_report(entries, max_ladders=max_ladders, calls=calls, title=title,
                         bad_lines=bad_lines)
    data = page.encode("utf-8", "replace")
    with open(path, "wb") as stream:
        stream.write(data)
    return len(data)
