"""The report page: one self-contained HTML file (inline CSS, SVG and a few lines of script).

Nothing is fetched: the file opens offline, from disk or as an attachment. Its parts, top to
bottom: the summary (:mod:`sipfault.report.summary`), a filter, an index of every call, and a
ladder per call (:mod:`sipfault.report.ladder`) for the first ``max_ladders`` calls (or the
calls asked for), so that a run of ten thousand calls stays a file a browser opens at once.

The filter works on the page alone: words match any of a call's Call-ID, users, codes,
findings and faults; ``call:``, ``user:``, ``code:``, ``finding:`` and ``fault:`` narrow a
word to one of them (``code:486 finding:no-ack``). Without script every call is shown.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sipfault.report.entries import Entry
from sipfault.report.ladder import MARKER_DEFS, call_data, render_call
from sipfault.report.markup import clock, esc, shorten
from sipfault.report.model import Call, Run, build_run
from sipfault.report.summary import render_summary
from sipfault.version import __version__

__all__ = [
    "DEFAULT_LADDERS",
    "STYLE",
    "render_calls_page",
    "render_page",
    "render_report",
    "render_run",
]

DEFAULT_LADDERS = 200
"""Ladders drawn when not told otherwise; every call still has its line in the index."""

STYLE = """
:root{--in:#0969da;--out:#1a7f37;--re:#bf8700;--drop:#cf222e;--fault:#8250df;--dim:#57606a;
--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328}
header{background:#24292f;color:#fff;padding:12px 24px}
header h1{margin:0;font-size:20px}header p{margin:2px 0 0;color:#c9d1d9}
main{padding:12px 24px 48px;max-width:1240px}
h2{border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:6px 0}
.dim{color:var(--dim)}.warn{color:var(--drop)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0 16px}
dl.facts dt{color:var(--dim)}dl.facts dd{margin:0}
.tables{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
table{border-collapse:collapse}
table.counts{background:#fff;border:1px solid var(--line);min-width:200px}
table.counts caption{text-align:left;font-weight:600;padding:4px 0}
th,td{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.sub td{color:var(--dim);font-size:12px}
.findings-table td:first-child a{color:var(--drop);font-weight:600}
a{color:var(--in);text-decoration:none}a:hover{text-decoration:underline}
.filter{position:sticky;top:0;background:#fff;padding:8px 0;border-bottom:1px solid var(--line);
z-index:2;display:flex;gap:8px;align-items:center}
.filter input{font:inherit;padding:4px 8px;width:420px;border:1px solid var(--line);
border-radius:6px}
table.index{width:100%;font-size:13px}
table.index code{font-size:12px}
section.call{border:1px solid var(--line);border-radius:8px;margin:16px 0;padding:8px 12px;
background:#fff;scroll-margin-top:56px}
.messages details{scroll-margin-top:56px}
section.call:target{box-shadow:0 0 0 3px #54aeff66}
.call h3 .outcome{font-weight:700}
code.callid{background:var(--bg);padding:1px 4px;border-radius:4px;font-size:12px}
.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:10px;margin-left:4px;
font-weight:600;vertical-align:middle}
.badge.fault{background:#fbefff;color:var(--fault)}.badge.t38{background:#dafbe1;color:#116329}
.badge.finding{background:#ffebe9;color:var(--drop)}
p.meta{margin:0 0 4px;color:var(--dim);font-size:12px}
svg.ladder{display:block;max-width:100%;height:auto;font:12px ui-monospace,SFMono-Regular,
Menlo,Consolas,monospace}
svg.ladder .col{font:600 13px system-ui,sans-serif}svg.ladder .addr{fill:var(--dim)}
svg.ladder .life{stroke:#8c959f;stroke-width:2}
svg.ladder .time{fill:var(--dim)}
svg.ladder .hit{fill:transparent}
svg.ladder a:hover .hit{fill:#0969da10}
svg.ladder .shaft{stroke-width:2}
svg.ladder .in .shaft{stroke:var(--in)}svg.ladder .out .shaft{stroke:var(--out)}
svg.ladder .in .lbl{fill:#0a3069}svg.ladder .out .lbl{fill:#0f4d23}
svg.ladder .retrans .shaft{stroke:var(--re);stroke-width:1.5}
svg.ladder .retrans .lbl{fill:#7d4e00}
svg.ladder .faulted .shaft{stroke:var(--fault)}
svg.ladder .drop .shaft{stroke:var(--drop)}svg.ladder .drop .lbl{fill:var(--drop)}
svg.ladder .other .shaft{stroke:#6e7781}
svg.ladder .t38 .lbl{font-weight:700}
svg.ladder .tag{fill:var(--dim);font-size:11px}
svg.ladder .faulted .tag,svg.ladder .drop .tag{fill:var(--fault)}
svg.ladder .note{fill:var(--dim);font-size:11px}
svg.ladder .flag-mark{fill:var(--drop);stroke:var(--drop)}
svg.ladder .flag-lbl{fill:var(--drop);font-weight:700;font-size:11px}
svg.ladder .tick{fill:#fff;stroke:#6e7781;stroke-width:2}
svg.ladder .timer-lbl{fill:#6e7781;font-size:11px;font-style:italic}
svg.ladder .note-lbl{fill:#6e7781;font-size:11px}
svg.ladder .finding-row .note-lbl{fill:var(--drop)}
ul.findings{margin:4px 0;padding-left:20px;color:var(--drop)}
.rfc{background:#fff8c5;color:#4d2d00;padding:0 4px;border-radius:4px;font-size:12px}
.messages details{border-top:1px solid #eaeef2;font-size:12px}
.messages details[open]{background:var(--bg)}
.messages summary{cursor:pointer;padding:2px 0;font-family:ui-monospace,monospace}
.messages details:target{outline:2px solid #54aeff}
.messages .tagx{color:var(--fault)}
.messages .dir{color:var(--dim)}.messages .clock{color:var(--dim)}
pre.raw{margin:4px 0 8px 16px;white-space:pre-wrap;word-break:break-all;font-size:12px}
table.fields th{width:140px}
img.thumb{border:1px solid var(--line);background:#fff;image-rendering:pixelated}
.more{color:var(--dim)}
.record-type h4{margin:8px 0 4px}
svg.defs{position:absolute}
@media print{.filter{display:none}}
"""

SCRIPT = """
(function(){
var box=document.getElementById('filter'),count=document.getElementById('filter-count');
var keys={call:1,user:1,code:1,finding:1,fault:1};
function terms(q){return q.toLowerCase().split(/\\s+/).filter(Boolean).map(function(t){
var i=t.indexOf(':'),k=i>0?t.slice(0,i):'';return keys[k]?[k,t.slice(i+1)]:['search',t];});}
function matches(el,ts){for(var i=0;i<ts.length;i++){var k=ts[i][0],v=ts[i][1],ok=false,
have=(el.getAttribute('data-'+k)||'').split(' ');for(var j=0;j<have.length;j++){
if(k==='code'?have[j]===v:have[j].indexOf(v)>=0){ok=true;break;}}if(!ok)return false;}
return true;}
function apply(){var ts=terms(box.value),shown=0,total=0,
els=document.querySelectorAll('[data-search]');for(var i=0;i<els.length;i++){
var ok=matches(els[i],ts);els[i].hidden=!ok;if(els[i].tagName==='TR'){total++;if(ok)shown++;}}
var calls=function(n){return n+(n===1?' call':' calls');};
count.textContent=ts.length?shown+' of '+calls(total):calls(total);
if(ts.length)history.replaceState(null,'','#q='+encodeURIComponent(box.value));
else if(location.hash.indexOf('#q=')===0)history.replaceState(null,'',location.pathname);}
document.addEventListener('click',function(e){var t=e.target;if(!t.closest)return;
var f=t.closest('[data-filter]');if(f&&box){e.preventDefault();
box.value=f.getAttribute('data-filter');apply();
document.getElementById('calls').scrollIntoView();return;}
var a=t.closest('a.to-detail');if(a){var d=document.getElementById(
a.getAttribute('href').slice(1));if(d)d.open=true;}});
if(!box)return;box.addEventListener('input',apply);
document.getElementById('filter-clear').addEventListener('click',function(){box.value='';
apply();});
if(location.hash.indexOf('#q=')===0)box.value=decodeURIComponent(location.hash.slice(3));
apply();})();
"""


def _index(calls: list[Call], drawn: Collection[str]) -> str:
    rows = []
    for call in calls:
        number = call.number
        link = (f'<a href="#call-{number}">{number}</a>' if call.call_id in drawn
                else f'<span class="dim" title="not drawn">{number}</span>')
        kinds = ", ".join(dict.fromkeys(str(item.get("kind")) for item in call.findings))
        codes = " ".join(str(code) for code in call.statuses)
        faults = ", ".join(call.faults)
        rows.append(
            f"<tr{call_data(call)}><td>{link}</td><td><code>"
            f"{esc(shorten(call.call_id, 48))}</code></td><td>{esc(', '.join(call.users))}</td>"
            f"<td>{esc(call.outcome)}</td><td>{esc(codes)}</td>"
            f'<td class="warn">{esc(kinds)}</td><td>{esc(faults)}</td>'
            f"<td class=n>{call.messages}</td><td>{esc(clock(call.start))}</td></tr>")
    return (
        '<table class="index"><thead><tr><th>#</th><th>Call-ID</th><th>users</th>'
        "<th>outcome</th><th>codes sent</th><th>findings</th><th>faults</th><th>msgs</th>"
        f"<th>start</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def render_run(run: Run, *, max_ladders: int = DEFAULT_LADDERS,
               calls: Iterable[str] | None = None, title: str | None = None) -> str:
    """The page of a run built with :func:`sipfault.report.model.build_run`.

    ``calls`` (Call-IDs) chooses the ladders to draw; otherwise the first ``max_ladders``.
    """
    if calls is not None:
        wanted = set(calls)
        chosen = [call for call in run.calls if call.call_id in wanted]
    else:
        chosen = run.calls[:max(0, max_ladders)]
    drawn = {call.call_id for call in chosen}
    scenario = (run.run or {}).get("scenario")
    heading = title or (f"sipfault report: {scenario}" if scenario else "sipfault report")
    left_out = len(run.calls) - len(chosen)
    note = (f'<p class="dim">{len(chosen)} of {len(run.calls)} calls drawn; the index lists '
            "them all (<code>sipfault report --ladders N</code> or <code>--call CALL-ID</code> "
            "draws others).</p>") if left_out else ""
    ladders = "".join(render_call(call) for call in chosen)
    body = (
        f"{render_summary(run)}"
        '<h2 id="calls">Calls</h2>'
        '<form class="filter" onsubmit="return false"><label for="filter">Filter</label>'
        '<input id="filter" type="search" autocomplete="off" '
        'placeholder="Call-ID, user, code or finding: code:486 finding:no-ack user:alice">'
        '<button type="button" id="filter-clear">clear</button>'
        f'<span id="filter-count" class="dim">{_calls(len(run.calls))}</span></form>'
        f"{_index(run.calls, drawn)}"
        f'<h2 id="ladders">Ladders</h2>{note}'
        '<p class="dim">Each arrow is a message (<span style="color:var(--in)">client to '
        'sipfault</span>, <span style="color:var(--out)">sipfault to client</span>, '
        '<span style="color:var(--re)">retransmitted</span>, <span style="color:var(--fault)">'
        'altered by a fault</span>, <span style="color:var(--drop)">dropped by a fault</span>); '
        "click one for the whole message. \u2691 marks a finding, a circle on sipfault's "
        "line a timer.</p>"
        f"{ladders}"
    )
    return render_page(heading, body, subtitle=_subtitle(run))


def _subtitle(run: Run) -> str:
    meta = run.run or {}
    parts = []
    if meta.get("seed") is not None:
        parts.append(f"seed {meta.get('seed')}")
    if run.started is not None:
        parts.append(f"started {clock(run.started)}")
    parts.append(_calls(len(run.calls)))
    return " · ".join(parts)


def _calls(count: int) -> str:
    return f"{count} call{'' if count == 1 else 's'}"


def render_page(title: str, body: str, *, subtitle: str = "", script: str = SCRIPT,
                style: str = STYLE, refresh: str = "") -> str:
    """A whole HTML document around ``body``."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="generator" content="sipfault {esc(__version__)}">{refresh}'
        f"<title>{esc(title)}</title><style>{style}</style></head><body>"
        f"{MARKER_DEFS}<header><h1>{esc(title)}</h1>"
        f"{f'<p>{esc(subtitle)}</p>' if subtitle else ''}</header><main>{body}</main>"
        f"<script>{script}</script></body></html>\n"
    )


def render_calls_page(entries: Iterable[Entry], title: str) -> str:
    """A page of ladders only: every call among the entries (the live view's call pages)."""
    run = build_run(entries)
    ladders = "".join(render_call(call) for call in run.calls)
    body = ladders or '<p class="dim">No call among these records.</p>'
    return render_page(title, body, subtitle=_subtitle(run))


def render_report(entries: Iterable[Entry], *, max_ladders: int = DEFAULT_LADDERS,
                  calls: Iterable[str] | None = None, title: str | None = None,
                  bad_lines: Iterable[int] = ()) -> str:
    """The report page of a journal's entries (see :mod:`sipfault.report.entries`)."""
    return render_run(build_run(entries, bad_lines), max_ladders=max_ladders, calls=calls,
                      title=title)
