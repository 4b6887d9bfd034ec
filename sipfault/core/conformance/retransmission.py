"""How a client retransmits its requests over UDP (RFC 3261 §17.1.1.2, §17.1.2.2).

An INVITE client transaction re-sends at T1, 2*T1, 4*T1... (Timer A) until a response comes; a
non-INVITE one at T1, 2*T1... up to T2 (Timer E). Both stop once the final response arrived.
Judged only while no response has reached the client (a provisional changes the pace of a
non-INVITE and stops an INVITE's), with :data:`TOLERANCE` for the clocks of both ends:

- ``no-retransmission``: nothing re-sent within 2*T1 while no response reached the client
  (the UAS asks :func:`unanswered` when a fault withheld the responses);
- ``early-retransmission``: the first re-send sooner than T1;
- ``no-backoff``: a later interval not twice the one before (capped at T2 for non-INVITE);
- ``retransmission-after-final``: a re-send more than T1/2 after the final response reached
  the client intact.

The client may run with the scenario's T1 or with the RFC's default of 500 ms (tests often
shorten sipfault's own T1, not the client's): it is held to whichever of the two is more lenient,
the shorter for "too soon", the longer for "never". T2 is the scenario's. State lives on the
exchange (:class:`RetransmissionTrack`), bounded to :data:`KEPT` times, and goes with it.
"""

from __future__ import annotations

from sipfault.model.scenario import Timers

__all__ = ["DEFAULT_T1", "KEPT", "TOLERANCE", "RetransmissionTrack", "after_final",
           "check_time", "judge", "unanswered"]

DEFAULT_T1 = 0.5
"""RFC 3261 §17.1.1.1: T1 is 500 ms unless configured otherwise."""

TOLERANCE = 0.75
"""An interval shorter than this share of the expected one is too short."""
KEPT = 16
"""Arrival times kept per request (a client re-sends about ten times in 64*T1)."""


class RetransmissionTrack:
    """The retransmissions of one request seen so far, and the findings already made."""

    __slots__ = ("reported", "times")

    def __init__(self, arrived: float) -> None:
        self.times: list[float] = [arrived]
        """The arrival of the request, then of each retransmission (the last :data:`KEPT`)."""
        self.reported: set[str] = set()
        """Kinds already reported for this request: each once."""

    @property
    def count(self) -> int:
        """Retransmissions seen (of the times kept)."""
        return len(self.times) - 1


def judge(
    track: RetransmissionTrack, now: float, method: str, timers: Timers,
    delivered: bool, final_delivered_at: float | None,
) -> list[tuple[str, str]]:
    """The findings a retransmission arriving at ``now`` makes: (kind, text) each.

    ``delivered`` says whether a response reached the client before it; ``final_delivered_at``
    when the final response did, if it did intact.
    """
    times = track.times
    previous = times[-1]
    times.append(now)
    if len(times) > KEPT:
        del times[1]  # the original arrival stays: it dates the whole transaction
    found: list[tuple[str, str]] = []
    if final_delivered_at is not None:
        late = after_final(method, now, final_delivered_at, timers)
        return _once(track, [late] if late is not None else [])
    if delivered:
        return []
    interval = now - previous
    if len(times) == 2:
        t1 = min(timers.t1, DEFAULT_T1)
        if interval < TOLERANCE * t1:
            found.append(("early-retransmission",
                          f"{method} retransmitted after {interval:.3f} s, sooner than "
                          f"T1 = {t1:g} s"))
    else:
        before = previous - times[-3]
        expected = 2 * before if method == "INVITE" else min(2 * before, timers.t2)
        if interval < TOLERANCE * expected:
            found.append(("no-backoff",
                          f"{method} retransmitted {interval:.3f} s after the last one, "
                          f"{before:.3f} s after the one before (expected about "
                          f"{expected:.3f} s)"))
    return _once(track, found)


def after_final(
    method: str, now: float, final_delivered_at: float, timers: Timers
) -> tuple[str, str] | None:
    """``retransmission-after-final`` when a re-send came more than T1/2 after the final
    response reached the client (sooner, the two crossed on the wire)."""
    late = now - final_delivered_at
    if late <= timers.t1 / 2:
        return None
    return ("retransmission-after-final",
            f"{method} retransmitted {late:.3f} s after its final response")


def _once(track: RetransmissionTrack, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    fresh = [(kind, text) for kind, text in found if kind not in track.reported]
    track.reported.update(kind for kind, _ in fresh)
    return fresh


def unanswered(
    method: str, arrived: float, retransmitted: bool, delivered_at: float | None,
    timers: Timers,
) -> tuple[str, str] | None:
    """The ``no-retransmission`` finding, asked 2*T1 after the request arrived, if due."""
    t1 = max(timers.t1, DEFAULT_T1)
    if retransmitted or (delivered_at is not None and delivered_at - arrived <= t1):
        return None
    return ("no-retransmission",
            f"no retransmission of the {method} within {2 * t1:g} s while no response "
            "reached the client")


def check_time(arrived: float, timers: Timers) -> float:
    """When :func:`unanswered` is asked: 2*T1, with the longer of the two T1."""
    return arrived + 2 * max(timers.t1, DEFAULT_T1)
