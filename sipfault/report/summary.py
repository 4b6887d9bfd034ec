"""The top of the report: what ran, for how long, and what it counted.

Scenario, seed and times come from the ``run`` and ``summary`` entries when the journal has
them (``sipfault run`` writes both); a journal without them (a test's) shows what its entries
tell. Counts link to the filter: a click on a code, a finding or a fault shows only the calls
that have it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sipfault.report.entries import as_text, number
from sipfault.report.generic import entries_table
from sipfault.report.markup import clock, date_time, duration, esc, shorten
from sipfault.report.model import Run
from sipfault.report.sections import finding_sections, timer_name
from sipfault.sip.codes import reason_phrase

__all__ = ["MEDIA_TYPES", "render_summary"]

MEDIA_TYPES = ("media", "rtp", "fax", "t30", "t38", "udptl", "page")
"""Record types shown under "Media and fax" (any other unknown type under "Other records")."""


def _filter_link(text: str, query: str) -> str:
    return (f'<a href="#calls" class="filter-link" data-filter="{esc(query)}">'
            f"{esc(text)}</a>")


def _table(caption: str, head: Iterable[str], rows: list[str], css: str = "") -> str:
    if not rows:
        return ""
    heads = "".join(f"<th>{esc(item)}</th>" for item in head)
    return (f'<table class="counts {css}"><caption>{esc(caption)}</caption>'
            f"<thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _facts(run: Run) -> str:
    meta = run.run or {}
    facts: list[tuple[str, str]] = []
    if meta:
        facts.append(("scenario", esc(meta.get("scenario"))
                      + (f' <span class="dim">({esc(meta["scenario_file"])})</span>'
                         if meta.get("scenario_file") else "")))
        if meta.get("description"):
            facts.append(("description", esc(meta.get("description"))))
        facts.append(("seed", esc(meta.get("seed"))))
    started, stopped = run.started, run.stopped
    if started is not None:
        facts.append(("started", esc(date_time(started))))
    if stopped is not None:
        facts.append(("stopped", esc(date_time(stopped))
                      + ("" if run.summary else ' <span class="dim">(last record)</span>')))
    facts.append(("duration", esc(duration(run.duration))))
    listen = meta.get("listen")
    if isinstance(listen, list) and listen:
        facts.append(("listening on", esc("; ".join(map(str, listen)))))
    if "t1" in meta and meta["t1"] is not None:
        facts.append(("T1", esc(duration(number(meta, "t1")))))
    if meta.get("version"):
        facts.append(("sipfault", esc(meta.get("version"))))
    facts.append(("calls", str(len(run.calls))))
    facts.append(("records", str(run.entries)))
    if run.bad_lines:
        lines = ", ".join(map(str, run.bad_lines[:10]))
        facts.append(("unreadable lines", f'<span class="warn">{len(run.bad_lines)} '
                      f"(line {esc(lines)}{'...' if len(run.bad_lines) > 10 else ''})</span>"))
    items = "".join(f"<dt>{esc(name)}</dt><dd>{value}</dd>" for name, value in facts)
    return f'<dl class="facts">{items}</dl>'


def _outcomes(run: Run) -> str:
    rows = []
    for outcome, count in sorted(run.outcomes().items(), key=lambda item: -item[1]):
        code = outcome.rsplit(" ", 1)[-1]
        cell = _filter_link(outcome, f"code:{code}") if code.isdigit() else esc(outcome)
        rows.append(f"<tr><td>{cell}</td><td class=n>{count}</td></tr>")
    return _table("Calls by outcome", ("outcome", "calls"), rows)


def _requests(run: Run) -> str:
    rows = [f"<tr><td>{esc(method)}</td><td class=n>{count}</td></tr>"
            for method, count in sorted(run.requests.items())]
    rows.append(f"<tr class=sub><td>retransmitted by the client</td>"
                f"<td class=n>{run.retransmissions_in}</td></tr>")
    return _table("Requests received", ("method", "count"), rows)


def _responses(run: Run) -> str:
    rows = [f"<tr><td>{_filter_link(str(code), f'code:{code}')} "
            f'<span class="dim">{esc(reason_phrase(code))}</span></td>'
            f"<td class=n>{count}</td></tr>"
            for code, count in sorted(run.responses.items())]
    rows.append(f"<tr class=sub><td>retransmitted by sipfault</td>"
                f"<td class=n>{run.retransmissions_out}</td></tr>")
    return _table("Responses sent", ("code", "count"), rows)


def _faults(run: Run) -> str:
    rows = [f"<tr><td>{_filter_link(name, f'fault:{name}')}</td><td class=n>{count}</td>"
            f"<td class=n>{run.faults_dropped.get(name, 0)}</td></tr>"
            for name, count in sorted(run.faults.items())]
    return _table("Faults applied", ("fault", "transmissions", "dropped"), rows)


def _findings(run: Run) -> str:
    rows = []
    for kind, found in run.findings_by_kind().items():
        first = found[0]
        sections = finding_sections(kind, str(first.get("text") or ""), first.get("details"))
        rows.append(
            f"<tr><td>{_filter_link(kind, f'finding:{kind}')}</td><td class=n>{len(found)}</td>"
            f"<td>{esc(', '.join(sections)) or '-'}</td>"
            f"<td>{esc(shorten(str(first.get('text') or ''), 90))}</td></tr>")
    return _table("Findings about the client", ("finding", "count", "RFC", "first one"), rows,
                  "findings-table")


def _timers(run: Run) -> str:
    rows = [f"<tr><td>{esc(timer_name(label))}</td><td class=n>{count}</td></tr>"
            for label, count in sorted(run.timers.items())]
    return _table("Timers fired", ("timer", "count"), rows)


def _bindings(run: Run) -> str:
    rows = []
    stop = run.stopped
    for binding in run.bindings():
        if binding.expires_at is None:
            left = "-"
        else:
            remaining = binding.expires_at - stop if stop is not None else None
            left = (f"{esc(clock(binding.expires_at))} (in {esc(duration(remaining))} at the "
                    f"end)" if remaining is not None else esc(clock(binding.expires_at)))
        rows.append(f"<tr><td>{esc(binding.aor)}</td><td>{esc(binding.contact)}</td>"
                    f"<td>{left}</td></tr>")
    if not rows:
        return ""
    source = ("as the registrar held them at the stop" if run.summary is not None
              else "as the 200s to REGISTER told them")
    return (_table(f"Registered bindings ({source})", ("address-of-record", "contact",
                                                        "expires"), rows, "bindings"))


def _expired(run: Run) -> str:
    rows = [f"<tr><td>{esc(clock(number(entry, 'time')))}</td>"
            f"<td>{esc(entry.get('aor'))}</td><td>{esc(entry.get('contact'))}</td>"
            f"<td>{'forced by a fault' if entry.get('forced') else 'ran out'}</td></tr>"
            for entry in run.expired[:100]]
    return _table("Bindings that expired", ("time", "address-of-record", "contact", "why"), rows)


def _unreadable(run: Run) -> str:
    rows = []
    for entry in run.unreadable[:100]:
        text = as_text(entry.get("raw"))
        source = entry.get("src") or {}
        where = (f"{entry.get('transport')} {source.get('host')}:{source.get('port')}"
                 if isinstance(source, dict) else "")
        raw = (f"<details><summary>{len(text)} bytes</summary><pre>{esc(text)}</pre></details>"
               if text else "-")
        rows.append(f"<tr><td>{esc(clock(number(entry, 'time')))}</td>"
                    f"<td>{esc(where)}</td><td>{esc(entry.get('reason'))}</td>"
                    f"<td>{raw}</td></tr>")
    return _table(f"Unreadable messages ({len(run.unreadable)})",
                  ("time", "from", "why", "bytes"), rows)


def _others(run: Run) -> str:
    media = [(kind, entries) for kind, entries in run.other.items() if kind in MEDIA_TYPES]
    rest = [(kind, entries) for kind, entries in run.other.items() if kind not in MEDIA_TYPES]
    parts = []
    for title, groups, css in (("Media and fax", media, "media"),
                               ("Other records", rest, "other-records")):
        if not groups:
            continue
        blocks = "".join(
            f'<div class="record-type" data-type="{esc(kind)}"><h4>{esc(kind)} '
            f'<span class="dim">({len(entries)})</span></h4>{entries_table(entries)}</div>'
            for kind, entries in groups)
        parts.append(f'<section class="{css}"><h3>{esc(title)}</h3>{blocks}</section>')
    return "".join(parts)


def render_summary(run: Run) -> str:
    """The summary section."""
    tables = "".join([_outcomes(run), _requests(run), _responses(run), _findings(run),
                      _faults(run), _timers(run), _bindings(run), _expired(run),
                      _unreadable(run)])
    return (f'<section id="summary" class="summary">{_facts(run)}'
            f'<div class="tables">{tables}</div>{_others(run)}</section>')

