"""``/metrics``: the live state in the Prometheus text exposition format (version 0.0.4).

One family per line group: ``# HELP``, ``# TYPE``, then samples ``name{label="value"} number``.
Counters end in ``_total``. The request, response, retransmission and finding counters are
the console summary's (first transmissions only), so a scrape taken at the end of a run reads
what the summary prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sipfault.live.state import LiveState

__all__ = ["Gauges", "render_metrics"]


@dataclass(frozen=True)
class Gauges:
    """What the endpoint itself tells, beside the records."""

    start_time: float
    """Wall-clock time the run started."""
    dialogs: int | None
    """Dialogs alive in the core, or None if it does not say."""
    transactions: int | None
    """Server transactions alive in the core, or None if it does not say (then the requests
    still waiting for a final response, from the records, stand in)."""
    bindings: int
    """Registrations current."""
    loop_lag: float
    """The event loop's last measured lateness, seconds."""
    loop_lag_max: float
    """The largest lateness measured, seconds."""
    endpoint_faults: Mapping[str, bool]
    """Endpoint faults registered, and whether each is on."""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, text: str,
               samples: Iterable[tuple[Mapping[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{key}="{_escape(item)}"' for key, item in labels.items())
            braces = f"{{{label_text}}}" if label_text else ""
            self.lines.append(f"{name}{braces} {_number(value)}")

    def one(self, name: str, kind: str, text: str, value: float) -> None:
        self.family(name, kind, text, [({}, value)])

    def by(self, name: str, label: str, text: str, counts: Mapping[str, int] | Mapping[int, int],
           kind: str = "counter") -> None:
        self.family(name, kind, text,
                    [({label: str(key)}, value) for key, value in sorted(counts.items())])


def render_metrics(state: LiveState, gauges: Gauges) -> str:
    """The exposition text."""
    counts = state.counts
    out = _Writer()
    out.one("sipfault_start_time_seconds", "gauge",
            "Unix time the run started.", gauges.start_time)
    out.by("sipfault_calls_total", "method",
           "Calls (Call-IDs) seen, by the method of their first request.", state.calls_by_method)
    out.one("sipfault_calls_live", "gauge", "Calls under way.", len(state.live_calls))
    out.by("sipfault_requests_total", "method",
           "Requests received, by method; retransmissions not counted.", counts.requests)
    out.by("sipfault_responses_total", "code",
           "Responses sent, by status code; retransmissions not counted.", counts.responses)
    out.family("sipfault_retransmissions_total", "counter",
               "Messages that were retransmissions: in from the client, out from sipfault.",
               [({"direction": "in"}, counts.retransmissions_in),
                ({"direction": "out"}, counts.retransmissions_out)])
    out.one("sipfault_unreadable_total", "counter",
            "Messages that could not be answered (unparsable, stray responses).",
            counts.dropped)
    out.by("sipfault_findings_total", "kind",
           "Findings about the client, by kind.", counts.findings)
    out.by("sipfault_faults_total", "fault",
           "Transmissions a scenario fault touched, by fault.", state.faults)
    out.by("sipfault_fault_drops_total", "fault",
           "Transmissions a scenario fault dropped, by fault.", state.fault_drops)
    out.by("sipfault_timers_total", "timer",
           "Protocol timers fired (RFC 3261 Timer G, H..., 2xx retransmission).", state.timers)
    out.one("sipfault_records_total", "counter", "Records of the run.", state.records)
    if gauges.transactions is not None:
        out.one("sipfault_transactions_live", "gauge",
                "Server transactions alive in the core.", gauges.transactions)
    else:
        out.one("sipfault_transactions_live", "gauge",
                "Requests received that have no final response yet (from the records; the "
                "core does not count its transactions).", state.pending_requests)
    if gauges.dialogs is not None:
        out.one("sipfault_dialogs_live", "gauge", "Dialogs alive in the core.", gauges.dialogs)
    out.one("sipfault_bindings", "gauge", "Registrations current (RFC 3261 §10.3).",
            gauges.bindings)
    out.one("sipfault_loop_lag_seconds", "gauge",
            "How late the event loop last ran a timer.", gauges.loop_lag)
    out.one("sipfault_loop_lag_max_seconds", "gauge",
            "The latest the event loop ran a timer since the start.", gauges.loop_lag_max)
    out.by("sipfault_endpoint_fault_active", "fault",
           "Endpoint faults registered: 1 when on.",
           {name: int(on) for name, on in gauges.endpoint_faults.items()}, kind="gauge")
    return "\n".join(out.lines) + "\n"
