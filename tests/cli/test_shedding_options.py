"""``--max-loop-lag``: milliseconds, a duration or ``off``; off unless asked for."""

from __future__ import annotations

import argparse

import pytest

from sipfault.cli import build_parser, parse_lag
from sipfault.config import ServerConfig


def test_run_sheds_by_loop_lag_only_when_asked() -> None:
    def lag(*options: str) -> float | None:
        args = build_parser().parse_args(["run", "scenarios/busy.yaml", *options])
        value: float | None = args.max_loop_lag
        return value

    assert lag() is None
    assert lag("--max-loop-lag", "500") == 0.5
    assert lag("--max-loop-lag", "off") is None
    assert lag("--max-loop-lag", "200") == 0.2
    assert lag("--max-loop-lag", "0.25s") == 0.25


def test_the_api_does_not_shed_unless_asked() -> None:
    assert ServerConfig().max_loop_lag is None


@pytest.mark.parametrize("text", ["0", "-5", "soon"])
def test_a_bad_lag_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_lag(text)
