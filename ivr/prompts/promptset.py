"""The rendered prompts of one language, loaded into memory for playback."""

from __future__ import annotations

import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ivr.prompts.build import SAMPLE_RATE, audio_path, read_manifest
from ivr.prompts.errors import PromptError
from ivr.prompts.texts import PromptTexts, load_prompt_texts


@dataclass(frozen=True)
class PromptSet:
    """Prompt audio as 8 kHz, 16-bit little-endian, mono PCM, by prompt key."""

    texts: PromptTexts
    audio_dir: Path
    audio: Mapping[str, bytes]
    stale_keys: frozenset[str]

    @classmethod
    def load(cls, texts: Path, audio_dir: Path) -> PromptSet:
        """Load the texts and every rendered WAV; a WAV in another format is an error.

        Keys without audio are not an error here: ask ``missing()`` for the keys
        a flow needs.
        """
        prompt_texts = load_prompt_texts(texts)
        manifest = read_manifest(audio_dir)
        audio: dict[str, bytes] = {}
        stale: set[str] = set()
        for key in prompt_texts.entries:
            path = audio_path(audio_dir, key)
            if not path.exists():
                continue
            audio[key] = _read_pcm16(path)
            if manifest.get(key) != prompt_texts.fingerprint(key):
                stale.add(key)
        return cls(prompt_texts, audio_dir, audio, frozenset(stale))

    def pcm16(self, key: str) -> bytes:
        try:
            return self.audio[key]
        except KeyError:
            raise PromptError(f"no audio for prompt {key!r} in {self.audio_dir}") from None

    def seconds(self, key: str) -> float:
        return len(self.pcm16(key)) / (2 * SAMPLE_RATE)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys among ``keys`` that have no text or no audio, sorted."""
        return sorted({key for key in keys if key not in self.texts or key not in self.audio})

    def stale(self) -> list[str]:
        """Keys whose audio was rendered from an older text (run ``build_prompts``)."""
        return sorted(self.stale_keys)


def _read_pcm16(path: Path) -> bytes:
    try:
        with wave.open(str(path), "rb") as reader:
            shape = (reader.getframerate(), reader.getnchannels(), reader.getsampwidth())
            if shape != (SAMPLE_RATE, 1, 2):
                rate, channels, width = shape
                raise PromptError(
                    f"{path}: expected {SAMPLE_RATE} Hz mono 16-bit WAV, got "
                    f"{rate} Hz, {channels} channel(s), {8 * width}-bit"
                )
            return reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise PromptError(f"{path}: not a readable WAV file: {error}") from error
