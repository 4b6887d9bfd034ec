"""What this UAS implements: methods, option tags, body types (RFC 3261 §8.2.1-§8.2.3, §11)."""

from __future__ import annotations

from sipfault.sip.message import Request

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


def accepts(request: Request, content_type: str) -> bool:
    """Whether the request's Accept allows a body of ``content_type`` (RFC 3261 §20.1).

    Without an Accept header any type is taken as acceptable (§20.1 presumes application/sdp,
    and sipfault does not second-guess a client that says nothing); an empty Accept allows
    no body at all.
    """
    lines = request.headers.lines("Accept")
    if not lines:
        return True
    wanted = content_type.split(";", 1)[0].strip().lower()
    kind = wanted.split("/", 1)[0]
    for value in request.headers.values("Accept"):
        media = value.split(";", 1)[0].strip().lower()
        if media in (wanted, f"{kind}/*", "*/*"):
            return True
    return False
