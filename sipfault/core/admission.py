"""Load shedding: past a capacity, new INVITEs and REGISTERs get 503 with Retry-After.

RFC 3261 §21.5.4: a server that is temporarily overloaded answers 503 Service Unavailable and
may say with Retry-After when to try again. :class:`Admission` decides, for each new
out-of-dialog INVITE or REGISTER, whether it is served or refused; everything else is always
served (retransmissions, ACK, CANCEL, BYE and every in-dialog request), since refusing the
messages that end calls would only keep their state alive longer.

Two signals, each with hysteresis so that shedding does not flap:

- the live transactions (server and client, ``LiveCounts``): shedding starts when they reach
  ``max_transactions`` and stops once they are below ``resume_fraction`` of it. Over UDP a
  transaction stays 64*T1 after its final response (Timers H, J, L, RFC 3261 §17.2), so a
  steady rate of calls keeps about 2 x 64*T1 x rate of them (64,000 at 1000 calls/s, T1 500 ms).
  An INVITE answered 2xx keeps its transaction (Timer L, RFC 6026 §7.1) exactly as long as
  its dialog re-sends the 2xx waiting for the ACK (64*T1, §13.3.1.4), so the 2xx
  retransmissions under way never outnumber the transactions this cap bounds;
- the event loop's lag, as the endpoint measures it: shedding starts when it has stayed at or
  above ``max_loop_lag`` for :data:`LAG_SUSTAIN` (a loop that stalled once, in a long garbage
  collection, has caught up by the time it is measured: refusing calls then helps nobody),
  and stops once it is below half of it.

Once begun, shedding lasts at least :data:`MIN_EPISODE`.

A refused request is answered statelessly (RFC 3261 §8.2.7): no transaction, no timer, a
To-tag drawn from the request itself (:meth:`Admission.tag`), so a retransmission of it gets
the same 503 and the ACK to that 503 is recognised (:meth:`Admission.acknowledges`) without
anything kept. While shedding, a plain request is refused from its bytes, before the parser
(:meth:`Admission.answer_unread`, ``refusal.py``): refusing then costs a small part of serving,
and those refusals are counted (``refused``) rather than journaled one by one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sipfault.core.events import LoadShedding, Outgoing, Peer
from sipfault.core.refusal import read_request, refusal, refusal_peer
from sipfault.core.responses import build_response, response_vias
from sipfault.sip.message import Request, Response
from sipfault.sip.validate import CheckedRequest

__all__ = ["DEFAULT_SHED_RETRY_AFTER", "Admission", "Capacity"]

DEFAULT_SHED_RETRY_AFTER = 2
"""Retry-After seconds of a 503 refusing a request under load: long enough for the backlog
to clear, short enough that a client retrying is served soon after."""

LAG_SUSTAIN = 0.2
"""Seconds the loop's lag must stay at or above ``max_loop_lag`` before shedding starts."""

MIN_EPISODE = 0.5
"""Seconds shedding lasts at least: a loop stalled once (a long garbage collection) would
otherwise start and end it within one turn of the loop, and a loop near its limit would flap
every lag measure."""

SHED_METHODS = frozenset({"INVITE", "REGISTER"})
"""The requests that may be refused: those that start new work (a call, a binding)."""

UNREAD_PREFIXES = (b"INVITE ", b"REGISTER ", b"ACK ")
"""How the messages :meth:`Admission.answer_unread` may take begin."""

_SHED_TAG = "shed"
"""How the To-tag of a refusal begins."""


@dataclass(frozen=True, slots=True)
class Capacity:
    """Where load shedding starts; None for a signal not watched."""

    max_transactions: int | None = None
    """Live transactions (server and client) at which shedding starts."""
    max_loop_lag: float | None = None
    """Event-loop lag, in seconds, at which shedding starts."""
    retry_after: int = DEFAULT_SHED_RETRY_AFTER
    """Retry-After seconds of the 503 (RFC 3261 §20.33)."""
    resume_fraction: float = 0.9
    """Shedding by transactions stops below this fraction of ``max_transactions``."""
    min_episode: float = MIN_EPISODE
    """Seconds shedding lasts at least once begun."""
    lag_sustain: float = LAG_SUSTAIN
    """Seconds the lag must stay at or above ``max_loop_lag`` to start shedding."""

    def __post_init__(self) -> None:
        if self.max_transactions is not None and self.max_transactions < 1:
            raise ValueError(f"max_transactions={self.max_transactions} (expected 1 or more)")
        if self.max_loop_lag is not None and not self.max_loop_lag > 0:
            raise ValueError(f"max_loop_lag={self.max_loop_lag} (expected above 0 seconds)")
        if self.retry_after < 0:
            raise ValueError(f"retry_after={self.retry_after} (expected 0 or more seconds)")

    @property
    def limited(self) -> bool:
        """Whether any signal is watched."""
        return self.max_transactions is not None or self.max_loop_lag is not None


