"""The live page: one HTML document that follows ``/events`` (server-sent events).

Each event is a snapshot of the state as JSON; the page's script redraws its tables from it
and counts registrations down between snapshots. Everything from the network (Call-IDs,
users, finding texts) is put in the page as text nodes, never as markup.
"""

from __future__ import annotations

from sipfault.report.markup import esc
from sipfault.report.page import STYLE, render_page

__all__ = ["render_live_page"]

LIVE_STYLE = STYLE + """
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
.panel{border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:#fff}
.panel h2{margin:0 0 6px;font-size:16px;border:0}
.counters{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.counter{border:1px solid var(--line);border-radius:8px;padding:6px 12px;min-width:110px}
.counter b{display:block;font-size:22px}.counter span{color:var(--dim);font-size:12px}
#status{font-size:12px;padding:2px 8px;border-radius:10px;background:#eaeef2;color:#57606a}
#status.on{background:#dafbe1;color:#116329}#status.off{background:#ffebe9;color:#cf222e}
table.live{width:100%;font-size:13px}
tr.expired td{color:#cf222e;text-decoration:line-through}
.state{font-weight:600}.state-answered,.state-confirmed{color:#1a7f37}
.state-ringing{color:#bf8700}.state-trying{color:#0969da}
ul.recent{list-style:none;padding:0;margin:0;font-size:13px}
ul.recent li{border-bottom:1px solid #eaeef2;padding:2px 0}
.kind{color:#cf222e;font-weight:600}
.empty{color:var(--dim);font-style:italic}
"""

LIVE_SCRIPT = """
(function(){
var skew=0,snap=null,statusEl=document.getElementById('status');
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;
if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function row(cells,cls){var tr=el('tr',cls);cells.forEach(function(c){var td=el('td');
if(c instanceof Node)td.appendChild(c);else td.textContent=c===null||c===undefined?'':String(c);
tr.appendChild(td);});return tr;}
function fill(id,rows,empty,cols){var body=document.getElementById(id);body.textContent='';
if(!rows.length){var tr=el('tr');var td=el('td','empty',empty);td.colSpan=cols;tr.appendChild(td);
body.appendChild(tr);return;}rows.forEach(function(r){body.appendChild(r);});}
function now(){return Date.now()/1000+skew;}
function age(t){var s=Math.max(0,now()-t);return s<60?s.toFixed(1)+' s':Math.floor(s/60)+' min '+
Math.floor(s%60)+' s';}
function clock(t){return new Date(t*1000).toTimeString().slice(0,8);}
function link(call,text){var a=el('a',null,text);a.href='calls/'+encodeURIComponent(call);return a;}
function left(b){return Math.ceil(b.expires_at-now());}
function draw(){if(!snap)return;var s=snap;
document.getElementById('n-calls').textContent=s.calls_total;
document.getElementById('n-live').textContent=s.live.length;
document.getElementById('n-requests').textContent=s.requests_total;
document.getElementById('n-responses').textContent=s.responses_total;
document.getElementById('n-retrans').textContent=s.retransmissions.out+' / '+s.retransmissions.in;
document.getElementById('n-findings').textContent=s.findings_total;
document.getElementById('n-faults').textContent=s.faults_total;
document.getElementById('n-bindings').textContent=s.registrations.length;
fill('live-calls',s.live.map(function(c){var tr=row([link(c.call_id,c.call_id),c.method,c.user,
c.client,el('span','state state-'+c.state,c.state),age(c.started),c.statuses.join(' ')],'call');
tr.setAttribute('data-call-id',c.call_id);tr.setAttribute('data-state',c.state);return tr;}),
'no call under way',7);
fill('registrations',s.registrations.map(function(b){var n=left(b);
var tr=row([b.aor,b.contact,el('span','remaining',n>0?n+' s':'expired')],
n>0?'binding':'binding expired');tr.setAttribute('data-aor',b.aor);return tr;}),
'no registration',3);
fill('finished',s.finished.map(function(c){var tr=row([link(c.call_id,c.call_id),c.outcome,
c.user,clock(c.ended||c.updated),c.findings||''],'done');tr.setAttribute('data-call-id',c.call_id);
return tr;}),'no finished call yet',5);
var f=document.getElementById('findings');f.textContent='';
if(!s.findings.length)f.appendChild(el('li','empty','no finding'));
s.findings.forEach(function(x){var li=el('li','finding');li.setAttribute('data-kind',x.kind);
li.appendChild(el('span','dim',clock(x.time)+' '));li.appendChild(el('span','kind',x.kind));
li.appendChild(document.createTextNode(' '+x.text+' '));
if(x.rfc.length)li.appendChild(el('span','rfc',x.rfc.join(', ')));
if(x.call_id){li.appendChild(document.createTextNode(' '));li.appendChild(link(x.call_id,
x.call_id.slice(0,12)));}f.appendChild(li);});
fill('faults',Object.keys(s.faults).sort().map(function(k){return row([k,s.faults[k],
s.fault_drops[k]||0],'fault');}),'no fault applied',3);
fill('codes',Object.keys(s.responses).sort().map(function(k){return row([k,s.responses[k]]);}),
'no response yet',2);
var sw=document.getElementById('switches');sw.textContent='';
if(!s.endpoint_faults.length)sw.appendChild(el('li','empty','none registered'));
s.endpoint_faults.forEach(function(x){sw.appendChild(el('li',null,x.name+': '+
(x.active?'on':'off')+' \u2014 '+x.description));});}
function tick(){if(!snap)return;var rows=document.querySelectorAll('#registrations tr.binding');
rows.forEach(function(tr){var aor=tr.getAttribute('data-aor');snap.registrations.forEach(
function(b){if(b.aor!==aor)return;var n=left(b),r=tr.querySelector('.remaining');
if(n>0){r.textContent=n+' s';}else{r.textContent='expired';tr.className='binding expired';}});});
document.querySelectorAll('#live-calls tr.call').forEach(function(tr,i){var c=snap.live[i];
if(c)tr.children[5].textContent=age(c.started);});}
function connect(){var es=new EventSource('events');
es.addEventListener('state',function(e){var next=JSON.parse(e.data),same=snap&&
snap.version===next.version;snap=next;skew=snap.now-Date.now()/1000;
statusEl.textContent='live';statusEl.className='on';if(!same)draw();});
es.onerror=function(){statusEl.textContent='reconnecting';statusEl.className='off';};}
setInterval(tick,250);connect();})();
"""


