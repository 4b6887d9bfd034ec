"""Server transactions (RFC 3261 §17.2; RFC 6026 for the INVITE "Accepted" state).

Each transaction is a small state machine fed by the UAS: a retransmitted request, a response
from the scenario, an ACK, or a timer. The transitions are listed once, in :data:`TRANSITIONS`,
and checked on every move. Timers run on the UAS's :class:`~sipfault.core.timers.TimerQueue`, so
tests drive them with a manual clock.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from sipfault.core.conformance.branches import RequestIdentity, request_identity
from sipfault.core.events import Peer
from sipfault.core.timers import Timer, TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.message import Request, Response
from sipfault.sip.via import MAGIC_COOKIE, Via


class State(enum.Enum):
    """Server transaction states of RFC 3261 Figures 7 and 8 and RFC 6026 §7.1."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"

    # Members are singletons compared by identity: the C hash of object spares the Python
    # call of Enum.__hash__ on every state change (TRANSITIONS is keyed by state).
    __hash__ = object.__hash__


TRANSITIONS: dict[tuple[bool, State], frozenset[State]] = {
    # (is INVITE, from) -> allowed next states. Trying or Proceeding -> Terminated is a
    # request the scenario never answers, abandoned after 64*T1 (:meth:`abandon`).
    (True, State.PROCEEDING): frozenset(
        {State.PROCEEDING, State.COMPLETED, State.ACCEPTED, State.TERMINATED}
    ),
    (True, State.COMPLETED): frozenset({State.CONFIRMED, State.TERMINATED}),
    (True, State.CONFIRMED): frozenset({State.TERMINATED}),
    (True, State.ACCEPTED): frozenset({State.TERMINATED}),
    (False, State.TRYING): frozenset({State.PROCEEDING, State.COMPLETED, State.TERMINATED}),
    (False, State.PROCEEDING): frozenset({State.PROCEEDING, State.COMPLETED, State.TERMINATED}),
    (False, State.COMPLETED): frozenset({State.TERMINATED}),
}

_NOWHERE: frozenset[State] = frozenset()

TransactionKey = tuple[str, ...]

SendFunction = Callable[[Response, Peer, "ServerTransaction", bool, float], None]
"""How a transaction hands a response to the UAS: response, peer, itself, re-sent?, now."""


def transaction_key(
    request: Request, method: str | None = None, top: Via | None = None
) -> TransactionKey:
    """The §17.2.3 matching key of a request; ``method`` overrides (ACK and CANCEL look up INVITE).

    With an RFC 3261 branch (magic cookie plus something) the key is branch, sent-by and
    method. Otherwise (RFC 2543 peers, RFC 4475 §3.2.1's bare cookie) it falls back to
    Request-URI, From tag, Call-ID, CSeq number and the top Via, as §17.2.3 describes.
    ``top`` is the top Via when the caller has read it already.
    """
    if top is None:
        top = request.top_via
    branch = top.branch or ""
    lookup_method = method or request.method
    if lookup_method == "ACK":
        lookup_method = "INVITE"
    if branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE):
        sent_by = f"{top.host.lower()}:{top.port or ''}"
        return ("3261", branch, sent_by, lookup_method)
    from_tag = request.from_.tag or ""
    number = str(request.cseq[0])
    return ("2543", request.uri, from_tag, request.call_id, number, str(top), lookup_method)


class Absorbing(NamedTuple):
    """The compact record of a transaction that has sent its final response and now only
    absorbs retransmissions until its timer ends it: Completed with Timer J (RFC 3261
    §17.2.2), Confirmed with Timer I (§17.2.1), Accepted with Timer L (RFC 6026 §7.1).

    A tuple of strings, bytes and numbers, which the garbage collector stops tracking; a few
    hundred bytes where the full transaction and its exchange hold about 4 KB.
    """

    state: str
    """The :class:`State` value it absorbs in."""
    method: str
    response: bytes
    """Completed: the final response, sent again for each retransmission; otherwise empty
    (Confirmed absorbs ACKs, and in Accepted the 2xx is the dialog's to re-send)."""
    reply_to: tuple[str, tuple[str, int], tuple[str, int], int | None]
    """Where the response goes: the :class:`Peer`'s fields."""
    deadline: float
    timer: str
    """"J", "I" or "L": the timer that ends it at ``deadline``."""
    to_tag: str
    """Our To tag: a CANCEL that comes late still gets 200 with it (§9.2)."""
    identity: RequestIdentity
    """What a retransmission repeats, to tell one from a reused branch (§8.1.1.7)."""
    final_at: float
    """When the final response went."""
    reported: bool = False
    """Whether a retransmission after the final response was reported already."""

    @property
    def peer(self) -> Peer:
        """The response's destination, as a :class:`Peer` again."""
        return Peer(*self.reply_to)


