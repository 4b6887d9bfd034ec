"""The scenario engine: which rule answers a request (DESIGN: rules tried in order).

A rule's conditions are checked first; its counter (``first``, ``nth``, ``every``) counts the
requests that met them, and ``probability`` draws from a generator seeded by the scenario, so a
run can be repeated exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from sipfault.core.capabilities import allowed_methods
from sipfault.core.events import Peer
from sipfault.model.scenario import Match, Rule, Scenario
from sipfault.sip.address import parse_address
from sipfault.sip.errors import SipParseError
from sipfault.sip.frozen import quick_init
from sipfault.sip.message import Request
from sipfault.sip.sdp import media_types
from sipfault.sip.uri import Uri


@quick_init
@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What rules match on, read once per request."""

    request: Request
    ruri: Uri
    peer: Peer
    in_dialog: bool

    @property
    def ruri_user(self) -> str:
        """Request-URI user, %-decoded; "" when none."""
        return self.ruri.user_unescaped

    def address_user(self, header: str) -> str:
        """User part of the From or To URI; "" when none or unreadable."""
        value = self.request.headers.get(header)
        if value is None:
            return ""
        try:
            return parse_address(value).uri.user_unescaped
        except SipParseError:
            return ""


class ScenarioEngine:
    """Holds the scenario, the rules' counters and the seeded generator."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = seed if seed is not None else (
            scenario.seed if scenario.seed is not None else random.SystemRandom().randrange(2**32)
        )
        self._random = random.Random(self.seed)
        self._counts: dict[int, int] = {}
        self.allow = ", ".join(allowed_methods(self.methods))
        """The Allow list of this scenario (RFC 3261 §20.5), kept ready."""

    def replace(self, scenario: Scenario) -> None:
        """Use new rules from now on; counters start again."""
        self.scenario = scenario
        self._counts.clear()
        self.allow = ", ".join(allowed_methods(self.methods))

    def append(self, rule: Rule) -> None:
        """Add a rule after the others; the earlier rules keep their counters (and places)."""
        self.scenario = replace(self.scenario, rules=(*self.scenario.rules, rule))
        self.allow = ", ".join(allowed_methods(self.methods))

    @property
    def methods(self) -> frozenset[str] | None:
        """Methods some rule names; None when a rule matches any method."""
        named: set[str] = set()
        for rule in self.scenario.rules:
            if rule.match.methods is None:
                return None
            named |= rule.match.methods
        return frozenset(named)

    def select(self, facts: RequestFacts) -> Rule | None:
        """The first rule whose match holds, advancing counters of the rules it checks."""
        for index, rule in enumerate(self.scenario.rules):
            if self._holds(index, rule.match, facts):
                return rule
        return None

    def _holds(self, index: int, match: Match, facts: RequestFacts) -> bool:
        if not _conditions_hold(match, facts):
            return False
        if match.first is not None or match.nth is not None or match.every is not None:
            count = self._counts.get(index, 0) + 1
            self._counts[index] = count
            if match.first is not None and count > match.first:
                return False
            if match.nth is not None and count != match.nth:
                return False
            if match.every is not None and count % match.every != 0:
                return False
        return match.probability is None or self._random.random() < match.probability


def _conditions_hold(match: Match, facts: RequestFacts) -> bool:
    request = facts.request
    if match.methods is not None and request.method not in match.methods:
        return False
    if match.transports is not None and facts.peer.transport not in match.transports:
        return False
    if match.in_dialog is not None and match.in_dialog != facts.in_dialog:
        return False
    if match.ruri_user is not None and match.ruri_user.fullmatch(facts.ruri_user) is None:
        return False
    if match.ruri_host is not None and match.ruri_host.fullmatch(facts.ruri.host) is None:
        return False
    if match.from_user is not None and match.from_user.fullmatch(
        facts.address_user("From")
    ) is None:
        return False
    if match.to_user is not None and match.to_user.fullmatch(facts.address_user("To")) is None:
        return False
    for name, pattern in match.headers:
        if not any(pattern.search(value) for value in request.headers.lines(name)):
            return False
    if match.body is not None and match.body.search(
        request.body.decode("utf-8", "replace")
    ) is None:
        return False
    return match.media is None or bool(match.media & media_types(request.body))
