"""Which caller's tone is in a recording: a Goertzel filter per tone, per 100 ms (pure).

In the kill step every caller streams its own sine tone instead of speech, so a
recording that carries another caller's tone is cross-call audio (issue 13 item 6:
call B's order held 20.7 s of call A's voice after a worker was restarted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RATE = 8000
BLOCK = 800  # 100 ms
#: A tone "is there" in a block when it carries this share of the block's energy.
PRESENT_SHARE = 0.25


def tone_frequencies(count: int, low: float = 400.0, step: float = 50.0) -> list[float]:
    """``count`` tones 50 Hz apart from 400 Hz: far enough apart for a 100 ms block
    (10 Hz bins), and inside the telephone band for 2 × 28 callers."""
    return [low + k * step for k in range(count)]


def goertzel_power(samples: Sequence[float], frequency: float, rate: int = RATE) -> float:
    """Power of ``frequency`` in ``samples``, scaled like ``sum(x²)`` for a pure sine."""
    n = len(samples)
    if n == 0:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coefficient * s1 - s2, s1
    return 2 * (s1 * s1 + s2 * s2 - coefficient * s1 * s2) / n


def seconds_of_tones(
    samples: Sequence[float], frequencies: Sequence[float], rate: int = RATE
) -> dict[float, float]:
    """For each frequency, for how many seconds it dominates a 100 ms block."""
    found = dict.fromkeys(frequencies, 0.0)
    block = rate // 10
    for start in range(0, len(samples) - block + 1, block):
        chunk = samples[start : start + block]
        energy = sum(x * x for x in chunk)
        if energy <= 1e-9 * block:
            continue
        for frequency in frequencies:
            if goertzel_power(chunk, frequency, rate) >= PRESENT_SHARE * energy:
                found[frequency] += block / rate
    return found