class Admission:
    """Whether new INVITEs and REGISTERs are served now, and the shedding episodes."""

    __slots__ = ("_lag", "_lag_high_since", "_salt", "capacity", "limited", "refused",
                 "shedding", "since", "total_refused")

    def __init__(self, capacity: Capacity | None = None, salt: str = "") -> None:
        self.capacity = capacity or Capacity()
        self.limited = self.capacity.limited
        """Whether anything is ever refused: a plain attribute, read for every request."""
        self.shedding = False
        """Whether new INVITEs and REGISTERs are refused now."""
        self.since = 0.0
        """When the current episode began."""
        self.refused = 0
        """Requests refused in the current (or the last) episode."""
        self.total_refused = 0
        """Requests refused since the start."""
        self._lag = 0.0
        self._lag_high_since: float | None = None
        self._salt = salt.encode()

    @property
    def lag(self) -> float:
        """The last loop lag reported, in seconds."""
        return self._lag

    def report_lag(self, lag: float, now: float) -> None:
        """The endpoint's latest measure of its loop's lag, in seconds."""
        self._lag = lag
        limit = self.capacity.max_loop_lag
        if limit is None or lag < limit:
            self._lag_high_since = None
        elif self._lag_high_since is None:
            self._lag_high_since = now

    def update(self, load: int, now: float) -> LoadShedding | None:
        """Start or stop shedding with ``load`` live transactions and the last lag; the
        event when shedding started or stopped, else None."""
        capacity = self.capacity
        limit = capacity.max_transactions
        max_lag = capacity.max_loop_lag
        if not self.shedding:
            if limit is not None and load >= limit:
                return self._start("transactions", load, limit, now)
            high_since = self._lag_high_since
            if high_since is not None and now - high_since >= capacity.lag_sustain:
                return self._start("loop-lag", load, limit, now)
            return None
        if now - self.since < capacity.min_episode:
            return None
        if limit is not None and load >= limit * capacity.resume_fraction:
            return None
        if max_lag is not None and self._lag >= max_lag / 2:
            return None
        self.shedding = False
        return LoadShedding(now, False, "", load, limit, self._lag, max_lag,
                            capacity.retry_after, self.refused, now - self.since)

    def _start(self, reason: str, load: int, limit: int | None, now: float) -> LoadShedding:
        self.shedding = True
        self.since = now
        self.refused = 0
        capacity = self.capacity
        return LoadShedding(now, True, reason, load, limit, self._lag, capacity.max_loop_lag,
                            capacity.retry_after, 0, 0.0)

    def admits(self, method: str, in_dialog: bool) -> bool:
        """Whether a new request is served: always, unless shedding and it is an
        out-of-dialog INVITE or REGISTER (then it is counted as refused)."""
        if not self.shedding or in_dialog or method not in SHED_METHODS:
            return True
        self.refused += 1
        self.total_refused += 1
        return False

    def tag(self, call_id: str, from_tag: str | None, branch: str | None) -> str:
        """The To-tag of the 503 refusing a request: the same for its retransmissions and
        none other's (RFC 3261 §8.2.7), without keeping anything."""
        text = f"{call_id}\n{from_tag or ''}\n{branch or ''}".encode()
        digest = hashlib.blake2s(text, digest_size=6, key=self._salt[:32]).hexdigest()
        return _SHED_TAG + digest

    def refusal(self, request: Request, checked: CheckedRequest, peer: Peer,
                server_header: str | None) -> Response:
        """The 503 refusing ``request`` (RFC 3261 §21.5.4), with Retry-After and a To-tag that
        its retransmissions get again (:meth:`tag`)."""
        top = checked.top_via
        fields = [("Retry-After", str(self.capacity.retry_after))]
        if server_header:
            fields.append(("Server", server_header))
        return build_response(request, 503, vias=response_vias(request, peer, top),
                              to_tag=self.tag(request.call_id, checked.from_.tag, _branch(checked)),
                              extra=fields)

    def answer_unread(self, data: bytes, peer: Peer, force_rport: bool,
                      server_header: str | None) -> Outgoing | bool:
        """While shedding, the refusal of a plain new INVITE or REGISTER read from its bytes
        (counted as refused), or True for the ACK of such a refusal (nothing to do); False for
        anything else, which the parser then reads."""
        if not self.shedding or not data.startswith(UNREAD_PREFIXES):
            return False
        is_ack = data.startswith(b"ACK ")
        if is_ack and b"tag=" + _SHED_TAG.encode() not in data:
            return False  # the ACK of a 2xx, most likely: the dialog's business
        raw = read_request(data)
        if raw is None:
            return False
        if is_ack:
            return (raw.to_tag is not None
                    and raw.to_tag == self.tag(raw.call_id, raw.from_tag, raw.branch))
        if raw.to_tag is not None or self.admits(raw.method, False):
            return False  # in a dialog, or served after all
        fields = [("Retry-After", str(self.capacity.retry_after))]
        if server_header:
            fields.append(("Server", server_header))
        tag = self.tag(raw.call_id, raw.from_tag, raw.branch)
        return Outgoing(refusal(raw, peer, tag, fields), refusal_peer(raw, peer, force_rport))

    def acknowledges(self, ack: Request, checked: CheckedRequest) -> bool:
        """Whether ``ack`` is the one for a 503 this refused: its To-tag is that 503's (the
        ACK of a non-2xx has its INVITE's branch, RFC 3261 §17.1.1.3)."""
        to_tag = checked.to.tag
        return (to_tag is not None and to_tag.startswith(_SHED_TAG)
                and to_tag == self.tag(ack.call_id, checked.from_.tag, _branch(checked)))


def _branch(checked: CheckedRequest) -> str | None:
    top = checked.top_via
    return top.branch if top is not None else None
