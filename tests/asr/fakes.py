"""Scripted recognizers injected at the adapter seam (``asr.streaming.RecognizerBackend``)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path


class ScriptedRecognizer:
    """Returns scripted texts from ``final()`` (one per utterance); never finds an endpoint."""

    def __init__(self, finals: Iterable[str] = ()) -> None:
        self.finals = deque(finals)
        self.audio = bytearray()
        self.utterance_audio: list[bytes] = []
        self._since_final = bytearray()
        self.threads: set[str] = set()

    def accept(self, pcm16: bytes) -> bool:
        self.threads.add(threading.current_thread().name)
        self.audio += pcm16
        self._since_final += pcm16
        return False

    def result(self) -> str:
        return ""

    def partial(self) -> str:
        upcoming = self.finals[0] if self.finals else ""
        return upcoming[: max(1, len(upcoming) // 2)]

    def final(self) -> str:
        self.utterance_audio.append(bytes(self._since_final))
        self._since_final.clear()
        return self.finals.popleft() if self.finals else ""


class FakeBackend:
    def __init__(
        self,
        *,
        texts: Iterable[str] = (),
        spotted: Iterable[str] = (),
        vocabulary: Iterable[str] = (),
        transcripts: dict[str, str] | None = None,
    ) -> None:
        self.text = ScriptedRecognizer(texts)
        self.keywords = ScriptedRecognizer(spotted)
        self.vocabulary = set(vocabulary)
        self.grammars: list[list[str]] = []
        self.transcripts = transcripts or {}
        self.transcribed: list[Path] = []
        self.gate = threading.Event()
        self.gate.set()

    def text_recognizer(self, sample_rate: int) -> ScriptedRecognizer:
        assert sample_rate == 8000
        return self.text

    def keyword_recognizer(self, sample_rate: int, grammar: list[str]) -> ScriptedRecognizer:
        self.grammars.append(grammar)
        return self.keywords

    def has_word(self, word: str) -> bool:
        return word in self.vocabulary

    def transcribe_wav(self, path: Path) -> str:
        self.gate.wait(timeout=10)
        self.transcribed.append(path)
        return self.transcripts.get(path.name, "")
