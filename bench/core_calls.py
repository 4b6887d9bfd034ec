"""Core CPU per call: INVITE/200/ACK/BYE/200 through the sans-I/O UAS, no sockets.

Feeds ``--calls`` calls (an INVITE with SDP answered 200 by bench/answer-immediate.yaml, its
ACK, a BYE answered 200 by the default) to a ``UserAgentServer`` on a manual clock, one call
every ``--step`` seconds, firing the timers that fall due (Timers J and L, after 64*T1) on the
way. Only the UAS's own work is timed (CPU time of this thread), not the building of the
requests; the figure is the best and the median of ``--repeat`` runs, in µs per call.

    python bench/core_calls.py
    python bench/core_calls.py --calls 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # run as a script from the checkout

from sipfault.core.events import Peer  # noqa: E402
from sipfault.core.uas import UserAgentServer  # noqa: E402
from sipfault.scenario.loader import load_scenario  # noqa: E402

SCENARIO = REPO_ROOT / "bench" / "answer-immediate.yaml"
PEER = Peer("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060))
OFFER = ("v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")


def sip_request(method: str, call: int, cseq: int, to_tag: str | None = None,
                body: str = "") -> bytes:
    """A request of call number ``call`` as SIPp's UAC would send it."""
    to = "<sip:bob@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} sip:bob@127.0.0.1:5060 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{call}-{method}-{cseq};rport",
        "Max-Forwards: 70",
        f"From: <sip:alice@127.0.0.1>;tag=f{call}",
        f"To: {to}",
        f"Call-ID: c{call}@bench",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:alice@127.0.0.1:5070>",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def to_tag(response: bytes) -> str:
    start = response.index(b";tag=", response.index(b"\r\nTo:")) + 5
    return response[start:response.index(b"\r\n", start)].decode()


def run(calls: int, step: float) -> float:
    """µs of this thread's CPU per call spent inside the UAS."""
    uas = UserAgentServer(load_scenario(SCENARIO), seed=1, rng=random.Random(1))
    invites = [sip_request("INVITE", call, 1, body=OFFER) for call in range(calls)]
    clock = time.thread_time
    spent = 0.0
    now = 0.0
    for call in range(calls):
        now += step
        started = clock()
        uas.receive(invites[call], PEER, now)
        answer = uas.take_outgoing()[-1].data
        spent += clock() - started
        tag = to_tag(answer)
        ack = sip_request("ACK", call, 1, tag)
        bye = sip_request("BYE", call, 2, tag)
        started = clock()
        uas.receive(ack, PEER, now)
        uas.receive(bye, PEER, now)
        uas.take_outgoing()
        uas.take_events()
        deadline = uas.next_deadline()
        while deadline is not None and deadline <= now:
            uas.handle_timer(now)
            deadline = uas.next_deadline()
        spent += clock() - started
    if uas.dialogs:
        raise SystemExit(f"{len(uas.dialogs)} calls did not end: the benchmark is broken")
    return spent / max(calls, 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--step", type=float, default=0.01,
                        help="seconds between calls on the manual clock (default 0.01)")
    args = parser.parse_args()
    figures = sorted(run(args.calls, args.step) for _ in range(args.repeat))
    print(f"{args.calls} calls: best {figures[0]:.1f} µs/call, "
          f"median {figures[len(figures) // 2]:.1f} µs/call")


if __name__ == "__main__":
    main()
