"""ServerConfig: frozen, checked when made, and the one thing the three front ends take."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import io
import random
import re
import time
from pathlib import Path

import pytest

from sipfault import Controller, Server, ServerConfig
from sipfault.config import ListenAddress, ServerOptions
from sipfault.endpoint import Endpoint
from sipfault.model.scenario import Scenario
from sipfault.reporting import ConsoleReporter
from sipfault.scenario.loader import load_scenario_text
from sipfault.transport.tls import server_context
from tests.testing.sip_client import SipClient

TLS_DIR = Path(__file__).resolve().parents[1] / "tls"
OPTIONS_503 = load_scenario_text(
    "name: down\nrules: [{match: {method: OPTIONS}, reply: [503]}]\n", "down.yaml"
)


def options_status(host: str, port: int, transport: str = "udp") -> int:
    with SipClient(host, port, transport) as client:
        client.send(client.request("OPTIONS"))
        return client.until_final()[-1].status


def test_a_config_is_frozen_and_documented() -> None:
    config = ServerConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 3  # type: ignore[misc]
    assert config.listen == (ListenAddress("127.0.0.1", 0),)
    assert config.active_transports == ("udp", "tcp")
    assert config.server_header is not None and config.server_header.startswith("sipfault/")
    # Every field has a default and says what it is, on the line after it.
    lines = inspect.getsource(ServerConfig).splitlines()
    for field in dataclasses.fields(ServerConfig):
        (index,) = [n for n, line in enumerate(lines) if line.startswith(f"    {field.name}: ")]
        assert " = " in lines[index], f"{field.name} has no default"
        assert lines[index + 1].strip().startswith('"""'), f"{field.name} has no docstring"


def test_the_keyword_options_are_the_config_fields() -> None:
    fields = {field.name for field in dataclasses.fields(ServerConfig)}
    assert set(ServerOptions.__annotations__) == (fields - {"scenario"}) | {"host", "port"}


def test_a_config_is_checked_when_made() -> None:
    with pytest.raises(ValueError, match="unknown transport 'sctp'"):
        ServerConfig(transports=("udp", "sctp"))
    with pytest.raises(ValueError, match="certificate"):
        ServerConfig(transports=("tls",))
    with pytest.raises(ValueError, match="no address"):
        ServerConfig(listen=())
    with pytest.raises(ValueError, match="t1"):
        ServerConfig(t1=0)
    with pytest.raises(ValueError, match="after 65535"):
        ServerConfig(listen=(ListenAddress("127.0.0.1", 65535),), transports=("udp", "tls"),
                     tls=server_context(TLS_DIR / "cert.pem", TLS_DIR / "key.pem"))
    # Containers are forgiven, values are not: lists become tuples, names lower case.
    config = ServerConfig(listen=[ListenAddress("::1", 0)],  # type: ignore[arg-type]
                          transports=("UDP", "udp", "tcp"))
    assert config.listen == (ListenAddress("::1", 0),)
    assert config.transports == ("udp", "tcp")


def test_options_replace_fields_of_a_config() -> None:
    base = ServerConfig(t1=0.05, seed=7)
    assert base.with_options() is base
    moved = base.with_options(listen="127.0.0.1:5070")
    assert (moved.listen, moved.t1, moved.seed) == ((ListenAddress("127.0.0.1", 5070),), 0.05, 7)
    assert base.with_options(port=5072).listen == (ListenAddress("127.0.0.1", 5072),)
    assert base.with_options(host="::1").listen == (ListenAddress("::1", 0),)
    assert base.with_options(OPTIONS_503, seed=None).scenario is OPTIONS_503
    assert base.with_options(seed=None).seed is None
    with pytest.raises(ValueError, match="not both"):
        base.with_options(listen="127.0.0.1:0", port=5070)
    assert base.seed == 7  # untouched


def test_the_config_applies_t1_to_any_scenario_it_loads() -> None:
    config = ServerConfig(scenario=OPTIONS_503, t1=0.05)
    assert config.load_scenario().timers.t1 == 0.05
    assert config.load_scenario().rules == OPTIONS_503.rules
    assert config.load_scenario(Scenario(name="other")).timers.t1 == 0.05
    assert ServerConfig().load_scenario().rules == ()


