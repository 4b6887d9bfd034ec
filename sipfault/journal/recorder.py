"""Turn the server's events into JSON-lines records and pcap packets, as they happen.

A :class:`Recorder` is a server listener (``server.add_listener(recorder.on_event)``). Both
writers flush after every record, so a run that is killed keeps what it saw.

Times: events carry ``loop.time()`` (a monotonic clock); records carry the wall clock
(``time.time()``, seconds since the Unix epoch), as pcap requires. The offset between the two is
measured once, at the first event, from the running loop.

JSON-lines records (one object per line; every record has ``time`` and ``type``):

- ``message``: ``direction`` ("in" from the client, "out" from sipfault), ``transport``,
  ``src`` and ``dst`` (``{"host", "port"}``), ``retransmission``, ``first_line``, ``method``
  (for a response, the CSeq method), ``status`` (responses only), ``call_id``, and ``raw``: the
  exact bytes as text, or ``{"base64": ...}`` when they are not UTF-8.
- ``rule``: a rule took a request: ``rule``, ``method``, ``call_id``.
- ``unmatched``: no rule took a request; the RFC default answered ``status``: ``method``,
  ``uri``, ``call_id``, ``transport``, ``src``, ``dst``.
- ``dropped``: bytes that could not be answered: ``reason``, ``transport``, ``src``, ``dst``,
  ``raw``.
- ``finding``: something the client did wrong: ``kind``, ``text``, ``call_id``, ``details``,
  and ``transport``, ``src``, ``dst`` when known.
- Any other event the core adds later is written with its class name in snake case as
  ``type`` and its fields as text.

The pcap holds every message (and every dropped datagram) with its real addresses and ports;
see :mod:`sipfault.journal.pcap` for reading it with tshark on a port other than 5060.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import Callable
from typing import TextIO

from sipfault.core.events import (
    Event,
    Finding,
    MessageDropped,
    MessageReceived,
    MessageSent,
    Peer,
    RequestUnmatched,
    RuleMatched,
)
from sipfault.journal.jsonl import JsonLinesWriter
from sipfault.journal.pcap import PcapWriter
from sipfault.sip.message import Request, Response

__all__ = ["Recorder", "WallClock", "event_record"]


class WallClock:
    """Turns ``loop.time()`` readings into wall-clock time, with one offset taken at start."""

    def __init__(self, offset: float | None = None) -> None:
        """``offset`` = ``time.time() - loop.time()``; None: measure it at the first call."""
        self.offset = offset

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> WallClock:
        """A clock for events stamped with ``loop.time()``."""
        return cls(time.time() - loop.time())

    def __call__(self, loop_time: float) -> float:
        if self.offset is None:
            try:
                now = asyncio.get_running_loop().time()
            except RuntimeError:  # not on a loop thread: asyncio's default clock
                now = time.monotonic()
            self.offset = time.time() - now
        return loop_time + self.offset


def _address(address: tuple[str, int]) -> dict[str, object]:
    return {"host": address[0], "port": address[1]}


def _flow(peer: Peer, incoming: bool) -> dict[str, object]:
    src, dst = (peer.remote, peer.local) if incoming else (peer.local, peer.remote)
    return {"transport": peer.transport, "src": _address(src), "dst": _address(dst)}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _plain(value: object) -> object:
    """A field value JSON can carry: numbers, text, bytes (the writer converts), or text."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return str(value)


