"""The pytest plugin, run inside pytester: fixtures, markers, and the end-of-test check.

No conftest registers the plugin in these runs: it comes from the ``pytest11`` entry point.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CLIENT_SOURCE = (Path(__file__).parent / "sip_client.py").read_text()
TLS_DIR = Path(__file__).resolve().parents[1] / "tls"

BUSY_YAML = """\
name: busy
rules:
  - name: busy
    match: {method: INVITE}
    reply: [100, {code: 486, headers: {Retry-After: 30}}]
"""


# Plugins these runs do not need: leaving them out makes each inner run much faster.
QUIET = ("-p", "no:benchmark", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest inside the test project; the sipfault plugin loads from its entry point."""
    return project.runpytest(*QUIET, *args)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A test project with the socket client helper and an ini for pytest-asyncio."""
    pytester.makepyfile(sip_client=CLIENT_SOURCE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_sync_fixture(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from sip_client import SipClient

        def test_busy(sipfault):
            sipfault.on("INVITE", to_user="alice").reply(100, (486, {"Retry-After": 30}))
            with SipClient(sipfault.host, sipfault.port) as client:
                invite = client.request("INVITE", "alice",
                                        headers=(("User-Agent", "mydialer/1.0"),))
                client.send(invite)
                replies = client.until_final()
                client.send(client.ack_for(invite, replies[-1]))
            sipfault.wait_for("ACK", timeout=2)
            assert [r.status for r in replies] == [100, 486]
            assert sipfault.requests("INVITE")[0].header("User-Agent") == "mydialer/1.0"
            assert sipfault.uri("alice") == f"sip:alice@127.0.0.1:{sipfault.port}"
        """
    )
    run(project).assert_outcomes(passed=1)


def test_a_tls_context_in_a_conftest_adds_tls_to_the_fixtures(project: pytest.Pytester) -> None:
    project.makeconftest(
        f"""
        import pytest
        from sipfault.transport.tls import server_context

        @pytest.fixture
        def sipfault_tls():
            return server_context({str(TLS_DIR / "cert.pem")!r}, {str(TLS_DIR / "key.pem")!r})
        """
    )
    project.makepyfile(
        f"""
        import socket, ssl

        def test_options_over_tls(sipfault):
            port = sipfault.tls_port
            assert port and port != sipfault.port
            assert sipfault.uri("bob", "tls") == f"sip:bob@127.0.0.1:{{port}};transport=tls"
            context = ssl.create_default_context(cafile={str(TLS_DIR / "cert.pem")!r})
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \\
                    context.wrap_socket(raw, server_hostname="localhost") as tls:
                local = tls.getsockname()[1]
                tls.sendall((
                    "OPTIONS sip:bob@127.0.0.1 SIP/2.0\\r\\n"
                    f"Via: SIP/2.0/TLS 127.0.0.1:{{local}};branch=z9hG4bK-p\\r\\n"
                    "From: <sip:t@127.0.0.1>;tag=1\\r\\nTo: <sip:bob@127.0.0.1>\\r\\n"
                    "Call-ID: plugin-tls\\r\\nCSeq: 1 OPTIONS\\r\\nMax-Forwards: 70\\r\\n"
                    "Content-Length: 0\\r\\n\\r\\n").encode())
                assert tls.recv(4096).startswith(b"SIP/2.0 200 OK\\r\\n")
            (record,) = sipfault.requests("OPTIONS")
            assert record.transport == "tls"
        """
    )
    run(project).assert_outcomes(passed=1)


