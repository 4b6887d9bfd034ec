"""A rule's ``match``: the conditions a request must meet for the rule to answer it."""

from __future__ import annotations

import re

from yaml.nodes import Node, ScalarNode

from sipfault.model import validate
from sipfault.model.scenario import Match
from sipfault.scenario.header_maps import read_header_map
from sipfault.scenario.nodes import FLOAT, INT, STR
from sipfault.scenario.scalars import ScalarReader

__all__ = ["MatchReader"]

_MATCH_KEYS = (
    "method",
    "user",
    "host",
    "from_user",
    "to_user",
    "headers",
    "body",
    "media",
    "transport",
    "in_dialog",
    "first",
    "nth",
    "every",
    "probability",
)


class MatchReader:
    """Reads ``match`` mappings into ``Match``."""

    def __init__(self, nodes: ScalarReader) -> None:
        self.nodes = nodes

    def match(self, node: Node) -> Match | None:
        nodes = self.nodes
        match = nodes.section(node, "'match'", "in match", _MATCH_KEYS)
        if match is None:
            return None
        methods = match.get(
            "method", lambda n: nodes.set_of(n, "'method'", "method", nodes.method), None
        )
        ruri_user = match.get("user", lambda n: nodes.regex(n, "'user'"), None)
        # A host ignores case (RFC 3261 §19.1.4).
        ruri_host = match.get("host", lambda n: nodes.regex(n, "'host'", re.IGNORECASE), None)
        from_user = match.get("from_user", lambda n: nodes.regex(n, "'from_user'"), None)
        to_user = match.get("to_user", lambda n: nodes.regex(n, "'to_user'"), None)
        headers: tuple[tuple[str, re.Pattern[str]], ...] = match.get("headers", self._headers, ())
        body = match.get("body", lambda n: nodes.regex(n, "'body'"), None)
        media = match.get(
            "media", lambda n: nodes.set_of(n, "'media'", "SDP media type", self._media), None
        )
        transports = match.get(
            "transport",
            lambda n: nodes.set_of(n, "'transport'", "transport", self._transport),
            None,
        )
        in_dialog = match.get("in_dialog", lambda n: nodes.boolean(n, "'in_dialog'"), None)
        first = match.get("first", lambda n: nodes.whole(n, "'first'", 1), None)
        nth = match.get("nth", lambda n: nodes.whole(n, "'nth'", 1), None)
        every = match.get("every", lambda n: nodes.whole(n, "'every'", 1), None)
        counters = [key for key in validate.COUNTERS if key in match]
        for key in counters[1:]:
            match.check(nodes.holds(match.key_node(key), validate.counters, [counters[0], key]))
        probability = match.get("probability", self._probability, None)
        if not match.ok:
            return None
        return Match(
            methods=methods,
            ruri_user=ruri_user,
            ruri_host=ruri_host,
            from_user=from_user,
            to_user=to_user,
            headers=headers,
            body=body,
            media=media,
            transports=transports,
            in_dialog=in_dialog,
            first=first,
            nth=nth,
            every=every,
            probability=probability,
        )

    def _media(self, node: Node) -> str | None:
        media = self.nodes.checked_text(node, "media type", "SDP media type", validate.media_type)
        advice = None if media is None else validate.media_type_advice(media)
        if advice is not None:
            self.nodes.warn(node, advice)
        return media

    def _transport(self, node: Node) -> str | None:
        return self.nodes.checked_text(node, "transport", "text", validate.transport)

    def _probability(self, node: Node) -> float | None:
        value: float | int | str | None = None
        if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
            value = self.nodes.number(node, "'probability'")
        elif isinstance(node, ScalarNode) and node.tag == STR:
            value = str(node.value)
        else:
            self.nodes.wrong_type(node, "'probability'", validate.PROBABILITY_HINT)
        return None if value is None else self.nodes.checked(node, validate.probability, value)

    def _headers(self, node: Node) -> tuple[tuple[str, re.Pattern[str]], ...] | None:
        headers = read_header_map(self.nodes, node, self.nodes.regex)
        return None if headers is None else tuple(headers)