def event_record(event: Event, wall: float) -> dict[str, object]:
    """The JSON-lines record of one event at wall-clock time ``wall``."""
    if isinstance(event, MessageReceived | MessageSent):
        message = event.message
        incoming = isinstance(event, MessageReceived)
        cseq = (message.headers.get("CSeq") or "").split()
        record: dict[str, object] = {
            "time": wall, "type": "message", "direction": "in" if incoming else "out",
            **_flow(event.peer, incoming), "retransmission": event.retransmission,
            "first_line": message.first_line(),
        }
        if isinstance(message, Request):
            record["method"] = message.method
        elif isinstance(message, Response):
            record["method"] = cseq[-1] if len(cseq) == 2 else None
            record["status"] = message.status
        record["call_id"] = message.headers.get("Call-ID")
        record["raw"] = event.data
        return record
    if isinstance(event, RuleMatched):
        return {"time": wall, "type": "rule", "rule": event.rule, "method": event.method,
                "call_id": event.call_id}
    if isinstance(event, RequestUnmatched):
        return {"time": wall, "type": "unmatched", "method": event.request.method,
                "uri": event.request.uri, "status": event.status,
                "call_id": event.request.headers.get("Call-ID"), **_flow(event.peer, True)}
    if isinstance(event, MessageDropped):
        return {"time": wall, "type": "dropped", "reason": event.reason,
                **_flow(event.peer, True), "raw": event.data}
    if isinstance(event, Finding):
        record = {"time": wall, "type": "finding", "kind": event.kind, "text": event.text,
                  "call_id": event.call_id, "details": dict(event.details)}
        if event.peer is not None:
            record.update(_flow(event.peer, True))
        return record
    fields = {
        field.name: _plain(getattr(event, field.name))
        for field in dataclasses.fields(event) if field.name != "time"
    }
    return {"time": wall, "type": _snake(type(event).__name__), **fields}


class Recorder:
    """Writes each event to a JSON-lines journal and/or a pcap file, flushing as it goes.

    A failing write (a full disk) stops that writer and is kept in :attr:`errors`; the server
    goes on answering.
    """

    def __init__(
        self,
        journal: JsonLinesWriter | None = None,
        pcap: PcapWriter | None = None,
        clock: Callable[[float], float] | None = None,
    ) -> None:
        """``clock`` turns event times into wall-clock times (default: a :class:`WallClock`)."""
        self.journal = journal
        self.pcap = pcap
        self.clock = clock or WallClock()
        self.errors: list[str] = []
        """What went wrong writing, one line each."""

    @classmethod
    def open(
        cls,
        journal: str | os.PathLike[str] | None = None,
        pcap: str | os.PathLike[str] | None = None,
    ) -> Recorder:
        """Create (or truncate) the files given; raise OSError if one cannot be created."""
        journal_writer = JsonLinesWriter.open(journal) if journal is not None else None
        try:
            pcap_writer = PcapWriter.open(pcap) if pcap is not None else None
        except BaseException:
            if journal_writer is not None:
                journal_writer.close()
            raise
        return cls(journal_writer, pcap_writer)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def on_event(self, event: Event) -> None:
        """Record one event (the server's listener)."""
        if self.journal is None and self.pcap is None:  # `sipfault run` without a record
            return
        wall = self.clock(event.time)
        if self.journal is not None:
            try:
                self.journal.write(event_record(event, wall))
            except (OSError, ValueError, TypeError) as exc:
                self.errors.append(f"journal: {exc}; no more records are written")
                self.journal = None
        if self.pcap is not None:
            try:
                self._packet(event, wall)
            except (OSError, ValueError) as exc:
                self.errors.append(f"pcap: {exc}; no more packets are written")
                self.pcap = None

    def _packet(self, event: Event, wall: float) -> None:
        assert self.pcap is not None
        if isinstance(event, MessageReceived | MessageDropped):
            peer, src, dst = event.peer, event.peer.remote, event.peer.local
        elif isinstance(event, MessageSent):
            peer, src, dst = event.peer, event.peer.local, event.peer.remote
        else:
            return
        if event.data:
            self.pcap.write(wall, peer.transport, src, dst, event.data)

    def close(self) -> None:
        """Flush and close both writers."""
        for writer in (self.journal, self.pcap):
            if writer is not None:
                writer.close()

    def report_errors(self, err: TextIO) -> None:
        """Print what went wrong writing, if anything."""
        for line in self.errors:
            print(f"sipfault: {line}", file=err)
