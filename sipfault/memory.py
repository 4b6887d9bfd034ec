"""Giving memory back to the system once a load is over.

CPython frees small objects into its own arenas, and an arena goes back to the system only
once every object in it is gone; what glibc's malloc holds for larger blocks goes back only on
``malloc_trim``. After a load, the endpoint empties the parse memos (whose survivors would pin
arenas), collects, and asks glibc to trim, so a long-running bench endpoint returns near its
idle size instead of staying at its peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Callable
from functools import cache

from sipfault.sip.memo import clear_memos

__all__ = ["give_back"]


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None elsewhere (musl, macOS)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def give_back() -> None:
    """Empty the memos, collect every generation, and trim the C heap where glibc allows."""
    clear_memos()
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
