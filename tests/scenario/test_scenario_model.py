"""The model's small helpers: placeholders, equality, immutability."""

from __future__ import annotations

import dataclasses
import re

import pytest

from sipfault.scenario import (
    PLACEHOLDERS,
    Match,
    Reply,
    Rule,
    Scenario,
    SourceLocation,
    Timers,
    fill_placeholders,
)

VALUES = {
    "to_user": "bob",
    "from_user": "alice",
    "call_id": "a84b4c76e66710",
    "ruri_user": "486",
    "local_host": "127.0.0.1",
    "local_port": "5060",
}


def test_every_placeholder_is_filled() -> None:
    assert set(VALUES) == PLACEHOLDERS
    text = "{to_user} {from_user} {call_id} {ruri_user} {local_host}:{local_port}"
    assert fill_placeholders(text, VALUES) == "bob alice a84b4c76e66710 486 127.0.0.1:5060"


def test_other_braces_stay_as_written() -> None:
    body = '{"user": "{to_user}", "n": {1}, "x": {unknown}, "y": {{to_user}}}'
    assert (
        fill_placeholders(body, VALUES) == '{"user": "bob", "n": {1}, "x": {unknown}, "y": {bob}}'
    )


def test_substitution_is_text_only_never_evaluated_nor_rescanned() -> None:
    hostile = {"to_user": "{from_user}", "from_user": "{0.__class__}"}
    assert fill_placeholders("{to_user}/{from_user}", hostile) == "{from_user}/{0.__class__}"
    assert fill_placeholders("{to_user.__class__} {0} {}", VALUES) == "{to_user.__class__} {0} {}"


def test_timers_default_to_rfc_3261_values() -> None:
    assert Timers() == Timers(t1=0.5, t2=4.0, t4=5.0)


def test_locations_do_not_take_part_in_equality() -> None:
    here = SourceLocation("a.yaml", 3, 5)
    there = SourceLocation("b.yaml", 9, 1)
    assert Reply(486, location=here) == Reply(486, location=there)
    assert Rule(Match(), (Reply(200),), location=here) == Rule(Match(), (Reply(200),))
    assert str(here) == "a.yaml:3:5"


def test_models_are_frozen_and_hashable() -> None:
    match = Match(methods=frozenset({"INVITE"}), ruri_user=re.compile("486"))
    scenario = Scenario(name="x", rules=(Rule(match, (Reply(486),)),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.name = "y"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.first = 2  # type: ignore[misc]
    assert hash(scenario) == hash(Scenario(name="x", rules=(Rule(match, (Reply(486),)),)))


def test_unconditional_match() -> None:
    assert Match().unconditional
    assert not Match(methods=frozenset({"INVITE"})).unconditional
    assert not Match(headers=(("Subject", re.compile("x")),)).unconditional
    assert not Match(in_dialog=False).unconditional
    assert not Match(probability=0.5).unconditional
    assert not Match(every=2).unconditional


def test_final_and_provisional_replies() -> None:
    assert not Reply(100).is_final
    assert not Reply(199).is_final
    assert Reply(200).is_final
    assert Reply(603).is_final
