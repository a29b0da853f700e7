from __future__ import annotations

import math
import struct

import pytest

from recordings.audio import is_silence, pcm16_rms_dbfs
from recordings.errors import RecordingError

pytestmark = pytest.mark.unit


def tone(amplitude: float, *, hz: float = 440.0, rate: int = 8000, seconds: float = 0.1) -> bytes:
    count = round(rate * seconds)
    return struct.pack(
        f"<{count}h",
        *(round(amplitude * 32767 * math.sin(2 * math.pi * hz * n / rate)) for n in range(count)),
    )


def constant(sample: int, count: int = 160) -> bytes:
    return struct.pack(f"<{count}h", *([sample] * count))


@pytest.mark.parametrize(
    ("pcm", "dbfs"),
    [
        (tone(0.5), 20 * math.log10(0.5 / math.sqrt(2))),  # ≈ -9.0
        (tone(0.001), 20 * math.log10(0.001 / math.sqrt(2))),  # ≈ -63.0
        (constant(16384), 20 * math.log10(0.5)),  # little-endian 0x4000, ≈ -6.0
        (constant(-32768), 0.0),
        (b"\x00\x40" * 4, 20 * math.log10(0.5)),
    ],
)
def test_rms_dbfs(pcm: bytes, dbfs: float) -> None:
    assert pcm16_rms_dbfs(pcm) == pytest.approx(dbfs, abs=0.05)


@pytest.mark.parametrize("pcm", [b"", bytes(320)])
def test_no_energy_is_minus_infinity(pcm: bytes) -> None:
    assert pcm16_rms_dbfs(pcm) == -math.inf


@pytest.mark.parametrize(
    ("pcm", "threshold", "silent"),
    [
        (bytes(320), -45.0, True),
        (b"", -45.0, True),
        (tone(0.1), -45.0, False),  # ≈ -23 dBFS: a voice
        (tone(0.001), -45.0, True),  # ≈ -63 dBFS: line noise
        (constant(3), -45.0, True),  # 3 LSB of hiss
        (tone(0.1), -20.0, True),  # the threshold is honoured
        (tone(0.1), -30.0, False),
    ],
)
def test_is_silence(pcm: bytes, threshold: float, silent: bool) -> None:
    assert is_silence(pcm, threshold) is silent


def test_half_sample_is_refused() -> None:
    with pytest.raises(RecordingError, match="even byte count"):
        pcm16_rms_dbfs(b"\x00\x00\x00")
