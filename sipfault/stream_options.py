"""The ``sipfault run`` options of the limits on TCP and TLS connections (``--tcp-...``).

They apply to TLS too, which runs over TCP; :class:`~sipfault.transport.limits.StreamLimits`
says what each limit does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sipfault.model.validate import InvalidValue, positive_duration
from sipfault.transport.limits import DEFAULT_STREAM_LIMITS, StreamLimits

__all__ = ["add_stream_limit_options", "stream_limits"]


def _duration_for(option: str) -> Callable[[str], float]:
    """The parser of a duration option (``10s``, ``500ms``) that names it when it fails."""
    def parse(text: str) -> float:
        try:
            return positive_duration(text, option)
        except InvalidValue as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def parse_count(text: str) -> int:
    """A whole number above 0."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} (expected a whole number above 0)")
    return int(text)


_OPTIONS = (
    ("--tcp-max-connections", "max_connections", "N",
     "TCP and TLS connections open at once; more are closed unread"),
    ("--tcp-max-per-source", "max_per_source", "N",
     "TCP and TLS connections open at once from one address; more are closed unread"),
    ("--tcp-idle-timeout", "idle_timeout", "DURATION",
     "close a TCP or TLS connection idle this long; CRLF keep-alives count"),
    ("--tcp-header-timeout", "header_timeout", "DURATION",
     "close a connection whose message header is not complete this long after its first byte"),
    ("--tcp-write-buffer", "write_buffer", "BYTES",
     "abort a connection whose peer leaves this many bytes unread"),
)
"""Each option, the :class:`StreamLimits` field it sets, its metavar and what it does."""


def add_stream_limit_options(run: argparse.ArgumentParser) -> None:
    """The limits of TCP and TLS connections (:class:`StreamLimits`), defaults shown."""
    for option, field, metavar, text in _OPTIONS:
        default = getattr(DEFAULT_STREAM_LIMITS, field)
        duration = metavar == "DURATION"
        run.add_argument(option, dest=field, metavar=metavar, default=default,
                         type=_duration_for(option) if duration else parse_count,
                         help=f"{text} (default {default:g}s)" if duration
                         else f"{text} (default {default})")


def stream_limits(args: argparse.Namespace) -> StreamLimits:
    """The limits the options parsed by :func:`add_stream_limit_options` give."""
    return StreamLimits(**{field: getattr(args, field) for _, field, _, _ in _OPTIONS})
