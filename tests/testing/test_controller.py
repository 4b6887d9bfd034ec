"""The threaded Controller: the server on its own loop thread, driven from synchronous code."""

from __future__ import annotations

import threading

import pytest

from sipfault import Controller
from sipfault.api import UnexpectedTraffic, WaitTimeout
from tests.testing.sip_client import SipClient


def test_sync_busy_call_and_journal() -> None:
    with Controller() as sip:
        sip.on("INVITE").reply(100, (486, {"Retry-After": 30}, {"after": "10ms"}))
        with SipClient(sip.host, sip.port) as client:
            invite = client.request("INVITE", "bob")
            client.send(invite)
            replies = client.until_final()
            client.send(client.ack_for(invite, replies[-1]))
            (ack,) = sip.wait_for("ACK", timeout=2)
        assert [reply.status for reply in replies] == [100, 486]
        assert ack.method == "ACK" and ack.source == client.local
        assert sip.uri("bob") == f"sip:bob@127.0.0.1:{sip.port}"
        assert sip.uri("bob", "tcp").endswith(";transport=tcp")
        assert len(sip.rules) == 1
        sip.check()
    assert not sip.running
    assert len(sip.requests()) == 2  # the journal outlives the server


def test_controller_calls_run_on_the_loop_thread() -> None:
    seen: list[threading.Thread] = []
    with Controller() as sip:
        sip._call(lambda: seen.append(threading.current_thread()))
        assert seen[0] is not threading.current_thread()
        assert seen[0].name.startswith("sipfault-")


def test_wait_for_timeout_is_an_assertion_with_the_ladder() -> None:
    with Controller() as sip, SipClient(sip.host, sip.port, "tcp") as client:
        client.send(client.request("OPTIONS", call_id="opt@test"))
        client.until_final()
        expected = r"(?s)waited 0\.05 s for 2 OPTIONS requests, got 1.*<- tcp [0-9.:]+ OPTIONS"
        with pytest.raises(WaitTimeout, match=expected):
            sip.wait_for("OPTIONS", count=2, timeout=0.05)


def test_check_raises_on_unexpected_request() -> None:
    with Controller() as sip:
        with SipClient(sip.host, sip.port) as client:
            client.send(client.request("PUBLISH"))
            assert client.until_final()[-1].status == 405
        with pytest.raises(UnexpectedTraffic, match="no rule took PUBLISH"):
            sip.check()
        sip.check(allow=[405])
        sip.clear_journal()
        sip.check()


def test_two_controllers_do_not_collide() -> None:
    with Controller() as first, Controller() as second:
        assert first.port != second.port
        first.on("OPTIONS").reply(503)
        second.on("OPTIONS").reply(480)
        for sip, status in ((first, 503), (second, 480)):
            with SipClient(sip.host, sip.port) as client:
                client.send(client.request("OPTIONS"))
                assert client.until_final()[-1].status == status
        assert len(first.requests()) == len(second.requests()) == 1


def test_errors_say_what_to_do() -> None:
    sip = Controller()
    with pytest.raises(RuntimeError, match=r"call start\(\) first"):
        _ = sip.port
    with pytest.raises(RuntimeError, match="call start"):
        sip.wait_for("INVITE")
    sip.start()
    sip.stop()
    with pytest.raises(RuntimeError, match="starts once"):
        sip.start()
    with Controller() as busy, pytest.raises(OSError, match="pass port=0"):
        Controller(port=busy.port).start()


def test_rules_can_be_added_before_start() -> None:
    sip = Controller()
    sip.on("OPTIONS").reply(488)
    with sip, SipClient(sip.host, sip.port) as client:
        client.send(client.request("OPTIONS"))
        assert client.until_final()[-1].status == 488


def test_bindings_are_readable_from_the_api() -> None:
    with Controller() as sip, SipClient(sip.host, sip.port) as client:
        client.send(client.request("REGISTER", "printer", headers=(("Expires", "300"),)))
        (ok,) = client.until_final()
        assert ok.status == 200
        bindings = sip.bindings()
        (aor,) = bindings
        assert aor.startswith("sip:printer@127.0.0.1")
        (binding,) = bindings[aor]
        assert binding.uri == f"sip:tester@127.0.0.1:{client.local[1]}"
        assert 295 <= binding.remaining(binding.registered_at + 1) <= 300
