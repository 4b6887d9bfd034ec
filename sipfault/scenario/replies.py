"""A rule's ``reply``: the steps of responses it sends, each a code or a mapping."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from sipfault.model import validate
from sipfault.model.scenario import Reply, SdpSettings
from sipfault.scenario.faults import FaultReader
from sipfault.scenario.header_maps import read_header_map, unique_header
from sipfault.scenario.media import MediaReader
from sipfault.scenario.nodes import INT, item_nodes, memo
from sipfault.scenario.scalars import ScalarReader

__all__ = ["ReplyReader"]


class ReplyReader:
    """Reads reply step lists into ``Reply`` tuples.

    Its reason phrase and header readers also serve the registrar's ``fail_first`` entries.
    """

    def __init__(self, nodes: ScalarReader) -> None:
        self.nodes = nodes
        self.media = MediaReader(nodes)
        self.faults = FaultReader(nodes)
        self._step_cache: dict[Node, Reply | None] = {}

    def reply_list(self, node: Node) -> tuple[Reply, ...] | None:
        nodes = self.nodes
        items = nodes.items(node, "'reply'", "a list of reply steps, like [100, 486]")
        if items is None:
            return None
        if not items:
            nodes.error(
                node,
                "'reply' is an empty list (expected at least one reply step, "
                "or 'drop: true' to never answer)",
            )
            return None
        steps = [memo(self._step_cache, item, self._step) for item in items]
        if any(step is None for step in steps):
            return None
        replies = tuple(step for step in steps if step is not None)
        final_node: Node | None = None
        for step, step_node in zip(replies, items, strict=True):
            if final_node is not None:
                nodes.warn(
                    step_node,
                    f"response after the final response at "
                    f"{nodes.at(final_node)} (a transaction has one final response, "
                    "RFC 3261 §17.2.1)",
                )
            elif step.is_final:
                final_node = step_node
        return replies

    def _step(self, node: Node) -> Reply | None:
        if isinstance(node, ScalarNode) and node.tag == INT:
            code = self._code(node)
            return None if code is None else Reply(code=code, location=self.nodes.location(node))
        if isinstance(node, MappingNode):
            return self._step_mapping(node)
        self.nodes.wrong_type(node, "reply step", "a status code or a mapping")
        return None

    def _code(self, node: Node, fault: bool = False) -> int | None:
        """A step's status code: 100-699 (RFC 3261 §7.2), or 0-999 in a step with a fault."""
        nodes = self.nodes
        expected = "a number 0-999 in a step with 'fault'" if fault else "a status code 100-699"
        code = nodes.integer(node, "'code'", expected)
        if code is None:
            return None
        checked = nodes.checked(node, validate.status_code, code, fault=fault)
        if checked is not None and not fault:
            nodes.warn_not_sip(node, checked)
        return checked

    def _step_mapping(self, node: MappingNode) -> Reply | None:
        nodes = self.nodes
        step = nodes.section(node, "reply step", "in reply step", validate.STEP_KEYS)
        if step is None:
            return None
        code: int | None = None
        if "code" in step:
            code = step.get("code", lambda n: self._code(n, fault="fault" in step), None)
        else:
            nodes.error(node, validate.NO_CODE)
            step.check(False)
        reason = step.get("reason", self.reason, None)
        after = step.get("after", lambda n: nodes.duration(n, "'after'"), 0.0)
        headers: tuple[tuple[str, str], ...] = step.get("headers", self.headers, ())
        omit: tuple[str, ...] = step.get("omit", lambda n: self._omit(n, headers), ())
        body = step.get("body", self._body, None)
        sdp = step.get("sdp", self._sdp, None)
        if "sdp" in step:
            step.check(
                nodes.holds(step.key_node("sdp"), validate.body_or_sdp, "body" in step, True)
            )
        reliable = step.get("reliable", lambda n: nodes.boolean(n, "'reliable'"), None)
        if reliable and code is not None:
            step.check(nodes.holds(step.value_node("reliable"), validate.reliable_code, code))
        fault = self.faults.step_fault(step, code)
        if not step.ok or code is None:
            return None
        return Reply(
            code=code,
            reason=reason,
            after=after,
            headers=headers,
            omit=omit,
            body=body,
            sdp=sdp,
            reliable=reliable,
            fault=fault,
            location=nodes.location(node),
        )

    def reason(self, node: Node) -> str | None:
        """A reason phrase: one line of text (RFC 3261 §7.2)."""
        return self.nodes.checked_text(node, "'reason'", "text", validate.reason)

    def headers(self, node: Node) -> tuple[tuple[str, str], ...] | None:
        """Header fields to send: each name with one value or a list of them."""
        headers = read_header_map(self.nodes, node, self._header_values)
        if headers is None:
            return None
        return tuple((name, value) for name, values in headers for value in values)

    def _header_values(self, node: Node, subject: str) -> list[str] | None:
        def header_value(item: Node) -> str | None:
            value = self.nodes.checked_text(
                item, subject, validate.HEADER_VALUE_HINT, validate.header_value, subject
            )
            if value is not None:
                self.nodes.check_placeholders(item, subject, value)
            return value

        return self.nodes.one_or_many(node, subject, "header value", header_value)

    def _omit(self, node: Node, headers: tuple[tuple[str, str], ...]) -> tuple[str, ...] | None:
        nodes = self.nodes
        names = nodes.one_or_many(
            node,
            "'omit'",
            "header name",
            lambda item: nodes.checked_text(
                item, "'omit' entry", "header name", validate.header_name, "'omit' entry"
            ),
        )
        if names is None:
            return None
        set_here = [name for name, _ in headers]
        seen: dict[str, Node] = {}
        ok = True
        for name, item in zip(names, item_nodes(node), strict=True):
            if not (
                nodes.holds(item, validate.not_set_and_omitted, name, set_here)
                and unique_header(nodes, name, item, seen)
            ):
                ok = False
        return tuple(names) if ok else None

    def _body(self, node: Node) -> str | None:
        body = self.nodes.text(node, "'body'")
        if body is not None:
            self.nodes.check_placeholders(node, "'body'", body)
        return body

    def _sdp(self, node: Node) -> str | SdpSettings | None:
        if isinstance(node, MappingNode):
            return self.media.sdp_settings(node)
        sdp = self.nodes.checked_text(node, "'sdp'", validate.SDP_TYPE_HINT, validate.sdp)
        if isinstance(sdp, str) and sdp != "answer":
            self.nodes.check_placeholders(node, "'sdp'", sdp)
        return sdp
