"""What the fuzzer feeds, and the contract each target must keep whatever the input.

The contract is the one-error-type rule of each layer:

- ``parser``: :func:`parse_message` (datagram and stream) raises only :class:`SipParseError`
  with a 4xx/5xx status, and never its catch-all "Malformed message (SomeError)", which stands
  for a defect that no rule foresaw; the readers of what it returns (Via, From, To, CSeq...),
  :func:`check_request` and serialization raise only SipParseError too.
- ``framer``: :class:`StreamFramer` cut into random pieces raises only SipParseError (400 or
  513), buffers at most one message, and every message it cuts obeys the ``parser`` contract.
- ``sdp``: :func:`parse_sdp` raises only SdpError, :func:`answer_offer` never raises, and the
  answer has one media section per offered one, or refuses with a Warning (RFC 3264 §6).
- ``digest``: :func:`parse_auth_params` raises only :class:`DigestError`; :func:`verify` never
  raises.
- ``scenario``: :func:`check_scenario_text` never raises and places every issue;
  :func:`load_scenario_text` raises only :class:`ScenarioError`, exactly when an error was found.
- ``uas``: the whole user-agent server on a manual clock (parse, validate, transactions,
  dialogs, registrar, auth, rules) reports no ``internal-error`` finding: its safety net, which
  turns any exception into that finding so the server keeps serving, is never needed. Nor
  does it hold more transactions than 64*T1 of inputs can make (RFC 3261 §17.2).

Seeds are the RFC 4475 torture messages (tests/vectors/rfc4475/), the captures of SIPp and
PJSUA2 messages in tests/fuzz/corpus/sip/ and the other corpus directories, the SDP bodies and
auth header values found in those, and the scenario files shipped with sipfault.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sipfault.core.capabilities import KNOWN_METHODS
from sipfault.core.events import Finding, Peer
from sipfault.core.offer_answer import Refusal, answer_offer
from sipfault.core.uas import UserAgentServer
from sipfault.model.scenario import SdpSettings
from sipfault.scenario import ScenarioError, check_scenario_text, load_scenario_text
from sipfault.sip.digest import Algorithm, DigestError, NonceStore, parse_auth_params, verify
from sipfault.sip.errors import SipParseError
from sipfault.sip.framer import KeepAlivePing, StreamFramer
from sipfault.sip.message import Message, Request
from sipfault.sip.parser import MAX_MESSAGE_SIZE, parse_message
from sipfault.sip.sdp import SdpError, media_types, parse_media, parse_sdp
from sipfault.sip.validate import check_request
from tests.fuzz.mutator import DIGEST_TOKENS, SDP_TOKENS, SIP_TOKENS, YAML_TOKENS

FUZZ_DIR = Path(__file__).resolve().parent
CORPUS = FUZZ_DIR / "corpus"
REPO = FUZZ_DIR.parents[1]
VECTORS = REPO / "tests" / "vectors" / "rfc4475"

MASKED = "Malformed message ("
"""How parse_message's catch-all names an exception it turned into a 400."""


class ContractBroken(AssertionError):
    """The target did something its contract rules out (the message says what)."""


@dataclass
class Target:
    """One thing to fuzz: its seeds, the tokens its mutations use, and its check."""

    name: str
    seeds: list[bytes]
    dictionary: Sequence[bytes]
    check: Callable[[bytes], None]
    """Feed one input; raise ContractBroken when the contract is broken."""
    reset: Callable[[], None] = field(default=lambda: None)
    """Forget state carried from input to input (the UAS target's server)."""


# ------------------------------------------------------------------------------ the seeds


def _files(directory: Path, pattern: str) -> list[bytes]:
    return [path.read_bytes() for path in sorted(directory.glob(pattern))]


def sip_seeds() -> list[bytes]:
    """The RFC 4475 vectors and the captured SIPp and PJSUA2 messages."""
    return _files(VECTORS, "*.dat") + _files(CORPUS / "sip", "*.msg")


def sdp_seeds() -> list[bytes]:
    """The SDP files of the corpus, and every SDP body of the SIP seeds."""
    seeds = _files(CORPUS / "sdp", "*.sdp")
    for message in sip_seeds():
        body = message.partition(b"\r\n\r\n")[2]
        if body.startswith(b"v=0"):
            seeds.append(body)
    return list(dict.fromkeys(seeds))


