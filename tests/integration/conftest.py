"""Fixtures for tests against real SIP peers (SIPp, PJSUA2) and the `sipfault run` CLI."""

# pyproject.toml's `pythonpath = ["."]` puts the repository root on sys.path for plain
# `pytest` as well as `python -m pytest`.
from tests.peers.fixtures import pjsua2, sipp, start_sipfault

__all__ = ["pjsua2", "sipp", "start_sipfault"]