class AbsorbingTable:
    """The compact records by transaction key, each ended by its deadline.

    A busy server holds 64*T1 worth of these (Timers J and L), so each is packed into one
    ``bytes`` keyed by one ``str``: neither is tracked by the garbage collector, and together
    with the dict slot they take about 350 bytes plus the response kept. Records of one
    lifetime end in the order they were made, so a queue of keys per lifetime replaces a heap
    of timers; were the lifetime changed meanwhile (a new scenario's T1), a record would end
    at most that difference late.
    """

    __slots__ = ("_next", "_queues", "_records")

    def __init__(self) -> None:
        self._records: dict[str, bytes] = {}
        self._queues: dict[float, deque[str]] = {}
        # The earliest deadline, kept: the endpoint asks after every message. NaN: to be
        # read again from the queues' fronts (after records ended).
        self._next: float | None = None

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: TransactionKey) -> Absorbing | None:
        """The record of ``key``, or None."""
        packed = self._records.get(_SEPARATOR.join(key))
        return _unpack(packed) if packed is not None else None

    def add(self, key: TransactionKey, record: Absorbing, now: float) -> bool:
        """Keep ``record`` until its deadline; False when a field holds a NUL (which the
        packing cannot carry), so the full transaction stays."""
        joined = _SEPARATOR.join(key)
        packed = _pack(record)
        if packed is None or joined.count(_SEPARATOR) != len(key) - 1:
            return False
        self._records[joined] = packed
        lifetime = round(record.deadline - now, 3)  # one queue per lifetime, not per rounding
        queue = self._queues.get(lifetime)
        if queue is None:
            queue = self._queues[lifetime] = deque()
        queue.append(joined)
        if self._next is None or record.deadline < self._next:  # NaN (unknown) stays so
            self._next = record.deadline
        return True

    def update(self, key: TransactionKey, record: Absorbing) -> None:
        """Replace the record of ``key`` by one with the same deadline."""
        packed = _pack(record)
        if packed is not None:  # it packed when added, with the same fields
            self._records[_SEPARATOR.join(key)] = packed

    def next_deadline(self) -> float | None:
        """When the earliest record ends, or None."""
        if self._next is not None and self._next != self._next:  # NaN: read the fronts
            fronts = [_deadline(self._records[queue[0]]) for queue in self._queues.values()
                      if queue]
            self._next = min(fronts) if fronts else None
        return self._next

    def expire_timers(self, now: float) -> list[tuple[str, str]]:
        """Drop the records whose timer has run out at ``now``; the timer ("J", "I", "L") and
        the Call-ID of each, read without unpacking the rest: a busy server ends two records a
        call (0.4 µs each, not 2.8 µs for a whole record; timeit)."""
        return [_timer_and_call_id(packed) for packed in self._drop_due(now)]

    def _drop_due(self, now: float) -> list[bytes]:
        due = self.next_deadline()
        if due is None or due > now:
            return []
        ended: list[bytes] = []
        records = self._records
        for queue in self._queues.values():
            while queue and _deadline(records[queue[0]]) <= now:
                ended.append(records.pop(queue.popleft()))
        self._next = math.nan
        return ended

    def shrink(self) -> None:
        """Once empty, let go of the table's slots (a dict keeps the size of its busiest
        moment until cleared)."""
        if not self._records:
            self._records.clear()
            self._queues.clear()
            self._next = None

    def footprint(self) -> list[tuple[str, bytes]]:
        """Each key with its record as stored (to measure what a record costs)."""
        return list(self._records.items())


