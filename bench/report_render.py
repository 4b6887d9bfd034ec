"""Report benchmark: render the HTML report of a large run, and say how long and how big.

Writes a synthetic journal of N calls (10,000 by default) shaped like a real run's: INVITEs
answered 200 then BYE, refused 486 or 503, some retransmitted, some 200s dropped by a fault
with Timer G and 2xx retransmissions, findings, REGISTERs. Then reads and renders it as
``sipfault report`` does, and prints the time and the page's size. The issue's bound: under
5 s and 20 MB for 10,000 calls.

    python bench/report_render.py                    # 10,000 calls
    python bench/report_render.py --calls 50000 --ladders 500 --keep /tmp/big.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sipfault.report import DEFAULT_LADDERS, read_journal, write_report

SERVER = {"host": "127.0.0.1", "port": 5060}


def _flow(client: dict[str, object], direction: str) -> dict[str, object]:
    src, dst = (client, SERVER) if direction == "in" else (SERVER, client)
    return {"transport": "udp", "src": src, "dst": dst}


def _request(method: str, call: int, user: str, cseq: int, port: int) -> str:
    return (f"{method} sip:{user}@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{call}-{cseq};rport\r\n"
            f"From: bench <sip:bench@127.0.0.1:{port}>;tag={call}SIPpTag00\r\n"
            f"To: <sip:{user}@127.0.0.1:5060>\r\nCall-ID: {call}-bench@127.0.0.1\r\n"
            f"CSeq: {cseq} {method}\r\nContact: <sip:bench@127.0.0.1:{port}>\r\n"
            "Max-Forwards: 70\r\nUser-Agent: bench\r\nContent-Length: 0\r\n\r\n")


def _response(status: int, reason: str, method: str, call: int, user: str, cseq: int,
              port: int) -> str:
    return (f"SIP/2.0 {status} {reason}\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{call}-{cseq};rport={port};"
            "received=127.0.0.1\r\n"
            f"From: bench <sip:bench@127.0.0.1:{port}>;tag={call}SIPpTag00\r\n"
            f"To: <sip:{user}@127.0.0.1:5060>;tag=sf{call:08x}\r\n"
            f"Call-ID: {call}-bench@127.0.0.1\r\nCSeq: {cseq} {method}\r\n"
            "Server: sipfault/0.1.0\r\nContent-Length: 0\r\n\r\n")


def synthetic_journal(path: str, calls: int, seed: int = 7) -> int:
    """Write ``calls`` calls' records to ``path``; return the number of lines."""
    rng = random.Random(seed)
    lines = 0
    t = 1_800_000_000.0
    with open(path, "w", encoding="utf-8") as out:
        def put(record: dict[str, object]) -> None:
            nonlocal lines
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
            lines += 1

        put({"time": t, "type": "run", "scenario": "bench", "scenario_file": "bench.yaml",
             "description": "synthetic", "seed": seed, "version": "0.1.0",
             "listen": ["udp,tcp 127.0.0.1:5060"], "t1": 0.5})
        for call in range(calls):
            t += 0.01
            port = 20000 + call % 1000
            client = {"host": "127.0.0.1", "port": port}
            call_id = f"{call}-bench@127.0.0.1"
            register = call % 10 == 9
            method = "REGISTER" if register else "INVITE"
            user = f"user{call % 97}"

            def message(direction: str, text: str, status: int | None = None,
                        again: bool = False, method: str = method,
                        client: dict[str, object] = client, call_id: str = call_id) -> None:
                record: dict[str, object] = {  # the time as it is when the message is written
                    "time": t, "type": "message", "direction": direction,  # noqa: B023
                    **_flow(client, direction), "retransmission": again,
                    "first_line": text.split("\r\n", 1)[0], "method": method}
                if status is not None:
                    record["status"] = status
                record["call_id"] = call_id
                record["raw"] = text
                put(record)

            message("in", _request(method, call, user, 1, port))
            if register:
                put({"time": t, "type": "unmatched", "method": method,
                     "uri": f"sip:{user}@127.0.0.1", "status": 200, "call_id": call_id,
                     **_flow(client, "in")})
                message("out", _response(200, "OK", method, call, user, 1, port), 200)
                continue
            put({"time": t, "type": "rule", "rule": "bench", "method": method,
                 "call_id": call_id, **_flow(client, "in")})
            message("out", _response(100, "Trying", method, call, user, 1, port), 100)
            t += 0.2
            message("out", _response(180, "Ringing", method, call, user, 1, port), 180)
            roll = rng.random()
            t += 0.5
            if roll < 0.5:
                message("out", _response(200, "OK", method, call, user, 1, port), 200)
                message("in", _request("ACK", call, user, 1, port), method="ACK")
                t += 1.0
                message("in", _request("BYE", call, user, 2, port), method="BYE")
                message("out", _response(200, "OK", "BYE", call, user, 2, port), 200,
                        method="BYE")
            elif roll < 0.85:
                final = _response(486, "Busy Here", method, call, user, 1, port)
                message("out", final, 486)
                if roll > 0.8:  # a late ACK: Timer G resends the 486 once
                    t += 0.5
                    put({"time": t, "type": "timer_fired", "timer": "G", "call_id": call_id})
                    message("out", final, 486, again=True)
                message("in", _request("ACK", call, user, 1, port), method="ACK")
            elif roll < 0.95:
                message("out", _response(503, "Service Unavailable", method, call, user, 1,
                                         port), 503)
                message("in", _request("ACK", call, user, 1, port), method="ACK")
            else:  # the 200 dropped: retransmitted on the 2xx timer, never ACKed
                for attempt in range(3):
                    if attempt:
                        t += 0.5 * 2 ** (attempt - 1)
                        put({"time": t, "type": "timer_fired", "timer": "2xx",
                             "call_id": call_id})
                    put({"time": t, "type": "fault_applied", "fault": "drop",
                         "call_id": call_id, "attempt": attempt, "emitted": 0})
                t += 32
                put({"time": t, "type": "finding", "kind": "no-ack",
                     "text": "no ACK for the 2xx within 64*T1; sent BYE", "call_id": call_id,
                     "details": {}})
        put({"time": t, "type": "summary", "started": 1_800_000_000.0,
             "duration": t - 1_800_000_000.0, "requests": {}, "responses": {},
             "retransmissions": {"in": 0, "out": 0}, "dropped": 0, "findings": {},
             "bindings": []})
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--ladders", type=int, default=DEFAULT_LADDERS)
    parser.add_argument("--keep", metavar="FILE.jsonl", help="write the journal here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        journal_path = args.keep or os.path.join(scratch, "bench.jsonl")
        lines = synthetic_journal(journal_path, args.calls)
        journal_size = os.path.getsize(journal_path)
        output = os.path.join(scratch, "bench.html")
        started, cpu_started = time.perf_counter(), time.process_time()
        journal = read_journal(journal_path)
        read_at = time.perf_counter()
        size = write_report(output, journal.entries, max_ladders=args.ladders)
        done, cpu = time.perf_counter(), time.process_time() - cpu_started
    print(f"journal: {args.calls} calls, {lines} records, {journal_size / 1e6:.1f} MB")
    print(f"render:  {done - started:.2f} s (read {read_at - started:.2f} s, render and write "
          f"{done - read_at:.2f} s; {cpu:.2f} s of CPU), {size / 1e6:.1f} MB, "
          f"{args.ladders} ladders")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
