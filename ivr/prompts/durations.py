"""How long each prompt plays, for ``hotline simulate``: its rendered WAV's length.

The simulator's timeline (menu timeouts, barge-in, when the caller may press) is only as true
as the prompt lengths it is given. They come from the audio the IVR would play — the WAV in
``ivr.prompt_audio`` (or the next language's directory beside it), falling back to the menu
language's WAV as playback does. A prompt not rendered yet is estimated from its text at
espeak-ng's measured pace (about 0.25 s per Chinese character, 0.075 s per other character)
and counted in ``estimated``, so the CLI can say which lengths are guesses.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

from ivr.prompts.build import audio_path
from ivr.prompts.library import language_audio_dir

#: espeak-ng's pace as rendered by ``build_prompts`` (measured on config/prompts/*.yaml).
CJK_SECONDS = 0.25
OTHER_SECONDS = 0.075
LEAD_SECONDS = 0.3


def estimate_seconds(text: str) -> float:
    """A rendered prompt's length guessed from its text (a tone or unknown text: 0.5 s)."""
    if not text or text == "(tone)":
        return 0.5
    cjk = sum(1 for character in text if "\u3400" <= character <= "\u9fff")
    return round(LEAD_SECONDS + CJK_SECONDS * cjk + OTHER_SECONDS * (len(text) - cjk), 2)


def wav_seconds(path: Path) -> float | None:
    """Length of a WAV file from its header; ``None`` if it is missing or unreadable."""
    try:
        with wave.open(str(path), "rb") as reader:
            return reader.getnframes() / reader.getframerate()
    except (OSError, EOFError, wave.Error):
        return None


class PromptDurations:
    """``durations(key, language)`` → seconds, from the audio where it exists.

    ``playing_language(key, language)`` names the language a key is played in (the flow's
    fallback), ``text(key, language)`` the text to estimate from.
    """

    def __init__(
        self,
        audio_dir: Path,
        default_language: str,
        playing_language: Callable[[str, str], str],
        text: Callable[[str, str], str],
    ) -> None:
        self.audio_dir = audio_dir
        self.default_language = default_language
        self.playing_language = playing_language
        self.text = text
        self.measured: set[str] = set()
        self.estimated: set[str] = set()

    def __call__(self, key: str, language: str = "") -> float:
        language = self.playing_language(key, language or self.default_language)
        for candidate in dict.fromkeys((language, self.default_language)):
            folder = language_audio_dir(self.audio_dir, self.default_language, candidate)
            seconds = wav_seconds(audio_path(folder, key))
            if seconds is not None:
                self.measured.add(key)
                return seconds
        self.estimated.add(key)
        return estimate_seconds(self.text(key, language))
