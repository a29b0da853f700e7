"""The prompt sets of every language a flow uses, with fallback to the flow's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ivr.prompts.errors import PromptError
from ivr.prompts.promptset import PromptSet


def language_audio_dir(default_audio: Path, default_language: str, language: str) -> Path:
    """``var/prompts/zh`` → ``var/prompts/en`` (the audio of each language side by side)."""
    if language == default_language:
        return default_audio
    return default_audio.with_name(language)


@dataclass(frozen=True)
class PromptLibrary:
    """``pcm16(key, language)``: the language's audio, else the default language's."""

    default: str
    sets: Mapping[str, PromptSet]

    @classmethod
    def load(
        cls, default: str, texts: Path, audio: Path, languages: Iterable[str]
    ) -> PromptLibrary:
        """Texts of other languages sit next to ``texts`` (``en.yaml``), audio next to ``audio``."""
        sets = {default: PromptSet.load(texts, audio)}
        for language in languages:
            if language != default:
                sets[language] = PromptSet.load(
                    texts.with_name(f"{language}.yaml"),
                    language_audio_dir(audio, default, language),
                )
        return cls(default, sets)

    def pcm16(self, key: str, language: str = "") -> bytes:
        chosen = self.sets.get(language or self.default)
        if chosen is not None and key in chosen.audio:
            return chosen.pcm16(key)
        return self.sets[self.default].pcm16(key)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """Keys without default-language audio, and texts of other languages without audio."""
        wanted = set(keys)
        found = self.sets[self.default].missing(wanted)
        for language, prompts in self.sets.items():
            if language != self.default:
                found += [
                    f"{language}:{key}"
                    for key in sorted(wanted & prompts.texts.keys())
                    if key not in prompts.audio
                ]
        return found

    def check(self, keys: Iterable[str]) -> None:
        missing = self.missing(keys)
        if missing:
            raise PromptError(
                f"prompt audio missing: {', '.join(missing)} (run `hotline prompts build`)"
            )
