"""The bounded fuzz run of CI: every target, a fixed seed, a fixed number of inputs.

Each target gets its seeds as they are, then mutants of them (tests/fuzz/mutator.py); the
contract of each (tests/fuzz/targets.py) must hold for every input, and no input may take more
than two seconds. The counts are sized for about 20 s in all on a loaded two-core machine; a
target that runs out of its time cap stops early and still has to be clean for what it ran.
Longer runs, coverage-guided ones and replays: ``python -m tests.fuzz.run --help``.
"""

from __future__ import annotations

import random
import time

import pytest

from sipfault.core.events import Finding, Peer
from sipfault.core.uas import UserAgentServer
from sipfault.scenario.loader import load_scenario_text
from sipfault.sip.errors import SipParseError
from sipfault.sip.parser import parse_message
from tests.fuzz.engine import Hang, fuzz, time_bound
from tests.fuzz.mutator import MAX_SIZE, SIP_TOKENS, Mutator
from tests.fuzz.targets import ContractBroken, Target, targets

SEED = 20260
# Inputs per target: 2-4 s each where one core does ~3500 parser inputs a second.
BUDGET = {
    "parser": 12000,
    "framer": 20000,
    "sdp": 12000,
    "digest": 20000,
    "scenario": 1000,
    "uas": 20000,
}
TIME_CAP = 20.0
"""Seconds a target may run at most (the counts above take a fraction of it)."""

TARGETS = targets()


def test_every_target_has_a_budget_and_seeds() -> None:
    assert set(BUDGET) == set(TARGETS)
    for target in TARGETS.values():
        assert len(target.seeds) >= 10, target.name


@pytest.mark.parametrize("name", sorted(BUDGET))
def test_no_input_breaks_the_contract(name: str) -> None:
    report = fuzz(TARGETS[name], iterations=BUDGET[name], seconds=TIME_CAP, seed=SEED)
    print(report.line())
    assert report.inputs >= min(BUDGET[name], 200), report.line()
    assert not report.failures, "\n".join(
        f"{failure.reason} (input {failure.iteration}: {failure.data[:300]!r})"
        for failure in report.failures[:5]
    )


def test_a_short_coverage_guided_run_grows_its_corpus() -> None:
    report = fuzz(TARGETS["parser"], iterations=600, seconds=TIME_CAP, seed=SEED,
                  coverage=True)
    print(report.line())
    assert not report.failures
    assert report.lines > 200
    assert report.corpus > len(TARGETS["parser"].seeds)  # inputs that ran new lines joined


# ------------------------------------------------------------------ the fuzzer itself


def test_the_same_seed_gives_the_same_inputs() -> None:
    seeds = TARGETS["parser"].seeds

    def inputs(seed: int) -> list[bytes]:
        mutator = Mutator(random.Random(seed), SIP_TOKENS, seeds)
        return [mutator.mutate(seeds[n % len(seeds)]) for n in range(200)]

    assert inputs(5) == inputs(5)
    assert inputs(5) != inputs(6)
    produced = inputs(5)
    assert all(len(data) <= MAX_SIZE for data in produced)
    assert len(set(produced)) > 190  # mutants, not copies


def test_a_broken_contract_is_reported_with_its_input() -> None:
    def check(data: bytes) -> None:
        if b"\x00" in data:
            raise ContractBroken("a NUL")

    planted = Target("planted", [b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"], SIP_TOKENS, check)
    report = fuzz(planted, iterations=300, seconds=TIME_CAP, seed=1)
    assert report.failures
    assert all(b"\x00" in failure.data and failure.reason == "a NUL"
               for failure in report.failures)


def test_an_input_that_hangs_is_cut_off_and_reported() -> None:
    def check(data: bytes) -> None:
        if data.startswith(b"HANG"):
            while True:
                pass

    hanging = Target("hanging", [b"ok", b"HANG"], SIP_TOKENS, check)
    began = time.monotonic()
    report = fuzz(hanging, iterations=2, seconds=TIME_CAP, seed=1, per_input=0.2)
    assert time.monotonic() - began < 5
    (failure,) = report.failures
    assert failure.data == b"HANG" and failure.reason.startswith("hang")


def test_time_bound_raises_hang() -> None:
    with pytest.raises(Hang), time_bound(0.05):
        while True:
            pass


# ------------------------------------------------------------ what the fuzzer found


def test_a_non_ascii_digit_in_the_status_line_version_is_a_400() -> None:
    """Found by the parser target: "SIP/2.\\xc2\\xb2" matched the Status-Line pattern and its
    ASCII decoding failed, which the parser's catch-all hid as a 400 "Malformed message
    (UnicodeDecodeError)"."""
    with pytest.raises(SipParseError) as raised:
        parse_message(b"SIP/2.\xc2\xb2 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n")
    assert (raised.value.status, raised.value.reason) == (400, "Malformed Status-Line: "
                                                                "invalid characters")


def test_a_malformed_request_with_an_empty_via_is_answered_400() -> None:
    """Found by the uas target: a request refused as malformed whose Via was only a comma made
    the response builder index an empty list; the UAS's safety net dropped the request with an
    internal-error finding instead of answering it (RFC 3261 §8.2, RFC 4475 §3.1.2.1)."""
    uas = UserAgentServer(load_scenario_text("rules: []\n"), seed=1)
    peer = Peer("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060))
    uas.receive(b"OPTIONS sip:a@b SIP/2.0\r\nVia: ,\r\nbad line\r\n\r\n", peer, 0.0)
    findings = [e.kind for e in uas.take_events() if isinstance(e, Finding)]
    assert findings == ["bad-request"]
    (sent,) = uas.take_outgoing()
    assert sent.data.startswith(b"SIP/2.0 400 Malformed header line")
    assert b"\r\nVia: ,\r\n" in sent.data  # copied as it stood


def test_an_empty_first_via_line_leaves_the_top_via_on_the_next_line() -> None:
    """Found by the uas target: with "Via: ," before the real Via line, the request is valid
    (its topmost via-parm is on the second line, RFC 3261 §7.3.1), but the response builder
    read the empty first line as the top Via and failed. The answer now marks the real top
    Via with received and rport (RFC 3581 §4)."""
    uas = UserAgentServer(load_scenario_text("rules: []\n"), seed=1)
    peer = Peer("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060))
    uas.receive(
        b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: ,\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x;rport\r\nMax-Forwards: 70\r\n"
        b"From: <sip:b@c>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
        b"Content-Length: 0\r\n\r\n", peer, 0.0)
    assert not [e for e in uas.take_events() if isinstance(e, Finding)]
    (sent,) = uas.take_outgoing()
    answer = parse_message(sent.data)
    assert answer.status == 200  # type: ignore[attr-defined]
    assert answer.headers.lines("Via") == [
        ",", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x;rport=5070;received=127.0.0.1"]
