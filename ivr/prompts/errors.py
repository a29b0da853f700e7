"""Errors of the prompt package."""

from __future__ import annotations

from ivr.errors import IvrError
from settings.located import Problem


class PromptError(IvrError):
    """Prompt texts are invalid, audio is missing or malformed, or rendering failed."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems
