"""Header mappings, as in a rule's ``match`` and a reply step: ``{Name: value}``, names unique."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from yaml.nodes import Node

from sipfault.model import validate
from sipfault.scenario.scalars import ScalarReader

__all__ = ["read_header_map", "unique_header"]

T = TypeVar("T")


def read_header_map(
    nodes: ScalarReader, node: Node, read_value: Callable[[Node, str], T | None]
) -> list[tuple[str, T]] | None:
    """The (name, value) pairs of a ``headers`` mapping, each name given once.

    ``read_value`` reads a value node; its second argument names it, like ``header 'Subject'``.
    """
    pairs = nodes.mapping(node, "'headers'", "in headers", None)
    if pairs is None:
        return None
    result: list[tuple[str, T]] = []
    seen: dict[str, Node] = {}
    ok = True
    for key, (key_node, value_node) in pairs.items():
        name = nodes.checked_text(key_node, "header name", "header name", validate.header_name)
        value = read_value(value_node, f"header {key!r}")
        if name is not None and not unique_header(nodes, name, key_node, seen):
            name = None
        if name is None or value is None:
            ok = False
        else:
            result.append((name, value))
    return result if ok else None


def unique_header(nodes: ScalarReader, name: str, node: Node, seen: dict[str, Node]) -> bool:
    """Header names ignore case (RFC 3261 §7.3.1): `Subject` and `subject` are one field."""
    folded = name.lower()
    if folded in seen:
        nodes.error(
            node,
            f"header {name!r} is also given at {nodes.at(seen[folded])} "
            "(header names ignore case; expected each once)",
        )
        return False
    seen[folded] = node
    return True
