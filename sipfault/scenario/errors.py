"""Problems found in a scenario file, each with the place it was found."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["ScenarioError", "ScenarioIssue", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ScenarioIssue:
    """One problem in a scenario file, printed as ``file:line:col: message``."""

    file: str
    """The file name as it was given to the loader (a relative path stays relative)."""
    line: int
    """1-based line of the offending node; 0 when the problem has no place (unreadable file)."""
    column: int
    """1-based column of the offending node; 0 when the problem has no place."""
    message: str
    """What is wrong and, in parentheses, what was expected."""
    severity: Severity = "error"
    """``"error"`` stops the file from loading; ``"warning"`` is advice and does not."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line > 0 else self.file
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        """True when this issue stops the file from loading."""
        return self.severity == "error"


class ScenarioError(Exception):
    """A scenario file could not be loaded; ``issues`` holds every problem found in it.

    ``issues`` lists the errors and any warnings of the file, in the order they occur in it;
    ``str()`` gives one issue per line.
    """

    issues: list[ScenarioIssue]

    def __init__(self, issues: Iterable[ScenarioIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[ScenarioIssue]]]:
        # Exception pickles its args (the joined text); rebuild from the issues instead.
        return (type(self), (self.issues,))

    @property
    def errors(self) -> list[ScenarioIssue]:
        """Only the issues of severity ``"error"``."""
        return [issue for issue in self.issues if issue.is_error]