def digest_seeds() -> list[bytes]:
    """The header values of the corpus, and every (Proxy-)Authorization and
    (Proxy-/WWW-)Authenticate value of the SIP seeds."""
    seeds = [line for line in (CORPUS / "digest" / "values.txt").read_bytes().splitlines()
             if line.strip()]
    names = (b"authorization:", b"proxy-authorization:", b"www-authenticate:",
             b"proxy-authenticate:")
    for message in sip_seeds():
        for line in message.partition(b"\r\n\r\n")[0].split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if colon and (name.strip().lower() + b":") in names:
                seeds.append(value.strip())
    return list(dict.fromkeys(seeds))


def scenario_seeds() -> list[bytes]:
    """Every scenario file of the repository and the corpus's own."""
    paths = [*REPO.glob("scenarios/**/*.yaml"), *REPO.glob("tests/integration/scenarios/*.yaml"),
             *REPO.glob("examples/scenarios/*.yaml"), *(CORPUS / "scenario").glob("*.yaml")]
    return [path.read_bytes() for path in sorted(paths)]


# -------------------------------------------------------------------------------- parser


def _only_sip_errors(action: Callable[[], object], what: str) -> None:
    try:
        action()
    except SipParseError as error:
        if not (400 <= error.status <= 599 and error.reason):
            raise ContractBroken(
                f"{what}: SipParseError({error.status}, {error.reason!r})") from None
        if error.reason.startswith(MASKED):
            raise ContractBroken(f"{what}: a masked crash, {error.reason}") from None
    except Exception as error:
        raise ContractBroken(f"{what} raised {type(error).__name__}: {error}") from error


_READERS = ("vias", "top_via", "from_", "to", "cseq", "call_id", "content_type")


def _exercise(message: Message) -> None:
    """Every reader, the request checks of RFC 3261 §8.2, and serialization."""
    for reader in _READERS:
        _only_sip_errors(lambda reader=reader: getattr(message, reader), reader)
    for key in dict.fromkeys(header.key for header in message.headers):
        _only_sip_errors(lambda key=key: message.headers.values(key), "headers.values")
    if isinstance(message, Request):
        _only_sip_errors(lambda: check_request(message, KNOWN_METHODS), "check_request")
    _only_sip_errors(message.first_line, "first_line")
    _only_sip_errors(message.to_bytes, "to_bytes")


def check_parser(data: bytes) -> None:
    for stream in (False, True):
        try:
            message = parse_message(data, stream=stream)
        except SipParseError as error:
            _only_sip_errors(lambda error=error: _reraise(error), "parse_message")
            if isinstance(error.partial, Message):
                _exercise(error.partial)
            continue
        except Exception as error:
            raise ContractBroken(f"parse_message raised {type(error).__name__}: {error}") \
                from error
        _exercise(message)


def _reraise(error: Exception) -> None:
    raise error


def check_framer(data: bytes) -> None:
    # The cuts come from the input itself, so one input always frames the same way.
    cuts = random.Random(data).sample(range(len(data) + 1), min(len(data) + 1, 6))
    framer = StreamFramer()
    start = 0
    try:
        for cut in [*sorted(cuts), len(data)]:
            for item in framer.feed(data[start:cut]):
                if isinstance(item, KeepAlivePing):
                    continue
                if not item:
                    raise ContractBroken("the framer cut an empty message")
                _only_sip_errors(lambda item=item: parse_message(item, stream=True),
                                 "parse_message(stream)")
            start = cut
            if framer.buffered > MAX_MESSAGE_SIZE + len(data):
                raise ContractBroken(f"the framer holds {framer.buffered} bytes")
    except SipParseError as error:
        if error.status not in (400, 513):
            raise ContractBroken(f"framer: SipParseError({error.status})") from error
        framer.pending_head()
    except ContractBroken:
        raise
    except Exception as error:
        raise ContractBroken(f"framer raised {type(error).__name__}: {error}") from error


# ----------------------------------------------------------------------------- SDP, auth


def check_sdp(data: bytes) -> None:
    """Reading raises only SdpError (the 400's defect); an offer read is answered with one
    stream per ``m=`` line, or refused with a 488 Warning (RFC 3264 §6)."""
    try:
        parse_media(data)
        media_types(data)
        try:
            offer = parse_sdp(data)
        except SdpError:
            return
        plans = answer_offer(data, SdpSettings())
    except Exception as error:
        raise ContractBroken(f"SDP raised {type(error).__name__}: {error}") from error
    if not isinstance(plans, Refusal) and len(plans) != len(offer.media):
        raise ContractBroken(f"{len(offer.media)} media offered, {len(plans)} answered")


_NONCES = NonceStore(lifetime=30.0, random_bytes=lambda n: bytes(n))
_PASSWORDS = {"printer": "fax-secret", "": "empty"}


