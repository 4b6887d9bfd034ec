"""What ``sipfault run`` prints: one line per message, and a summary at exit."""

from __future__ import annotations

import datetime
import time
from collections import Counter
from typing import TYPE_CHECKING, TextIO

from sipfault.core.events import (
    Event,
    Finding,
    MessageDropped,
    MessageReceived,
    MessageSent,
    Peer,
)
from sipfault.sip.message import Request, Response

if TYPE_CHECKING:
    from sipfault.endpoint import Endpoint


def format_peer(peer: Peer) -> str:
    """``udp 127.0.0.1:5070`` or ``tcp [::1]:5070``."""
    host, port = peer.remote
    host_text = f"[{host}]" if ":" in host else host
    return f"{peer.transport} {host_text}:{port}"


def short_call_id(call_id: str | None) -> str:
    """The first 8 characters of a Call-ID, enough to tell calls apart in a log."""
    return (call_id or "-")[:8]


class MessageCounts:
    """Requests by method and responses by code, in and out, first transmissions only."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: Counter[int] = Counter()
        self.retransmissions_in = 0
        self.retransmissions_out = 0
        self.dropped = 0
        self.findings: Counter[str] = Counter()

    def on_event(self, event: Event) -> None:
        """Count one event."""
        if isinstance(event, MessageReceived):
            if event.retransmission:
                self.retransmissions_in += 1
            elif isinstance(event.message, Request):
                self.requests[event.message.method] += 1
        elif isinstance(event, MessageSent):
            if event.retransmission:
                self.retransmissions_out += 1
            elif isinstance(event.message, Response):
                self.responses[event.message.status] += 1
        elif isinstance(event, MessageDropped):
            self.dropped += 1
        elif isinstance(event, Finding):
            self.findings[event.kind] += 1


class ConsoleReporter:
    """Prints the message ladder as it happens and the summary at the end."""

    def __init__(self, out: TextIO, *, verbose: bool = False, quiet: bool = False) -> None:
        self.out = out
        self.verbose = verbose
        self.quiet = quiet
        self.counts = MessageCounts()

    def on_event(self, event: Event) -> None:
        """Count the event and print its line."""
        self.counts.on_event(event)
        if self.quiet:
            return
        line = self.format(event)
        if line is not None:
            print(line, file=self.out, flush=True)

    def format(self, event: Event) -> str | None:
        """One line for an event (with the whole message under it when verbose)."""
        stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        if isinstance(event, (MessageReceived, MessageSent)):
            arrow = "<-" if isinstance(event, MessageReceived) else "->"
            call_id = short_call_id(event.message.headers.get("Call-ID"))
            again = " (retransmission)" if event.retransmission else ""
            line = (f"{stamp} {arrow} {format_peer(event.peer)} "
                    f"{event.message.first_line()} [{call_id}]{again}")
            if self.verbose:
                text = event.data.decode("utf-8", "replace").rstrip("\r\n")
                line += "\n" + "\n".join(f"    {row}" for row in text.split("\r\n"))
            return line
        if isinstance(event, MessageDropped):
            return f"{stamp} !! {format_peer(event.peer)} dropped: {event.reason}"
        if isinstance(event, Finding):
            return f"{stamp} ** {event.kind}: {event.text} [{short_call_id(event.call_id)}]"
        return None

    def flush(self) -> None:
        """Flush the output stream."""
        self.out.flush()

    def print_summary(self, server: Endpoint) -> None:
        """Requests by method, responses by code, retransmissions, drops and findings."""
        counts = self.counts
        requests = " ".join(f"{m}={n}" for m, n in sorted(counts.requests.items()))
        responses = " ".join(f"{c}={n}" for c, n in sorted(counts.responses.items()))
        lines = [
            f"summary: scenario {server.uas.scenario.name}, seed {server.uas.engine.seed}",
            f"requests: {requests or '-'}",
            f"responses: {responses or '-'}",
            f"retransmissions: in={counts.retransmissions_in} out={counts.retransmissions_out}",
            f"dropped: {counts.dropped}",
        ]
        if counts.findings:
            lines.append("findings: " + " ".join(
                f"{kind}={n}" for kind, n in sorted(counts.findings.items())))
        bindings = server.uas.registrar.bindings(time.monotonic())  # the loop's clock
        for aor, registered in sorted(bindings.items()):
            for binding in registered:
                lines.append(f"binding: {aor} -> {binding.uri} "
                             f"(expires in {binding.remaining(time.monotonic())} s)")
        print("\n".join(lines), file=self.out, flush=True)
