"""The scenario model: what the server answers, as plain frozen data.

One model serves the YAML files (see ``loader.py``), the Python API and the pytest fixture.
It holds no behaviour beyond small helpers; the scenario engine in ``sipfault.core`` reads it.
The file format is documented in ``docs/scenarios.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from sipfault.model.faults import Fault

__all__ = [
    "ACTION_SENDS",
    "AUDIO_CODECS",
    "FAX_COMPRESSIONS",
    "FAX_RESOLUTIONS",
    "PLACEHOLDERS",
    "T38_CHOICES",
    "T38_ERROR_CORRECTION",
    "TEST_PAGE",
    "Action",
    "AuthLockout",
    "AuthSettings",
    "DialACode",
    "FaxFaultSettings",
    "FaxSettings",
    "ForcedExpiry",
    "Match",
    "MediaSettings",
    "RegistrarFailure",
    "RegistrarSettings",
    "Reply",
    "ResponseDefaults",
    "Rule",
    "Scenario",
    "SdpSettings",
    "SourceLocation",
    "T38Answer",
    "T38Settings",
    "Timers",
    "UnmatchedAnswer",
    "fill_placeholders",
    "placeholder_names",
]

PLACEHOLDERS: frozenset[str] = frozenset(
    {"to_user", "from_user", "call_id", "ruri_user", "local_host", "local_port"}
)
"""Names usable as ``{name}`` in reply header values and bodies."""

# A placeholder is `{name}` with a name from PLACEHOLDERS; any other brace text is literal,
# so JSON or XML bodies need no escaping.
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``{name}`` whose name is in ``values`` by its value; leave the rest as is.

    A plain text substitution: nothing in ``text`` is ever evaluated, and a substituted value
    is not scanned again.
    """

    def replace(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _PLACEHOLDER_RE.sub(replace, text)


def placeholder_names(text: str) -> list[str]:
    """The names of the ``{name}`` texts in ``text``, in order, each once, known or not."""
    return list(dict.fromkeys(_PLACEHOLDER_RE.findall(text)))


@dataclass(frozen=True)
class SourceLocation:
    """Where a model element was written in a scenario file."""

    file: str
    """The file name as given to the loader."""
    line: int
    """1-based line."""
    column: int
    """1-based column."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Timers:
    """RFC 3261 §17.1.1.1 timer base values, in seconds."""

    t1: float = 0.5
    """T1, the round-trip time estimate; Timer G starts at T1, Timers H and J last 64*T1."""
    t2: float = 4.0
    """T2, the longest retransmit interval for INVITE responses and non-INVITE requests."""
    t4: float = 5.0
    """T4, the longest time a message stays in the network; Timer I on UDP."""


@dataclass(frozen=True)
class Match:
    """The conditions a request must meet for a rule to answer it; all given ones must hold."""

    methods: frozenset[str] | None = None
    """Request methods (case-sensitive, RFC 3261 §7.1); None matches any method."""
    ruri_user: re.Pattern[str] | None = None
    """Full match against the Request-URI user part ("" when it has none)."""
    ruri_host: re.Pattern[str] | None = None
    """Full match against the Request-URI host; compiled to ignore case (RFC 3261 §19.1.4)."""
    from_user: re.Pattern[str] | None = None
    """Full match against the user part of the From URI."""
    to_user: re.Pattern[str] | None = None
    """Full match against the user part of the To URI."""
    headers: tuple[tuple[str, re.Pattern[str]], ...] = ()
    """(name, pattern) pairs: a field of that name (ignoring case) whose value the pattern finds."""
    body: re.Pattern[str] | None = None
    """Searched in the body decoded as UTF-8 with undecodable bytes replaced."""
    media: frozenset[str] | None = None
    """SDP ``m=`` media types the offer must include one of; T.38 fax is ``image``."""
    transports: frozenset[str] | None = None
    """Transports the request may arrive on: ``udp``, ``tcp``, ``tls``."""
    in_dialog: bool | None = None
    """True: only requests with a To-tag; False: only requests without one; None: either."""
    first: int | None = None
    """Answer only the first N requests that meet the rest of the match."""
    nth: int | None = None
    """Answer only the Nth request that meets the rest of the match (1-based)."""
    every: int | None = None
    """Answer every Nth request that meets the rest of the match (N, 2N, 3N...)."""
    probability: float | None = None
    """Chance 0..1 to answer, drawn from a generator seeded by ``Scenario.seed``."""

    @property
    def unconditional(self) -> bool:
        """True when this match holds for every request (no condition, counter or chance)."""
        return all(getattr(self, f.name) in (None, ()) for f in fields(self))


AUDIO_CODECS: tuple[str, ...] = (
    "PCMU", "PCMA", "G722", "G729", "GSM", "G723", "CN", "telephone-event",
)
"""Codec names an answer or an offer of ours can carry (RFC 3551 §6, RFC 4733 §7.1.1)."""

T38_ERROR_CORRECTION: tuple[str, ...] = ("t38UDPNoEC", "t38UDPRedundancy", "t38UDPFEC")
"""T38FaxUdpEC values (ITU-T T.38 Annex D.2.3), weakest first."""


@dataclass(frozen=True)
class T38Settings:
    """What an answer or offer of ours says about T.38 (ITU-T T.38 Annex D.2.3).

    An answer never goes above the offer: its version and bit rate are the smaller of these
    and the offer's, its error correction the weaker, and a boolean option is set only when
    both sides have it. T38FaxRateManagement echoes the offer's.
    """

    version: int = 0
    """Highest T38FaxVersion (0-3); 0 is what most gateways and printers speak."""
    max_bit_rate: int = 14400
    """Highest T38MaxBitRate, bit/s."""
    max_buffer: int = 2000
    """T38FaxMaxBuffer: our receive buffer, octets."""
    max_datagram: int = 400
    """T38FaxMaxDatagram: the largest UDPTL datagram we take, octets."""
    udp_ec: str | None = None
    """T38FaxUdpEC: t38UDPRedundancy, t38UDPFEC or t38UDPNoEC; None follows the offer (and
    offers t38UDPRedundancy)."""
    fill_bit_removal: bool = False
    """T38FaxFillBitRemoval."""
    transcoding_mmr: bool = False
    """T38FaxTranscodingMMR."""
    transcoding_jbig: bool = False
    """T38FaxTranscodingJBIG."""


@dataclass(frozen=True)
class SdpSettings:
    """How sipfault answers an offer, and what offers of its own carry (RFC 3264)."""

    codecs: tuple[str, ...] = ("PCMU", "PCMA", "telephone-event")
    """Audio codecs in order of preference: an answer takes the first the offer has, plus
    telephone-event and CN when listed and offered."""
    ptime: int | None = None
    """``a=ptime`` of audio streams, milliseconds; None leaves it out."""
    t38: T38Settings | None = T38Settings()
    """T.38 settings; None refuses T.38 streams with port 0 (the audio stream stays)."""


@dataclass(frozen=True)
class Reply:
    """One response step of a rule's reply list."""

    code: int
    """Status code, 100..699 (RFC 3261 §7.2); 0..999 when ``fault`` makes a malformed message."""
    reason: str | None = None
    """Reason phrase; None uses the standard phrase of the code."""
    after: float = 0.0
    """Seconds to wait after the previous step (or after the request, for the first step)."""
    headers: tuple[tuple[str, str], ...] = ()
    """Header fields added, or replacing the ones the server would send; may hold placeholders."""
    omit: tuple[str, ...] = ()
    """Header fields left out on purpose, even required ones (a fault)."""
    body: str | None = None
    """Literal body; may hold placeholders."""
    sdp: str | SdpSettings | None = None
    """``"answer"`` to build an SDP answer to the request's offer (or an offer when it has
    none), :class:`SdpSettings` to build one with those settings, or literal SDP text."""
    reliable: bool | None = None
    """Send as a reliable provisional (RFC 3262); None follows the request's Require/Supported."""
    fault: Fault | None = None
    """A fault to apply to this response (with the rule's ``faults``)."""
    location: SourceLocation | None = field(default=None, compare=False)
    """Where the step was written, for messages; not part of equality."""

    @property
    def is_final(self) -> bool:
        """True for a final response (2xx-6xx), False for a provisional one (1xx)."""
        return self.code >= 200


T38_CHOICES: dict[str, str] = {
    "accept": "200 with a T.38 answer (ITU-T T.38 Annex D)",
    "refuse-488": "488 Not Acceptable Here with Warning: 304",
    "refuse-606": "606 Not Acceptable with Warning: 304",
    "refuse-415": "415 Unsupported Media Type with Accept: application/sdp",
    "port-zero": "200 refusing the image stream with port 0; the audio stream stays",
    "glare-491": "491 Request Pending",
}
"""The ways a rule's ``t38`` answers a T.38 offer, by name."""

_T38_WARNING = (("Warning", '304 {local_host} "Media type not available: T.38"'),)


@dataclass(frozen=True)
class T38Answer:
    """A rule's ``t38``: how a T.38 offer (a re-INVITE to ``m=image udptl t38``) is answered."""

    choice: str
    """A name of :data:`T38_CHOICES`."""
    after: float = 0.0
    """Seconds before the answer (100 Trying goes at once)."""
    sdp: SdpSettings | None = None
    """The answer's settings for ``accept`` and ``port-zero``; None: the defaults."""

    def reply(self) -> Reply:
        """The reply step the choice stands for."""
        step = {
            "accept": Reply(200, sdp=self.sdp or "answer"),
            "refuse-488": Reply(488, headers=_T38_WARNING),
            "refuse-606": Reply(606, headers=_T38_WARNING),
            "refuse-415": Reply(415),
            "port-zero": Reply(200, sdp=replace(self.sdp or SdpSettings(), t38=None)),
            "glare-491": Reply(491),
        }[self.choice]
        return replace(step, after=self.after)


ACTION_SENDS: tuple[str, ...] = ("reinvite", "bye", "update", "info")
"""What an action sends within the dialog."""


@dataclass(frozen=True)
class Action:
    """A request sipfault sends itself in the dialog a rule answered (RFC 3261 §12.2.1)."""

    send: str
    """``reinvite``, ``bye``, ``update`` or ``info``."""
    after: float = 0.0
    """Seconds after the start point."""
    start: str = "answer"
    """``answer``: the rule's 2xx; ``media``: the first media packet after it."""
    sdp: str | None = None
    """For reinvite and update: ``t38`` offers T.38, ``audio`` G.711 audio, ``same`` the
    streams as they are (a session refresh); None is ``same`` (and no body for update)."""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra header fields."""
    location: SourceLocation | None = field(default=None, compare=False)
    """Where the action was written, for messages; not part of equality."""


FAX_COMPRESSIONS: tuple[str, ...] = ("MMR", "MR", "MH")
"""Page codings a fax terminal offers or may use (ITU-T T.4, T.6), best first."""
FAX_RESOLUTIONS: tuple[str, ...] = ("standard", "fine", "superfine")
"""Vertical resolutions (ITU-T T.30 Table 2): 3.85, 7.7 and 15.4 lines/mm."""
TEST_PAGE = "testpage"
"""``fax: {send: testpage}``: the page sipfault draws itself."""


@dataclass(frozen=True)
class FaxFaultSettings:
    """T.30 faults of a fax call (ITU-T T.30 §5), by the fax terminal's names."""

    seed: int = 0
    page_response: tuple[tuple[int, str], ...] = ()
    """(page number from 1, ``RTN`` or ``RTP``): how the receiver answers that page."""
    never_answer: tuple[str, ...] = ()
    """Post-page commands left unanswered: ``MPS``, ``EOP``, ``EOM``, ``PPS``."""
    dcn_mid_page: int | None = None
    """Send DCN in the middle of this page (from 1)."""
    ftt_on_tcf: int = 0
    """Answer this many TCFs with FTT."""
    crp_on: tuple[str, ...] = ()
    """Commands answered once with CRP: ``DCS``, ``MPS``, ``EOP``, ``PPS``."""
    drop_ecm_frames: tuple[int, ...] = ()
    """ECM frame numbers left out of (sender) or treated as lost in (receiver) a first block."""
    drop_ecm_random: int = 0
    """This many more frames of the first block, picked with ``seed``."""
    silence_after: str | None = None
    """After this frame (``DIS``, ``CFR``, ``MCF``, ``DCS``, ``page``) send nothing..."""
    silence_seconds: float = 0.0
    """... for this long."""


@dataclass(frozen=True)
class FaxSettings:
    """A rule's ``fax``: the call's T.38 stream runs a fax terminal (ITU-T T.30, T.38)."""

    receive: str | None = None
    """Receive pages into this directory (a TIFF per call, a PNG per page)."""
    send: str | None = None
    """Send this TIFF or PNG file, or ``testpage`` for the built-in page."""
    ident: str = "sipfault"
    """The terminal's CSI/TSI (ITU-T T.30 §5.3.6.2.4)."""
    max_rate: int = 14400
    """Highest modem rate offered or used, bit/s."""
    ecm: bool = True
    """Error correction mode (ITU-T T.30 Annex A)."""
    compressions: tuple[str, ...] = FAX_COMPRESSIONS
    """Codings offered (receiving) or allowed (sending), best first."""
    resolutions: tuple[str, ...] = FAX_RESOLUTIONS
    """Resolutions offered (receiving)."""
    faults: FaxFaultSettings = FaxFaultSettings()
    """T.30 faults."""

    @property
    def role(self) -> str:
        """``receive`` or ``send``."""
        return "send" if self.send is not None else "receive"


@dataclass(frozen=True)
class Rule:
    """A match and what to do with a request that meets it: reply, or drop it."""

    match: Match
    """The conditions a request must meet."""
    reply: tuple[Reply, ...] = ()
    """Responses to send, in order; empty only when ``drop`` is set."""
    drop: bool = False
    """Swallow the request and never answer it."""
    name: str | None = None
    """Name used in the journal and in messages."""
    dial_a_code: DialACode | None = None
    """Answer with the code the Request-URI user names (instead of ``reply``)."""
    t38: T38Answer | None = None
    """Answer a T.38 offer as this named choice says (instead of ``reply``)."""
    then: tuple[Action, ...] = ()
    """Requests to send in the dialog after the rule's 2xx (a re-INVITE, a BYE...)."""
    faults: tuple[Fault, ...] = ()
    """Faults applied to every response of the transactions the rule answers."""
    fax: FaxSettings | None = None
    """Run a fax terminal on the call's T.38 stream (receive or send pages)."""
    location: SourceLocation | None = field(default=None, compare=False)
    """Where the rule was written, for messages; not part of equality."""


@dataclass(frozen=True)
class DialACode:
    """Dial-a-code: ``sip:486@host`` is answered 486, with every field the code requires."""

    ring: float = 0.1
    """Seconds between 100 Trying and 180 Ringing (INVITE, codes >= 200 only)."""
    answer_after: float = 0.5
    """Seconds between 180 Ringing and the final response."""
    fallback: int = 404
    """Code for a user that is not a code in the catalogue."""


@dataclass(frozen=True)
class ResponseDefaults:
    """Values the response builder fills in when a code requires them (RFC 3261 §21)."""

    retry_after: tuple[tuple[int, int], ...] = ()
    """Retry-After seconds per code, e.g. ((486, 30), (503, 120)); a step's own header wins."""
    min_expires: int = 60
    """Min-Expires of a 423 (RFC 3261 §10.3); also the registrar's minimum."""
    min_se: int = 90
    """Min-SE of a 422, and the smallest Session-Expires accepted (RFC 4028 §6)."""
    require: tuple[str, ...] = ("100rel",)
    """Option tags a 421 names in Require (RFC 3261 §21.4.16)."""
    allow_events: tuple[str, ...] = ("presence", "message-summary")
    """Event packages a 489 lists in Allow-Events (RFC 6665 §8.2.2)."""
    reliable: bool = False
    """Send every non-100 provisional reliably when the client supports 100rel (RFC 3262)."""
    require_100rel: bool = False
    """Demand 100rel: an INVITE that does not offer it gets 421 with Require: 100rel."""
    realm: str = "sipfault"
    """Realm of digest challenges when the scenario has no ``auth`` section."""


@dataclass(frozen=True)
class RegistrarFailure:
    """A registrar fault: answer the first ``count`` REGISTERs with ``code``."""

    count: int
    """How many REGISTERs in a row get ``code``; several failures take turns in list order."""
    code: int
    """The status code they are answered with, 300..699."""
    reason: str | None = None
    """Reason phrase; None uses the standard phrase of the code."""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra header fields, e.g. (("Retry-After", "10"),)."""


@dataclass(frozen=True)
class ForcedExpiry:
    """A registrar fault: drop a binding ``after`` seconds after it was last registered."""

    after: float
    """Seconds from a binding's last REGISTER (or refresh) until it is dropped, untold."""
    aor_user: re.Pattern[str] | None = None
    """Only addresses-of-record whose user matches (fullmatch); None: every one."""


@dataclass(frozen=True)
class RegistrarSettings:
    """The registrar (RFC 3261 §10.3)."""

    default_expires: int = 3600
    """Expiry when neither the Contact's expires nor Expires gives one."""
    max_expires: int = 86400
    """Longest expiry granted; longer requests are clamped."""
    grant_expires: int | None = None
    """A fault: grant this expiry (when shorter than asked) whatever the client wanted."""
    failures: tuple[RegistrarFailure, ...] = ()
    """Faults: the first N REGISTERs answered with another code."""
    forced_expiry: tuple[ForcedExpiry, ...] = ()
    """Faults: bindings dropped at a given time."""


@dataclass(frozen=True)
class AuthLockout:
    """Wrong answers counted per user name across calls: a password guesser is stopped."""

    attempts: int = 10
    """Wrong answers for one user within ``window`` after which every request naming that user
    gets 403 until the oldest of them is ``window`` old."""
    window: float = 60.0
    """Seconds a wrong answer counts for."""


@dataclass(frozen=True)
class AuthSettings:
    """Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760)."""

    users: tuple[tuple[str, str], ...] = field(repr=False)
    """User names and passwords (a password may come from the environment in the file)."""
    realm: str = "sipfault"
    """Realm of the challenges (RFC 3261 §22.1)."""
    methods: frozenset[str] = frozenset({"REGISTER"})
    """Methods challenged."""
    proxy: bool = False
    """Challenge with 407 Proxy-Authenticate instead of 401 WWW-Authenticate."""
    algorithms: tuple[str, ...] = ("MD5",)
    """Challenges offered, in this order. MD5 alone by default: every SIP client answers it,
    and devices that read only the first challenge fail on a SHA-256 one; ``("SHA-256", "MD5")``
    is the RFC 8760 §2.4 order, strongest first."""
    qop: tuple[str, ...] = ("auth",)
    """Quality of protection offered: auth, auth-int; empty offers none (RFC 2069 style)."""
    qop_required: bool = False
    """Refuse credentials without qop (the RFC 2069 form) to a challenge that offered one, as
    wrong credentials; by default they are accepted and reported (RFC 7616 §3.4)."""
    lockout: AuthLockout | None = AuthLockout()
    """Wrong answers per user name across Call-IDs; None counts per device and call only."""
    nonce_lifetime: float = 300.0
    """Seconds a nonce stays fresh; later answers get a new challenge with stale=true."""
    max_attempts: int = 3
    """The Nth wrong answer of a device gets 403; earlier ones get a new challenge."""


@dataclass(frozen=True)
class UnmatchedAnswer:
    """The answer to a request no rule took, of a method some rule takes for other requests.

    404 by default: the scenario answers this method, just not for this user (RFC 3261
    §21.4.5); a 405 would have to list the method as allowed in its own Allow (§21.4.6).
    """

    code: int = 404
    """A final status code, 300..699."""
    reason: str | None = None
    """Reason phrase; None uses the standard phrase of the code."""


@dataclass(frozen=True)
class MediaSettings:
    """The UDP sockets behind the streams an answer names, and findings about their packets."""

    ports: tuple[int, int] | None = None
    """The lowest and highest port a stream may take; None: a free port the system picks."""
    echo: bool = False
    """Send each packet back where it came from."""
    no_media_within: float | None = None
    """A finding when a stream gets no packet this many seconds after it was answered."""
    audio_after_t38: float | None = None
    """A finding when RTP still arrives this many seconds after the switch to T.38."""


@dataclass(frozen=True)
class Scenario:
    """A named list of rules, tried in order; the first rule whose match holds answers."""

    name: str
    """Short name shown in logs and the journal."""
    description: str = ""
    """What the scenario does, for people."""
    rules: tuple[Rule, ...] = ()
    """Rules in the order they are tried; unmatched requests get the RFC defaults."""
    timers: Timers = Timers()
    """Transaction timer base values."""
    seed: int | None = None
    """Seed for ``probability``; None lets the run choose one (and print it)."""
    defaults: ResponseDefaults = ResponseDefaults()
    """Values filled into required header fields."""
    registrar: RegistrarSettings = RegistrarSettings()
    """How REGISTER is answered when no rule takes it."""
    auth: AuthSettings | None = None
    """Digest authentication; None: nothing is challenged."""
    unmatched: UnmatchedAnswer = UnmatchedAnswer()
    """How a request no rule took is answered when its method is one the rules take."""
    media: MediaSettings = MediaSettings()
    """Media sockets and media findings."""
    source: str | None = None
    """Path of the file the scenario came from; None when built in code."""
    endpoint_faults: tuple[Fault, ...] = ()
    """Faults of the whole endpoint (outage, overload, slow), each from its ``start`` for its
    ``duration``."""