def _counter(ident: str, label: str) -> str:
    return f'<div class="counter"><b id="{ident}">-</b><span>{esc(label)}</span></div>'


def _panel(title: str, head: list[str], body_id: str) -> str:
    heads = "".join(f"<th>{esc(item)}</th>" for item in head)
    return (f'<section class="panel"><h2>{esc(title)}</h2><table class="live"><thead><tr>'
            f'{heads}</tr></thead><tbody id="{body_id}"></tbody></table></section>')


def render_live_page(scenario: str, seed: int, listening: str) -> str:
    """The live page of a run."""
    counters = "".join([
        _counter("n-calls", "calls"), _counter("n-live", "under way"),
        _counter("n-requests", "requests"), _counter("n-responses", "responses"),
        _counter("n-retrans", "retransmitted out / in"), _counter("n-findings", "findings"),
        _counter("n-faults", "faults applied"), _counter("n-bindings", "registrations"),
    ])
    body = (
        f'<p><span id="status">connecting</span> listening on {esc(listening)} · '
        '<a href="metrics">metrics</a> · <a href="journal">journal</a> · '
        '<a href="report">report so far</a></p>'
        f'<div class="counters">{counters}</div><div class="grid">'
        + _panel("Calls under way", ["Call-ID", "method", "user", "client", "state", "age",
                                     "codes"], "live-calls")
        + _panel("Registrations", ["address-of-record", "contact", "expires in"],
                 "registrations")
        + '<section class="panel"><h2>Recent findings</h2><ul class="recent" id="findings">'
        "</ul></section>"
        + _panel("Faults applied", ["fault", "transmissions", "dropped"], "faults")
        + _panel("Finished calls", ["Call-ID", "outcome", "user", "ended", "findings"],
                 "finished")
        + _panel("Responses sent", ["code", "count"], "codes")
        + '<section class="panel"><h2>Endpoint faults</h2><ul class="recent" id="switches">'
        "</ul></section></div>"
    )
    return render_page(f"sipfault live: {scenario}", body, subtitle=f"seed {seed}",
                       script=LIVE_SCRIPT, style=LIVE_STYLE)
