"""The soxr resampling stream: lengths, continuity across 20 ms frames, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from asr.soxr_adapter import PcmResampler

pytestmark = pytest.mark.unit

FRAME = 160  # samples in 20 ms at 8 kHz


def sine(seconds: float, rate: int, hz: float = 440.0, amplitude: float = 12000.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return np.rint(amplitude * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def in_frames(resampler: PcmResampler, pcm: bytes, frame_samples: int = FRAME) -> bytes:
    step = 2 * frame_samples
    out = b"".join(resampler.process(pcm[i : i + step]) for i in range(0, len(pcm), step))
    return out + resampler.flush()


def test_8_to_16_khz_doubles_the_length() -> None:
    pcm = sine(1.0, 8000)
    out = in_frames(PcmResampler(8000, 16000), pcm)
    assert len(out) == 2 * len(pcm)


def test_20_ms_frames_equal_one_go() -> None:
    pcm = sine(2.0, 8000)
    framed = samples(in_frames(PcmResampler(8000, 16000), pcm))
    whole = PcmResampler(8000, 16000)
    at_once = samples(whole.process(pcm) + whole.flush())
    assert len(framed) == len(at_once)
    assert np.max(np.abs(framed - at_once)) <= 1.0  # at most float rounding, in LSB


def test_frame_by_frame_without_state_would_differ() -> None:
    # The check above can fail: a fresh resampler per frame restarts the filter at every edge.
    pcm = sine(2.0, 8000)
    whole = PcmResampler(8000, 16000)
    at_once = samples(whole.process(pcm) + whole.flush())
    stateless = samples(
        b"".join(
            in_frames(PcmResampler(8000, 16000), pcm[i : i + 2 * FRAME])
            for i in range(0, len(pcm), 2 * FRAME)
        )
    )
    assert len(stateless) == len(at_once)
    assert np.max(np.abs(stateless - at_once)) > 100


def test_the_resampled_sine_is_the_sine_at_16_khz() -> None:
    out = samples(in_frames(PcmResampler(8000, 16000), sine(1.0, 8000)))
    reference = samples(sine(1.0, 16000))
    middle = slice(800, 15200)  # the filter's edges at both ends aside
    assert np.max(np.abs(out[middle] - reference[middle])) < 0.01 * 12000


def test_two_streams_of_the_same_audio_are_identical() -> None:
    # libsoxr dithers 16-bit output with a per-stream seed; the float32 path must not.
    rng = np.random.default_rng(14)
    pcm = rng.normal(0, 3000, 16000).astype("<i2").tobytes()
    assert in_frames(PcmResampler(8000, 16000), pcm) == in_frames(PcmResampler(8000, 16000), pcm)


def test_flush_starts_afresh() -> None:
    pcm = sine(0.5, 8000)
    resampler = PcmResampler(8000, 16000)
    first = in_frames(resampler, pcm)
    assert in_frames(resampler, pcm) == first


def test_loud_input_is_clipped_not_wrapped() -> None:
    square = np.tile(np.r_[np.full(20, 32767), np.full(20, -32768)], 200).astype("<i2")
    out = samples(in_frames(PcmResampler(8000, 16000), square.tobytes()))
    assert out.max() == 32767 and out.min() == -32768  # Gibbs overshoot clipped at full scale
    # Wrapped samples would jump from one extreme to the other between neighbours.
    assert np.max(np.abs(np.diff(out))) < 40000


def test_downsampling_halves_the_length() -> None:
    pcm = sine(1.0, 16000)
    assert len(in_frames(PcmResampler(16000, 8000), pcm, 320)) == len(pcm) // 2


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="even byte count"):
        PcmResampler(8000, 16000).process(b"\x00")
    with pytest.raises(ValueError, match="positive"):
        PcmResampler(0, 16000)
