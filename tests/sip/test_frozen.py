"""quick_init keeps a frozen dataclass what @dataclass made it, only quicker to make."""

from __future__ import annotations

import dataclasses

import pytest

from sipfault.core.events import MessageSent, Peer
from sipfault.sip.frozen import quick_init
from sipfault.sip.via import Via


def test_fields_defaults_and_keywords_are_kept() -> None:
    via = Via("SIP/2.0", "UDP", "host", None)
    assert via.params == ()
    assert Via("SIP/2.0", "UDP", "host", port=5060, params=(("rport", None),)).port == 5060
    assert via == Via("SIP/2.0", "UDP", "host", None, ())
    assert hash(via) == hash(Via("SIP/2.0", "UDP", "host", None, ()))
    assert repr(via) == ("Via(protocol='SIP/2.0', transport='UDP', host='host', port=None, "
                         "params=())")
    peer = Peer("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060))
    sent = MessageSent(1.0, peer, None, b"x")  # type: ignore[arg-type]
    assert (sent.retransmission, sent.request, sent.fault) == (False, None, None)
    assert dataclasses.replace(via, port=1).port == 1


def test_still_frozen() -> None:
    via = Via("SIP/2.0", "UDP", "host", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        via.host = "other"  # type: ignore[misc]


def test_missing_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Via("SIP/2.0", "UDP")  # type: ignore[call-arg]


def test_only_plain_frozen_slotted_dataclasses() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        value: int

    with pytest.raises(TypeError):
        quick_init(Mutable)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        values: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError):
        quick_init(Factory)
