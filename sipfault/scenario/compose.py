"""YAML text to a node tree with the safe loader; parser errors become issues with a place.

Nothing is ever constructed from tags here: the tree is composed, and the readers convert
only the scalars the schema expects.
"""

from __future__ import annotations

import yaml
from yaml.nodes import Node

from sipfault.scenario.nodes import NodeReader, line_and_column

__all__ = ["compose"]

# The schema nests about eight levels; deeper input is an error with a place, before PyYAML's
# recursive composer hits Python's recursion limit (and its flow scanner slows quadratically).
_MAX_DEPTH = 64


class _DepthLimitedLoader(yaml.SafeLoader):
    """The safe loader, refusing collections nested deeper than ``_MAX_DEPTH``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        self._depth += 1
        try:
            if self._depth > _MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {_MAX_DEPTH} levels deep", mark
                )
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1


def compose(text: str, nodes: NodeReader) -> tuple[bool, Node | None]:
    """Whether the text is YAML, and its root node (None for an empty document).

    What makes the text unreadable is reported to ``nodes``.
    """
    try:
        root: Node | None = yaml.compose(text, Loader=_DepthLimitedLoader)
    except yaml.composer.ComposerError as exc:
        if exc.problem != "but found another document" or exc.problem_mark is None:
            _yaml_error(exc, nodes)
        else:
            mark = exc.problem_mark
            nodes.issue(
                mark.line + 1,
                mark.column + 1,
                "a second YAML document starts here (expected one document per file)",
            )
        return False, None
    except yaml.MarkedYAMLError as exc:
        _yaml_error(exc, nodes)
        return False, None
    except yaml.reader.ReaderError as exc:
        position = max(0, min(exc.position, len(text)))
        line, column = line_and_column(text, position, "\n")
        nodes.issue(
            line,
            column,
            f"invalid YAML: character #x{exc.character:04x} is not "
            "allowed (expected printable Unicode text)",
        )
        return False, None
    except RecursionError:
        nodes.issue(1, 1, "invalid YAML: nested too deeply (expected a scenario file)")
        return False, None
    except Exception as exc:  # any other parser failure is the file's fault
        nodes.issue(1, 1, f"invalid YAML: {exc}")
        return False, None
    return True, root


def _yaml_error(exc: yaml.MarkedYAMLError, nodes: NodeReader) -> None:
    """A syntax error from the YAML parser, at the place it names."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
    if exc.problem and exc.context:
        context_mark = exc.context_mark
        where = ""
        if context_mark is not None and context_mark is not mark:
            where = f" at {context_mark.line + 1}:{context_mark.column + 1}"
        message += f" ({exc.context}{where})"
    nodes.issue(line, column, message)
