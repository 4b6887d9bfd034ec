"""Dialogs (RFC 3261 §12): the transition table, the registry's moves, the SDP origin a dialog
keeps (RFC 3264 §8), and the requests the UAS builds within one (§12.2.1.1)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from uas_harness import OFFER, UDP, Harness, request, response, statuses

from sipfault.core.dialogs import TRANSITIONS, Dialog, Dialogs, DialogState, InviteUnderway
from sipfault.core.events import Peer, RuleMatched
from sipfault.core.faults import ExchangeFaults
from sipfault.core.reliable import ReliableProvisionals
from sipfault.core.requests import in_dialog_request
from sipfault.core.timers import TimerQueue
from sipfault.core.transactions import ServerTransaction, State, transaction_key
from sipfault.core.uas import UserAgentServer
from sipfault.model.scenario import Match, Reply, Rule, Timers
from sipfault.scenario.loader import load_scenario_text
from sipfault.sip.message import Request, Response
from sipfault.sip.parser import parse_message

ANSWER = """
name: answer
rules:
  - match: {method: INVITE}
    reply: [100, {code: 183, sdp: answer}, {code: 200, sdp: answer}]
"""


class _Invite:
    """An INVITE under way, as a dialog sees it."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.reliable: ReliableProvisionals | None = None
        self.faults: ExchangeFaults | None = None
        self.stopped = 0

    def stop_if_unanswered(self) -> None:
        self.stopped += 1


def _invite() -> Request:
    message = parse_message(request(extra="Record-Route: <sip:p1.example.com;lr>"))
    assert isinstance(message, Request)
    return message


def _registry() -> tuple[Dialogs, TimerQueue, list[tuple[float, Response]], list[Dialog]]:
    queue = TimerQueue()
    resent: list[tuple[float, Response]] = []
    unacked: list[Dialog] = []

    def resend(response: Response, peer: Peer, invite: InviteUnderway, now: float) -> None:
        resent.append((now, response))

    return Dialogs(queue, resend, lambda dialog, now: unacked.append(dialog)), queue, resent, \
        unacked


def test_a_terminated_dialog_moves_no_more() -> None:
    assert DialogState.TERMINATED not in TRANSITIONS
    assert TRANSITIONS[DialogState.EARLY] == {DialogState.CONFIRMED, DialogState.TERMINATED}
    dialogs, _, _, _ = _registry()
    invite = _invite()
    dialog = dialogs.create(invite, "lt1", UDP)
    dialogs.answered(dialog, _Invite(invite), Response(180, "Ringing"), Timers(), 0.0)
    assert dialog.state is DialogState.EARLY and dialog.invite is not None
    assert dialogs.find("call-1", "lt1", "ft1") is dialog
    dialogs.end(dialog)
    assert dialog.state is DialogState.TERMINATED and dialog.invite is None
    assert dialogs.find("call-1", "lt1", "ft1") is None and len(dialogs) == 0
    with pytest.raises(RuntimeError, match="terminated -> confirmed"):
        dialogs.answered(dialog, _Invite(invite), Response(200, "OK"), Timers(), 0.0)


def test_the_dialog_keeps_what_the_invite_said() -> None:
    dialogs, _, _, _ = _registry()
    dialog = dialogs.create(_invite(), "lt1", UDP)
    assert dialog.key == ("call-1", "lt1", "ft1")
    assert dialog.remote_target == "<sip:alice@127.0.0.1:5070>"
    assert dialog.route_set == ["<sip:p1.example.com;lr>"]
    assert dialog.remote_cseq == 1
    assert not dialog.in_order(0) and dialog.in_order(1) and dialog.in_order(7)
    assert dialog.remote_cseq == 7


def test_a_2xx_is_resent_until_the_ack_and_an_early_one_ended_stops_the_invite() -> None:
    dialogs, queue, resent, unacked = _registry()
    invite = _Invite(_invite())
    dialog = dialogs.create(invite.request, "lt1", UDP)
    ok = Response(200, "OK")
    dialogs.answered(dialog, invite, ok, Timers(t1=0.5), 0.0)
    assert dialog.state is DialogState.CONFIRMED and not dialog.acked
    queue.run_due(0.5)
    queue.run_due(1.5)
    assert resent == [(0.5, ok), (1.5, ok)]
    dialogs.acknowledge(dialog)
    assert dialog.acked and dialog.state is DialogState.CONFIRMED
    queue.run_due(60.0)
    assert len(resent) == 2 and unacked == []

    early = dialogs.create(invite.request, "lt2", UDP)
    dialogs.answered(early, invite, Response(183, "Session Progress"), Timers(), 0.0)
    dialogs.end(early)
    assert invite.stopped == 1  # the INVITE still ringing forgets its steps


