"""Requests no rule takes, through the Python API: 404 by default, ``unmatched()`` changes it."""

from __future__ import annotations

import asyncio
import io

import pytest

from sipfault import Controller, Server
from sipfault.model.validate import InvalidValue
from sipfault.reporting import ConsoleReporter
from sipfault.scenario.loader import load_scenario_text
from tests.testing.sip_client import SipClient


def test_an_invite_for_a_user_no_rule_takes_gets_404_then_the_chosen_answer() -> None:
    with Controller() as sip, SipClient(sip.host, sip.port) as client:
        sip.on("INVITE", user="alice").reply(486)
        client.send(client.request("INVITE", "bob", call_id="one@test"))
        assert client.until_final()[-1].status == 404
        sip.unmatched(480, "Temporarily Away")
        client.send(client.request("INVITE", "bob", call_id="two@test"))
        final = client.until_final()[-1]
        assert (final.status, final.reason) == (480, "Temporarily Away")
        client.send(client.request("SUBSCRIBE", "bob", call_id="three@test"))
        refused = client.until_final()[-1]
        assert refused.status == 405 and "SUBSCRIBE" not in refused.headers["allow"]
        assert [(item.method, item.status) for item in sip.unexpected()] == [
            ("INVITE", 404), ("INVITE", 480), ("SUBSCRIBE", 405)]


def test_unmatched_is_checked_as_the_scenario_key_is() -> None:
    with Controller() as sip, pytest.raises(InvalidValue, match=r"'unmatched' code 200 is out"):
        sip.unmatched(200)


async def test_the_summary_says_what_the_defaults_answered() -> None:
    scenario = load_scenario_text("name: alice\nrules: [{match: {method: INVITE, user: alice},"
                                  " reply: [486]}]\n")
    out = io.StringIO()
    console = ConsoleReporter(out)
    async with Server(scenario) as server:
        server.add_listener(console.on_record)
        with SipClient(server.host, server.port) as client:
            for n, (method, user) in enumerate([("INVITE", "bob"), ("INVITE", "carol"),
                                                ("INVITE", "dave"), ("SUBSCRIBE", "bob")]):
                client.send(client.request(method, user, call_id=f"{n}@test"))
                await asyncio.to_thread(client.until_final)
        console.print_summary(server)
    assert "unmatched: INVITE=3 -> 404, SUBSCRIBE=1 -> 405" in out.getvalue().splitlines()
