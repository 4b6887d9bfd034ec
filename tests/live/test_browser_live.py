"""The live page in headless Chromium while ``sipfault run --http`` serves calls: a
registration appears and expires, a call appears within a second of its INVITE, and a finished
call links to its ladder. Screenshots land in ``$SIPFAULT_SCREENSHOTS``."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from tests.peers.sipfault_cli import run_sipfault
from tests.report.browser import webdriver
from tests.testing.sip_client import SipClient

pytestmark = pytest.mark.peer

HERE = Path(__file__).parent
LIVE_RE = re.compile(r"live view on (http://127\.0\.0\.1:\d+/)")
ROWS = "return [...document.querySelectorAll({css})].map(r => r.dataset[{key}])"


def _rows(css: str, key: str) -> str:
    return ROWS.format(css=repr(css), key=repr(key))


def test_the_live_page_follows_registrations_and_calls() -> None:
    with run_sipfault(HERE / "live-bench.yaml", t1="20ms",
                      extra_args=["--http", "127.0.0.1:0"]) as server, webdriver() as browser:
        assert server.wait_for_line(LIVE_RE.pattern)
        url = LIVE_RE.search(server.stdout)[1]  # type: ignore[index]
        browser.get(url)
        browser.wait_for("return document.getElementById('status').textContent === 'live'")
        assert browser.run(_rows("#registrations tr.binding", "aor")) == []

        with SipClient(server.host, server.port) as client:
            client.send(client.request("REGISTER", "printer", call_id="live-reg",
                                       headers=(("Expires", "2"),)))
            assert client.until_final()[-1].status == 200
            registered = time.monotonic()
            (aor,) = browser.wait_for(_rows("#registrations tr.binding", "aor"), 1.0)
            assert time.monotonic() - registered < 1.0
            assert aor.startswith("sip:printer@")
            left = browser.run("return document.querySelector("
                               "'#registrations .remaining').textContent")
            assert left in ("1 s", "2 s")

            invite = client.request("INVITE", "fax", call_id="live-call")
            sent = time.monotonic()
            client.send(invite)
            browser.wait_for(_rows("#live-calls tr.call", "callId") + ".includes('live-call')",
                             1.0)
            assert time.monotonic() - sent < 1.0
            state = browser.run("return document.querySelector("
                                "'#live-calls tr.call[data-call-id=\"live-call\"]').dataset.state")
            assert state in ("trying", "ringing")
            browser.screenshot("live-ringing.png")

            # The registration runs out (Expires: 2) while the call still rings.
            browser.wait_for("return !document.querySelector('#registrations tr.binding') || "
                             "document.querySelector('#registrations tr.binding.expired')", 3.5)
            assert time.monotonic() - registered < 3.5
            final = client.until_final()[-1]
            assert final.status == 486
            client.send(client.ack_for(invite, final))
        browser.wait_for(_rows("#finished tr.done", "callId") + ".includes('live-call')", 2.0)
        assert browser.run(_rows("#live-calls tr.call", "callId")) == []
        browser.wait_for("return document.querySelectorAll('#registrations tr.binding')"
                         ".length === 0", 3.0)
        counters = browser.run("return ['n-calls','n-responses','n-bindings'].map("
                               "id => document.getElementById(id).textContent)")
        assert counters == ["2", "4", "0"]  # INVITE and REGISTER; 200, 100, 180, 486
        browser.screenshot("live-after.png")

        # A finished call links to its ladder.
        browser.click("#finished tr.done a")
        browser.wait_for("return document.querySelectorAll('section.call').length === 1")
        arrows = browser.run("return document.querySelectorAll('section.call g.arrow').length")
        assert arrows == 5  # INVITE, 100, 180, 486, ACK
        assert browser.run("return location.pathname") == "/calls/live-call"
        browser.screenshot("live-call-ladder.png")


def test_a_call_appears_while_another_client_calls_in_a_thread() -> None:
    """Several calls at once each show up, and leave when they end."""
    with run_sipfault(HERE / "live-bench.yaml", t1="20ms",
                      extra_args=["--http", "127.0.0.1:0"]) as server, webdriver() as browser:
        assert server.wait_for_line(LIVE_RE.pattern)
        browser.get(LIVE_RE.search(server.stdout)[1])  # type: ignore[index]
        browser.wait_for("return document.getElementById('status').textContent === 'live'")

        def call(call_id: str) -> None:
            with SipClient(server.host, server.port) as client:
                invite = client.request("INVITE", "fax", call_id=call_id)
                client.send(invite)
                final = client.until_final()[-1]
                client.send(client.ack_for(invite, final))

        threads = [threading.Thread(target=call, args=(f"many-{n}",)) for n in range(3)]
        for thread in threads:
            thread.start()
        seen = browser.wait_for(_rows("#live-calls tr.call", "callId") + ".length === 3 && "
                                + _rows("#live-calls tr.call", "callId")[7:], 1.5)
        assert sorted(seen) == ["many-0", "many-1", "many-2"]
        for thread in threads:
            thread.join(10)
        browser.wait_for("return document.querySelectorAll('#live-calls tr.call').length === 0",
                         2.0)
        assert sorted(browser.run(_rows("#finished tr.done", "callId"))) == [
            "many-0", "many-1", "many-2"]
