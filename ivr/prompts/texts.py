"""Prompt texts: the data file that says what each prompt key sounds like.

```yaml
voice: cmn-latn-pinyin          # espeak-ng voice used to render the speech
prompts:
  welcome: 您好，这里是一二三二零卫生健康热线。
  digits/0: 零
  beep: {tone: 1000, seconds: 0.25}   # a generated tone, not speech
```
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from ivr.engine.verbs.base import PromptKey
from ivr.prompts.errors import PromptError
from settings.located import Problem, read_located

#: Bump when the rendering pipeline changes so every prompt is rendered again.
RENDER_VERSION = 1


class Tone(BaseModel):
    """A sine tone (the recording beep)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tone: Annotated[float, Strict()] = Field(gt=0, le=3400)
    seconds: Annotated[float, Strict()] = Field(gt=0, le=5)


Entry = str | Tone


class _TextsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    voice: str = Field(min_length=1)
    prompts: dict[PromptKey, object]


@dataclass(frozen=True)
class PromptTexts:
    source: Path
    voice: str
    entries: Mapping[str, Entry]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def keys(self) -> frozenset[str]:
        return frozenset(self.entries)

    def fingerprint(self, key: str) -> str:
        """Changes whenever the audio for ``key`` must be rendered again."""
        entry = self.entries[key]
        what: object = entry.model_dump() if isinstance(entry, Tone) else [self.voice, entry]
        payload = json.dumps([RENDER_VERSION, what], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


def load_prompt_texts(path: Path) -> PromptTexts:
    """Read and validate a prompt-texts file; ``PromptError`` names file:line:col on failure."""
    _, located = read_located(path, "prompt texts", _errors)
    document = located.document
    try:
        parsed = _TextsFile.model_validate(document.data)
    except ValidationError as error:
        problems = located.validation_problems(error, fields=list(_TextsFile.model_fields))
        raise PromptError("\n".join(str(p) for p in problems), tuple(problems)) from error
    problems = []
    entries: dict[str, Entry] = {}
    for key, value in parsed.prompts.items():
        if isinstance(value, str) and value.strip():
            entries[key] = value
            continue
        if isinstance(value, dict):
            try:
                entries[key] = Tone.model_validate(value)
            except ValidationError as error:
                prefix: tuple[str | int, ...] = ("prompts", key)
                problems += located.validation_problems(
                    error, prefix.__add__, list(Tone.model_fields)
                )
            continue
        message = "expected the prompt's text (quote numbers) or a tone {tone: HZ, seconds: S}"
        problems.append(located.problem(("prompts", key), message))
    if problems:
        raise PromptError("\n".join(str(p) for p in problems), tuple(problems))
    return PromptTexts(source=path, voice=parsed.voice, entries=entries)


def _errors(problems: list[Problem]) -> PromptError:
    return PromptError("\n".join(str(p) for p in problems), tuple(problems))


def _error(path: Path, line: int, column: int, yaml_path: str, message: str) -> PromptError:
    problem = Problem(path, line, column, yaml_path, message)
    return PromptError(str(problem), (problem,))
