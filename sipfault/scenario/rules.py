"""The ``rules`` list: each rule's match, its replies, drop or dial-a-code, and their checks."""

from __future__ import annotations

from typing import Literal

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

from sipfault.model import validate
from sipfault.model.faults import RULE, Fault
from sipfault.model.scenario import Action, DialACode, FaxSettings, Match, Reply, Rule, T38Answer
from sipfault.scenario.match import MatchReader
from sipfault.scenario.nodes import BOOL, item_nodes, memo
from sipfault.scenario.replies import ReplyReader
from sipfault.scenario.scalars import ScalarReader
from sipfault.sip.codes import CATALOGUE, required_headers

__all__ = ["RuleReader"]

_RULE_KEYS = ("match", "reply", "drop", "name", "dial_a_code", "t38", "then", "faults", "fax")


class RuleReader:
    """Reads the ``rules`` list into ``Rule`` tuples, warning about rules that cannot work."""

    def __init__(self, nodes: ScalarReader, replies: ReplyReader) -> None:
        self.nodes = nodes
        self.matches = MatchReader(nodes)
        self.replies = replies
        self._rule_cache: dict[Node, Rule | None] = {}

    def rules(self, node: Node) -> tuple[Rule, ...] | None:
        items = self.nodes.items(node, "'rules'", "a list of rules")
        if items is None:
            return None
        rules = [memo(self._rule_cache, item, self._rule) for item in items]
        if any(rule is None for rule in rules):
            return None
        checked = tuple(rule for rule in rules if rule is not None)
        self._check_rule_order(checked, items)
        return checked

    def _check_rule_order(self, rules: tuple[Rule, ...], nodes: list[Node]) -> None:
        """Warn about rules that can never match and names used twice."""
        catch_all: Node | None = None
        names: dict[str, Node] = {}
        for rule, node in zip(rules, nodes, strict=True):
            if catch_all is not None and catch_all is not node:
                self.nodes.warn(
                    node,
                    f"this rule never matches: the rule at {self.nodes.at(catch_all)} "
                    "answers every request before it",
                )
            elif catch_all is None and rule.match.unconditional:
                catch_all = node
            if rule.name is not None:
                if rule.name in names and names[rule.name] is not node:
                    self.nodes.warn(
                        node,
                        f"rule name {rule.name!r} is also used at "
                        f"{self.nodes.at(names[rule.name])} (expected unique names)",
                    )
                names.setdefault(rule.name, node)

    def _rule(self, node: Node) -> Rule | None:
        nodes = self.nodes
        rule = nodes.section(node, "a rule", "in rule", _RULE_KEYS)
        if rule is None:
            return None
        match = rule.get("match", self.matches.match, Match())
        replies: tuple[Reply, ...] = rule.get("reply", self.replies.reply_list, ())
        # A `drop` that cannot be read is neither true nor false: no error for a missing reply.
        drop: bool | None = False
        if "drop" in rule:
            drop = nodes.boolean(rule.value_node("drop"), "'drop'")
            rule.check(drop is not None)
        name = rule.get("name", lambda n: nodes.text(n, "rule 'name'"), None)
        faults: tuple[Fault, ...] = rule.get(
            "faults", lambda n: self.replies.faults.fault_list(n, "'faults'", RULE), ()
        )
        swallows = any(fault.name == "swallow" for fault in faults)

        # `dial_a_code: false` is the same as leaving the key out.
        dial: DialACode | None = None
        dial_given = False
        if "dial_a_code" in rule:
            read_dial = self._dial_a_code(rule.value_node("dial_a_code"))
            rule.check(read_dial is not None)
            dial_given = read_dial is not False
            dial = read_dial or None

        if drop and replies:
            nodes.error(
                rule.key_node("drop"),
                "a rule cannot both 'drop' and 'reply' (expected one of them)",
            )
            rule.check(False)
        if dial_given and "reply" in rule:
            nodes.error(
                rule.key_node("dial_a_code"),
                "a rule cannot have both 'dial_a_code' and 'reply' (expected one of them)",
            )
            rule.check(False)
        if dial_given and drop:
            nodes.error(
                rule.key_node("dial_a_code"),
                "a rule cannot both 'drop' and answer with 'dial_a_code' (expected one of them)",
            )
            rule.check(False)
        t38: T38Answer | None = rule.get("t38", self.replies.media.t38_answer, None)
        if "t38" in rule:
            for other in ("reply", "dial_a_code"):
                if other in rule and (other != "dial_a_code" or dial_given):
                    nodes.error(rule.key_node("t38"), f"a rule cannot have both 't38' and "
                                f"'{other}' (expected one of them)")
                    rule.check(False)
            if drop:
                nodes.error(rule.key_node("t38"), "a rule cannot both 'drop' and answer with "
                            "'t38' (expected one of them)")
                rule.check(False)
        if ("reply" not in rule and drop is False and not dial_given and "t38" not in rule
                and not swallows):
            nodes.error(
                node,
                "rule has no 'reply' (expected a list of reply steps, 'dial_a_code: true', "
                "or 'drop: true' to never answer)",
            )
            rule.check(False)
        then: tuple[Action, ...] = rule.get("then", self.replies.media.actions, ())
        if "then" in rule and rule.ok:
            steps = replies or ((t38.reply(),) if t38 is not None else ())
            rule.check(self.nodes.holds(rule.key_node("then"), validate.then_needs_2xx, steps))
        fax: FaxSettings | None = rule.get("fax", self._fax, None)
        if not rule.ok or drop is None:
            return None
        if (replies or dial) and match.methods is not None and "ACK" in match.methods:
            nodes.warn(
                node,
                "ACK is never answered (RFC 3261 §17.1.1.3); "
                "this rule's replies apply only to its other methods",
            )
        if replies:
            self._check_omits(match.methods, replies, rule.value_node("reply").value)
        return Rule(
            match=match,
            reply=replies,
            drop=drop,
            name=name,
            dial_a_code=dial,
            t38=t38,
            then=then,
            faults=faults,
            fax=fax,
            location=nodes.location(node),
        )

    def _fax(self, node: Node) -> FaxSettings | None:
        """``fax``: receive or send pages on the call's T.38 stream."""
        value = SafeConstructor().construct_object(node, deep=True)
        return self.nodes.checked(node, validate.fax_fields, value)

    def _dial_a_code(self, node: Node) -> DialACode | Literal[False] | None:
        """``true`` (the defaults), ``false`` (no dial-a-code) or a mapping of its settings."""
        nodes = self.nodes
        if isinstance(node, ScalarNode) and node.tag == BOOL:
            enabled = nodes.boolean(node, "'dial_a_code'")
            if enabled is None:
                return None
            return DialACode() if enabled else False
        if not isinstance(node, MappingNode):
            nodes.wrong_type(
                node, "'dial_a_code'", "true, or a mapping with ring, answer_after and fallback"
            )
            return None
        section = nodes.section(
            node, "'dial_a_code'", "in dial_a_code", ("ring", "answer_after", "fallback")
        )
        if section is None:
            return None
        default = DialACode()
        dial = DialACode(
            ring=section.get("ring", lambda n: nodes.duration(n, "'ring'"), default.ring),
            answer_after=section.get(
                "answer_after", lambda n: nodes.duration(n, "'answer_after'"), default.answer_after
            ),
            fallback=section.get(
                "fallback", lambda n: nodes.status(n, "'fallback'", 200), default.fallback
            ),
        )
        return dial if section.ok else None

    def _check_omits(
        self, methods: frozenset[str] | None, replies: tuple[Reply, ...], items: list[Node]
    ) -> None:
        """Warn at each ``omit`` entry that leaves out a field the step's code requires.

        Checked per rule, since what a code requires depends on the methods the rule answers;
        a rule for every method counts a field that any method requires.
        """
        for step, item in zip(replies, items, strict=True):
            if not step.omit or not isinstance(item, MappingNode):
                continue
            required = _required_fields(step.code, methods)
            if not required:
                continue
            omit_node = self.nodes.pairs(item)["omit"][1]
            for name, omit_item in zip(step.omit, item_nodes(omit_node), strict=True):
                header = required.get(name.lower())
                if header is not None:
                    self.nodes.warn(
                        omit_item,
                        f"omits required header {header} of {step.code} on purpose "
                        f"(required by {CATALOGUE[step.code].defined_in}; remove it from "
                        "'omit' to have it filled in)",
                    )


def _required_fields(code: int, methods: frozenset[str] | None) -> dict[str, str]:
    """The fields a ``code`` response to any of ``methods`` must carry, lower-cased to name.

    ``methods`` None stands for every method: a field that any method requires counts.
    Uncatalogued codes (and numbers outside 100-699) require nothing here.
    """
    info = CATALOGUE.get(code)
    if info is None:
        return {}
    if methods is None:
        named = frozenset(m for r in info.must if r.methods is not None for m in r.methods)
        # Requirements without methods apply to any method, so any one name finds them.
        methods = named or frozenset({"OPTIONS"})
    return {
        header.lower(): header
        for method in sorted(methods)
        for header in required_headers(code, method)
    }
