"""The ``auth`` section: digest authentication of requests (RFC 3261 §22, RFC 7616)."""

from __future__ import annotations

import os
import re
from typing import Literal

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sipfault.model.scenario import AuthLockout, AuthSettings
from sipfault.scenario.nodes import BOOL, item_nodes
from sipfault.scenario.scalars import ScalarReader
from sipfault.sip.digest import Algorithm, DigestError

__all__ = ["AuthSettingsReader"]

# `challenge: www` answers 401 with WWW-Authenticate, `proxy` 407 with Proxy-Authenticate
# (RFC 3261 §22.2, §22.3); the value is AuthSettings.proxy.
_CHALLENGES = {"www": False, "proxy": True}
# Each qop keyword (RFC 7616 §3.3) and the lower-case value AuthSettings holds.
_QOPS = {name: name for name in ("auth", "auth-int")}
# RFC 3261 §22.1: ACK and CANCEL cannot be resubmitted with credentials, so never challenged.
_NEVER_CHALLENGED = frozenset({"ACK", "CANCEL"})
# POSIX portable environment variable names.
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `challenge` fills AuthSettings.proxy.
_AUTH_KEYS = (
    "users",
    "realm",
    "methods",
    "challenge",
    "algorithms",
    "qop",
    "nonce_lifetime",
    "max_attempts",
    "qop_required",
    "lockout",
)
_LOCKOUT_KEYS = ("attempts", "window")
# The defaults of every setting but the users (which have none).
_DEFAULT = AuthSettings(users=())