async def test_the_endpoint_takes_a_config() -> None:
    config = ServerConfig(scenario=OPTIONS_503, transports=("udp",), seed=11,
                          server_header="bench/1")
    async with Endpoint(config=config) as endpoint:
        assert endpoint.config is config
        assert endpoint.transports == ("udp",) and endpoint.seed == 11
        assert await asyncio.to_thread(options_status, endpoint.host, endpoint.port) == 503
    # Keyword arguments build the same configuration.
    assert Endpoint(OPTIONS_503, transports=["udp"], seed=11,
                    server_header="bench/1").config == config


async def test_the_server_takes_a_config_and_keywords_replace_its_fields() -> None:
    base = ServerConfig(scenario=OPTIONS_503, seed=5)
    async with Server(config=base, transports=("tcp",)) as server:
        assert server.config == dataclasses.replace(base, transports=("tcp",))
        assert (server.seed, server.transports) == (5, ("tcp",))
        assert await asyncio.to_thread(options_status, server.host, server.port, "tcp") == 503


def test_the_controller_takes_a_config() -> None:
    rng = random.Random(1)
    config = ServerConfig(scenario=OPTIONS_503, rng=rng, seed=9)
    with Controller(config=config) as sip:
        assert sip.config is config and sip.seed == 9
        assert options_status(sip.host, sip.port) == 503


def test_the_controller_listens_where_told_with_the_seed_given() -> None:
    with Controller(listen="127.0.0.1:0", seed=1234) as sip:
        assert sip.seed == sip.server.seed == 1234
        assert sip.host == "127.0.0.1" and sip.port != 0
        assert sip.config.listen == (ListenAddress("127.0.0.1", 0),)
        assert options_status(sip.host, sip.port) == 200
    with Controller(listen=[ListenAddress("127.0.0.1", 0)], transports=("tcp",)) as sip:
        assert sip.server.transports == ("tcp",)
        assert options_status(sip.host, sip.port, "tcp") == 200
    # Without a seed the server picks one and tells it, so a run can be repeated.
    with Controller() as sip:
        assert isinstance(sip.seed, int)


async def test_the_endpoint_maps_its_loop_clock_to_the_wall_clock() -> None:
    endpoint = Endpoint()
    # Before it starts: asyncio's clock.
    assert abs(endpoint.wall_time(time.monotonic()) - time.time()) < 1.0
    async with endpoint:
        loop = asyncio.get_running_loop()
        assert abs(endpoint.wall_time(loop.time()) - time.time()) < 0.5
        assert abs(endpoint.now() - loop.time()) < 0.5
        # One offset, taken at start: later readings map by the same offset.
        assert endpoint.wall_time(loop.time() + 10.0) - endpoint.wall_time(loop.time()) == (
            pytest.approx(10.0, abs=1e-3))


async def test_the_summary_reads_bindings_and_seed_through_the_endpoint() -> None:
    register = load_scenario_text("name: reg\nseed: 42\nrules: []\n", "reg.yaml")
    async with Server(register, transports=("udp",)) as server:
        with SipClient(server.host, server.port) as client:
            client.send(client.request("REGISTER", "alice", headers=(("Expires", "60"),)))
            replies = await asyncio.to_thread(client.until_final)
        assert replies[-1].status == 200
        out = io.StringIO()
        ConsoleReporter(out).print_summary(server)
    text = out.getvalue()
    assert "summary: scenario reg, seed 42" in text
    assert "binding: sip:alice@127.0.0.1 -> sip:tester@127.0.0.1:" in text
    assert "(expires in 60 s)" in text


def test_listen_text_forms_a_new_user_types() -> None:
    assert ListenAddress.parse(":5070") == ListenAddress("127.0.0.1", 5070)  # loopback
    assert ListenAddress.parse("0.0.0.0") == ListenAddress("0.0.0.0", 5060)
    assert ListenAddress.parse("[::1]:5062") == ListenAddress("::1", 5062)
    assert ListenAddress.parse("::1") == ListenAddress("::1", 5060)
    assert ListenAddress.parse("fe80::1") == ListenAddress("fe80::1", 5060)
    assert ListenAddress.parse("[::1:5060]") == ListenAddress("::1:5060", 5060)
    for text, hint in [("::1:5060", "[::1]:5060"), ("2001:db8::7:5070", "[2001:db8::7]:5070")]:
        with pytest.raises(ValueError, match=re.escape(hint)):
            ListenAddress.parse(text)
