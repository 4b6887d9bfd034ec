"""Run Kamailio from deploy/kamailio/ in the foreground, on loopback, as a test's own process.

Kamailio gets a runtime directory, pid file, control socket and dispatcher list of its own in a
temporary directory, and `-DD -E`: it does not daemonize and logs to stderr, so nothing of it
outlives the test and no system state is touched. It is started in a session of its own and
its whole process group is ended on exit (Kamailio forks its workers).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers.locate import REPO_ROOT, missing_peer
from tests.peers.output import LineCollector
from tests.peers.ports import format_hostport, free_port

#: The configuration shipped for users, run here as it is (settings come as `-A` defines).
KAMAILIO_CFG = REPO_ROOT / "deploy" / "kamailio" / "kamailio.cfg"

#: One destination of `kamcmd dispatcher.list`: "URI: sip:127.0.0.2:5060" then "FLAGS: AP".
_DEST_RE = re.compile(r"URI:\s*(?P<uri>\S+)\s+FLAGS:\s*(?P<flags>[A-Z]+)")


def require_kamailio() -> tuple[str, str]:
    """Paths of `kamailio` and `kamcmd` (Debian's package puts both in /usr/sbin)."""
    found = []
    for name in ("kamailio", "kamcmd"):
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if not path:
            missing_peer("Kamailio", "apt-get install -y kamailio, or run .ci/install-peers")
        found.append(path)
    return found[0], found[1]


@dataclass
class Kamailio:
    """A running Kamailio dispatching to `destinations`."""

    host: str
    port: int
    process: subprocess.Popen[str]
    kamcmd: str
    ctl: str
    """The binrpc control socket, `unix:/tmp/.../kamailio_ctl`."""
    _stderr: LineCollector = field(repr=False)

    @property
    def hostport(self) -> str:
        return format_hostport(self.host, self.port)

    @property
    def log(self) -> str:
        """What Kamailio logged so far."""
        return self._stderr.text

    def destinations(self) -> dict[str, str]:
        """`kamcmd dispatcher.list`: each destination URI with its flags ("AP": active and
        probing, "IP": inactive and probing, "DX": disabled...)."""
        done = subprocess.run([self.kamcmd, "-s", self.ctl, "dispatcher.list"],
                              capture_output=True, text=True, timeout=10, check=False)
        return {m["uri"]: m["flags"] for m in _DEST_RE.finditer(done.stdout)}

    def wait_for_flags(self, uri: str, state: str, timeout: float = 15.0) -> dict[str, str]:
        """Wait until the destination's flags start with `state` ("A" active, "I" inactive),
        as the dispatcher's probing decides; AssertionError with the log when it does not."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"kamailio exited ({self.process.returncode})\n{self.log}")
            seen = self.destinations()
            if seen.get(uri, "").startswith(state):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"dispatcher never showed {uri} with flags {state}* within {timeout:g} s "
                    f"(last: {seen})\n{self.log[-4000:]}"
                )
            time.sleep(0.05)


def dispatcher_list(destinations: Sequence[str]) -> str:
    """A dispatcher.list putting every destination (`host:port`) in set 1."""
    lines = [f"1 sip:{hostport} 0 0 duid=dst{n}" for n, hostport in enumerate(destinations)]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def run_kamailio(
    destinations: Sequence[str],
    *,
    host: str = "127.0.0.1",
    probe_interval: int = 1,
    ready_timeout: float = 15.0,
) -> Iterator[Kamailio]:
    """Start Kamailio on `host` and a free UDP port, balancing over `destinations`.

    Ready means the control socket answers and lists every destination.
    """
    kamailio, kamcmd = require_kamailio()
    with tempfile.TemporaryDirectory(prefix="kamailio-") as tmp:
        work = Path(tmp)
        (work / "dispatcher.list").write_text(dispatcher_list(destinations), encoding="ascii")
        ctl = f"unix:{work / 'kamailio_ctl'}"
        port = free_port(host)
        command = [
            kamailio, "-DD", "-E", "-f", str(KAMAILIO_CFG),
            "-A", f"SIP_LISTEN=udp:{format_hostport(host, port)}",
            "-A", f'DISPATCHER_LIST="{work / "dispatcher.list"}"',
            "-A", f'CTL_SOCKET="{ctl}"',
            "-A", f"PROBE_INTERVAL={probe_interval}",
            "-A", "INVITE_TIMEOUT_MS=2000",
            "-A", "WORKERS=2",
            "-Y", str(work), "-P", str(work / "kamailio.pid"),
            "-m", "32", "-M", "8",
        ]  # fmt: skip
        process = subprocess.Popen(command, cwd=work, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   errors="replace", start_new_session=True)
        stderr = LineCollector(process.stderr, "kamailio-stderr")  # type: ignore[arg-type]
        running = Kamailio(host, port, process, kamcmd, ctl, stderr)
        try:
            deadline = time.monotonic() + ready_timeout
            wanted = {f"sip:{d}" for d in destinations}
            while set(running.destinations()) != wanted:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"kamailio did not come up (exit status {process.poll()})\n"
                        f"command: {' '.join(command)}\n{running.log}"
                    )
                time.sleep(0.05)
            yield running
        finally:
            _stop(process)
            stderr.join(5.0)


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM the process group Kamailio leads (main process and workers); SIGKILL if it
    lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # any worker left behind by the main process
