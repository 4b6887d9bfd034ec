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


def add_stream_limit_options(run: argparse.ArgumentParser) -> None:
    """The limits of TCP and TLS connections (:class:`StreamLimits`)."""
    default = DEFAULT_STREAM_LIMITS
    run.add_argument("--tcp-max-connections", type=parse_count, metavar="N",
                     default=default.max_connections,
                     help="TCP and TLS connections open at once; more are closed unread "
                     "(default %(default)s)")
    run.add_argument("--tcp-max-per-source", type=parse_count, metavar="N",
                     default=default.max_per_source,
                     help="TCP and TLS connections open at once from one address "
                     "(default %(default)s)")
    run.add_argument("--tcp-idle-timeout", type=_duration_for("--tcp-idle-timeout"),
                     metavar="DURATION", default=default.idle_timeout,
                     help="close a TCP or TLS connection idle this long; CRLF keep-alives "
                     "count (default %(default)gs)")
    run.add_argument("--tcp-header-timeout", type=_duration_for("--tcp-header-timeout"),
                     metavar="DURATION", default=default.header_timeout,
                     help="close a connection whose message header is not complete this long "
                     "after its first byte (default %(default)gs)")
    run.add_argument("--tcp-write-buffer", type=parse_count, metavar="BYTES",
                     default=default.write_buffer,
                     help="abort a connection whose peer leaves this many bytes unread "
                     "(default %(default)s)")


def stream_limits(args: argparse.Namespace) -> StreamLimits:
    """The limits the options parsed by :func:`add_stream_limit_options` give."""
    return StreamLimits(
        max_connections=args.tcp_max_connections, max_per_source=args.tcp_max_per_source,
        idle_timeout=args.tcp_idle_timeout, header_timeout=args.tcp_header_timeout,
        write_buffer=args.tcp_write_buffer)
