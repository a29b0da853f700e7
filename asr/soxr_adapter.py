"""The soxr adapter: the only module of the project that imports ``soxr`` (python-soxr).

Phone audio is 8 kHz; the production Vosk model is a 16 kHz model and Kaldi refuses 8 kHz input
unless the model allows upsampling (see ``asr.model_conf``). ``PcmResampler`` converts 16-bit
mono PCM between rates with libsoxr's streaming resampler, which keeps its filter state from
one 20 ms frame to the next: resampling each frame on its own would restart the filter at every
frame edge (a click every 20 ms).

The stream holds audio back: libsoxr works in blocks, so with 20 ms frames at 8→16 kHz ("HQ")
its output trails the input by 64 ms on average, 115 ms at most (``bench/asr/resample_cost.py``
measures it). ``flush`` hands out the rest at the end of an utterance; partial results lag by
that much.

The stream works in float32, not int16: for 16-bit output libsoxr adds TPDF dither from a
generator seeded per stream (±2 LSB on about half the samples, different in each stream), and
one recording would then decode to different words on each run. Rounding and clipping here
keeps resampling a pure function of its input.
"""

from __future__ import annotations

import numpy as np
import soxr

RESAMPLER_NAME = f"soxr {soxr.__version__} (libsoxr, quality HQ)"
"""What ``hotline models`` says it resamples with."""

DEFAULT_QUALITY = "HQ"

_EMPTY = np.zeros(0, dtype=np.float32)
_SCALE = 32768.0


class PcmResampler:
    """A resampling stream of 16-bit signed little-endian mono PCM, for one recogniser.

    Not thread-safe: like the recogniser it feeds, it belongs to one stream of audio.
    """

    def __init__(self, in_rate: int, out_rate: int, *, quality: str = DEFAULT_QUALITY) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} → {out_rate}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)

    def process(self, pcm16: bytes) -> bytes:
        """Resample the next piece of the stream; may return less (or nothing) for now."""
        if len(pcm16) % 2:
            raise ValueError(f"16-bit PCM needs an even byte count, got {len(pcm16)}")
        samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / _SCALE
        return _to_bytes(self._stream.resample_chunk(samples))

    def flush(self) -> bytes:
        """The audio still held back; the stream then starts afresh (no state carried over)."""
        tail = _to_bytes(self._stream.resample_chunk(_EMPTY, last=True))
        self._stream.clear()
        return tail


def _to_bytes(samples: np.ndarray) -> bytes:
    """float32 in [-1, 1) → 16-bit PCM, rounded; the filter's overshoot is clipped."""
    return np.clip(np.rint(samples * _SCALE), -32768, 32767).astype("<i2").tobytes()