_SEPARATOR = "\x00"  # a well-formed field holds no NUL; one that does is not packed
_SEPARATORS = 16  # between the 17 fields before the response


def _pack(record: Absorbing) -> bytes | None:
    """deadline, then the other fields, NUL-separated; the response bytes last, as they are.
    None when a field holds a NUL itself."""
    transport, remote, local, connection = record.reply_to
    call_id, from_tag, number, uri = record.identity
    head = _SEPARATOR.join((
        repr(record.deadline), record.state, record.method, transport, remote[0],
        str(remote[1]), local[0], str(local[1]), "" if connection is None else str(connection),
        record.timer, record.to_tag, call_id, from_tag, str(number), uri,
        repr(record.final_at), "1" if record.reported else "",
    ))
    if head.count(_SEPARATOR) != _SEPARATORS:
        return None
    return head.encode("utf-8", "surrogateescape") + b"\x00" + record.response


def _deadline(packed: bytes) -> float:
    return float(packed[:packed.index(b"\x00")])


def _timer_and_call_id(packed: bytes) -> tuple[str, str]:
    fields = packed.split(b"\x00", 12)  # the timer is the 10th field, the Call-ID the 12th
    return (fields[9].decode("utf-8", "surrogateescape"),
            fields[11].decode("utf-8", "surrogateescape"))


def _unpack(packed: bytes) -> Absorbing:
    fields = packed.split(b"\x00", 17)
    (deadline, state, method, transport, remote_host, remote_port, local_host, local_port,
     connection, timer, to_tag, call_id, from_tag, number, uri, final_at, reported) = (
        field.decode("utf-8", "surrogateescape") for field in fields[:17])
    return Absorbing(
        state, method, fields[17],
        (transport, (remote_host, int(remote_port)), (local_host, int(local_port)),
         int(connection) if connection else None),
        float(deadline), timer, to_tag, (call_id, from_tag, int(number), uri),
        float(final_at), reported == "1",
    )


