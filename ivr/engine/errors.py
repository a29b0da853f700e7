"""Errors of the flow engine: a bad flow file, or the engine being driven wrongly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivr.errors import IvrError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a flow file, located for the admin who wrote it.

    ``line`` and ``column`` are 1-based; ``path`` is the YAML path such as
    ``flows.main[1].menu.options.9`` (empty for the document itself).
    """

    source: Path
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


class FlowError(IvrError):
    """A flow file (or the prompt texts it uses) is invalid; lists every problem found."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        if not problems:
            raise ValueError("FlowError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class EngineUsageError(IvrError):
    """The engine was driven against its contract (e.g. a naive ``now``)."""
