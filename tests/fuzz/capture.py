"""Write the real-peer captures of the fuzz corpus (tests/fuzz/corpus/sip/*.msg) anew.

    PYTHONPATH=. python -m tests.fuzz.capture

Runs `sipfault run` on loopback with a journal and drives it with SIPp (a call with BYE, a
CANCEL, digest REGISTERs) and PJSUA2 (a call, a registration); every message of the journal,
received and sent, becomes one file named after its peer and first line. The files are
committed: the fuzz tests read them without any peer installed.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from tests.peers.calls import pjsua_dial, pjsua_register_at, sipp_call
from tests.peers.sipfault_cli import SipfaultProcess, run_sipfault

CORPUS = Path(__file__).resolve().parent / "corpus" / "sip"

Session = tuple[str, str, Callable[[SipfaultProcess], object]]
SESSIONS: list[Session] = [
    ("sipp", "scenarios/answer.yaml",
     lambda s: sipp_call(s, "uac-answer-bye.xml", service="alice")),
    ("sipp", "scenarios/ring-forever.yaml",
     lambda s: sipp_call(s, "uac-cancel.xml", service="alice")),
    ("sipp", "scenarios/register-auth.yaml",
     lambda s: sipp_call(s, "uac-register-auth.xml", service="printer",
                         auth=("printer", "fax-secret"))),
    ("pjsua", "scenarios/answer.yaml",
     lambda s: pjsua_dial(s, "alice", hangup_after=0.2)),
    ("pjsua", "scenarios/register-auth.yaml",
     lambda s: pjsua_register_at(s, user="printer", password="fax-secret", expires=60,
                                 unregister=True)),
]  # fmt: skip


def _raw(record: dict[str, object]) -> bytes:
    raw = record["raw"]
    if isinstance(raw, dict):
        return base64.b64decode(str(raw["base64"]))
    return str(raw).encode("utf-8", "surrogateescape")


def _name(peer: str, direction: str, data: bytes) -> str:
    first = data.split(b"\r\n", 1)[0].decode("latin-1")
    words = first.split()
    what = f"{words[1]}" if first.startswith("SIP/2.0") and len(words) > 1 else words[0]
    what = re.sub(r"[^A-Za-z0-9]", "", what)[:12] or "x"
    digest = hashlib.sha256(data).hexdigest()[:8]
    return f"{peer}-{direction}-{what}-{digest}.msg"


def capture() -> list[Path]:
    CORPUS.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for peer, scenario, drive in SESSIONS:
        with run_sipfault(scenario, transports=["udp"]) as server:
            drive(server)
            server.stop()
            for record in server.journal.records:
                if record.get("type") != "message" or record.get("retransmission"):
                    continue
                data = _raw(record)
                direction = "in" if record.get("direction") == "in" else "out"
                path = CORPUS / _name(peer, direction, data)
                path.write_bytes(data)
                written.append(path)
    return written


if __name__ == "__main__":
    for path in capture():
        print(path.relative_to(CORPUS.parents[3]))
