"""The stream under a journal or pcap writer: written under a lock, closed once."""

from __future__ import annotations

import threading
from typing import IO, Any


class GuardedStream:
    """A writer's stream: ``_lock`` guards every write, :meth:`close` runs once.

    A writer made on a caller's stream leaves it open at :meth:`close` (and flushes it); one
    that opened the file itself (``_owns_stream``) closes it.
    """

    def __init__(self, stream: IO[Any]) -> None:
        self._stream = stream
        self._owns_stream = False
        self._closed = False
        self._lock = threading.Lock()

    def close(self) -> None:
        """Flush, and close the stream if :meth:`open` created it. Closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_stream:
                self._stream.close()
            else:
                self._stream.flush()
