"""Find the real SIP peers the integration tests drive, or skip (fail under CI) without them."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

#: Repository root: scenario paths and `python -m sipfault` are resolved against it.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The SIPp scenarios the integration tests play (uac-*.xml against sipfault, uas-*.xml as
#: reference servers).
SIPP_SCENARIOS = REPO_ROOT / "tests" / "integration" / "sipp"
#: Small sipfault scenarios of the integration tests, beside the shipped ones in scenarios/.
TEST_SCENARIOS = REPO_ROOT / "tests" / "integration" / "scenarios"


def running_in_ci() -> bool:
    """True when the CI script runs us (CI=true): a missing peer is then an error, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing_peer(what: str, hint: str) -> NoReturn:
    """Skip the test locally, fail it under CI, saying how to install the peer."""
    message = f"{what} is not available ({hint})"
    if running_in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_sipp() -> str:
    """Path of the SIPp binary (env SIPP overrides the PATH lookup)."""
    override = os.environ.get("SIPP")
    candidate = override if override else shutil.which("sipp")
    if not candidate or not os.access(candidate, os.X_OK):
        missing_peer("SIPp", "apt-get install -y sip-tester, or set SIPP=/path/to/sipp")
    return candidate


def require_pjsua2() -> None:
    """Make sure the `pjsua2` module imports in this interpreter (the agent runs under it)."""
    if importlib.util.find_spec("pjsua2") is None:
        missing_peer("PJSUA2", "pip install pjsua2-python")
