"""Energy gating and the endpointing backstop for streaming recognition.

Pure: no threads, no clock. The caller passes every 20 ms frame with ``now`` (seconds, any
monotonic origin) and whether a prompt is playing; the gate says which audio reaches the
recognizer and when an utterance ends.

Why: Vosk costs ≈0.45 CPU-s per second of audio whether it hears speech or silence, and only
about three live streams fit on two cores (vosk-notes.md), so silence and prompt playback must
cost nothing. Vosk's own endpointing fires 0.6 s to >3 s after speech or not at all, so the
gate ends an utterance after ``endpoint_silence_ms`` of gated silence.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 8000
"""The streaming path's rate: telephone audio, G.711 decoded to 16-bit signed PCM."""

FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2

_EPSILON_MS = 1e-6
"""Clocks are floats: 0.1 - 0.02 * 4 is a hair under 20 ms."""

SILENCE_DBFS = -120.0
"""What digital silence (all zeros) measures as, instead of minus infinity."""


@dataclass(frozen=True)
class GateConfig:
    """Tuning of the gate; every duration is in milliseconds."""

    threshold_dbfs: float = -42.0
    """A frame at least this loud (RMS, dB relative to full scale) counts as speech."""
    preroll_ms: int = 200
    """Audio kept from before the first loud frame, so word onsets are not clipped."""
    hangover_ms: int = 300
    """Quiet audio still fed after the last loud frame (word tails, short pauses)."""
    endpoint_silence_ms: int = 800
    """Gated silence that ends an utterance (the backstop to Vosk's own endpointing)."""
    partial_interval_ms: int = 300
    """Partial transcripts are asked for at most this often."""
    max_utterance_ms: int = 30_000
    """An utterance this long is ended even without silence (noise, a stuck line)."""

    def __post_init__(self) -> None:
        for name in ("preroll_ms", "hangover_ms", "endpoint_silence_ms", "partial_interval_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.endpoint_silence_ms < self.hangover_ms:
            raise ValueError("endpoint_silence_ms must be at least hangover_ms")
        if self.max_utterance_ms <= 0:
            raise ValueError("max_utterance_ms must be positive")


@dataclass(frozen=True)
class GateStep:
    """What to do with one frame."""

    feed: tuple[bytes, ...] = ()
    """Audio for the recognizer, oldest first (pre-roll included when speech starts)."""
    speech_started: bool = False
    want_partial: bool = False
    end_of_utterance: bool = False
    end_reason: str = ""
    """``silence``, ``max_length`` or ``closed`` when ``end_of_utterance``."""


def frame_dbfs(pcm16: bytes) -> float:
    """RMS level of 16-bit signed little-endian PCM in dBFS (``SILENCE_DBFS`` for zeros)."""
    if len(pcm16) < 2:
        return SILENCE_DBFS
    samples = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], dtype="<i2").astype(np.float64)
    rms = math.sqrt(float(np.mean(samples * samples)))
    if rms <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(rms / 32768.0))


class SpeechGate:
    """Decides, frame by frame, what reaches the recognizer; one per call."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self._preroll: deque[bytes] = deque(maxlen=max(0, self.config.preroll_ms // FRAME_MS))
        self._in_utterance = False
        self._utterance_start = 0.0
        self._last_loud = 0.0
        self._last_partial = -math.inf
        self.frames_seen = 0
        self.frames_fed = 0

    @property
    def in_utterance(self) -> bool:
        return self._in_utterance

    def push(self, frame: bytes, now: float, *, prompt_playing: bool = False) -> GateStep:
        """Classify one frame. Frames heard while a prompt plays are never fed (echo)."""
        self.frames_seen += 1
        loud = not prompt_playing and frame_dbfs(frame) >= self.config.threshold_dbfs
        if not self._in_utterance:
            if prompt_playing:
                self._preroll.clear()
                return GateStep()
            if not loud:
                self._preroll.append(frame)
                return GateStep()
            feed = (*self._preroll, frame)
            self._preroll.clear()
            self._in_utterance = True
            self._utterance_start = self._last_loud = now
            self._last_partial = now  # the first partial comes one interval into speech
            return self._fed(GateStep(feed=feed, speech_started=True))
        if loud:
            self._last_loud = now
        silent_ms = (now - self._last_loud) * 1000.0 + _EPSILON_MS
        feed_this = not prompt_playing and silent_ms <= self.config.hangover_ms + 2 * _EPSILON_MS
        if silent_ms >= self.config.endpoint_silence_ms:
            return self._end(feed=(), reason="silence")
        if (now - self._utterance_start) * 1000.0 + _EPSILON_MS >= self.config.max_utterance_ms:
            return self._end(feed=(frame,) if feed_this else (), reason="max_length")
        since_partial = (now - self._last_partial) * 1000.0 + _EPSILON_MS
        want_partial = feed_this and since_partial >= self.config.partial_interval_ms
        if want_partial:
            self._last_partial = now
        return self._fed(GateStep(feed=(frame,) if feed_this else (), want_partial=want_partial))

    def close(self) -> GateStep:
        """The call ended: end an utterance in progress."""
        self._preroll.clear()
        if not self._in_utterance:
            return GateStep()
        return self._end(feed=(), reason="closed")

    def _end(self, *, feed: tuple[bytes, ...], reason: str) -> GateStep:
        self._in_utterance = False
        self._preroll.clear()
        return self._fed(GateStep(feed=feed, end_of_utterance=True, end_reason=reason))

    def _fed(self, step: GateStep) -> GateStep:
        self.frames_fed += len(step.feed)
        return step
