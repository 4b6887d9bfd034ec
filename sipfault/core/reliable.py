"""Reliable provisional responses (RFC 3262).

A reliable 1xx carries ``Require: 100rel`` and ``RSeq``; it is re-sent from T1, doubling with no
cap, until a PRACK whose RAck names it arrives (§3). Only one is outstanding at a time: later
steps wait for the PRACK. With no PRACK within 64*T1 the INVITE is rejected with a 5xx.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.errors import SipParseError
from sipfault.sip.grammar import bounded_int
from sipfault.sip.message import Request, Response

OPTION_TAG = "100rel"


@dataclass(frozen=True)
class RAck:
    """The RAck header of a PRACK: ``response-num CSeq-num Method`` (RFC 3262 §7.2)."""

    rseq: int
    cseq: int
    method: str

    @classmethod
    def parse(cls, value: str) -> RAck:
        """Read an RAck value; SipParseError when malformed."""
        parts = value.split()
        if len(parts) != 3:
            raise SipParseError("Malformed RAck")
        rseq, cseq = bounded_int(parts[0], 2**32 - 1), bounded_int(parts[1], 2**32 - 1)
        if rseq is None or cseq is None:
            raise SipParseError("Malformed RAck")
        return cls(rseq, cseq, parts[2])


def client_requires(request: Request) -> bool:
    """The INVITE demands reliable provisionals (``Require: 100rel``, RFC 3262 §3)."""
    return OPTION_TAG in request.headers.values("Require")


def client_supports(request: Request) -> bool:
    """The INVITE allows reliable provisionals (Supported or Require lists 100rel)."""
    return OPTION_TAG in request.headers.values("Supported") or client_requires(request)


def first_rseq(rng: random.Random) -> int:
    """§3: the first RSeq is chosen between 1 and 2**31 - 1."""
    return rng.randint(1, 2**31 - 1)


class ReliableProvisionals:
    """The reliable 1xx of one INVITE transaction, and the steps waiting behind one."""

    def __init__(
        self,
        invite: Request,
        rseq: int,
        timers: Timers,
        queue: TimerQueue,
        resend: Callable[[Response, float], object],
        on_timeout: Callable[[float], None],
    ) -> None:
        self._invite_cseq = invite.cseq[0]
        self._next_rseq = rseq
        self._timers = timers
        self._queue = queue
        self._resend = resend
        self._on_timeout = on_timeout
        self.outstanding: tuple[int, Response] | None = None
        """RSeq and response of the reliable 1xx awaiting its PRACK."""
        self._waiting: list[Callable[[float], None]] = []
        self._retransmit: Timer | None = None
        self._give_up: Timer | None = None

    @property
    def busy(self) -> bool:
        """A reliable 1xx is awaiting its PRACK (§3: one at a time)."""
        return self.outstanding is not None

    def mark(self, response: Response) -> int:
        """Add Require: 100rel and the next RSeq to a provisional; return that RSeq."""
        rseq = self._next_rseq
        self._next_rseq += 1
        response.headers.insert_before(("content-type", "content-length"), "Require", OPTION_TAG)
        response.headers.insert_before(("content-type", "content-length"), "RSeq", str(rseq))
        return rseq

    def sent(self, rseq: int, response: Response, now: float) -> None:
        """Start re-sending it: T1, doubling, with no upper bound (§3); give up at 64*T1."""
        self.outstanding = (rseq, response)
        interval = self._timers.t1

        def retransmit(at: float) -> None:
            nonlocal interval
            if self.outstanding is None or self.outstanding[0] != rseq:
                return
            self._resend(response, at)
            interval *= 2
            self._retransmit = self._queue.schedule(at + interval, retransmit, "1xx", response)

        # RFC 3262 §3 names no timers; the journal calls them "1xx" and "prack-timeout".
        self._retransmit = self._queue.schedule(now + interval, retransmit, "1xx", response)
        self._give_up = self._queue.schedule(now + 64 * self._timers.t1, self._timeout,
                                             "prack-timeout", response)

    def wait(self, action: Callable[[float], None]) -> None:
        """Run ``action`` once the outstanding reliable 1xx is acknowledged."""
        self._waiting.append(action)

    def acknowledge(self, rack: RAck) -> bool:
        """A PRACK: True when its RAck matches the outstanding 1xx (§7.2), which stops it."""
        if self.outstanding is None:
            return False
        if (rack.rseq, rack.cseq, rack.method) != (self.outstanding[0], self._invite_cseq,
                                                    "INVITE"):
            return False
        self.stop()
        return True

    def release(self, now: float) -> None:
        """Take the steps that waited for the PRACK, until one sends another reliable 1xx."""
        waiting, self._waiting = self._waiting, []
        for action in waiting:
            action(now)
            if self.busy:  # that step sent another reliable 1xx: the rest wait again
                self._waiting.extend(waiting[waiting.index(action) + 1:])
                break

    def stop(self) -> None:
        """Stop re-sending (acknowledged, or the transaction ended)."""
        self.outstanding = None
        for timer in (self._retransmit, self._give_up):
            if timer is not None:
                timer.cancel()

    def _timeout(self, now: float) -> None:
        if self.outstanding is not None:
            self.stop()
            self._waiting.clear()
            self._on_timeout(now)
