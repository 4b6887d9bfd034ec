"""``sipfault run`` sheds load by loop lag unless told not to; the API leaves it off."""

from __future__ import annotations

import argparse

import pytest

from sipfault.cli import RUN_MAX_LOOP_LAG, build_parser, parse_lag
from sipfault.config import ServerConfig


def test_run_sheds_at_t1_of_lag_by_default_and_off_turns_it_off() -> None:
    def lag(*options: str) -> float | None:
        args = build_parser().parse_args(["run", "scenarios/busy.yaml", *options])
        value: float | None = args.max_loop_lag
        return value

    assert lag() == RUN_MAX_LOOP_LAG == 0.5
    assert lag("--max-loop-lag", "off") is None
    assert lag("--max-loop-lag", "200") == 0.2
    assert lag("--max-loop-lag", "0.25s") == 0.25


def test_the_api_does_not_shed_unless_asked() -> None:
    assert ServerConfig().max_loop_lag is None


@pytest.mark.parametrize("text", ["0", "-5", "soon"])
def test_a_bad_lag_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_lag(text)
