"""A rule's ``match``: the conditions a request must meet for the rule to answer it."""

from __future__ import annotations

import re

from yaml.nodes import Node, ScalarNode

from sipfault.model.scenario import Match
from sipfault.scenario.header_maps import read_header_map
from sipfault.scenario.nodes import FLOAT, INT, STR, Fields
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
# Keys matched by a regex: (key, Match field, compile flags); a host ignores case.
_REGEX_KEYS = (
    ("user", "ruri_user", 0),
    ("host", "ruri_host", re.IGNORECASE),
    ("from_user", "from_user", 0),
    ("to_user", "to_user", 0),
    ("body", "body", 0),
)
_COUNTERS = ("first", "nth", "every")
# Each transport keyword and the lower-case name a Match holds.
_TRANSPORTS = {name: name for name in ("udp", "tcp", "tls")}
# RFC 4566 §5.14 and its registry; "image" carries T.38 fax (RFC 3362).
_MEDIA_TYPES = frozenset({"audio", "video", "text", "application", "message", "image"})
_PERCENT_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%")


class MatchReader:
    """Reads ``match`` mappings into ``Match``."""

    def __init__(self, nodes: ScalarReader) -> None:
        self.nodes = nodes

    def match(self, node: Node) -> Match | None:
        nodes = self.nodes
        pairs = nodes.mapping(node, "'match'", "in match", _MATCH_KEYS)
        if pairs is None:
            return None
        fields = Fields()
        if "method" in pairs:
            fields.put(
                "methods", nodes.set_of(pairs["method"][1], "'method'", "method", nodes.method)
            )
        for key, field_name, flags in _REGEX_KEYS:
            if key in pairs:
                fields.put(field_name, nodes.regex(pairs[key][1], f"'{key}'", flags))
        if "headers" in pairs:
            fields.put("headers", self._headers(pairs["headers"][1]))
        if "media" in pairs:
            fields.put(
                "media", nodes.set_of(pairs["media"][1], "'media'", "SDP media type", self._media)
            )
        if "transport" in pairs:
            transports = nodes.set_of(
                pairs["transport"][1], "'transport'", "transport", self._transport
            )
            fields.put("transports", transports)
        if "in_dialog" in pairs:
            fields.put("in_dialog", nodes.boolean(pairs["in_dialog"][1], "'in_dialog'"))
        counters = [key for key in _COUNTERS if key in pairs]
        for key in counters:
            fields.put(key, nodes.whole(pairs[key][1], f"'{key}'", 1))
        for key in counters[1:]:
            nodes.error(
                pairs[key][0],
                f"'{key}' cannot be combined with '{counters[0]}' "
                "(expected one counter per rule: first, nth or every)",
            )
            fields.ok = False
        if "probability" in pairs:
            fields.put("probability", self._probability(pairs["probability"][1]))
        if not fields.ok:
            return None
        return Match(**fields.values)  # type: ignore[arg-type]  # keys and types checked above

    def _media(self, node: Node) -> str | None:
        media = self.nodes.token(node, "media type", "SDP media type")
        if media is not None and media not in _MEDIA_TYPES:
            known = ", ".join(sorted(_MEDIA_TYPES))
            self.nodes.warn(
                node,
                f"media type {media!r} is not a known SDP media type "
                f"(known: {known}; T.38 fax is 'image')",
            )
        return media

    def _transport(self, node: Node) -> str | None:
        return self.nodes.keyword(
            node,
            "transport",
            _TRANSPORTS,
            unknown="transport",
            expected=f"one of: {', '.join(sorted(_TRANSPORTS))}",
        )

    def _probability(self, node: Node) -> float | None:
        expected = "a number from 0 to 1, or a percentage like 25%"
        value: float | None = None
        if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
            value = self.nodes.number(node, "'probability'")
            if value is None:
                return None
        elif isinstance(node, ScalarNode) and node.tag == STR:
            found = _PERCENT_RE.fullmatch(str(node.value).strip())
            if found is not None:
                value = float(found.group(1)) / 100
        if value is None:
            self.nodes.wrong_type(node, "'probability'", expected)
            return None
        if not 0.0 <= value <= 1.0:
            self.nodes.error(
                node, f"'probability' {node.value} is out of range (expected {expected})"
            )
            return None
        return value

    def _headers(self, node: Node) -> tuple[tuple[str, re.Pattern[str]], ...] | None:
        headers = read_header_map(self.nodes, node, self.nodes.regex)
        return None if headers is None else tuple(headers)