def test_async_fixture_runs_in_the_tests_loop(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import asyncio
        import pytest
        from sip_client import SipClient

        @pytest.mark.asyncio
        async def test_busy(sipfault_server):
            assert sipfault_server._loop is asyncio.get_running_loop()
            sipfault_server.on("INVITE").reply(486)
            with SipClient(sipfault_server.host, sipfault_server.port, "tcp") as client:
                invite = client.request("INVITE")
                client.send(invite)
                replies = await asyncio.to_thread(client.until_final)
                client.send(client.ack_for(invite, replies[-1]))
                await sipfault_server.wait_for("ACK")
            assert replies[-1].status == 486
        """
    )
    run(project).assert_outcomes(passed=1)


UNEXPECTED_SYNC = """
    from sip_client import SipClient

    def test_subscribe(sipfault):
        with SipClient(sipfault.host, sipfault.port) as client:
            client.send(client.request("SUBSCRIBE", "bob"))
            assert client.until_final()[-1].status == 405
    """

UNEXPECTED_ASYNC = """
    import asyncio
    import pytest
    from sip_client import SipClient

    @pytest.mark.asyncio
    async def test_subscribe(sipfault_server):
        with SipClient(sipfault_server.host, sipfault_server.port) as client:
            client.send(client.request("SUBSCRIBE", "bob"))
            replies = await asyncio.to_thread(client.until_final)
        assert replies[-1].status == 405
    """


@pytest.mark.parametrize("source", [UNEXPECTED_SYNC, UNEXPECTED_ASYNC], ids=["sync", "async"])
def test_unexpected_request_fails_the_test_with_the_ladder(
    project: pytest.Pytester, source: str
) -> None:
    project.makepyfile(source)
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*saw 1 thing the test did not expect:",
        "*- unmatched: no rule took SUBSCRIBE sip:bob@127.0.0.1:* from udp 127.0.0.1:*; "
        "answered 405 by default*",
        "*Message ladder (<- received from the client, -> sent by sipfault):",
        "*+  0.000s  <- udp 127.0.0.1:* SUBSCRIBE sip:bob@127.0.0.1:* SIP/2.0*",
        "*-> udp 127.0.0.1:* SIP/2.0 405 Method Not Allowed*",
        '*To fix: add a rule such as .on("SUBSCRIBE").reply(200); or let it through with '
        "@pytest.mark.sipfault_allow_unexpected*",
    ])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("marker", "args", "ini", "outcome"),
    [
        ("@pytest.mark.sipfault_allow_unexpected", [], "", "passed"),
        ("@pytest.mark.sipfault_allow_unexpected(405)", [], "", "passed"),
        ('@pytest.mark.sipfault_allow_unexpected("unmatched")', [], "", "passed"),
        ('@pytest.mark.sipfault_allow_unexpected("no-ack")', [], "", "failed"),
        ("", ["--sipfault-allow-unexpected"], "", "passed"),
        ("", [], "sipfault_allow_unexpected = true", "passed"),
        ("", [], "sipfault_allow_unexpected = false", "failed"),
    ],
)
def test_opting_out(
    project: pytest.Pytester, marker: str, args: list[str], ini: str, outcome: str
) -> None:
    project.makeini(f"[pytest]\nasyncio_default_fixture_loop_scope = function\n{ini}\n")
    project.makepyfile(
        f"""
        import pytest
        from sip_client import SipClient

        {marker}
        def test_subscribe(sipfault):
            with SipClient(sipfault.host, sipfault.port) as client:
                client.send(client.request("SUBSCRIBE"))
                assert client.until_final()[-1].status == 405
        """
    )
    run(project, *args).assert_outcomes(**{outcome: 1})


def test_failing_expectation_is_readable(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from sip_client import SipClient

        def test_no_ack(sipfault):
            sipfault.on("INVITE").reply(486)
            with SipClient(sipfault.host, sipfault.port) as client:
                client.send(client.request("INVITE", "carol"))
                client.until_final()
            sipfault.wait_for("ACK", timeout=0.1)

        def test_wrong_agent(sipfault):
            with SipClient(sipfault.host, sipfault.port) as client:
                client.send(client.request("OPTIONS", "dave"))
                client.until_final()
            assert sipfault.requests("OPTIONS")[0].header("User-Agent") == "x"
        """
    )
    result = run(project)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*WaitTimeout: waited 0.1 s for 1 ACK request, got 0; what happened*",
        "*<- udp 127.0.0.1:* INVITE sip:carol@127.0.0.1:* SIP/2.0*",
        "*-> udp 127.0.0.1:* SIP/2.0 486 Busy Here*",
    ])
    # A plain failing assert gets the ladder as a report section.
    result.stdout.fnmatch_lines([
        "*sipfault message ladder (127.0.0.1:*)*",
        "*<- udp 127.0.0.1:* OPTIONS sip:dave@127.0.0.1:* SIP/2.0*",
        "*-> udp 127.0.0.1:* SIP/2.0 200 OK*",
    ])


