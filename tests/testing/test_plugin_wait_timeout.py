"""A WaitTimeout in pytest: the message ladder shown once, and none of sipfault's own frames.

Run inside pytester, as tests/testing/test_plugin.py does: the plugin comes from its entry
point.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CLIENT_SOURCE = (Path(__file__).parent / "sip_client.py").read_text()
QUIET = ("-p", "no:benchmark", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")

SYNC = """
from sip_client import SipClient

def test_waits_in_vain(sipfault):
    with SipClient(sipfault.host, sipfault.port) as client:
        client.send(client.request("OPTIONS", "zed", call_id="opt@test"))
        client.until_final()
    sipfault.wait_for("INVITE", timeout=0.1)
"""

ASYNC = """
import asyncio
import pytest
from sip_client import SipClient

@pytest.mark.asyncio
async def test_waits_in_vain(sipfault_server):
    with SipClient(sipfault_server.host, sipfault_server.port) as client:
        client.send(client.request("OPTIONS", "zed", call_id="opt@test"))
        await asyncio.to_thread(client.until_final)
    await sipfault_server.wait_for("INVITE", timeout=0.1)
"""

TWO_SERVERS = """
import asyncio
import pytest
from sip_client import SipClient

@pytest.mark.asyncio
async def test_waits_in_vain(sipfault, sipfault_server):
    for server, user in ((sipfault, "yan"), (sipfault_server, "zed")):
        with SipClient(server.host, server.port) as client:
            client.send(client.request("OPTIONS", user))
            await asyncio.to_thread(client.until_final)
    await sipfault_server.wait_for("INVITE", timeout=0.1)
"""


def failures(result: pytest.RunResult) -> str:
    """The failure reports, without pytest's short summary (which repeats the whole message
    of every failure when running under CI)."""
    return result.stdout.str().split("short test summary info")[0]


def project(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(sip_client=CLIENT_SOURCE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_wait=source)
    return pytester.runpytest(*QUIET)


@pytest.mark.parametrize("source", [SYNC, ASYNC], ids=["controller", "server"])
def test_a_wait_timeout_shows_the_ladder_once_without_sipfault_frames(
    pytester: pytest.Pytester, source: str
) -> None:
    result = project(pytester, source)
    result.assert_outcomes(failed=1)
    text = failures(result)
    result.stdout.fnmatch_lines([
        "*await*wait_for(\"INVITE\", timeout=0.1)" if "async" in source
        else "*sipfault.wait_for(\"INVITE\", timeout=0.1)",
        "*WaitTimeout: waited 0.1 s for 1 INVITE request, got 0; what happened*",
    ])
    assert len(re.findall(r"<- udp \S+ OPTIONS sip:zed@", text)) == 1, text
    assert len(re.findall(r"-> udp \S+ SIP/2.0 200 OK \[opt@test\]", text)) == 1, text
    # The traceback names the test's own file and line, and nothing of sipfault's.
    assert not re.search(r"[/\\]sipfault[/\\]\w+[/\\]\w+\.py", text), text
    assert "concurrent/futures" not in text and "asyncio/" not in text, text
    assert re.search(r"^test_wait\.py:\d+: WaitTimeout$", text, re.M), text


def test_the_other_servers_ladder_is_still_shown(pytester: pytest.Pytester) -> None:
    result = project(pytester, TWO_SERVERS)
    result.assert_outcomes(failed=1)
    text = failures(result)
    assert len(re.findall(r"OPTIONS sip:zed@", text)) == 1, text  # in the WaitTimeout
    assert len(re.findall(r"OPTIONS sip:yan@", text)) == 1, text  # in its own section
    assert len(re.findall(r"sipfault message ladder", text)) == 1, text
    assert not re.search(r"[/\\]sipfault[/\\]\w+[/\\]\w+\.py", text), text
