"""The README's test command works on a fresh machine as root and as a user with sudo, and
``.ci/run`` runs exactly that command.

``.ci/install-peers`` runs here against stand-ins for ``apt-get``, ``debconf-set-selections``,
``sudo`` and ``id`` that only log how they were called.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
CI_RUN = (REPO / ".ci" / "run").read_text(encoding="utf-8")
INSTALL = REPO / ".ci" / "install-peers"


def readme_test_command() -> str:
    found = re.search(r"Run the tests.*?```sh\n(.*?)\n```", README, re.S)
    assert found is not None, "the README has no test command"
    return found.group(1)


def test_ci_runs_the_readmes_command_as_written() -> None:
    command = readme_test_command()
    commands = [line for line in CI_RUN.splitlines() if not line.lstrip().startswith("#")]
    assert any(line.startswith(command) for line in commands), (command, CI_RUN)
    assert not command.startswith("sudo"), "a fresh root machine may have no sudo"


def test_the_readme_says_what_ci_adds() -> None:
    text = README[README.index("Run the tests"):]
    for said in (".ci/run", "CI=true", "ruff", "mypy", "tshark", "sudo"):
        assert said in text[:1500], said


def fake_tools(tmp_path: Path, uid: int, with_sudo: bool) -> tuple[Path, Path]:
    """A directory of stand-ins that log their arguments, and the log."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    tools = {
        "id": f'echo {uid}\n',
        "apt-get": f'echo "apt-get $* DEBIAN_FRONTEND=${{DEBIAN_FRONTEND:-}}" >> {log}\n',
        "debconf-set-selections": f'echo "debconf $(cat)" >> {log}\n',
    }
    if with_sudo:
        tools["sudo"] = f'echo "sudo $1" >> {log}\nexec "$@"\n'
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
    return bin_dir, log


def run_install(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    # Only the stand-ins and the shell's basics: no real sudo or apt-get can be reached.
    basics = bin_dir.parent / "basics"
    basics.mkdir()
    for name in ("bash", "env", "cat", "sh"):
        for where in ("/usr/bin", "/bin"):
            if os.path.exists(f"{where}/{name}"):
                (basics / name).symlink_to(f"{where}/{name}")
                break
    env = {"PATH": f"{bin_dir}:{basics}", "HOME": str(bin_dir.parent)}
    return subprocess.run([str(basics / "bash"), str(INSTALL)], env=env, capture_output=True,
                          text=True, timeout=30, check=False)


@pytest.mark.parametrize(("uid", "with_sudo"), [(0, False), (0, True), (1000, True)],
                         ids=["root-without-sudo", "root-with-sudo", "user-with-sudo"])
def test_install_peers_as_root_or_through_sudo(tmp_path: Path, uid: int,
                                               with_sudo: bool) -> None:
    bin_dir, log = fake_tools(tmp_path, uid, with_sudo)
    result = run_install(bin_dir)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    sudo = [call for call in calls if call.startswith("sudo ")]
    assert sudo == ([] if uid == 0 else
                    ["sudo debconf-set-selections", "sudo apt-get", "sudo env"])
    assert "debconf wireshark-common wireshark-common/install-setuid boolean false" in calls
    installs = [call for call in calls if call.startswith("apt-get install")]
    assert len(installs) == 1
    for package in ("sip-tester", "tshark", "libspandsp2", "jq", "kamailio"):
        assert f" {package}" in installs[0]
    assert installs[0].endswith("DEBIAN_FRONTEND=noninteractive")
    debconf = calls.index("debconf wireshark-common wireshark-common/install-setuid boolean false")
    assert debconf < calls.index(installs[0])  # answered before tshark asks
