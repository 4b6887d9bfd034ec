"""The pytest plugin, registered through the ``pytest11`` entry point (no conftest needed).

Fixtures:

- ``sipfault``: a started :class:`~sipfault.testing.controller.Controller` (the server on its
  own thread), for synchronous tests.
- ``sipfault_server``: a started :class:`sipfault.Server` in the test's own event loop, for
  ``async def`` tests (needs pytest-asyncio).
- ``sipfault_config``: the :class:`~sipfault.config.ServerConfig` both start from, built from
  ``sipfault_host`` (``"127.0.0.1"``), ``sipfault_transports`` (``("udp", "tcp")``, plus
  ``"tls"`` with a context), ``sipfault_tls`` (None, or an ``ssl.SSLContext`` for TLS) and
  ``sipfault_t1`` (None: the scenario's T1). Override any of them in a conftest to change every
  server; override ``sipfault_config`` itself for the other fields (``seed``, ``listen``...).

Markers:

- ``@pytest.mark.sipfault_scenario("busy.yaml")``: start with a scenario file (a path relative
  to the test file, else to the rootdir), or a ``Scenario`` object.
- ``@pytest.mark.sipfault_allow_unexpected``: do not fail on what no rule expected; with
  arguments, only on those kinds (``"unmatched"``, ``"no-ack"``...) or statuses (405...).

When the test body has passed, the plugin fails it if a server from these fixtures saw a
request that no rule took and that the defaults refused (405, 481, 501...), a finding about the
client (a missing ACK, a malformed request), or a message it could not read; the failure text
holds the message ladder. The ini option ``sipfault_allow_unexpected = true`` or the command line
flag ``--sipfault-allow-unexpected`` turns this off for the whole run. A failing test gets the
ladder in a report section too, unless its failure already shows it (a ``WaitTimeout``), and
the frames of sipfault's own code are left out of its traceback.

With ``--sipfault-report DIR``, each test that used these fixtures writes the HTML report of
its exchange (:mod:`sipfault.report`: a ladder diagram per call) to ``DIR/<test id>.html``, and
a failing test's message names the file.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from sipfault.api.journal import Unexpected, WaitTimeout, describe_unexpected
from sipfault.api.server import Server, unexpected_hint
from sipfault.config import ListenAddress, ServerConfig, default_transports
from sipfault.model.scenario import Scenario
from sipfault.scenario.errors import ScenarioError
from sipfault.scenario.loader import load_scenario
from sipfault.testing.controller import Controller
from sipfault.version import __version__

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is a test dependency
    pytest_asyncio = None  # type: ignore[assignment]

SCENARIO_MARKER = "sipfault_scenario"
ALLOW_MARKER = "sipfault_allow_unexpected"
ALLOW_OPTION = "sipfault_allow_unexpected"
REPORT_OPTION = "sipfault_report"
OPT_OUT_TEXT = (f'@pytest.mark.{ALLOW_MARKER}("unmatched"), or {ALLOW_OPTION} = true '
                "in the pytest ini file")


class Watched(Protocol):
    """What the end-of-test check reads from a server or controller."""

    def unexpected(self) -> list[Unexpected]:
        """What no rule expected."""
        ...

    def ladder(self) -> str:
        """The message ladder."""
        ...

    def where(self) -> str:
        """``host:port``."""
        ...


_WATCHED = pytest.StashKey[list[Watched]]()
_REPORTED = pytest.StashKey[bool]()
_REPORT_FILES = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ini option and command line flag that turn the end-of-test check off."""
    parser.addini(ALLOW_OPTION, type="bool", default=False,
                  help="sipfault: do not fail tests on requests no rule expected or findings")
    parser.getgroup("sipfault").addoption(
        "--sipfault-allow-unexpected", action="store_true", default=False,
        dest=ALLOW_OPTION,
        help="do not fail tests on requests no sipfault rule expected or on findings",
    )
    parser.getgroup("sipfault").addoption(
        "--sipfault-report", metavar="DIR", default=None, dest=REPORT_OPTION,
        help="write the HTML report (ladder diagrams) of each test's sipfault exchange to DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers."""
    config.addinivalue_line(
        "markers", f"{SCENARIO_MARKER}(path): start the sipfault fixtures with this scenario "
        "file (relative to the test file, else to the rootdir) or Scenario object",
    )
    config.addinivalue_line(
        "markers", f"{ALLOW_MARKER}(*kinds): do not fail the test on what no sipfault rule "
        "expected; with arguments, only on those kinds ('unmatched', 'no-ack'...) or statuses",
    )


# ------------------------------------------------------------------------- config fixtures


@pytest.fixture
def sipfault_host() -> str:
    """The address the sipfault fixtures listen on; override for IPv6 ("::1")."""
    return "127.0.0.1"


@pytest.fixture
def sipfault_tls() -> ssl.SSLContext | None:
    """A server TLS context (certificate and key) for the sipfault fixtures; None: no TLS."""
    return None


@pytest.fixture
def sipfault_transports(sipfault_tls: ssl.SSLContext | None) -> tuple[str, ...]:
    """The transports the sipfault fixtures listen with: UDP and TCP on one port, and TLS on
    a port of its own when ``sipfault_tls`` gives a context."""
    return default_transports(sipfault_tls)


@pytest.fixture
def sipfault_t1() -> float | None:
    """T1 in seconds for the sipfault fixtures (RFC 3261 §17.1.1.1); None: the scenario's."""
    return None


@pytest.fixture
def sipfault_config(
    sipfault_host: str,
    sipfault_transports: tuple[str, ...],
    sipfault_t1: float | None,
    sipfault_tls: ssl.SSLContext | None,
) -> ServerConfig:
    """The configuration the sipfault fixtures start from: a free port on ``sipfault_host``,
    with ``sipfault_transports``, ``sipfault_t1`` and ``sipfault_tls``. A scenario marker
    replaces its scenario."""
    return ServerConfig(listen=(ListenAddress(sipfault_host, 0),),
                        transports=sipfault_transports, t1=sipfault_t1, tls=sipfault_tls)


# ------------------------------------------------------------------------- server fixtures


@pytest.fixture
def sipfault(request: pytest.FixtureRequest,
             sipfault_config: ServerConfig) -> Iterator[Controller]:
    """A started sipfault server on its own thread, for synchronous tests."""
    controller = Controller(marked_scenario(request), config=sipfault_config)
    controller.start()
    try:
        _watch(request, controller)
        yield controller
    finally:
        controller.stop()


async def _sipfault_server(request: pytest.FixtureRequest,
                           sipfault_config: ServerConfig) -> AsyncIterator[Server]:
    """A started sipfault server in the test's own event loop, for ``async def`` tests."""
    server = Server(marked_scenario(request), config=sipfault_config)
    async with server:
        _watch(request, server)
        yield server


def _needs_pytest_asyncio() -> None:
    """Stands in for ``sipfault_server`` when pytest-asyncio is missing."""
    pytest.fail("the sipfault_server fixture runs in the test's event loop and needs "
                "pytest-asyncio: pip install pytest-asyncio (or use the sync `sipfault` "
                "fixture)", pytrace=False)


if pytest_asyncio is not None:
    sipfault_server = pytest_asyncio.fixture(_sipfault_server, name="sipfault_server")
else:  # pragma: no cover
    sipfault_server = pytest.fixture(_needs_pytest_asyncio, name="sipfault_server")


def marked_scenario(request: pytest.FixtureRequest) -> Scenario | None:
    """The scenario named by the closest ``sipfault_scenario`` marker, loaded; None if none."""
    marker = request.node.get_closest_marker(SCENARIO_MARKER)
    if marker is None:
        return None
    if len(marker.args) != 1:
        pytest.fail(f"@pytest.mark.{SCENARIO_MARKER} takes one scenario path, e.g. "
                    f'@pytest.mark.{SCENARIO_MARKER}("scenarios/busy.yaml")', pytrace=False)
    value = marker.args[0]
    if isinstance(value, Scenario):
        return value
    path = Path(value)
    candidates = [path] if path.is_absolute() else [
        request.path.parent / path, request.config.rootpath / path,
    ]
    for candidate in candidates:
        if candidate.is_file():
            try:
                return load_scenario(candidate)
            except ScenarioError as exc:
                pytest.fail(f"{SCENARIO_MARKER}: the scenario file has errors:\n{exc}",
                            pytrace=False)
    looked = " and ".join(str(candidate) for candidate in candidates)
    pytest.fail(f"{SCENARIO_MARKER}({str(value)!r}): no such file (looked for {looked})",
                pytrace=False)


def _watch(request: pytest.FixtureRequest, server: Watched) -> None:
    request.node.stash.setdefault(_WATCHED, []).append(server)


# ---------------------------------------------------------------------- end-of-test check


def allowed_kinds(item: pytest.Item) -> list[str | int] | None:
    """What the test lets through: None for everything, else kinds and statuses."""
    if item.config.getini(ALLOW_OPTION) or item.config.getoption(ALLOW_OPTION):
        return None
    allowed: list[str | int] = []
    for marker in item.iter_markers(ALLOW_MARKER):
        if not marker.args:
            return None
        allowed.extend(marker.args)
    return allowed


def unexpected_report(item: pytest.Item) -> str | None:
    """The failure text for what the item's servers did not expect, or None."""
    allowed = allowed_kinds(item)
    if allowed is None:
        return None
    texts = []
    for server in item.stash.get(_WATCHED, []):
        items = [found for found in server.unexpected() if not found.allowed_by(allowed)]
        if items:
            texts.append(describe_unexpected(items, server.ladder(), server.where(),
                                             unexpected_hint(items, OPT_OUT_TEXT)))
    return "\n\n".join(texts) if texts else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After a passing test body, fail it on what its sipfault servers did not expect."""
    result = yield
    text = unexpected_report(item) if item.stash.get(_WATCHED, None) else None
    if text is not None:
        item.stash[_REPORTED] = True
        files = write_reports(item)
        if files:
            text += "\n" + report_note(files)
        pytest.fail(text, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Write each server's HTML report (with ``--sipfault-report``); attach each server's
    message ladder to a failing test's report, once (not for the server whose WaitTimeout
    already shows it), and name the HTML files in its message."""
    report = yield
    if report.when != "call" or not item.stash.get(_WATCHED, None):
        return report
    already = item.stash.get(_REPORTED, False)
    files = write_reports(item)
    if report.failed and not already:
        failure = call.excinfo.value if call.excinfo is not None else None
        shown = failure.where if isinstance(failure, WaitTimeout) else None
        for server in item.stash.get(_WATCHED, []):
            if shown is None or server.where() != shown:
                report.sections.append((f"sipfault message ladder ({server.where()})",
                                        server.ladder()))
        if files:
            note = report_note(files)
            longrepr: Any = report.longrepr
            if hasattr(longrepr, "addsection"):
                longrepr.addsection("sipfault report", note)
            else:
                report.sections.append(("sipfault report", note))
    return report


# ------------------------------------------------------------------------- HTML reports


def report_note(files: list[Path]) -> str:
    """``sipfault HTML report: DIR/test.html`` (one line per file)."""
    return "\n".join(f"sipfault HTML report: {path}" for path in files)


def report_file_name(nodeid: str, index: int = 0) -> str:
    """A file name for a test's report: its node id with path separators and brackets
    replaced, ``-2``, ``-3``... for its second and third server."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("_")[:180] or "test"
    return f"{stem}{'' if index == 0 else f'-{index + 1}'}.html"


def write_reports(item: pytest.Item) -> list[Path]:
    """Write the HTML report of each server the test used (once); the files written."""
    written = item.stash.get(_REPORT_FILES, None)
    if written is not None:
        return written
    directory = item.config.getoption(REPORT_OPTION, None)
    written = []
    item.stash[_REPORT_FILES] = written
    if not directory:
        return written
    from sipfault.report import write_report  # only runs that ask for reports render them

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    watched_servers: list[Watched] = item.stash.get(_WATCHED, [])
    for index, watched in enumerate(watched_servers):
        server = watched.server if isinstance(watched, Controller) else watched
        if not isinstance(server, Server):
            continue
        records = list(server.journal.records)
        start = records[0].time if records else time.time()
        run = {"time": start, "type": "run", "scenario": server.scenario.name,
               "scenario_file": None, "description": f"test {item.nodeid}",
               "seed": server.seed, "version": __version__,
               "listen": [watched.where()], "t1": server.scenario.timers.t1}
        path = folder / report_file_name(item.nodeid, index)
        write_report(path, [run, *(record.to_json() for record in records)],
                     title=f"sipfault: {item.nodeid}")
        written.append(path)
    return written
