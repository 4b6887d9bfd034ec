"""Forked answers: one INVITE answered from several forks, each with its own To tag.

The ``fork`` fault sends a 1xx or 2xx again from ``count`` more forks, as a forking proxy in
front of several phones would pass them on (RFC 3261 §16.7, §13.2.2.4). A forked 2xx makes a
dialog of its own, re-sent until its ACK like any 2xx (§13.3.1.4). The client must ACK every 2xx
and end with BYE the dialogs it does not keep (§13.2.2.4); :class:`ForkWatch` remembers which
dialogs are extra forks, so that a missing ACK is reported as ``fork-no-ack``, and the UAS asks
64*T1 after the forked 2xx whether more than one dialog of the INVITE is still up
(``fork-not-ended``).
"""

from __future__ import annotations

import re

from sipfault.core.dialogs import DialogKey
from sipfault.sip.message import Response

__all__ = ["ForkWatch", "forked_response"]

_TAG_RE = re.compile(r";\s*tag\s*=\s*[^;>\s]+", re.I)


def forked_response(response: Response, tag: str) -> Response:
    """A copy of ``response`` as another fork sends it: the same, with To tag ``tag``."""
    headers = response.headers.copy()
    to = headers.get("To") or ""
    headers.set("To", _TAG_RE.sub(f";tag={tag}", to) if _TAG_RE.search(to) else f"{to};tag={tag}")
    return Response(response.status, response.reason, headers, response.body)


class ForkWatch:
    """The dialogs made by extra 2xx forks, the last :attr:`size` of them."""

    __slots__ = ("_forks", "size")

    def __init__(self, size: int = 4096) -> None:
        self._forks: dict[DialogKey, None] = {}
        self.size = size

    def __len__(self) -> int:
        return len(self._forks)

    def forked(self, key: DialogKey) -> None:
        """The dialog ``key`` is an extra fork's."""
        self._forks[key] = None
        while len(self._forks) > self.size:
            del self._forks[next(iter(self._forks))]

    def is_fork(self, key: DialogKey) -> bool:
        """Whether the dialog ``key`` was made by an extra fork (and is still remembered)."""
        return key in self._forks

    def forget(self, key: DialogKey) -> None:
        """The fork's dialog is over."""
        self._forks.pop(key, None)
