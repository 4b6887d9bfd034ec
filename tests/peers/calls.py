"""Real peers calling a running sipfault: SIPp plays a UAC scenario, PJSUA2 dials or registers.

Each returns what the peer saw and fails the test, with the peer's account and sipfault's
output, when the peer did not run to its end. A SIPp scenario (tests/integration/sipp/uac-*.xml)
checks the responses it gets (codes, order, header fields) and fails the call otherwise;
`sipp_call` requires that the call succeeded, or, for the controls, that the checks caught a
sipfault made to answer wrongly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tests.peers.locate import SIPP_SCENARIOS
from tests.peers.pjsua import AgentResult, pjsua_call, pjsua_register
from tests.peers.sipfault_cli import SipfaultProcess
from tests.peers.sipp import SippResult, run_sipp


def sipp_call(
    server: SipfaultProcess,
    xml: str | os.PathLike[str],
    *,
    service: str,
    transport: str = "udp",
    auth: tuple[str, str] | None = None,
    fails_with: str | None = None,
    timeout: float = 20.0,
) -> SippResult:
    """Play `xml` (a file of tests/integration/sipp, or a path) once against `server`,
    dialling user `service`, answering digest challenges with `auth` (user, password).

    The call must succeed; with `fails_with` (the controls, against a sipfault answering
    wrongly) SIPp must fail it instead, its error log saying `fails_with`.
    """
    extra_args: Sequence[str] = ("-au", auth[0], "-ap", auth[1]) if auth else ()
    result = run_sipp(
        SIPP_SCENARIOS / xml,
        server.host,
        server.port,
        transport=transport,
        service=service,
        calls=1,
        timeout=timeout,
        extra_args=extra_args,
    )
    why = server.explain(result)
    if fails_with is None:
        assert result.returncode == 0, why
        assert (result.successful, result.failed) == (1, 0), why
    else:
        assert result.returncode != 0, why
        assert (result.successful, result.failed) == (0, 1), why
        assert fails_with in result.errors, why
    return result


def pjsua_dial(
    server: SipfaultProcess, callee: str, /, *, transport: str = "udp", **options: Any
) -> AgentResult:
    """PJSUA2 calls user `callee` at `server` over `transport` (options as `pjsua_call` takes
    them: `user` and `password` answer challenges...); the agent must run to its end, however
    the call ended."""
    result = pjsua_call(server.uri(callee, transport), transport=transport, **options)
    assert result.returncode == 0, server.explain(result)
    return result


def pjsua_register_at(
    server: SipfaultProcess, *, transport: str = "udp", **options: Any
) -> AgentResult:
    """PJSUA2 registers with `server` as its registrar over `transport` (options as
    `pjsua_register` takes them: user, password, expires...); the agent must run to its end,
    however the registration ended."""
    result = pjsua_register(server.uri(None, transport), transport=transport, **options)
    assert result.returncode == 0, server.explain(result)
    return result