def check_digest(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    try:
        _, params = parse_auth_params(text)
    except DigestError:
        return
    except Exception as error:
        raise ContractBroken(f"parse_auth_params raised {type(error).__name__}: {error}") \
            from error
    try:
        verify(params, method="REGISTER", body=b"", passwords=_PASSWORDS, store=_NONCES,
               now=1.0, expected_realm=params.get("realm", "sipfault"),
               allowed_algorithms=tuple(Algorithm), allowed_qops=("auth", "auth-int"))
    except Exception as error:
        raise ContractBroken(f"verify raised {type(error).__name__}: {error}") from error


# ------------------------------------------------------------------------------ scenario


def check_scenario(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        issues = check_scenario_text(text, "fuzz.yaml")
    except Exception as error:
        raise ContractBroken(f"check_scenario_text raised {type(error).__name__}: {error}") \
            from error
    for issue in issues:
        if issue.line < 1 or issue.column < 1:
            raise ContractBroken(f"an issue without a place: {issue}")
    errors = [issue for issue in issues if issue.is_error]
    try:
        load_scenario_text(text, "fuzz.yaml")
    except ScenarioError:
        if not errors:
            raise ContractBroken("ScenarioError without an error issue") from None
        return
    except Exception as error:
        raise ContractBroken(f"load_scenario_text raised {type(error).__name__}: {error}") \
            from error
    if errors:
        raise ContractBroken(f"loaded although check found {errors[0]}")


# ----------------------------------------------------------------------------------- UAS

UAS_SCENARIO = """\
name: fuzz
timers: {t1: 100ms}
auth:
  users: {printer: fax-secret}
  methods: [REGISTER]
rules:
  - match: {method: INVITE, user: busy}
    reply: [100, {code: 486, after: 50ms}]
  - match: {method: INVITE, user: prack}
    reply: [{code: 180, reliable: true}, {code: 200, sdp: answer, after: 50ms}]
  - match: {method: INVITE}
    reply: [100, 180, {code: 200, sdp: answer}]
  - match: {method: MESSAGE}
    reply: [{code: 200, fault: drop-first}]
"""

UDP_PEER = Peer("udp", ("127.0.0.1", 5070), ("127.0.0.1", 5060))
TCP_PEER = Peer("tcp", ("127.0.0.1", 40000), ("127.0.0.1", 5060), connection=1)


STEP = 0.01
"""Seconds the UAS target's clock moves on per input."""
MOST_TRANSACTIONS = 2 * int(64 * 0.1 / STEP)
"""No input lives past 64*T1 (T1 = 100 ms) as a transaction, and each makes at most two (a
CANCEL and its INVITE): what the server holds stays under this, however long the run."""


class UasTarget:
    """One server for many inputs, so state from earlier inputs meets later ones; the clock
    moves on :data:`STEP` an input and the server's timers run."""

    def __init__(self) -> None:
        self.scenario = load_scenario_text(UAS_SCENARIO, "fuzz.yaml")
        self.reset()

    def reset(self) -> None:
        self.uas = UserAgentServer(self.scenario, seed=1, rng=random.Random(1))
        self.now = 0.0
        self.fed = 0

    def check(self, data: bytes) -> None:
        self.fed += 1
        peer = TCP_PEER if self.fed % 4 == 0 else UDP_PEER
        self.now += STEP
        self.uas.receive(data, peer, self.now)
        self.uas.handle_timer(self.now)
        self.uas.take_outgoing()
        for event in self.uas.take_events():
            if isinstance(event, Finding) and event.kind == "internal-error":
                raise ContractBroken(event.text)
        if self.fed % 64 == 0:
            counts = self.uas.counts()
            if counts.transactions > MOST_TRANSACTIONS or counts.client_transactions > 64:
                raise ContractBroken(f"the server holds too much: {counts}")


def targets() -> dict[str, Target]:
    """Every target by name, seeds loaded."""
    uas = UasTarget()
    sip = sip_seeds()
    return {
        "parser": Target("parser", sip, SIP_TOKENS, check_parser),
        "framer": Target("framer", sip, SIP_TOKENS, check_framer),
        "sdp": Target("sdp", sdp_seeds(), SDP_TOKENS, check_sdp),
        "digest": Target("digest", digest_seeds(), DIGEST_TOKENS, check_digest),
        "scenario": Target("scenario", scenario_seeds(), YAML_TOKENS, check_scenario),
        "uas": Target("uas", sip, SIP_TOKENS + SDP_TOKENS, uas.check, uas.reset),
    }