class ServerTransaction:
    """One INVITE or non-INVITE server transaction."""

    # Slots: a server keeps every transaction for 64*T1 after its final response.
    __slots__ = (
        "_config", "_interval", "_on_no_ack", "_on_terminated", "_queue", "_retransmit",
        "_send", "_timeout", "is_invite", "key", "last_response", "peer", "request", "state",
    )

    def __init__(
        self,
        key: TransactionKey,
        request: Request,
        peer: Peer,
        timers: Timers,
        queue: TimerQueue,
        send: SendFunction,
        on_terminated: Callable[[ServerTransaction, float], None],
        on_no_ack: Callable[[ServerTransaction, float], None],
    ) -> None:
        self.key = key
        self.request = request
        self.peer = peer
        self.is_invite = request.method == "INVITE"
        self.state = State.PROCEEDING if self.is_invite else State.TRYING
        self.last_response: Response | None = None
        self._config = timers
        self._queue = queue
        self._send = send
        self._on_terminated = on_terminated
        self._on_no_ack = on_no_ack
        self._retransmit: Timer | None = None  # Timer G (INVITE final over UDP)
        self._timeout: Timer | None = None  # Timer H, I, J or L
        self._interval = timers.t1

    @property
    def final_sent(self) -> bool:
        """Whether a final response went out."""
        return self.last_response is not None and self.last_response.status >= 200

    def _move(self, new: State, now: float) -> None:
        allowed = TRANSITIONS.get((self.is_invite, self.state), _NOWHERE)
        if new not in allowed:
            raise RuntimeError(f"transaction cannot go {self.state.value} -> {new.value}")
        self.state = new
        if new is State.TERMINATED:
            self._cancel_timers()
            self._on_terminated(self, now)

    def stop_timers(self) -> None:
        """Cancel its timers (a compact record took over, :meth:`compact`)."""
        self._cancel_timers()

    def _cancel_timers(self) -> None:
        for timer in (self._retransmit, self._timeout):
            if timer is not None:
                timer.cancel()

    def respond(self, response: Response, now: float) -> bool:
        """Send a response from the scenario; False when the state no longer allows one."""
        if self.state not in (State.TRYING, State.PROCEEDING):
            return False
        self.last_response = response
        self._send(response, self.peer, self, False, now)
        if response.status < 200:
            self._move(State.PROCEEDING, now)
        elif self.is_invite and response.status < 300:
            # RFC 6026 §7.1: stay to absorb retransmitted INVITEs for Timer L = 64*T1.
            self._move(State.ACCEPTED, now)
            self._arm_timeout(64 * self._config.t1, now, "L")
        else:
            self._move(State.COMPLETED, now)
            self._enter_completed(now)
        return True

    def compact(
        self, to_tag: str, final_at: float, sent: bytes, reply_to: Peer
    ) -> Absorbing | None:
        """The compact record that could take over once only absorbing is left, or None.

        ``sent`` is the final response as it went on the wire to ``reply_to``. The record's
        deadline is its Timer J, I or L: once it is kept, :meth:`stop_timers`.
        """
        state = self.state
        if state is State.COMPLETED and not self.is_invite:
            response = sent
        elif state is State.ACCEPTED or state is State.CONFIRMED:
            response = b""
        else:
            return None
        timeout = self._timeout
        if timeout is None or timeout.cancelled or timeout.label is None:
            return None
        return Absorbing(state.value, self.request.method, response,
                         (reply_to.transport, reply_to.remote, reply_to.local,
                          reply_to.connection),
                         timeout.deadline, timeout.label, to_tag,
                         request_identity(self.request), final_at)

    def _enter_completed(self, now: float) -> None:
        t1 = self._config.t1
        if self.is_invite:
            if not self.peer.reliable:
                self._interval = t1
                self._retransmit = self._queue.schedule(now + t1, self._timer_g, "G",
                                                        self.request)
            self._timeout = self._queue.schedule(now + 64 * t1, self._timer_h, "H", self.request)
        else:
            self._arm_timeout(0.0 if self.peer.reliable else 64 * t1, now, "J")

    def _arm_timeout(self, delay: float, now: float, label: str) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
        self._timeout = self._queue.schedule(now + delay, self._terminate, label, self.request)

    def _terminate(self, now: float) -> None:
        if self.state is not State.TERMINATED:
            self._move(State.TERMINATED, now)

    def abandon(self, now: float) -> None:
        """A request the scenario never answers (a dropped one): nothing left to absorb.

        Once the client would have given up (64*T1), the transaction ends unanswered.
        """
        if self.state in (State.TRYING, State.PROCEEDING):
            self._move(State.TERMINATED, now)

    def _timer_g(self, now: float) -> None:
        """Timer G: re-send the final response, interval doubling up to T2 (§17.2.1)."""
        if self.state is not State.COMPLETED or self.last_response is None:
            return
        self._send(self.last_response, self.peer, self, True, now)
        self._interval = min(2 * self._interval, self._config.t2)
        self._retransmit = self._queue.schedule(now + self._interval, self._timer_g, "G",
                                                self.request)

    def _timer_h(self, now: float) -> None:
        """Timer H: no ACK came for the final response (§17.2.1)."""
        if self.state is State.COMPLETED:
            self._on_no_ack(self, now)
            self._move(State.TERMINATED, now)

    def on_retransmission(self, now: float) -> bool:
        """A retransmitted request: re-send the latest response (§17.2.1, §17.2.2).

        Returns whether something was re-sent. In Accepted the 2xx is re-sent by the UAS core
        (§13.3.1.4), not here (RFC 6026 §7.1).
        """
        if self.last_response is None or self.state in (State.CONFIRMED, State.ACCEPTED):
            return False
        self._send(self.last_response, self.peer, self, True, now)
        return True

    def on_ack(self, now: float) -> bool:
        """An ACK for a 3xx-6xx: Completed -> Confirmed, Timer I (§17.2.1)."""
        if self.state is not State.COMPLETED:
            return False
        self._cancel_timers()
        self._move(State.CONFIRMED, now)
        delay = 0.0 if self.peer.reliable else self._config.t4
        self._timeout = self._queue.schedule(now + delay, self._terminate, "I", self.request)
        return True
