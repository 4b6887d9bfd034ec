"""Small HTML helpers: escaping, times, and a tag for a value."""

from __future__ import annotations

import datetime
import html

__all__ = ["clock", "date_time", "duration", "esc", "relative", "shorten", "token"]


def esc(value: object) -> str:
    """Text escaped for HTML and SVG, quotes included (safe in attribute values)."""
    return html.escape(str(value), quote=True)


def clock(wall: float) -> str:
    """``21:21:34.065``: local time of day to the millisecond."""
    return datetime.datetime.fromtimestamp(wall).strftime("%H:%M:%S.%f")[:-3]


def date_time(wall: float) -> str:
    """``2026-12-07 21:21:34``: local date and time."""
    return datetime.datetime.fromtimestamp(wall).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def relative(time: float, start: float) -> str:
    """``+1.250s``: seconds since ``start``."""
    return f"+{time - start:.3f}s"


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def token(text: object) -> str:
    """A value as a filter token: lower case, no spaces."""
    return "".join(str(text).lower().split())
