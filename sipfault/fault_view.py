"""What ``sipfault faults`` and ``sipfault findings`` print: the catalogues as tables.

``sipfault faults`` lists every fault with its one-line description, grouped as
``docs/faults.md`` is, with where it may be written and the parameters it takes;
``sipfault findings`` lists every finding about the client with the section it rests on.
"""

from __future__ import annotations

from sipfault.model.faults import ENDPOINT, FAULTS, PARAMETERS, RULE, STEP
from sipfault.model.findings import FINDINGS

__all__ = ["format_faults", "format_findings", "is_fault", "is_finding"]

_GROUPS = {
    "timing": "Timing and loss",
    "malformed": "Malformed responses",
    "forking": "Forked answers",
    "raw": "Raw bytes",
    "stream": "TCP and TLS connections",
    "endpoint": "The whole endpoint (endpoint_faults)",
}
_FINDING_GROUPS = {
    "requests": "Requests",
    "retransmission": "Retransmission",
    "retry-after": "Retry-After",
    "registration": "Registration",
    "ack-cancel": "ACK, CANCEL and PRACK",
    "forking": "Forking",
    "authentication": "Authentication",
    "own-requests": "Requests of sipfault's own",
}
_SCOPES = {STEP: "step", RULE: "rule", ENDPOINT: "endpoint"}


def is_fault(name: str) -> bool:
    """Whether ``name`` is a fault."""
    return name in FAULTS


def is_finding(kind: str) -> bool:
    """Whether ``kind`` is a finding."""
    return kind in FINDINGS


def format_faults(names: list[str] | None = None) -> str:
    """Every fault (or those named) by group: name, where it goes, what it does."""
    width = max(len(name) for name in FAULTS)
    lines: list[str] = []
    for group, title in _GROUPS.items():
        rows = [(name, kind) for name, kind in FAULTS.items()
                if kind.group == group and (names is None or name in names)]
        if not rows:
            continue
        if lines:
            lines.append("")
        lines.append(f"{title}:")
        for name, kind in rows:
            scopes = ",".join(word for scope, word in _SCOPES.items() if scope in kind.scopes)
            lines.append(f"  {name:<{width}}  [{scopes}] {kind.description}")
            if names is not None:
                for param in (*kind.params, "probability"):
                    lines.append(f"  {'':<{width}}    {param}: {PARAMETERS[param]}")
    if names is None:
        lines += ["", "Every fault also takes 'probability'; `sipfault faults NAME` shows its "
                  "parameters. See docs/faults.md."]
    return "\n".join(lines)


def format_findings() -> str:
    """Every finding by group: kind, the section it rests on, what the client did."""
    width = max(len(kind) for kind in FINDINGS)
    section_width = max(len(kind.section) for kind in FINDINGS.values())
    lines: list[str] = []
    for group, title in _FINDING_GROUPS.items():
        rows = [(name, kind) for name, kind in FINDINGS.items() if kind.group == group]
        if lines:
            lines.append("")
        lines.append(f"{title}:")
        for name, kind in rows:
            lines.append(f"  {name:<{width}}  {kind.section or '-':<{section_width}}  "
                         f"{kind.description}")
    return "\n".join(lines)
