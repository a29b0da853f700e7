"""Errors of the flow engine: a bad flow file, or the engine being driven wrongly."""

from __future__ import annotations

from ivr.errors import IvrError
from settings.located import Problem

__all__ = ["EngineUsageError", "FlowError", "Problem"]


class FlowError(IvrError):
    """A flow file (or the prompt texts it uses) is invalid; lists every problem found."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        if not problems:
            raise ValueError("FlowError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class EngineUsageError(IvrError):
    """The engine was driven against its contract (e.g. a naive ``now``)."""