class AuthSettingsReader:
    """Reads the ``auth`` section into ``AuthSettings``; passwords may come from the environment."""

    def __init__(self, nodes: ScalarReader) -> None:
        self.nodes = nodes

    def auth(self, node: Node, default_realm: str) -> AuthSettings | None:
        nodes = self.nodes
        section = nodes.section(node, "'auth'", "in auth", _AUTH_KEYS)
        if section is None:
            return None
        users = section.get("users", self._users, None)
        # Without its own realm, auth challenges in the scenario's default realm.
        realm = section.get(
            "realm", lambda n: nodes.printable(n, "'realm'", "a realm name"), default_realm
        )
        methods = section.get("methods", self._methods, _DEFAULT.methods)
        proxy = section.get("challenge", self._challenge, _DEFAULT.proxy)
        algorithms = section.get(
            "algorithms",
            lambda n: nodes.distinct(n, "'algorithms'", "digest algorithm", self._algorithm),
            _DEFAULT.algorithms,
        )
        qop = section.get("qop", self._qops, _DEFAULT.qop)
        qop_required = section.get(
            "qop_required", lambda n: nodes.boolean(n, "'qop_required'"), _DEFAULT.qop_required
        )
        no_lockout_given: AuthLockout | Literal[False] | None = _DEFAULT.lockout
        lockout = section.get("lockout", self._lockout, no_lockout_given)
        nonce_lifetime = section.get(
            "nonce_lifetime",
            lambda n: nodes.positive_duration(n, "'nonce_lifetime'"),
            _DEFAULT.nonce_lifetime,
        )
        max_attempts = section.get(
            "max_attempts", lambda n: nodes.whole(n, "'max_attempts'", 1), _DEFAULT.max_attempts
        )
        if "users" not in section:
            nodes.error(
                node,
                "'auth' has no 'users' (expected user names and passwords, like "
                "{printer: fax-secret})",
            )
            return None
        if not section.ok or users is None:
            return None
        return AuthSettings(
            users=users,
            realm=realm,
            methods=methods,
            proxy=proxy,
            algorithms=algorithms,
            qop=qop,
            nonce_lifetime=nonce_lifetime,
            max_attempts=max_attempts,
            qop_required=qop_required,
            lockout=lockout or None,
        )

    def _qops(self, node: Node) -> tuple[str, ...] | None:
        """A qop value or a list of them; ``[]`` offers none (RFC 2069 style challenges)."""
        if isinstance(node, SequenceNode) and not node.value:
            return ()
        return self.nodes.distinct(node, "'qop'", "qop value", self._qop)

    def _lockout(self, node: Node) -> AuthLockout | Literal[False] | None:
        """``{attempts: N, window: DURATION}``, or ``false`` to count per device and call only."""
        nodes = self.nodes
        if isinstance(node, ScalarNode) and node.tag == BOOL:
            if nodes.boolean(node, "'lockout'") is False:
                return False
            nodes.error(node, "'lockout' is true (expected {attempts: N, window: 60s}, "
                              "or false to turn it off)")
            return None
        section = nodes.section(node, "'lockout'", "in lockout", _LOCKOUT_KEYS)
        if section is None:
            return None
        default = AuthLockout()
        attempts = section.get(
            "attempts", lambda n: nodes.whole(n, "'attempts'", 1), default.attempts
        )
        window = section.get(
            "window", lambda n: nodes.positive_duration(n, "'window'"), default.window
        )
        return AuthLockout(attempts, window) if section.ok else None

    def _users(self, node: Node) -> tuple[tuple[str, str], ...] | None:
        pairs = self.nodes.nonempty_mapping(
            node, "'users'", "in users", "at least one user, like {printer: fax-secret}"
        )
        if pairs is None:
            return None
        users: list[tuple[str, str]] = []
        ok = True
        for key, (key_node, value_node) in pairs.items():
            user = self.nodes.printable(key_node, "user name", "a user name")
            password = self._password(value_node, key)
            if user is None or password is None:
                ok = False
            else:
                users.append((user, password))
        return tuple(users) if ok else None

    def _password(self, node: Node, user: str) -> str | None:
        """A password as written, or ``{env: NAME}`` read from the environment now.

        Messages never quote a password.
        """
        nodes = self.nodes
        subject = f"the password of user {user!r}"
        if not isinstance(node, MappingNode):
            return nodes.text(
                node, subject, "a password, or {env: NAME} to read it from the environment"
            )
        pairs = nodes.mapping(node, subject, "in a password", ("env",))
        if pairs is None:
            return None
        if "env" not in pairs:
            nodes.error(
                node,
                f"{subject} has no 'env' (expected {{env: NAME}} naming an environment variable)",
            )
            return None
        name_node = pairs["env"][1]
        name = nodes.text(name_node, "'env'", "an environment variable name")
        if name is None:
            return None
        if not _ENV_NAME_RE.fullmatch(name):
            nodes.error(
                name_node,
                f"'env' {name!r} is not an environment variable name (expected letters, "
                "digits and '_', not starting with a digit)",
            )
            return None
        value = os.environ.get(name)
        if value is None:
            nodes.error(
                name_node,
                f"environment variable {name} is not set (expected it to hold {subject})",
            )
            return None
        if not value:
            nodes.error(
                name_node, f"environment variable {name} is empty (expected it to hold {subject})"
            )
            return None
        return value

    def _methods(self, node: Node) -> frozenset[str] | None:
        methods = self.nodes.one_or_many(node, "'methods'", "method", self.nodes.method)
        if methods is None:
            return None
        ok = True
        for method, item in zip(methods, item_nodes(node), strict=True):
            if method in _NEVER_CHALLENGED:
                self.nodes.error(
                    item,
                    f"{method} cannot be challenged: it is never resubmitted with credentials "
                    "(expected other methods, RFC 3261 §22.1)",
                )
                ok = False
        return frozenset(methods) if ok else None

    def _challenge(self, node: Node) -> bool | None:
        """``www``: 401 with WWW-Authenticate (False); ``proxy``: 407 with Proxy-Authenticate."""
        return self.nodes.keyword(
            node,
            "'challenge'",
            _CHALLENGES,
            kind="www or proxy",
            unknown="challenge",
            expected="www, for 401 with WWW-Authenticate, or proxy, for 407 with "
            "Proxy-Authenticate",
        )

    def _algorithm(self, node: Node) -> str | None:
        """An RFC 7616 §3.2 / RFC 8760 algorithm, in its registered spelling."""
        text = self.nodes.text(node, "digest algorithm", "a digest algorithm")
        if text is None:
            return None
        try:
            return Algorithm.from_token(text.strip()).value
        except DigestError:
            known = ", ".join(algorithm.value for algorithm in Algorithm)
            self.nodes.error(
                node,
                f"unknown digest algorithm {text!r} (expected one of: {known}; "
                "RFC 7616 §3.2, RFC 8760)",
            )
            return None

    def _qop(self, node: Node) -> str | None:
        return self.nodes.keyword(
            node,
            "qop value",
            _QOPS,
            kind="auth or auth-int",
            unknown="qop",
            expected="auth or auth-int, RFC 7616 §3.3",
        )
