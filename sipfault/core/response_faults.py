"""The faults of a response as the UAS builds it: which apply, and the ones that change what
the UAS does rather than the bytes.

The UAS asks :class:`ResponseFaulting` for every response it builds. Byte and transmission
faults are registered with the exchange (``faults.py``) to act on each transmission; here are
the ones the UAS carries out itself: ``to-tag-changed`` (the response comes from another fork),
``fork`` (the response again from more forks, a forked 2xx making a dialog of its own), ``raw``
(its bytes, placeholders filled) and the holds of ``reorder`` and ``late-100``.
"""

from __future__ import annotations

from collections.abc import Callable

from sipfault.core.conformance.conduct import ClientConduct
from sipfault.core.dialogs import DialogKey, Dialogs, DialogState
from sipfault.core.events import Event, FaultApplied, Peer
from sipfault.core.exchange import Exchange
from sipfault.core.faults import HOLDS, CallOrdinals, ExchangeFaults
from sipfault.core.forking import forked_response
from sipfault.model.faults import Fault
from sipfault.model.scenario import Timers, fill_placeholders
from sipfault.sip.message import Message, Request, Response

__all__ = ["ResponseFaulting", "raw_bytes"]

Emit = Callable[[Message, Peer, float, bool, "Request | None", "ExchangeFaults | None"], object]
"""How the UAS sends a message: message, peer, now, again, request answered, faults."""


class ResponseFaulting:
    """Faults of the responses the UAS builds, seeded per exchange from the run's seed."""

    __slots__ = ("_calls", "_conduct", "_dialogs", "_emit", "_new_tag", "_report", "_seed",
                 "_settings")

    def __init__(
        self, seed: int, report: Callable[[Event], None], emit: Emit,
        new_tag: Callable[[], str], dialogs: Dialogs, settings: Callable[[], Timers],
        conduct: ClientConduct,
    ) -> None:
        self._seed = seed
        self._report = report
        self._emit = emit
        self._new_tag = new_tag
        self._dialogs = dialogs
        self._settings = settings
        self._conduct = conduct
        self._calls = CallOrdinals()

    def exchange_faults(self, exchange: Exchange) -> ExchangeFaults:
        """The exchange's faults, made on first need, seeded from the run's seed, the call's
        place among the calls seen and the request's CSeq."""
        if exchange.faults is None:
            request = exchange.request
            call_id = request.headers.get("Call-ID") or ""
            cseq = (request.headers.get("CSeq") or "").split()
            number = cseq[0] if cseq else ""
            faults = exchange.faults = ExchangeFaults(
                f"{self._seed}/faults/{self._calls.place(call_id)}/{number}/{request.method}")
            sent = exchange.transaction.last_response
            if sent is not None:  # went out before there were faults to send it under
                faults.delivered(sent, exchange.arrived)
        return exchange.faults

    def for_response(
        self, exchange: Exchange, status: int, fault: Fault | None
    ) -> tuple[Fault, ...]:
        """The faults a response goes out under: its rule's that apply to it, and its step's."""
        rule_faults = exchange.faults.rule_faults if exchange.faults is not None else ()
        faults = tuple(each for each in rule_faults
                       if each.name != "swallow" and (each.name != "late-100" or status == 100))
        if fault is not None:
            faults += (fault,)
        if faults:
            self.exchange_faults(exchange)
        return faults

    def before_building(
        self, exchange: Exchange, status: int, faults: tuple[Fault, ...], now: float
    ) -> None:
        """``to-tag-changed``: this response comes from another fork, with a To tag of its own.

        The dialog the earlier provisionals made is left (the client's ends as RFC 3261
        §13.2.2.4 says); the new tag makes its own.
        """
        change = next((each for each in faults if each.name == "to-tag-changed"), None)
        if change is None or not self.exchange_faults(exchange).chance(change):
            return
        old, exchange.to_tag = exchange.to_tag, self._new_tag()
        dialog = exchange.dialog
        if dialog is not None and dialog.state is DialogState.EARLY:
            dialog.invite = None  # ending it must not cancel this exchange's steps
            self._dialogs.end(dialog)
            exchange.dialog = None
        self._report(FaultApplied(now, change.name, exchange.request.call_id, 0, 1, status,
                                  f"To tag {exchange.to_tag} instead of {old}"))

    def register(self, exchange: Exchange, response: Response,
                 faults: tuple[Fault, ...]) -> None:
        """``response`` goes out under ``faults``: its raw bytes, whether it is held back."""
        exchange_faults = self.exchange_faults(exchange)
        raw: bytes | None = None
        hold: str | None = None
        for fault in faults:
            if fault.name == "raw" and fault.raw is not None:
                raw = raw_bytes(fault.raw, exchange, response)
            elif fault.name in HOLDS and hold is None and exchange_faults.chance(fault):
                hold = HOLDS[fault.name]
        exchange_faults.add(response, faults, raw, hold)

    def after_sending(self, exchange: Exchange, response: Response,
                      faults: tuple[Fault, ...], now: float) -> None:
        """``fork``: the response again from ``count`` more forks, each with its own To tag; a
        forked 2xx makes a dialog, re-sent until its ACK (RFC 3261 §13.2.2.4, §13.3.1.4)."""
        fork = next((each for each in faults if each.name == "fork"), None)
        request = exchange.request
        if (fork is None or request.method != "INVITE" or not 100 < response.status < 300
                or not self.exchange_faults(exchange).chance(fork)):
            return
        peer = exchange.transaction.peer
        keys: list[DialogKey] = [exchange.dialog.key] if exchange.dialog is not None else []
        for _ in range(fork.count or 1):
            tag = self._new_tag()
            copy = forked_response(response, tag)
            self._report(FaultApplied(now, fork.name, request.call_id, 0, 1, response.status,
                                      f"another fork, To tag {tag}"))
            self._emit(copy, peer, now, False, request, exchange.faults)
            if response.status < 200:
                continue
            dialog = self._dialogs.create(request, tag, peer, exchange.session_id,
                                          exchange.session_version)
            self._dialogs.answered(dialog, exchange, copy, self._settings(), now)
            self._conduct.forked(dialog)
            keys.append(dialog.key)
        if response.status >= 200 and len(keys) > 1:
            self._conduct.watch_forks(keys, request, peer, now)


def raw_bytes(text: str, exchange: Exchange, response: Response) -> bytes:
    """A ``raw`` fault's bytes: placeholders filled, line ends CRLF; characters up to U+00FF
    are one byte each (so ``\\xff`` in YAML is the byte 0xff), others UTF-8."""
    request = exchange.request
    headers = request.headers
    values = exchange.placeholders()
    values.update({
        "via": "\r\n".join(f"Via: {value}" for value in response.headers.lines("Via")),
        "from": headers.get("From", "") or "",
        "to": headers.get("To", "") or "",
        "cseq": headers.get("CSeq", "") or "",
        "branch": request.top_via.branch or "",
        "to_tag": exchange.to_tag,
    })
    filled = fill_placeholders(text, values)
    filled = filled.replace("\r\n", "\n").replace("\n", "\r\n")
    try:
        return filled.encode("latin-1")
    except UnicodeEncodeError:
        return filled.encode("utf-8", "surrogateescape")
