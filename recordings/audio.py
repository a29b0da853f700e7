"""Pure level measurements on 16-bit signed little-endian mono PCM."""

from __future__ import annotations

import math

import numpy as np

from recordings.errors import RecordingError

FULL_SCALE = 32768
"""0 dBFS is the RMS of a full-scale square wave; a full-scale sine is about -3 dBFS."""


def pcm16_rms_dbfs(pcm16: bytes) -> float:
    """RMS level of ``pcm16`` in dBFS; ``-inf`` for empty or all-zero audio."""
    if len(pcm16) % 2:
        raise RecordingError(f"16-bit PCM needs an even byte count, got {len(pcm16)}")
    if not pcm16:
        return -math.inf
    # Called for every 20 ms frame of every recording: numpy, not a Python loop.
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.int64)
    mean_square = int(np.dot(samples, samples)) / len(samples)
    if mean_square == 0:
        return -math.inf
    return 10 * math.log10(mean_square / (FULL_SCALE * FULL_SCALE))


def is_silence(pcm16: bytes, threshold_dbfs: float = -45.0) -> bool:
    """Whether the RMS level of ``pcm16`` is below ``threshold_dbfs``."""
    return pcm16_rms_dbfs(pcm16) < threshold_dbfs
