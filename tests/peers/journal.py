"""Read the journal `sipfault run --journal FILE.jsonl` writes, while the run goes on.

sipfault flushes one JSON object per line as each event happens (sipfault/journal/recorder.py),
so a test learns that sipfault has seen a message, sent one or fired a timer by reading the file,
and waits for what it expects instead of sleeping.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]


class JournalFile:
    """The records of a journal file that is still being written; `read()` takes in new lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._records: list[Record] = []

    def read(self) -> Journal:
        """Everything written so far (a line not yet finished is left for the next call)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            data = b""
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            if line.strip():
                self._records.append(json.loads(line))
        return Journal(tuple(self._records))


@dataclass(frozen=True)
class Journal:
    """Records read from a journal, and the counts the run's summary will print from them."""

    records: tuple[Record, ...]

    def messages(self, direction: str) -> list[Record]:
        """First transmissions of messages, "in" (from the peer) or "out" (from sipfault)."""
        return [
            record
            for record in self.records
            if record.get("type") == "message"
            and record.get("direction") == direction
            and not record.get("retransmission")
        ]

    @property
    def requests(self) -> dict[str, int]:
        """Requests received by method, as the summary's `requests:` line counts them."""
        received = self.messages("in")
        return dict(Counter(str(r["method"]) for r in received if "status" not in r))

    @property
    def responses(self) -> dict[str, int]:
        """Responses sent by status code, as the summary's `responses:` line counts them: a
        response whose first transmission a fault withheld counts once a copy gets through."""
        sent = self.messages("out")
        counts = Counter(str(r["status"]) for r in sent if "status" in r)
        withheld = {
            (r.get("call_id"), str(r.get("status")))
            for r in self.records
            if r.get("type") == "fault_applied" and r.get("effect") == "dropped"
            and not r.get("retransmission")
        }
        for record in self.records:
            key = (record.get("call_id"), str(record.get("status")))
            if (record.get("type") == "message" and record.get("direction") == "out"
                    and record.get("retransmission") and key in withheld):
                withheld.discard(key)
                counts[key[1]] += 1
        return dict(counts)

    @property
    def findings(self) -> dict[str, int]:
        """Findings about the client by kind, as the summary's `findings:` line counts them."""
        return dict(Counter(str(r["kind"]) for r in self.records if r.get("type") == "finding"))

    @property
    def unacknowledged_rejections(self) -> int:
        """3xx-6xx responses to an INVITE whose transaction no ACK has ended yet.

        An ACK that matches the transaction moves it to Confirmed, which cancels Timer G (no
        more retransmissions) and starts Timer I; when Timer I fires the transaction is gone
        (RFC 3261 §17.2.1). The journal names the timer but not the transaction, so they are
        counted per Call-ID.
        """
        rejected = Counter(
            r.get("call_id")
            for r in self.messages("out")
            if r.get("method") == "INVITE" and int(r.get("status", 0)) >= 300
        )
        ended = Counter(
            r.get("call_id")
            for r in self.records
            if r.get("type") == "timer_fired" and r.get("timer") == "I"
        )
        return sum((rejected - ended).values())

    def reached(
        self, requests: Mapping[str, int] | None, responses: Mapping[str, int] | None
    ) -> bool:
        """At least `requests` received and `responses` sent, and every rejection of an INVITE
        acknowledged; the summary may still show more."""
        return (
            _at_least(self.requests, requests)
            and _at_least(self.responses, responses)
            and self.unacknowledged_rejections == 0
        )


def _at_least(counts: Mapping[str, int], wanted: Mapping[str, int] | None) -> bool:
    return all(counts.get(name, 0) >= number for name, number in (wanted or {}).items())
