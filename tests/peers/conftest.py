"""Fixtures for the harness's own tests (the integration tests' conftest imports the same)."""

import sys
from pathlib import Path

# `python -m pytest` puts the repository root on sys.path; plain `pytest` does not.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.peers.fixtures import pjsua2, sipp, start_sipfault  # noqa: E402

__all__ = ["pjsua2", "sipp", "start_sipfault"]
