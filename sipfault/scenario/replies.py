"""A rule's ``reply``: the steps of responses it sends, each a code or a mapping."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from sipfault.core.faults import FAULTS
from sipfault.model.scenario import Reply
from sipfault.scenario.header_maps import read_header_map, unique_header
from sipfault.scenario.nodes import INT, Fields, Pairs, item_nodes, memo, shorten
from sipfault.scenario.scalars import ScalarReader, not_sip_note
from sipfault.sip.codes import is_valid_status

__all__ = ["ReplyReader"]

_STEP_KEYS = ("code", "reason", "after", "headers", "omit", "body", "sdp", "reliable", "fault")


class ReplyReader:
    """Reads reply step lists into ``Reply`` tuples.

    Its reason phrase and header readers also serve the registrar's ``fail_first`` entries.
    """

    def __init__(self, nodes: ScalarReader) -> None:
        self.nodes = nodes
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
        if fault:
            # A deliberate malformed message may carry any three-digit number, 701 included.
            code = nodes.integer(node, "'code'", "a number 0-999 in a step with 'fault'")
            if code is not None and not 0 <= code <= 999:
                nodes.error(
                    node,
                    f"status code {code} is out of range even for a fault (expected 0-999: "
                    "a status line has three digits)",
                )
                return None
            return code
        code = nodes.integer(node, "'code'", "a status code 100-699")
        if code is None:
            return None
        if not is_valid_status(code):
            nodes.error(
                node,
                f"status code {code} is out of range (expected 100-699, RFC 3261 §7.2, "
                "or a step with 'fault' to send it as a malformed message)" + not_sip_note(code),
            )
            return None
        nodes.warn_not_sip(node, code)
        return code

    def _step_mapping(self, node: MappingNode) -> Reply | None:
        nodes = self.nodes
        pairs = nodes.mapping(node, "reply step", "in reply step", _STEP_KEYS)
        if pairs is None:
            return None
        fields = Fields()
        code: int | None = None
        if "code" in pairs:
            code = self._code(pairs["code"][1], fault="fault" in pairs)
            fields.ok &= code is not None
        else:
            nodes.error(node, "reply step has no 'code' (expected a status code 100-699)")
            fields.ok = False
        if "reason" in pairs:
            fields.put("reason", self.reason(pairs["reason"][1]))
        if "after" in pairs:
            fields.put("after", nodes.duration(pairs["after"][1], "'after'"))
        headers: tuple[tuple[str, str], ...] = ()
        if "headers" in pairs:
            read_headers = self.headers(pairs["headers"][1])
            fields.put("headers", read_headers)
            headers = read_headers or ()
        if "omit" in pairs:
            fields.put("omit", self._omit(pairs["omit"][1], headers))
        if "body" in pairs:
            body_node = pairs["body"][1]
            body = nodes.text(body_node, "'body'")
            if body is not None:
                nodes.check_placeholders(body_node, "'body'", body)
            fields.put("body", body)
        if "sdp" in pairs:
            fields.put("sdp", self._sdp(pairs["sdp"][1]))
            if "body" in pairs:
                nodes.error(
                    pairs["sdp"][0],
                    "a reply step cannot have both 'body' and 'sdp' (expected one of them)",
                )
                fields.ok = False
        if "reliable" in pairs:
            reliable = nodes.boolean(pairs["reliable"][1], "'reliable'")
            fields.put("reliable", reliable)
            if reliable and code is not None and not self._can_be_reliable(code, pairs):
                fields.ok = False
        if "fault" in pairs:
            fields.put("fault", self._fault(pairs["fault"][1]))
        if not fields.ok or code is None:
            return None
        location = nodes.location(node)
        return Reply(code=code, location=location, **fields.values)  # type: ignore[arg-type]

    def reason(self, node: Node) -> str | None:
        """A reason phrase: one line of text (RFC 3261 §7.2)."""
        reason = self.nodes.text(node, "'reason'")
        if reason is None or not self.nodes.one_line(node, "'reason'", reason):
            return None
        return reason

    def _can_be_reliable(self, code: int, pairs: Pairs) -> bool:
        """RFC 3262 §3: only a 101-199 provisional response is sent reliably."""
        node = pairs["reliable"][1]
        if code == 100:
            self.nodes.error(
                node,
                "100 Trying cannot be sent reliably (expected a 101-199 "
                "provisional response, RFC 3262 §3)",
            )
            return False
        if code >= 200:
            self.nodes.error(
                node,
                f"a final response ({code}) cannot be sent reliably (expected "
                "a 101-199 provisional response, RFC 3262 §3)",
            )
            return False
        return True

    def headers(self, node: Node) -> tuple[tuple[str, str], ...] | None:
        """Header fields to send: each name with one value or a list of them."""
        headers = read_header_map(self.nodes, node, self._header_values)
        if headers is None:
            return None
        return tuple((name, value) for name, values in headers for value in values)

    def _header_values(self, node: Node, subject: str) -> list[str] | None:
        def header_value(item: Node) -> str | None:
            expected = "a header value; to leave a header out, use 'omit'"
            text = self.nodes.text(item, subject, expected)
            if text is None or not self.nodes.one_line(item, subject, text):
                return None
            self.nodes.check_placeholders(item, subject, text)
            return text

        return self.nodes.one_or_many(node, subject, "header value", header_value)

    def _omit(self, node: Node, headers: tuple[tuple[str, str], ...]) -> tuple[str, ...] | None:
        nodes = self.nodes
        names = nodes.one_or_many(
            node,
            "'omit'",
            "header name",
            lambda item: nodes.token(item, "'omit' entry", "header name"),
        )
        if names is None:
            return None
        set_here = {name.lower() for name, _ in headers}
        seen: dict[str, Node] = {}
        ok = True
        for name, item in zip(names, item_nodes(node), strict=True):
            if name.lower() in set_here:
                nodes.error(
                    item,
                    f"header {name!r} is both set in 'headers' and left out in "
                    "'omit' (expected one of them)",
                )
                ok = False
            elif not unique_header(nodes, name, item, seen):
                ok = False
        return tuple(names) if ok else None

    def _sdp(self, node: Node) -> str | None:
        expected = "'answer', or SDP text starting with 'v=0'"
        text = self.nodes.text(node, "'sdp'", expected)
        if text is None:
            return None
        if text.strip() == "answer":
            return "answer"
        if text.lstrip().startswith("v="):
            self.nodes.check_placeholders(node, "'sdp'", text)
            return text
        self.nodes.error(node, f"'sdp' is {shorten(text)!r} (expected {expected})")
        return None

    def _fault(self, node: Node) -> str | None:
        text = self.nodes.text(node, "'fault'", "a fault name")
        if text is None:
            return None
        if text not in FAULTS:
            self.nodes.error(
                node,
                f"unknown fault {text!r} (expected one of: {', '.join(sorted(FAULTS))})",
            )
            return None
        return text
