"""The media keys of a scenario: a step's ``sdp`` settings, a rule's ``then`` actions and the
top-level ``media`` section.

Values are checked by the functions of ``sipfault.model.validate`` that the rule builder uses
too; each error is reported at the node that holds the value.
"""

from __future__ import annotations

from collections.abc import Callable

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sipfault.model import validate
from sipfault.model.scenario import (
    ACTION_SENDS,
    T38_CHOICES,
    Action,
    MediaSettings,
    SdpSettings,
    T38Answer,
    T38Settings,
)
from sipfault.scenario.header_maps import read_header_map
from sipfault.scenario.nodes import BOOL, STR
from sipfault.scenario.scalars import ScalarReader

__all__ = ["MediaReader"]


class MediaReader:
    """Reads ``sdp`` mappings, ``then`` lists and the ``media`` section."""

    def __init__(self, nodes: ScalarReader) -> None:
        self.nodes = nodes

    # -- sdp: {codecs, ptime, t38} ----------------------------------------------------------

    def sdp_settings(self, node: MappingNode) -> SdpSettings | None:
        nodes = self.nodes
        section = nodes.section(node, "'sdp'", "in sdp", validate.SDP_KEYS)
        if section is None:
            return None
        default = SdpSettings()
        codecs = section.get("codecs", self._codecs, default.codecs)
        ptime = section.get("ptime", lambda n: self._number(n, "'ptime'", validate.ptime),
                            default.ptime)
        t38: tuple[T38Settings | None] = section.get("t38", self._t38, (default.t38,))
        if not section.ok:
            return None
        return SdpSettings(codecs=codecs, ptime=ptime, t38=t38[0])

    def _codecs(self, node: Node) -> tuple[str, ...] | None:
        nodes = self.nodes
        names = nodes.one_or_many(node, "'codecs'", "codec", lambda item: nodes.checked_text(
            item, "codec", "a codec name", validate.codec))
        if names is None:
            return None
        return nodes.checked(node, validate.codecs, names)

    def _number(self, node: Node, subject: str, check: Callable[[int], int]) -> int | None:
        value = self.nodes.integer(node, subject, "a whole number")
        return None if value is None else self.nodes.checked(node, check, value)

    def _t38(self, node: Node) -> tuple[T38Settings | None] | None:
        """``true``, ``false`` (refuse T.38: port 0) or a mapping; wrapped, since None is a
        value here."""
        nodes = self.nodes
        if isinstance(node, ScalarNode) and node.tag == BOOL:
            enabled = nodes.boolean(node, "'t38'")
            return None if enabled is None else (T38Settings() if enabled else None,)
        if not isinstance(node, MappingNode):
            nodes.wrong_type(node, "'t38'", "a mapping of T.38 settings, true, or false")
            return None
        section = nodes.section(node, "'t38'", "in t38", validate.T38_KEYS)
        if section is None:
            return None
        default = T38Settings()

        def whole(key: str, fallback: int) -> int:
            return section.get(key, lambda n: nodes.whole(n, f"'{key}'", 1), fallback)

        def flag(key: str) -> bool:
            return section.get(key, lambda n: nodes.boolean(n, f"'{key}'"), False)

        settings = T38Settings(
            version=section.get("version", lambda n: self._number(n, "'version'",
                                                                  validate.t38_version),
                                default.version),
            max_bit_rate=section.get("max_bit_rate", lambda n: self._number(
                n, "'max_bit_rate'", validate.t38_bit_rate), default.max_bit_rate),
            max_buffer=whole("max_buffer", default.max_buffer),
            max_datagram=whole("max_datagram", default.max_datagram),
            udp_ec=section.get("udp_ec", lambda n: nodes.checked_text(
                n, "'udp_ec'", "t38UDPRedundancy, t38UDPFEC or t38UDPNoEC",
                validate.t38_udp_ec), default.udp_ec),
            fill_bit_removal=flag("fill_bit_removal"),
            transcoding_mmr=flag("transcoding_mmr"),
            transcoding_jbig=flag("transcoding_jbig"),
        )
        return (settings,) if section.ok else None

    # -- t38: a named answer ------------------------------------------------------------------

    def t38_answer(self, node: Node) -> T38Answer | None:
        """A rule's ``t38``: a choice's name, or ``{answer, after, sdp}``."""
        nodes = self.nodes
        hint = "a T.38 answer's name, or a mapping with answer, after and sdp"
        if isinstance(node, ScalarNode):
            named = nodes.checked_text(node, "'t38'", hint, validate.t38_choice)
            return None if named is None else T38Answer(named)
        if not isinstance(node, MappingNode):
            nodes.wrong_type(node, "'t38'", hint)
            return None
        section = nodes.section(node, "'t38'", "in t38", validate.T38_ANSWER_KEYS)
        if section is None:
            return None
        choice: str | None = None
        if "answer" in section:
            choice = section.get("answer", lambda n: nodes.checked_text(
                n, "'answer'", "a T.38 answer's name", validate.t38_choice), None)
        else:
            nodes.error(node, "'t38' has no 'answer' (expected one of: "
                        f"{', '.join(sorted(T38_CHOICES))})")
            section.check(False)
        after = section.get("after", lambda n: nodes.duration(n, "'after'"), 0.0)
        settings: SdpSettings | None = None
        if "sdp" in section:
            value = section.value_node("sdp")
            if choice is not None and not nodes.holds(section.key_node("sdp"),
                                                      validate.t38_answer_sdp, choice):
                section.check(False)
            elif isinstance(value, MappingNode):
                settings = self.sdp_settings(value)
                section.check(settings is not None)
            else:
                nodes.wrong_type(value, "'sdp'", "a mapping with codecs, ptime and t38")
                section.check(False)
        if not section.ok or choice is None:
            return None
        return T38Answer(choice, after, settings)

    # -- then: [actions] ----------------------------------------------------------------------

    def actions(self, node: Node) -> tuple[Action, ...] | None:
        nodes = self.nodes
        items = nodes.items(node, "'then'", "a list of actions, like [{after: 2s, send: bye}]")
        if items is None:
            return None
        actions = [self._action(item) for item in items]
        if any(action is None for action in actions):
            return None
        return tuple(action for action in actions if action is not None)

    def _action(self, node: Node) -> Action | None:
        nodes = self.nodes
        section = nodes.section(node, "an action", "in action", validate.ACTION_KEYS)
        if section is None:
            return None
        send: str | None = None
        if "send" in section:
            send = section.get("send", lambda n: nodes.checked_text(
                n, "'send'", "reinvite, bye, update or info", validate.action_send), None)
        else:
            nodes.error(node, "action has no 'send' (expected one of: "
                        f"{', '.join(ACTION_SENDS)})")
            section.check(False)
        after = section.get("after", lambda n: nodes.duration(n, "'after'"), 0.0)
        start = section.get("from", lambda n: nodes.checked_text(
            n, "'from'", "answer or media", validate.action_start), "answer")
        sdp: str | None = section.get("sdp", lambda n: nodes.checked_text(
            n, "'sdp'", "t38, audio or same", validate.action_sdp, send), None)
        headers: tuple[tuple[str, str], ...] = section.get("headers", self._headers, ())
        if not section.ok or send is None:
            return None
        return Action(send=send, after=after, start=start, sdp=sdp, headers=headers,
                      location=nodes.location(node))

    def _headers(self, node: Node) -> tuple[tuple[str, str], ...] | None:
        nodes = self.nodes

        def values(item: Node, subject: str) -> list[str] | None:
            value = nodes.checked_text(item, subject, validate.HEADER_VALUE_HINT,
                                       validate.header_value, subject)
            return None if value is None else [value]

        headers = read_header_map(nodes, node, values)
        if headers is None:
            return None
        return tuple((name, value) for name, found in headers for value in found)

    # -- media: {ports, echo, no_media_within, audio_after_t38} -------------------------------

    def media(self, node: Node) -> MediaSettings | None:
        nodes = self.nodes
        section = nodes.section(node, "'media'", "in media", validate.MEDIA_KEYS)
        if section is None:
            return None
        default = MediaSettings()
        ports = section.get("ports", self._ports, default.ports)
        echo = section.get("echo", lambda n: nodes.boolean(n, "'echo'"), default.echo)
        within = section.get("no_media_within",
                             lambda n: nodes.positive_duration(n, "'no_media_within'"), None)
        after_t38 = section.get("audio_after_t38",
                                lambda n: nodes.positive_duration(n, "'audio_after_t38'"), None)
        if not section.ok:
            return None
        return MediaSettings(ports=ports, echo=echo, no_media_within=within,
                             audio_after_t38=after_t38)

    def _ports(self, node: Node) -> tuple[int, int] | None:
        nodes = self.nodes
        if isinstance(node, ScalarNode) and node.tag == STR:
            return nodes.checked(node, validate.port_range, str(node.value))
        if isinstance(node, SequenceNode):
            values = [nodes.integer(item, "'ports'", validate.PORT_RANGE_HINT)
                      for item in node.value]
            if any(value is None for value in values):
                return None
            return nodes.checked(node, validate.port_range, values)
        nodes.wrong_type(node, "'ports'", validate.PORT_RANGE_HINT)
        return None