def test_scenario_marker(project: pytest.Pytester) -> None:
    project.mkdir("scenarios").joinpath("busy.yaml").write_text(BUSY_YAML)
    project.makepyfile(
        """
        import pytest
        from sip_client import SipClient

        @pytest.mark.sipfault_scenario("scenarios/busy.yaml")
        def test_from_file(sipfault):
            with SipClient(sipfault.host, sipfault.port) as client:
                invite = client.request("INVITE")
                client.send(invite)
                replies = client.until_final()
                client.send(client.ack_for(invite, replies[-1]))
            sipfault.wait_for("ACK")
            assert [r.status for r in replies] == [100, 486]
            assert replies[-1].headers["retry-after"] == "30"

        @pytest.mark.sipfault_scenario("scenarios/nosuch.yaml")
        def test_missing(sipfault):
            pass
        """
    )
    result = run(project)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*sipfault_scenario('scenarios/nosuch.yaml'): no such file*"])


def test_scenario_marker_reports_file_errors(project: pytest.Pytester) -> None:
    project.makefile(".yaml", bad="rules:\n  - match: {method: INVITE}\n    reply: [700]\n")
    project.makepyfile(
        """
        import pytest

        @pytest.mark.sipfault_scenario("bad.yaml")
        def test_bad(sipfault):
            pass
        """
    )
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bad.yaml:3:13: status code 700 is out of range*"])


def test_config_fixtures_can_be_overridden(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture
        def sipfault_transports():
            return ("tcp",)

        @pytest.fixture
        def sipfault_t1():
            return 0.05
        """
    )
    project.makepyfile(
        """
        import pytest
        from sip_client import SipClient

        def test_tcp_only(sipfault):
            assert sipfault.server.transports == ("tcp",)
            assert sipfault.server.scenario.timers.t1 == 0.05
            with SipClient(sipfault.host, sipfault.port, "tcp") as client:
                client.send(client.request("OPTIONS"))
                assert client.until_final()[-1].status == 200

        @pytest.mark.asyncio
        async def test_async_too(sipfault_server):
            assert sipfault_server.transports == ("tcp",)
        """
    )
    run(project).assert_outcomes(passed=2)


def test_the_config_fixture_can_be_overridden(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import dataclasses
        import pytest

        @pytest.fixture
        def sipfault_config(sipfault_config):
            return dataclasses.replace(sipfault_config, seed=2718, server_header="bench/2")
        """
    )
    project.makefile(".yaml", busy="seed: 1\n" + BUSY_YAML)
    project.makepyfile(
        """
        import pytest
        from sip_client import SipClient

        def test_seed_and_header(sipfault):
            assert sipfault.seed == 2718
            assert sipfault.config.server_header == "bench/2"
            with SipClient(sipfault.host, sipfault.port) as client:
                client.send(client.request("OPTIONS"))
                assert b"\\r\\nServer: bench/2\\r\\n" in client.until_final()[-1].raw

        @pytest.mark.sipfault_scenario("busy.yaml")
        def test_the_marker_replaces_only_the_scenario(sipfault):
            assert sipfault.server.scenario.name == "busy"
            assert sipfault.seed == 2718

        @pytest.mark.asyncio
        async def test_async_too(sipfault_server):
            assert sipfault_server.seed == 2718
        """
    )
    run(project).assert_outcomes(passed=3)


def test_two_servers_in_one_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import asyncio
        import pytest
        from sipfault import Controller, Server
        from sip_client import SipClient

        def test_sync(sipfault):
            with Controller() as other:
                assert other.port != sipfault.port
                sipfault.on("OPTIONS").reply(503)
                other.on("OPTIONS").reply(480)
                for server, status in ((sipfault, 503), (other, 480)):
                    with SipClient(server.host, server.port) as client:
                        client.send(client.request("OPTIONS"))
                        assert client.until_final()[-1].status == status
                assert len(sipfault.requests()) == len(other.requests()) == 1

        @pytest.mark.asyncio
        async def test_async(sipfault_server):
            async with Server() as other:
                assert other.port != sipfault_server.port
                with SipClient(other.host, other.port) as client:
                    client.send(client.request("OPTIONS"))
                    await asyncio.to_thread(client.until_final)
                assert sipfault_server.requests() == []
                assert len(other.requests()) == 1
        """
    )
    run(project).assert_outcomes(passed=2)
