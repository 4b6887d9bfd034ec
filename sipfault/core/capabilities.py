"""What this UAS implements: methods, option tags, body types (RFC 3261 §8.2.1-§8.2.3, §11)."""

from __future__ import annotations

KNOWN_METHODS: frozenset[str] = frozenset(
    {
        "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE", "INFO",
        "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH",
    }
)
"""Methods sipfault recognises; anything else is answered 501 (RFC 3261 §8.2.1)."""

ALWAYS_ALLOWED: frozenset[str] = frozenset({"ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"})
"""Methods the RFC defaults answer whatever the scenario says."""

DIALOG_METHODS: frozenset[str] = frozenset({"PRACK", "UPDATE"})
"""Methods allowed once the scenario answers INVITE (they live inside its dialogs)."""

SUPPORTED_OPTIONS: tuple[str, ...] = ("100rel", "timer")
"""Option tags sipfault implements (RFC 3261 §8.2.2.3); Require naming others gets 420."""

SESSION_METHODS: frozenset[str] = frozenset({"INVITE", "ACK", "PRACK", "UPDATE"})
"""Methods whose bodies are session descriptions the UAS must understand (§8.2.3)."""

SESSION_BODY_TYPES: tuple[str, ...] = ("application/sdp",)
"""Body types understood in those methods; anything else gets 415 with Accept."""

ACCEPTED_ENCODINGS: tuple[str, ...] = ("identity",)
"""Content codings understood (§20.12); others get 415 with Accept-Encoding."""


def allowed_methods(scenario_methods: frozenset[str] | None) -> tuple[str, ...]:
    """The Allow list: the defaults plus what the scenario handles (None: any method)."""
    methods = set(ALWAYS_ALLOWED)
    if scenario_methods is None:
        methods |= KNOWN_METHODS
    else:
        methods |= scenario_methods & KNOWN_METHODS
    if "INVITE" in methods:
        methods |= DIALOG_METHODS
    order = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "UPDATE",
             "INFO", "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH"]
    return tuple(method for method in order if method in methods)
