"""Harness for tests that talk to real SIP peers: SIPp, PJSUA2 and the `sipfault run` CLI.

Everything here binds 127.0.0.1 only and bounds every wait, so a broken peer fails a test
instead of hanging it.
"""
