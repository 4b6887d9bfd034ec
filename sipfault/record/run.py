"""The two records that frame a run: ``run`` when it starts, ``summary`` when it stops.

The core's events say what happened; these say what ran. ``sipfault run`` writes a
:class:`RunRecord` as the first line of its journal, once it listens, and a
:class:`SummaryRecord` as the last, when it stops; the HTML report
(:mod:`sipfault.report`) reads the scenario, the seed and the start and stop times from them.

JSON objects (:meth:`to_json`, one journal line each, with ``time`` and ``type`` like every
record of :mod:`sipfault.record.records`):

- ``run``: ``scenario`` (its name), ``scenario_file`` (the path given, or null),
  ``description``, ``seed``, ``version`` (sipfault's), ``listen`` (``["udp,tcp
  127.0.0.1:5060", ...]``) and ``t1`` (seconds).
- ``summary``: ``started`` (the run record's time), ``duration`` (seconds), ``requests`` (by
  method), ``responses`` (by status code, as text), ``retransmissions`` (``{"in", "out"}``),
  ``dropped``, ``findings`` (by kind) and ``bindings`` (``[{"aor", "contact",
  "expires_in"}]``: the registrations current at the stop, RFC 3261 §10.3). The counts are
  those the console's summary prints: first transmissions only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

__all__ = ["BindingState", "RunRecord", "SummaryRecord"]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run started: what it runs, with which seed, where it listens."""

    type: ClassVar[str] = "run"

    time: float
    """Wall-clock time it started listening."""
    scenario: str
    """The scenario's name."""
    seed: int
    """The seed of the scenario's random draws."""
    version: str
    """sipfault's version."""
    scenario_file: str | None = None
    """The scenario file given on the command line, if any."""
    description: str = ""
    """The scenario's description."""
    listen: tuple[str, ...] = ()
    """Where it listens: ``udp,tcp 127.0.0.1:5060``, one item per address."""
    t1: float | None = None
    """RFC 3261 timer T1 in seconds (§17.1.1.1)."""

    def line(self) -> str:
        """``run: scenario busy, seed 7, on udp,tcp 127.0.0.1:5060``."""
        where = f", on {'; '.join(self.listen)}" if self.listen else ""
        return f"run: scenario {self.scenario}, seed {self.seed}{where}"

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object (see the module docstring)."""
        return {"time": self.time, "type": self.type, "scenario": self.scenario,
                "scenario_file": self.scenario_file, "description": self.description,
                "seed": self.seed, "version": self.version, "listen": list(self.listen),
                "t1": self.t1}


@dataclass(frozen=True, slots=True)
class BindingState:
    """A registration current when the run stopped (RFC 3261 §10.3)."""

    aor: str
    """The address-of-record."""
    contact: str
    """The contact URI bound to it."""
    expires_in: int
    """Seconds it had left."""


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """A run stopped: how long it ran and what it counted."""

    type: ClassVar[str] = "summary"

    time: float
    """Wall-clock time it stopped."""
    started: float
    """Wall-clock time it started (the run record's)."""
    requests: Mapping[str, int] = field(default_factory=dict)
    """Requests received by method, first transmissions only."""
    responses: Mapping[int, int] = field(default_factory=dict)
    """Responses sent by status code, first transmissions only."""
    retransmissions_in: int = 0
    """Requests the client sent again."""
    retransmissions_out: int = 0
    """Responses sipfault sent again."""
    dropped: int = 0
    """Messages that could not be answered."""
    findings: Mapping[str, int] = field(default_factory=dict)
    """Findings about the client, by kind."""
    bindings: Sequence[BindingState] = ()
    """Registrations current at the stop."""

    @property
    def duration(self) -> float:
        """Seconds from start to stop."""
        return max(0.0, self.time - self.started)

    def line(self) -> str:
        """``summary: 12.5 s, 4 requests, 6 responses, 0 findings``."""
        return (f"summary: {self.duration:.1f} s, {sum(self.requests.values())} requests, "
                f"{sum(self.responses.values())} responses, "
                f"{sum(self.findings.values())} findings")

    def to_json(self) -> dict[str, object]:
        """The journal's JSON object (see the module docstring)."""
        return {
            "time": self.time, "type": self.type, "started": self.started,
            "duration": self.duration,
            "requests": dict(sorted(self.requests.items())),
            "responses": {str(code): count for code, count in sorted(self.responses.items())},
            "retransmissions": {"in": self.retransmissions_in, "out": self.retransmissions_out},
            "dropped": self.dropped,
            "findings": dict(sorted(self.findings.items())),
            "bindings": [{"aor": item.aor, "contact": item.contact,
                          "expires_in": item.expires_in} for item in self.bindings],
        }
