"""Faults in a scenario file: a reply step's ``fault`` and its parameters, a rule's ``faults``
and the scenario's ``endpoint_faults``.

A fault is written as its name, or as a mapping with ``fault`` (the name) and its parameters::

    faults: [drop, {fault: delay, min: 200ms, max: 2s}]
    endpoint_faults: [{fault: outage, after: 10s, for: 30s}]

In a reply step the parameters sit in the step itself: ``{code: 200, fault: drop, count: 2}``.
Every value is checked by ``sipfault.model.validate``, as the Python API checks it.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from sipfault.model import validate
from sipfault.model.faults import FAULTS, PARAMETERS, STEP, Fault
from sipfault.scenario.nodes import MAP, Section
from sipfault.scenario.scalars import ScalarReader

__all__ = ["FaultReader"]


class FaultReader:
    """Reads faults into :class:`~sipfault.model.faults.Fault` objects, errors at their place."""

    def __init__(self, nodes: ScalarReader) -> None:
        self.nodes = nodes

    def name(self, node: Node, scope: str) -> str | None:
        """A fault's name, known and allowed in ``scope``."""
        return self.nodes.checked_text(node, "'fault'", "a fault name", validate.fault_name,
                                       scope)

    def parameter(self, name: str, key: str, node: Node) -> object | None:
        """One parameter of fault ``name`` written at ``node``, checked and converted."""
        value = self.nodes.scalar_value(node, f"'{key}'", PARAMETERS.get(key, "a value"))
        if value is None:
            return None
        checked = self.nodes.checked(node, validate.fault_parameter, name, key, value)
        if key == "bytes" and isinstance(checked, str):
            self.nodes.check_placeholders(node, "'bytes'", checked)
        return checked

    def step_fault(self, step: Section, code: int | None) -> Fault | None:
        """The fault of a reply step (``fault`` and the parameter keys beside it), or None.

        A parameter without ``fault`` is an error at its key; the section is spoiled on any
        error.
        """
        params_given = [key for key in validate.FAULT_STEP_KEYS if key in step]
        if "fault" not in step:
            for key in params_given:
                self.nodes.error(
                    step.key_node(key),
                    f"{key!r} is a parameter of a fault (expected it with 'fault' in the step)",
                )
                step.check(False)
            return None
        name = self.name(step.value_node("fault"), STEP)
        if name is None:
            step.check(False)
            return None
        params: dict[str, object] = {}
        for key in params_given:
            value = self.parameter(name, key, step.value_node(key))
            if value is None:
                step.check(False)
            else:
                params[key] = value
        if not step.ok:
            return None
        fault = self.nodes.checked(step.value_node("fault"), validate.make_fault, name, params)
        if fault is not None and code is not None:
            fault = self.nodes.checked(step.value_node("fault"), validate.fault_on_step, fault,
                                       code)
        if fault is None:
            step.check(False)
        return fault

    def fault_list(self, node: Node, subject: str, scope: str) -> tuple[Fault, ...] | None:
        """A list of faults (one alone counts as a list of one), each a name or a mapping."""
        items: list[Node] | None = [node] if _single(node) else None
        if items is None:
            items = self.nodes.items(node, subject, "a list of faults")
            if items is None:
                return None
        faults = [self.one(item, scope) for item in items]
        if any(fault is None for fault in faults):
            return None
        return tuple(fault for fault in faults if fault is not None)

    def one(self, node: Node, scope: str) -> Fault | None:
        """A fault written as its name or as a mapping with ``fault`` and its parameters."""
        nodes = self.nodes
        if isinstance(node, ScalarNode):
            name = self.name(node, scope)
            return None if name is None else nodes.checked(node, validate.make_fault, name, {},
                                                           scope)
        if not isinstance(node, MappingNode) or node.tag != MAP:
            nodes.wrong_type(node, "a fault", validate.FAULT_HINT)
            return None
        pairs = nodes.pairs(node)
        if "fault" not in pairs:
            nodes.error(node, f"a fault mapping has no 'fault' (expected {validate.FAULT_HINT})")
            return None
        name = self.name(pairs["fault"][1], scope)
        if name is None:
            return None
        allowed = ("fault", *FAULTS[name].params, "probability")
        params: dict[str, object] = {}
        ok = True
        for key, (key_node, value_node) in pairs.items():
            if key == "fault":
                continue
            if key not in allowed:
                nodes.error(key_node, _not_taken(name, key, allowed))
                ok = False
                continue
            value = self.parameter(name, key, value_node)
            if value is None:
                ok = False
            else:
                params[key] = value
        if not ok:
            return None
        return nodes.checked(node, validate.make_fault, name, params, scope)


def _single(node: Node) -> bool:
    """A fault written alone where a list is expected: a name, or a mapping."""
    return isinstance(node, ScalarNode | MappingNode)


def _not_taken(name: str, key: str, allowed: tuple[str, ...]) -> str:
    try:
        validate.fault_parameter(name, key, None)
    except validate.InvalidValue as exc:
        return str(exc)
    return validate.unknown_key(key, f"in fault {name!r}", allowed)  # pragma: no cover
