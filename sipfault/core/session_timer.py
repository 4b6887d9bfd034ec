"""Session timers (RFC 4028): check Session-Expires against Min-SE, echo it in the 2xx."""

from __future__ import annotations

from dataclasses import dataclass

from sipfault.sip.errors import SipParseError
from sipfault.sip.grammar import bounded_int
from sipfault.sip.message import Request

OPTION_TAG = "timer"


@dataclass(frozen=True)
class SessionTimer:
    """The session interval a request asked for, and who refreshes (RFC 4028 §4)."""

    interval: int
    """Session-Expires delta-seconds."""
    refresher: str | None
    """"uac", "uas", or None when the request left the choice to us."""
    uac_supports_timer: bool
    """The UAC listed ``timer`` in Supported (or Require)."""

    @classmethod
    def from_request(cls, request: Request) -> SessionTimer | None:
        """Read Session-Expires (compact form x); None when absent, SipParseError if bad."""
        value = request.headers.get("Session-Expires")
        if value is None:
            return None
        delta_text, _, params = value.partition(";")
        delta = bounded_int(delta_text.strip(), 2**32 - 1)
        if delta is None:
            raise SipParseError("Malformed Session-Expires")
        refresher = None
        for param in params.split(";"):
            key, _, val = param.partition("=")
            if key.strip().lower() == "refresher":
                refresher = val.strip().lower()
                if refresher not in ("uac", "uas"):
                    raise SipParseError("Malformed Session-Expires refresher")
        supports = OPTION_TAG in (
            request.headers.values("Supported") + request.headers.values("Require")
        )
        return cls(delta, refresher, supports)

    def response_fields(self) -> list[tuple[str, str]]:
        """RFC 4028 §9: the 2xx echoes Session-Expires with the refresher chosen.

        A UAC that supports timers refreshes unless it said otherwise; one that does not
        leaves the refreshing to us. ``Require: timer`` tells a supporting UAC it applies.
        """
        if self.uac_supports_timer:
            refresher = self.refresher or "uac"
            return [("Session-Expires", f"{self.interval};refresher={refresher}"),
                    ("Require", OPTION_TAG)]
        return [("Session-Expires", f"{self.interval};refresher=uas")]