def test_no_ack_within_64_t1_reports_it_and_ends_the_dialog() -> None:
    dialogs, queue, resent, unacked = _registry()
    invite = _Invite(_invite())
    dialog = dialogs.create(invite.request, "lt1", UDP)
    dialogs.answered(dialog, invite, Response(200, "OK"), Timers(t1=0.5), 0.0)
    while (deadline := queue.next_deadline()) is not None:
        queue.run_due(deadline)
    assert unacked == [dialog] and dialog.state is DialogState.TERMINATED
    assert [round(at, 1) for at, _ in resent] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5,
                                                   27.5, 31.5]


def _origins(sent: list[Response]) -> list[tuple[str, str]]:
    lines = [line for item in sent for line in item.body.decode().split("\r\n")
             if line.startswith("o=")]
    return [(line.split()[1], line.split()[2]) for line in lines]


def test_a_dialog_keeps_its_sdp_session_id_and_counts_versions() -> None:
    h = Harness.from_yaml(ANSWER)
    first = h.feed(request(body=OFFER))
    assert statuses(first) == [100, 183, 200]
    tag = response(first, 200).to.tag
    h.feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"))
    again = h.feed(request(branch="z9hG4bK-re", to_tag=tag, cseq=2, body=OFFER))
    answers = [response(first, 183), response(first, 200), response(again, 183),
               response(again, 200)]  # the re-INVITE (§14.2) takes the same rule
    origins = _origins(answers)
    assert [version for _, version in origins] == ["1", "2", "3", "4"]
    assert len({session for session, _ in origins}) == 1
    other = h.feed(request(branch="z9hG4bK-2", call_id="call-2", body=OFFER))
    assert _origins([response(other, 200)])[0][0] != origins[0][0]
    assert _origins([response(other, 200)])[0][1] == "2"


def call_bytes(seed: int) -> list[bytes]:
    """Everything a UAS seeded with ``seed`` sends for a fixed run: an answered call with a
    re-INVITE and a BYE, a call whose 2xx is never acknowledged (our BYE), and a challenge."""
    scenario = load_scenario_text(ANSWER + """
auth: {users: {alice: secret}, methods: [REGISTER]}
""", "seeded.yaml")
    uas = UserAgentServer(scenario, seed=seed)
    out: list[bytes] = []

    def feed(data: bytes, now: float) -> None:
        uas.receive(data, UDP, now)
        out.extend(item.data for item in uas.take_outgoing())

    feed(request(body=OFFER), 0.0)
    tag = parse_message(out[-1]).to.tag
    feed(request("ACK", branch="z9hG4bK-ack", to_tag=tag, cseq_method="ACK"), 0.1)
    feed(request(branch="z9hG4bK-re", to_tag=tag, cseq=2, body=OFFER), 0.2)
    feed(request("BYE", branch="z9hG4bK-bye", to_tag=tag, cseq=3), 0.3)
    feed(request(branch="z9hG4bK-2", call_id="call-2"), 1.0)
    feed(request("REGISTER", branch="z9hG4bK-reg", call_id="call-3", uri="sip:127.0.0.1"), 2.0)
    now = 2.0
    while (deadline := uas.next_deadline()) is not None and deadline < 40.0:
        now = deadline
        uas.handle_timer(now)
        out.extend(item.data for item in uas.take_outgoing())
    return out


def test_the_same_seed_gives_byte_identical_responses() -> None:
    first, second = call_bytes(7), call_bytes(7)
    assert any(b"BYE sip:" in data for data in first)  # our own BYE is in the run
    assert any(b"nonce=" in data for data in first)
    assert first == second
    assert call_bytes(8) != first


