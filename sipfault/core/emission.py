"""Sending under faults: a message's transmissions as its faults and the endpoint's shape them.

The UAS hands every message that has faults to deal with (its own, its exchange's rule's, or an
endpoint fault in force) to :meth:`FaultedSender.send`; what has none takes the UAS's fast path.
Here the transmission goes through its :class:`~sipfault.core.faults.FaultedResponse`, is held
back (``reorder``, ``late-100``) or delayed on the core's timers (``delay``, ``slow``), and each
fault that acted is reported as a :class:`~sipfault.core.events.FaultApplied` event.
"""

from __future__ import annotations

from collections.abc import Callable

from sipfault.core.endpoint_faults import EndpointFaults
from sipfault.core.events import Event, FaultApplied, MessageSent, Outgoing, Peer
from sipfault.core.faults import Emission, ExchangeFaults, FaultedResponse
from sipfault.core.timers import TimerQueue
from sipfault.sip.message import Message, Request, Response

__all__ = ["FaultedSender"]

_HELD = {"next": "held until the next response", "final": "held until the final response"}


class FaultedSender:
    """Puts messages on the wire (``put``) as their faults say, reporting each fault."""

    __slots__ = ("_endpoint", "_put", "_report", "_timers")

    def __init__(
        self, timers: TimerQueue, endpoint: EndpointFaults, put: Callable[[Outgoing], None],
        report: Callable[[Event], None],
    ) -> None:
        self._timers = timers
        self._endpoint = endpoint
        self._put = put
        self._report = report

    def send(
        self, message: Message, data: bytes, peer: Peer, now: float, again: bool,
        request: Request | None, faults: ExchangeFaults | None,
    ) -> None:
        """One transmission of ``message`` (``data`` serialized), ``again`` for a re-send."""
        status = message.status if isinstance(message, Response) else 0
        call_id = message.headers.get("Call-ID")
        outage = self._endpoint.acting("outage")
        if outage is not None:
            response = message if isinstance(message, Response) else None
            self._report(FaultApplied(now, outage.name, call_id, 0, 0, status, "not sent",
                                      "dropped", response, peer, request, again))
            return
        faulted = faults.find(message) if faults is not None else None
        attempt = 0
        emissions = [Emission(data)]
        intact = True
        tag: str | None = None
        if faulted is not None and faults is not None:
            attempt, emissions, acted = faulted.transmit(data, peer.reliable, faults.dice)
            response = message if isinstance(message, Response) else None
            for fault, note in acted:
                effect = _effect(data, emissions, fault.kind.corrupts)
                self._report(FaultApplied(now, fault.name, call_id, attempt, len(emissions),
                                          status, note, effect, response, peer, request, again))
                intact = intact and not fault.kind.corrupts
                if tag is None and effect in ("altered", "duplicated"):
                    tag = fault.name
        if isinstance(message, Response):
            slow = self._endpoint.slow_delay()
            if slow is not None:
                fault, wait = slow
                emissions = [Emission(item.data, item.delay + wait, item.close_after, item.reset,
                                      item.pause_reading) for item in emissions]
                self._report(FaultApplied(now, fault.name, call_id, attempt, len(emissions),
                                          status, f"delayed {wait:.3f} s"))
        if faulted is not None and faults is not None and faulted.hold and attempt == 0:
            faults.held.append((faulted, emissions))
            self._report(FaultApplied(now, _hold_name(faulted), call_id, 0, 0, status,
                                      _HELD[faulted.hold]))
            return
        self._emit_all(emissions, message, peer, now, again, request, faults,
                       intact and bool(emissions), (tag, data) if tag else None)
        if faults is not None and faults.held and isinstance(message, Response) and not again:
            self._release(faults, message, peer, now, request)

    def _release(
        self, faults: ExchangeFaults, sent: Response, peer: Peer, now: float,
        request: Request | None,
    ) -> None:
        """Send the responses held back until this one went."""
        still: list[tuple[FaultedResponse, list[Emission]]] = []
        for faulted, emissions in faults.held:
            if faulted.response is sent or (faulted.hold == "final" and sent.status < 200):
                still.append((faulted, emissions))
                continue
            self._emit_all(emissions, faulted.response, peer, now, False, request, faults,
                           bool(emissions))
        faults.held = still

    def _emit_all(
        self, emissions: list[Emission], message: Message, peer: Peer, now: float,
        again: bool, request: Request | None, faults: ExchangeFaults | None, intact: bool,
        tag: tuple[str, bytes] | None = None,
    ) -> None:
        for index, item in enumerate(emissions):
            copy = again or index > 0  # a duplicate is journaled as a copy of the first
            marked = _copy_mark(tag, item.data, index)
            if item.delay > 0:
                self._timers.schedule(
                    now + item.delay,
                    _Later(self, item, message, peer, copy, request, faults, intact,
                           marked).fire,
                )
            else:
                self.emit(item, message, peer, now, copy, request, faults, intact, marked)

    def emit(
        self, item: Emission, message: Message, peer: Peer, now: float, again: bool,
        request: Request | None, faults: ExchangeFaults | None, intact: bool,
        marked: tuple[str, str] | None = None,
    ) -> None:
        """Put one emission on the wire now, and report it as sent.

        A copy sent by a retransmission is journaled as one, even when the first transmission
        was lost to a fault: the journal tells the transaction's story, the faults what the
        wire saw.
        """
        self._put(Outgoing(item.data, peer, close_after=item.close_after, reset=item.reset,
                           pause_reading=item.pause_reading))
        if item.data:
            fault, effect = marked if marked is not None else (None, None)
            self._report(MessageSent(now, peer, message, item.data, again, request, fault,
                                     effect))
        if intact and faults is not None and isinstance(message, Response):
            faults.delivered(message, now)


class _Later:
    """An emission held back by a delay, sent when its timer fires."""

    __slots__ = ("again", "faults", "intact", "item", "marked", "message", "peer", "request",
                 "sender")

    def __init__(
        self, sender: FaultedSender, item: Emission, message: Message, peer: Peer, again: bool,
        request: Request | None, faults: ExchangeFaults | None, intact: bool,
        marked: tuple[str, str] | None,
    ) -> None:
        self.sender = sender
        self.item = item
        self.message = message
        self.peer = peer
        self.again = again
        self.request = request
        self.faults = faults
        self.intact = intact
        self.marked = marked

    def fire(self, now: float) -> None:
        self.sender.emit(self.item, self.message, self.peer, now, self.again, self.request,
                         self.faults, self.intact, self.marked)


def _effect(data: bytes, emissions: list[Emission], corrupts: bool) -> str:
    """What the faults made of one transmission of ``data``: "dropped" (nothing went out),
    "altered" (other bytes), "duplicated" (more than one copy), "delayed", or "passed"."""
    if not emissions:
        return "dropped"
    if corrupts or any(item.data != data for item in emissions):
        return "altered"
    if len(emissions) > 1:
        return "duplicated"
    return "delayed" if any(item.delay > 0 for item in emissions) else "passed"


def _copy_mark(tag: tuple[str, bytes] | None, sent: bytes, index: int) -> tuple[str, str] | None:
    """(fault, "altered" or "duplicated") for a copy a fault changed or added, else None."""
    if tag is None:
        return None
    fault, original = tag
    if sent != original:
        return fault, "altered"
    return (fault, "duplicated") if index > 0 else None


def _hold_name(faulted: FaultedResponse) -> str:
    return "reorder" if faulted.hold == "next" else "late-100"
