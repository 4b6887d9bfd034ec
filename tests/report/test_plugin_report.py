"""``pytest --sipfault-report DIR``: each test that used the fixtures writes its HTML report,
and a failing test's message names the file (the text ladder stays)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipfault.testing.plugin import report_file_name
from tests.report.dom import parse

pytest_plugins = ["pytester"]

CLIENT_SOURCE = (Path(__file__).resolve().parents[1] / "testing" / "sip_client.py").read_text()
QUIET = ("-p", "no:benchmark", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")

TESTS = """
import pytest
from sip_client import SipClient

def _call(sip, user):
    with SipClient(sip.host, sip.port) as client:
        invite = client.request("INVITE", user, call_id=f"{user}-call")
        client.send(invite)
        replies = client.until_final()
        client.send(client.ack_for(invite, replies[-1]))
    sip.wait_for("ACK", timeout=2)
    return replies

def test_busy_passes(sipfault):
    sipfault.on("INVITE").reply(100, 486)
    assert [r.status for r in _call(sipfault, "alice")] == [100, 486]

def test_assertion_fails(sipfault):
    sipfault.on("INVITE").reply(100, 486)
    replies = _call(sipfault, "bob")
    assert replies[-1].status == 200, "expected an answer"

def test_unexpected_traffic_fails(sipfault):
    with SipClient(sipfault.host, sipfault.port) as client:
        client.send(client.request("SUBSCRIBE", "carol", call_id="carol-call"))
        assert client.receive().status >= 400

def test_without_sipfault():
    assert True

@pytest.mark.parametrize("user", ["dave"])
def test_async_server(sipfault_server, user):
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(sip_client=CLIENT_SOURCE, test_calls=TESTS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_each_test_with_the_fixture_writes_its_report(project: pytest.Pytester,
                                                      tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = project.runpytest(*QUIET, f"--sipfault-report={reports}")
    result.assert_outcomes(passed=3, failed=2)
    written = sorted(path.name for path in reports.iterdir())
    assert written == sorted([
        "test_calls.py_test_busy_passes.html", "test_calls.py_test_assertion_fails.html",
        "test_calls.py_test_unexpected_traffic_fails.html",
        "test_calls.py_test_async_server_dave.html",
    ])
    page = parse((reports / "test_calls.py_test_busy_passes.html").read_text())
    (section,) = page.find_all("section", "call")
    assert section.attrs["data-call"] == "alice-call"
    assert len(section.find_all("g", "arrow")) == 4  # INVITE, 100, 486, ACK
    assert "test_calls.py::test_busy_passes" in page.text


def test_a_failing_test_names_its_report_and_keeps_the_text_ladder(
        project: pytest.Pytester, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = project.runpytest(*QUIET, f"--sipfault-report={reports}")
    output = result.stdout.str()
    assertion = reports / "test_calls.py_test_assertion_fails.html"
    unexpected = reports / "test_calls.py_test_unexpected_traffic_fails.html"
    assert f"sipfault HTML report: {assertion}" in output
    assert f"sipfault HTML report: {unexpected}" in output
    assert "sipfault message ladder" in output  # the text ladder of the failing assertion
    assert "Message ladder (<- received from the client" in output  # that of the check
    assert "INVITE sip:bob@" in output
    carol = parse(unexpected.read_text()).find_all("section", "call")[0]
    assert carol.attrs["data-code"] == "405"


def test_without_the_option_no_report_is_written(project: pytest.Pytester) -> None:
    result = project.runpytest(*QUIET)
    result.assert_outcomes(passed=3, failed=2)
    assert "sipfault HTML report" not in result.stdout.str()
    assert not list(project.path.rglob("*.html"))


def test_report_file_names() -> None:
    assert report_file_name("tests/test_a.py::test_b[udp-1]") == "tests_test_a.py_test_b_udp-1.html"
    assert report_file_name("t.py::x", 1) == "t.py_x-2.html"