def test_the_same_seed_gives_the_same_bytes_in_another_process() -> None:
    """Nothing depends on the per-process string hash (PYTHONHASHSEED)."""
    here = Path(__file__).resolve().parent
    code = (f"import sys; sys.path.insert(0, {str(here)!r}); import test_dialogs; "
            "print(test_dialogs.call_digest(7))")
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=here.parents[1], env={**os.environ, "PYTHONHASHSEED": hash_seed},
                       ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    assert digests == {call_digest(7)}


def call_digest(seed: int) -> str:
    return hashlib.sha256(b"".join(call_bytes(seed))).hexdigest()


def test_a_request_of_ours_in_a_dialog() -> None:
    peer = Peer("tcp", ("2001:db8::1", 5070), ("2001:db8::99", 5061))
    dialog = Dialog("c1", "lt1", "rt1", peer, "<sip:bob@example.com>",
                    "\"Alice\" <sip:alice@example.com>",
                    "<sip:alice@[2001:db8::1]:5070;transport=tcp>",
                    ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"])
    bye = in_dialog_request(dialog, "BYE", "z9hG4bK-b1", user_agent="ua/1")
    assert bye.uri == "sip:alice@[2001:db8::1]:5070;transport=tcp"
    assert bye.headers.get("Via") == "SIP/2.0/TCP [2001:db8::99]:5061;branch=z9hG4bK-b1;rport"
    assert bye.headers.get("From") == "<sip:bob@example.com>;tag=lt1"
    assert bye.headers.get("To") == "\"Alice\" <sip:alice@example.com>"
    assert bye.headers.values("Route") == dialog.route_set
    assert bye.cseq == (1, "BYE") and bye.call_id == "c1"
    assert bye.headers.get("User-Agent") == "ua/1" and bye.headers.get("Content-Length") == "0"
    info = in_dialog_request(dialog, "INFO", "z9hG4bK-b2", body=b"Signal=5\r\n",
                             content_type="application/dtmf-relay")
    assert info.cseq == (2, "INFO") and info.body == b"Signal=5\r\n"
    assert info.headers.get("Content-Type") == "application/dtmf-relay"
    assert parse_message(info.to_bytes()).headers.get("Content-Length") == "10"


def test_a_never_answered_transaction_is_abandoned_through_its_table() -> None:
    queue = TimerQueue()
    ended: list[ServerTransaction] = []
    options = parse_message(request("OPTIONS"))
    assert isinstance(options, Request)

    def transaction() -> ServerTransaction:
        return ServerTransaction(transaction_key(options), options, UDP, Timers(), queue,
                                 lambda *args: None, lambda tx, now: ended.append(tx),
                                 lambda tx, now: None)

    tx = transaction()
    tx.abandon(32.0)
    assert tx.state is State.TERMINATED and ended == [tx]
    tx.abandon(33.0)
    assert ended == [tx]
    answered = transaction()
    answered.respond(Response(200, "OK"), 0.0)
    answered.abandon(1.0)
    assert answered.state is State.COMPLETED


def test_rule_matched_names_the_request_and_its_peer() -> None:
    h = Harness.from_yaml(ANSWER)
    h.feed(request(body=OFFER))
    [matched] = [e for e in h.events if isinstance(e, RuleMatched)]
    assert matched.request is not None and matched.request.method == matched.method == "INVITE"
    assert matched.call_id == matched.request.call_id == "call-1"
    assert matched.peer == UDP


def test_add_rule_keeps_the_counters_of_the_rules_before() -> None:
    text = """
seed: 5
rules:
  - match: {method: OPTIONS, first: 1}
    reply: [503]
"""
    assert UserAgentServer(load_scenario_text(text, "seeded.yaml")).seed == 5
    h = Harness.from_yaml(text)
    assert statuses(h.feed(request("OPTIONS", branch="z9hG4bK-1"))) == [503]
    h.uas.add_rule(Rule(Match(methods=frozenset({"INVITE"})), reply=(Reply(486),)))
    assert statuses(h.feed(request("OPTIONS", branch="z9hG4bK-2"))) == [200]
    assert statuses(h.feed(request(branch="z9hG4bK-3"))) == [486]
    allow = response(h.feed(request("MESSAGE", branch="z9hG4bK-4")), 405).headers.get("Allow")
    assert allow is not None and "INVITE" in allow
    assert h.uas.seed == 1  # the seed given wins over the scenario's
    assert h.uas.bindings(h.now) == {}
