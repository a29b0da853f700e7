"""``language``: switch the call's prompt set (e.g. to ``en``) from here on.

The menu's own ``language`` (default ``zh``, Mandarin) is where every prompt
must have a text; another language needs its texts file next to it
(``config/prompts/en.yaml``). A prompt it has no text for is played in the
menu's language, so a second language can start with a few prompts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from pydantic import Field

from ivr.engine.state import CallState, Runner, Step
from ivr.engine.verbs.base import Reference, VerbModel
from ivr.engine.verbs.control import Immediate

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$"
LanguageCode = Annotated[str, Field(pattern=LANGUAGE_PATTERN)]


class LanguageVerb(VerbModel):
    """``language: en``."""

    verb = "language"
    shorthand = "code"

    code: LanguageCode

    def references(self) -> Iterator[Reference]:
        yield Reference("language", self.code, ("code",))

    def runner(self) -> Runner:
        return LanguageRunner(self.code)


class LanguageRunner(Immediate):
    def __init__(self, code: str) -> None:
        super().__init__(Step())
        self.code = code

    def start(self, call: CallState, now: datetime) -> Step:
        call.language = self.code
        return Step()
