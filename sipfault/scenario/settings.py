"""The settings sections ``timers``, ``defaults`` and ``registrar``, and how they fit together."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node

from sipfault.model.scenario import (
    ForcedExpiry,
    RegistrarFailure,
    RegistrarSettings,
    ResponseDefaults,
    Timers,
)
from sipfault.scenario.nodes import MAP, Pairs
from sipfault.scenario.replies import ReplyReader
from sipfault.scenario.scalars import ScalarReader
from sipfault.sip.codes import RETRY_AFTER_CODES

__all__ = ["SettingsReader"]

# RFC 4028 §5: Min-SE "MUST NOT be less than 90 seconds".
_LEAST_MIN_SE = 90


class SettingsReader:
    """Reads the timer, response default and registrar sections into their settings."""

    def __init__(self, nodes: ScalarReader, replies: ReplyReader) -> None:
        self.nodes = nodes
        self.replies = replies

    # -- timers ------------------------------------------------------------------------------

    def timers(self, node: Node) -> Timers | None:
        nodes = self.nodes
        values = nodes.section(
            node,
            "'timers'",
            "in timers",
            {
                "t1": ("t1", lambda n: nodes.positive_duration(n, "'t1'")),
                "t2": ("t2", lambda n: nodes.positive_duration(n, "'t2'")),
                "t4": ("t4", lambda n: nodes.positive_duration(n, "'t4'")),
            },
        )
        if values is None:
            return None
        timers = Timers(**values)  # type: ignore[arg-type]  # keys and types checked
        if timers.t2 < timers.t1:
            nodes.warn(
                node,
                f"t2 ({timers.t2:g}s) is shorter than t1 ({timers.t1:g}s); "
                "RFC 3261 §17.1.2.2 expects T2 >= T1",
            )
        return timers

    # -- response defaults -------------------------------------------------------------------

    def defaults(self, node: Node) -> ResponseDefaults | None:
        nodes = self.nodes
        values = nodes.section(
            node,
            "'defaults'",
            "in defaults",
            {
                "retry_after": ("retry_after", self._retry_after),
                "min_expires": ("min_expires", lambda n: nodes.seconds(n, "'min_expires'", 1)),
                "min_se": ("min_se", self._min_se),
                "require": ("require", lambda n: nodes.tokens(n, "'require'", "option tag")),
                "allow_events": (
                    "allow_events",
                    lambda n: nodes.tokens(n, "'allow_events'", "event package"),
                ),
                "reliable": ("reliable", lambda n: nodes.boolean(n, "'reliable'")),
                "require_100rel": (
                    "require_100rel",
                    lambda n: nodes.boolean(n, "'require_100rel'"),
                ),
                "realm": ("realm", lambda n: nodes.printable(n, "'realm'", "a realm name")),
            },
        )
        if values is None:
            return None
        return ResponseDefaults(**values)  # type: ignore[arg-type]  # keys and types checked

    def _retry_after(self, node: Node) -> tuple[tuple[int, int], ...] | None:
        """``{486: 30, 503: 120}``: Retry-After seconds per code (RFC 3261 §20.33)."""
        nodes = self.nodes
        pairs = nodes.nonempty_mapping(
            node,
            "'retry_after'",
            "in retry_after",
            "status codes and seconds, like {503: 120}",
        )
        if pairs is None:
            return None
        result: list[tuple[int, int]] = []
        seen: dict[int, Node] = {}
        ok = True
        for key, (key_node, value_node) in pairs.items():
            code = nodes.status(key_node, "'retry_after' code")
            seconds = nodes.seconds(value_node, f"Retry-After of {key}", 0)
            if code is not None and code in seen:
                nodes.error(
                    key_node,
                    f"code {code} is also given at {nodes.at(seen[code])} (expected each once)",
                )
                code = None
            if code is None or seconds is None:
                ok = False
                continue
            seen[code] = key_node
            if code not in RETRY_AFTER_CODES:
                allowed = ", ".join(str(c) for c in sorted(RETRY_AFTER_CODES))
                nodes.warn(
                    key_node,
                    f"Retry-After is not defined for {code} (RFC 3261 §20.33 allows it on "
                    f"{allowed}); it is sent anyway",
                )
            result.append((code, seconds))
        return tuple(result) if ok else None

    def _min_se(self, node: Node) -> int | None:
        seconds = self.nodes.seconds(node, "'min_se'", 1)
        if seconds is not None and seconds < _LEAST_MIN_SE:
            self.nodes.warn(
                node,
                f"'min_se' {seconds} is below the {_LEAST_MIN_SE} seconds RFC 4028 §5 allows; "
                "it is sent anyway",
            )
        return seconds

    # -- registrar ---------------------------------------------------------------------------

    def registrar(self, node: Node) -> RegistrarSettings | None:
        nodes = self.nodes
        values = nodes.section(
            node,
            "'registrar'",
            "in registrar",
            {
                "default_expires": (
                    "default_expires",
                    lambda n: nodes.seconds(n, "'default_expires'", 1),
                ),
                "max_expires": ("max_expires", lambda n: nodes.seconds(n, "'max_expires'", 1)),
                "grant_expires": (
                    "grant_expires",
                    lambda n: nodes.seconds(n, "'grant_expires'", 0),
                ),
                "fail_first": ("failures", self._failures),
                "expire": ("forced_expiry", self._expiries),
            },
        )
        if values is None:
            return None
        return RegistrarSettings(**values)  # type: ignore[arg-type]  # keys and types checked

    def _failures(self, node: Node) -> tuple[RegistrarFailure, ...] | None:
        failures = self.nodes.one_or_many(
            node,
            "'fail_first'",
            "failure like {count: 1, code: 503}",
            self._failure,
            single=MappingNode,
        )
        return None if failures is None else tuple(failures)

    def _failure(self, node: Node) -> RegistrarFailure | None:
        nodes = self.nodes
        values = nodes.section(
            node,
            "a 'fail_first' entry",
            "in fail_first",
            {
                "count": ("count", lambda n: nodes.whole(n, "'count'", 1)),
                "code": ("code", lambda n: nodes.status(n, "'code'", 300)),
                "reason": ("reason", self.replies.reason),
                "headers": ("headers", self.replies.headers),
            },
            required=(
                "code",
                "'fail_first' entry has no 'code' (expected a status code 300-699, "
                "like {count: 1, code: 503})",
            ),
        )
        if values is None:
            return None
        values.setdefault("count", 1)
        return RegistrarFailure(**values)  # type: ignore[arg-type]  # keys and types checked

    def _expiries(self, node: Node) -> tuple[ForcedExpiry, ...] | None:
        expiries = self.nodes.one_or_many(
            node, "'expire'", "forced expiry like {after: 30s}", self._expiry, single=MappingNode
        )
        return None if expiries is None else tuple(expiries)

    def _expiry(self, node: Node) -> ForcedExpiry | None:
        nodes = self.nodes
        values = nodes.section(
            node,
            "an 'expire' entry",
            "in expire",
            {
                "after": ("after", lambda n: nodes.duration(n, "'after'")),
                "user": ("aor_user", lambda n: nodes.regex(n, "'user'")),
            },
            required=(
                "after",
                "'expire' entry has no 'after' (expected when to drop the bindings, like "
                "{after: 30s})",
            ),
        )
        if values is None:
            return None
        return ForcedExpiry(**values)  # type: ignore[arg-type]  # keys and types checked

    # -- consistency -------------------------------------------------------------------------

    def check_expires_bounds(
        self, top: Pairs, defaults: ResponseDefaults, registrar: RegistrarSettings
    ) -> bool:
        """The registrar's minimum (``defaults.min_expires``) and maximum must leave a range."""
        nodes = self.nodes
        min_node = self._setting_node(top, "defaults", "min_expires")
        max_node = self._setting_node(top, "registrar", "max_expires")
        default_node = self._setting_node(top, "registrar", "default_expires")
        if defaults.min_expires > registrar.max_expires:
            where = max_node or min_node
            if where is not None:
                nodes.error(
                    where,
                    f"'min_expires' ({defaults.min_expires}) is above the registrar's "
                    f"'max_expires' ({registrar.max_expires}) (expected min_expires <= "
                    "max_expires, or no expiry could ever be granted)",
                )
                return False
        if registrar.default_expires > registrar.max_expires:
            where = default_node or max_node
            if where is not None:
                nodes.warn(
                    where,
                    f"'default_expires' ({registrar.default_expires}) is above 'max_expires' "
                    f"({registrar.max_expires}); a REGISTER without an expiry gets "
                    f"{registrar.max_expires}",
                )
        return True

    def _setting_node(self, top: Pairs, section: str, key: str) -> Node | None:
        """The value node of ``section.key`` when the file gives one."""
        if section not in top:
            return None
        section_node = top[section][1]
        if not isinstance(section_node, MappingNode) or section_node.tag != MAP:
            return None
        pair = self.nodes.pairs(section_node).get(key)
        return None if pair is None else pair[1]
