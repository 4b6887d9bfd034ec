"""The settings sections ``timers``, ``defaults``, ``registrar`` and ``unmatched``, and how they
fit together."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from sipfault.model import validate
from sipfault.model.scenario import (
    ForcedExpiry,
    RegistrarFailure,
    RegistrarSettings,
    ResponseDefaults,
    Timers,
    UnmatchedAnswer,
)
from sipfault.scenario.nodes import INT, MAP, Pairs
from sipfault.scenario.replies import ReplyReader
from sipfault.scenario.scalars import ScalarReader
from sipfault.sip.codes import RETRY_AFTER_CODES

__all__ = ["SettingsReader"]

# RFC 4028 §5: Min-SE "MUST NOT be less than 90 seconds".
_LEAST_MIN_SE = 90
_DEFAULTS_KEYS = (
    "retry_after",
    "min_expires",
    "min_se",
    "require",
    "allow_events",
    "reliable",
    "require_100rel",
    "realm",
)
# `fail_first` and `expire` fill RegistrarSettings.failures and .forced_expiry.
_REGISTRAR_KEYS = ("default_expires", "max_expires", "grant_expires", "fail_first", "expire")


class SettingsReader:
    """Reads the timer, response default and registrar sections into their settings."""

    def __init__(self, nodes: ScalarReader, replies: ReplyReader) -> None:
        self.nodes = nodes
        self.replies = replies

    # -- timers ------------------------------------------------------------------------------

    def timers(self, node: Node) -> Timers | None:
        nodes = self.nodes
        section = nodes.section(node, "'timers'", "in timers", ("t1", "t2", "t4"))
        if section is None:
            return None
        default = Timers()
        timers = Timers(
            t1=section.get("t1", lambda n: nodes.positive_duration(n, "'t1'"), default.t1),
            t2=section.get("t2", lambda n: nodes.positive_duration(n, "'t2'"), default.t2),
            t4=section.get("t4", lambda n: nodes.positive_duration(n, "'t4'"), default.t4),
        )
        if not section.ok:
            return None
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
        section = nodes.section(node, "'defaults'", "in defaults", _DEFAULTS_KEYS)
        if section is None:
            return None
        default = ResponseDefaults()
        defaults = ResponseDefaults(
            retry_after=section.get("retry_after", self._retry_after, default.retry_after),
            min_expires=section.get(
                "min_expires", lambda n: nodes.seconds(n, "'min_expires'", 1), default.min_expires
            ),
            min_se=section.get("min_se", self._min_se, default.min_se),
            require=section.get(
                "require", lambda n: nodes.tokens(n, "'require'", "option tag"), default.require
            ),
            allow_events=section.get(
                "allow_events",
                lambda n: nodes.tokens(n, "'allow_events'", "event package"),
                default.allow_events,
            ),
            reliable=section.get(
                "reliable", lambda n: nodes.boolean(n, "'reliable'"), default.reliable
            ),
            require_100rel=section.get(
                "require_100rel",
                lambda n: nodes.boolean(n, "'require_100rel'"),
                default.require_100rel,
            ),
            realm=section.get(
                "realm", lambda n: nodes.printable(n, "'realm'", "a realm name"), default.realm
            ),
        )
        return defaults if section.ok else None

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
        section = nodes.section(node, "'registrar'", "in registrar", _REGISTRAR_KEYS)
        if section is None:
            return None
        default = RegistrarSettings()
        registrar = RegistrarSettings(
            default_expires=section.get(
                "default_expires",
                lambda n: nodes.seconds(n, "'default_expires'", 1),
                default.default_expires,
            ),
            max_expires=section.get(
                "max_expires", lambda n: nodes.seconds(n, "'max_expires'", 1), default.max_expires
            ),
            grant_expires=section.get(
                "grant_expires",
                lambda n: nodes.seconds(n, "'grant_expires'", 0),
                default.grant_expires,
            ),
            failures=section.get("fail_first", self._failures, default.failures),
            forced_expiry=section.get("expire", self._expiries, default.forced_expiry),
        )
        return registrar if section.ok else None

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
        section = nodes.section(
            node, "a 'fail_first' entry", "in fail_first", ("count", "code", "reason", "headers")
        )
        if section is None:
            return None
        count = section.get("count", lambda n: nodes.whole(n, "'count'", 1), 1)
        code = section.get("code", lambda n: nodes.status(n, "'code'", 300), None)
        reason = section.get("reason", self.replies.reason, None)
        headers: tuple[tuple[str, str], ...] = section.get("headers", self.replies.headers, ())
        if "code" not in section:
            nodes.error(
                node,
                "'fail_first' entry has no 'code' (expected a status code 300-699, "
                "like {count: 1, code: 503})",
            )
            return None
        if not section.ok or code is None:
            return None
        return RegistrarFailure(count=count, code=code, reason=reason, headers=headers)

    def _expiries(self, node: Node) -> tuple[ForcedExpiry, ...] | None:
        expiries = self.nodes.one_or_many(
            node, "'expire'", "forced expiry like {after: 30s}", self._expiry, single=MappingNode
        )
        return None if expiries is None else tuple(expiries)

    def _expiry(self, node: Node) -> ForcedExpiry | None:
        nodes = self.nodes
        section = nodes.section(node, "an 'expire' entry", "in expire", ("after", "user"))
        if section is None:
            return None
        after = section.get("after", lambda n: nodes.duration(n, "'after'"), None)
        aor_user = section.get("user", lambda n: nodes.regex(n, "'user'"), None)
        if "after" not in section:
            nodes.error(
                node,
                "'expire' entry has no 'after' (expected when to drop the bindings, like "
                "{after: 30s})",
            )
            return None
        if not section.ok or after is None:
            return None
        return ForcedExpiry(after=after, aor_user=aor_user)

    # -- requests no rule takes --------------------------------------------------------------

    def unmatched(self, node: Node) -> UnmatchedAnswer | None:
        """``unmatched: 480``, or ``unmatched: {code: 404, reason: Not Here}``."""
        nodes = self.nodes
        if isinstance(node, ScalarNode) and node.tag == INT:
            code = nodes.status(node, "'unmatched' code", 300)
            return None if code is None else UnmatchedAnswer(code)
        if not isinstance(node, MappingNode):
            nodes.wrong_type(node, "'unmatched'", validate.UNMATCHED_HINT)
            return None
        section = nodes.section(node, "'unmatched'", "in unmatched", validate.UNMATCHED_KEYS)
        if section is None:
            return None
        code = section.get("code", lambda n: nodes.status(n, "'unmatched' code", 300), None)
        reason = section.get("reason", self.replies.reason, None)
        if "code" not in section:
            nodes.error(node, validate.NO_UNMATCHED_CODE)
            return None
        if not section.ok or code is None:
            return None
        return UnmatchedAnswer(code, reason)

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
