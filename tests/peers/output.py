"""Collect a child process's output on a thread so its pipe never fills and lines can be awaited."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from typing import IO


class LineCollector:
    """Reads text lines from a stream on a daemon thread; other threads wait for patterns."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self._stream = stream
        self._lines: list[str] = []
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, name=name, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for line in self._stream:
                with self._cond:
                    self._lines.append(line.rstrip("\r\n"))
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass  # the stream was closed under us: the process is gone
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    @property
    def lines(self) -> list[str]:
        """A copy of the lines read so far."""
        with self._cond:
            return list(self._lines)

    @property
    def text(self) -> str:
        """Everything read so far, newline-joined."""
        return "\n".join(self.lines)

    def wait_for(
        self, pattern: re.Pattern[str], timeout: float, start: int = 0
    ) -> re.Match[str] | None:
        """First match of `pattern` in a line at index >= `start`, waiting up to `timeout` s.

        Returns None on timeout or when the stream ends without a match.
        """
        deadline = time.monotonic() + timeout
        index = start
        with self._cond:
            while True:
                while index < len(self._lines):
                    match = pattern.search(self._lines[index])
                    index += 1
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def join(self, timeout: float) -> None:
        """Wait (bounded) for the reader to reach end of stream."""
        self._thread.join(timeout)


def spawn(
    command: list[str], cwd: str | os.PathLike[str], env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `command` without a keyboard, its output piped as text for a `LineCollector`."""
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
