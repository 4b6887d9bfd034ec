"""Bounded memos of pure results: the one cache sipfault keeps.

Clients repeat the same lines message after message (the Request-Line, Max-Forwards, Contact,
the CSeq of every INVITE, the From and Call-ID of a whole call), so reading a line once and
keeping what was read saves most of the parsing. A memo here only ever holds the result of a
pure function of its key (a parse of immutable text, a value built from a few strings): the
same key gives the same result whichever server, thread or call asks, so every memo is
process-wide. Nothing that belongs to one server (dialogs, transactions, registrations) is
kept in a memo.

Every memo is bounded twice, because a peer chooses the keys: in entries (when full it is
emptied, which costs a few misses and keeps what is in use) and in key length (a key longer
than ``longest`` is never kept, or distinct 60 KB values would pin hundreds of MiB).

Thread safety: a memo is a dict read and written with single ``dict`` operations, each atomic
in CPython; two threads filling a memo at once may both empty it or overshoot the bound by an
entry each, never corrupt it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import wraps
from typing import Any, Generic, TypeVar
from weakref import WeakSet

_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")

_MEMOS: WeakSet[Memo[Any, Any]] = WeakSet()  # a memo made in a function goes with it


class Memo(Generic[_Key, _Value]):
    """Results by key: at most ``entries`` of them, for keys whose ``size`` is at most ``longest``.

    ``size`` measures what a key holds that a peer chose (``len`` for text and bytes; the
    length of the peer's part of a composite key).

    ``memo.get(key)`` is the dict's own ``get`` (None when absent): the lookup is the hot path,
    so it costs what a plain dict costs. ``remember`` keeps a result; when the memo is full it
    is emptied first. Results are never None (None means "not kept").
    """

    __slots__ = ("__weakref__", "_results", "entries", "get", "longest", "name", "size")

    def __init__(
        self, name: str, *, entries: int, longest: int, size: Callable[[_Key], int]
    ) -> None:
        self.name = name
        """What the memo holds, for reports and tests."""
        self.entries = entries
        """Most results held at once."""
        self.longest = longest
        """Largest key kept, as ``size`` measures it; a larger one is looked up, never kept."""
        self.size = size
        """The measure of a key that ``longest`` bounds."""
        self._results: dict[_Key, _Value] = {}
        # Bound once: the dict is emptied in place, never replaced.
        self.get: Callable[[_Key], _Value | None] = self._results.get
        _MEMOS.add(self)

    def remember(self, key: _Key, value: _Value) -> None:
        """Keep ``value`` for ``key`` when the key is small enough, emptying a full memo."""
        if self.size(key) <= self.longest:
            results = self._results
            if len(results) >= self.entries:
                results.clear()
            results[key] = value

    def clear(self) -> None:
        """Forget every result."""
        self._results.clear()

    def __len__(self) -> int:
        return len(self._results)

    def __repr__(self) -> str:
        return f"<Memo {self.name}: {len(self)}/{self.entries}>"


def memos() -> tuple[Memo[Any, Any], ...]:
    """Every memo in use, for tests and diagnostics."""
    return tuple(_MEMOS)


def clear_memos() -> None:
    """Empty every memo (tests that count parses, a server that wants its memory back)."""
    for memo in _MEMOS:
        memo.clear()


def memoised(
    name: str, *, entries: int, longest: int
) -> Callable[[Callable[[str], _Value]], Callable[[str], _Value]]:
    """Decorate a parser of one text value so that its results are kept in a :class:`Memo`.

    A call that raises keeps nothing, and raises again the next time.
    """

    def decorate(function: Callable[[str], _Value]) -> Callable[[str], _Value]:
        memo: Memo[str, _Value] = Memo(name, entries=entries, longest=longest, size=len)
        get = memo.get
        remember = memo.remember

        @wraps(function)
        def parse(value: str, /) -> _Value:
            result = get(value)
            if result is None:
                result = function(value)
                remember(value, result)
            return result

        return parse

    return decorate
