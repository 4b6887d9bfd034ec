"""What the benchmarks read about a process under test from Linux's /proc, and percentiles.

CPU time is the process's own user and system time (`utime` and `stime`, fields 14 and 15 of
/proc/PID/stat, in clock ticks); memory is the resident set size now (`VmRSS`) and its peak
since the process started (`VmHWM`) from /proc/PID/status. Reading them costs the process
nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time `pid` has used so far, in seconds (its threads included)."""
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS_PER_SECOND


def memory_kib(pid: int, name: str = "VmRSS") -> int:
    """A memory line of /proc/PID/status in KiB: "VmRSS" (resident now) or "VmHWM" (peak)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise ValueError(f"/proc/{pid}/status has no {name} line")


def command_line(pid: int) -> list[str]:
    """The process's argv, to check that the process measured is the server itself."""
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return [arg.decode(errors="replace") for arg in handle.read().split(b"\0") if arg]


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of `values` (already sorted): the smallest value that at least
    `share` of them do not exceed; so the 99.9th of 30,000 values is the 30th largest."""
    if not values:
        raise ValueError("no values")
    rank = max(math.ceil(share * len(values)), 1)
    return values[rank - 1]
