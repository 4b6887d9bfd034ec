"""Headless Chromium for the tests: a page's DOM after its scripts ran, a screenshot, and a
W3C WebDriver session through chromedriver (plain HTTP with urllib, no client library).

Chromium and chromedriver are Debian's ``chromium`` and ``chromium-driver`` (.ci/run installs
them). Without them a test skips, or fails under CI=true, as a missing SIP peer does.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.peers.locate import missing_peer
from tests.peers.ports import free_port

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]
"""Every run: no sandbox (root in a container), nothing fetched on the side."""

SCREENSHOTS = Path(os.environ.get("SIPFAULT_SCREENSHOTS",
                                  Path(tempfile.gettempdir()) / "sipfault-screenshots"))
"""Where the tests leave their screenshots, to be looked at."""


def require_chromium() -> str:
    """The Chromium binary (env CHROMIUM overrides the PATH lookup)."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if not found:
        missing_peer("Chromium", "apt-get install -y chromium chromium-driver")
    return found


def require_chromedriver() -> str:
    """The chromedriver binary (env CHROMEDRIVER overrides the PATH lookup)."""
    require_chromium()
    found = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not found:
        missing_peer("chromedriver", "apt-get install -y chromium-driver")
    return found


def _run_chromium(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(
            [require_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def dump_dom(url: str, budget_ms: int = 2000) -> str:
    """The page's DOM after load, its scripts run (``--dump-dom``)."""
    result = _run_chromium([f"--virtual-time-budget={budget_ms}", "--dump-dom", url])
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def screenshot(url: str, name: str, width: int = 1280, height: int = 1600) -> Path:
    """A PNG of the page as a person would first see it, in :data:`SCREENSHOTS`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    path.unlink(missing_ok=True)
    result = _run_chromium([f"--window-size={width},{height}", "--virtual-time-budget=2000",
                            f"--screenshot={path}", url])
    assert result.returncode == 0 and path.is_file(), result.stderr[-2000:]
    assert path.read_bytes().startswith(b"\x89PNG"), path
    return path


class WebDriver:
    """One browser session driven through chromedriver's W3C WebDriver HTTP API."""

    def __init__(self, base: str, session: str) -> None:
        self.base = base
        self.session = session

    def _call(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/session/{self.session}{path}", data,
                                         {"Content-Type": "application/json"}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return json.load(reply)["value"]
        except urllib.error.HTTPError as error:
            raise AssertionError(f"WebDriver {method} {path}: {error.read()[:500]!r}") from None

    def get(self, url: str) -> None:
        """Open a page and wait for it to load."""
        self._call("POST", "/url", {"url": url})

    def run(self, script: str, *args: object) -> Any:
        """Run a script (a function body; ``arguments`` holds ``args``) and return its value."""
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script: str, timeout: float = 5.0, *args: object) -> Any:
        """Run ``script`` until it returns something truthy; that value, or AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout} s for: {script}")
            time.sleep(0.05)

    def type_into(self, css: str, text: str) -> None:
        """Click an element and type into it."""
        element = self._call("POST", "/element", {"using": "css selector", "value": css})
        element_id = next(iter(element.values()))
        self._call("POST", f"/element/{element_id}/clear", {})
        self._call("POST", f"/element/{element_id}/value", {"text": text})

    def click(self, css: str) -> None:
        """Click the first element matching ``css`` as a person would (the mouse, at its
        middle); found again if the page redrew it between finding and clicking."""
        for attempt in range(5):
            element = self._call("POST", "/element", {"using": "css selector", "value": css})
            try:
                self._call("POST", f"/element/{next(iter(element.values()))}/click", {})
                return
            except AssertionError as error:
                if "stale element" not in str(error) or attempt == 4:
                    raise

    def screenshot(self, name: str) -> Path:
        """A PNG of the viewport, in :data:`SCREENSHOTS`."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))
        return path


@contextmanager
def webdriver(width: int = 1280, height: int = 1000) -> Iterator[WebDriver]:
    """Start chromedriver and a headless Chromium session; end both on leaving."""
    driver = require_chromedriver()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="chromium-")
    session = None
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{base}/status", timeout=2) as reply:
                    if json.load(reply)["value"]["ready"]:
                        break
            except (OSError, ValueError):
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.1)
        capabilities = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": require_chromium(),
                "args": [*FLAGS, f"--user-data-dir={profile}",
                         f"--window-size={width},{height}"],
            },
        }}}
        request = urllib.request.Request(f"{base}/session", json.dumps(capabilities).encode(),
                                         {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as reply:
            session = json.load(reply)["value"]["sessionId"]
        yield WebDriver(base, session)
    finally:
        if session is not None:
            with suppress(OSError):
                urllib.request.urlopen(urllib.request.Request(
                    f"{base}/session/{session}", method="DELETE"), timeout=10).close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(profile, ignore_errors=True)
