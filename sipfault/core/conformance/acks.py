"""ACKs that match only leniently: what the client evidently meant, and what it got wrong.

- The ACK of a 3xx-6xx belongs to the INVITE's transaction and carries its branch
  (RFC 3261 §17.1.1.3). One with another branch matches no transaction; found here by Call-ID,
  From tag and CSeq number, it still ends the transaction (``ack-branch-mismatch``), so the
  final response is not re-sent until Timer H for nothing.
- The ACK of a 2xx belongs to the dialog and carries the 2xx's To tag and the INVITE's CSeq
  number (§13.2.2.4). One with another To tag matches no dialog; found here by Call-ID and From
  tag among the dialogs awaiting an ACK, it still stops the 2xx's retransmission
  (``ack-wrong-to-tag``). One with another CSeq number is ``ack-wrong-cseq``.

Both tables are bounded, and hold keys rather than the transactions and dialogs themselves;
entries are dropped when their transaction ends or their ACK comes.
"""

from __future__ import annotations

from typing import TypeVar

from sipfault.core.dialogs import Dialog, DialogKey
from sipfault.core.transactions import TransactionKey
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request

__all__ = ["AckIndex"]

_RejectedKey = tuple[str, str, int]
K = TypeVar("K")
V = TypeVar("V")


class AckIndex:
    """Rejected INVITE transactions and unacknowledged 2xx dialogs, by their lenient keys."""

    __slots__ = ("_dialogs", "_rejected", "size")

    def __init__(self, size: int = 65536) -> None:
        self.size = size
        self._rejected: dict[_RejectedKey, TransactionKey] = {}
        self._dialogs: dict[tuple[str, str], DialogKey] = {}

    def __len__(self) -> int:
        return len(self._rejected) + len(self._dialogs)

    def rejected(self, invite: Request, key: TransactionKey) -> None:
        """A 3xx-6xx went to ``invite`` (its transaction ``key``): its ACK may come."""
        lenient = _rejected_key(invite)
        if lenient is not None:
            self._rejected[lenient] = key
            _bound(self._rejected, self.size)

    def ended(self, request: Request, key: TransactionKey) -> None:
        """The transaction of ``request`` ended: its ACK can no longer come."""
        if not self._rejected:  # no INVITE refused lately: nothing to read of the request
            return
        lenient = _rejected_key(request) if request.method == "INVITE" else None
        if lenient is not None and self._rejected.get(lenient) == key:
            del self._rejected[lenient]

    def find_rejected(self, ack: Request) -> TransactionKey | None:
        """The rejected INVITE transaction an ACK with another branch was meant for."""
        lenient = _rejected_key(ack)
        return None if lenient is None else self._rejected.get(lenient)

    def awaiting(self, dialog: Dialog) -> None:
        """A 2xx for ``dialog`` went out: its ACK may come."""
        self._dialogs[(dialog.call_id, dialog.remote_tag)] = dialog.key
        _bound(self._dialogs, self.size)

    def settled(self, dialog: Dialog) -> None:
        """The ACK of ``dialog``'s 2xx came (or the dialog ended)."""
        lenient = (dialog.call_id, dialog.remote_tag)
        if self._dialogs.get(lenient) == dialog.key:
            del self._dialogs[lenient]

    def find_dialog(self, ack: Request) -> DialogKey | None:
        """The key of the dialog awaiting an ACK that this ACK, with another To tag, was
        meant for (the caller checks that it is still awaiting it)."""
        try:
            return self._dialogs.get((ack.call_id, ack.from_.tag or ""))
        except SipParseError:
            return None


def _rejected_key(request: Request) -> _RejectedKey | None:
    try:
        return (request.call_id, request.from_.tag or "", request.cseq[0])
    except SipParseError:
        return None


def _bound(table: dict[K, V], size: int) -> None:
    while len(table) > size:
        del table[next(iter(table))]
