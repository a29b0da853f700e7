"""G.711 tables against the stdlib reference (``audioop``, still present on 3.11)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

from ivr.sip import g711

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop as reference
    return reference


ALL_SAMPLES = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))

Codec = Callable[[bytes], bytes]
LAWS: list[tuple[str, Codec, Codec, str, str]] = [
    ("ulaw", g711.ulaw_encode, g711.ulaw_decode, "lin2ulaw", "ulaw2lin"),
    ("alaw", g711.alaw_encode, g711.alaw_decode, "lin2alaw", "alaw2lin"),
]


def _samples(pcm16: bytes) -> np.ndarray:
    return np.frombuffer(pcm16, dtype="<i2").astype(np.int32)


@pytest.mark.parametrize(("law", "encode", "decode", "ref_encode", "ref_decode"), LAWS)
def test_encode_is_bit_exact_for_every_16_bit_sample(
    audioop: ModuleType, law: str, encode: Codec, decode: Codec, ref_encode: str, ref_decode: str
) -> None:
    ours = encode(ALL_SAMPLES)
    reference = getattr(audioop, ref_encode)(ALL_SAMPLES, 2)
    assert len(ours) == 65536
    mismatches = [i - 32768 for i in range(65536) if ours[i] != reference[i]]
    assert not mismatches, f"{law}: {len(mismatches)} samples differ, first {mismatches[:5]}"


@pytest.mark.parametrize(("law", "encode", "decode", "ref_encode", "ref_decode"), LAWS)
def test_decode_is_bit_exact_for_every_code(
    audioop: ModuleType, law: str, encode: Codec, decode: Codec, ref_encode: str, ref_decode: str
) -> None:
    ours = _samples(decode(ALL_CODES))
    reference = _samples(getattr(audioop, ref_decode)(ALL_CODES, 2))
    assert ours.tolist() == reference.tolist(), law


@pytest.mark.parametrize(
    ("encode", "silence"),
    [(g711.ulaw_encode, g711.ULAW_SILENCE), (g711.alaw_encode, g711.ALAW_SILENCE)],
)
def test_silence_anchors(encode: Codec, silence: int) -> None:
    assert encode(b"\x00\x00" * 3) == bytes([silence]) * 3


def test_known_anchor_values() -> None:
    assert g711.ULAW_SILENCE == 0xFF
    assert g711.ALAW_SILENCE == 0xD5
    # Full scale: μ-law 0x80 / 0x00 and A-law 0xAA / 0x2A are the extreme codes.
    extremes = np.array([32767, -32768], dtype="<i2").tobytes()
    assert g711.ulaw_encode(extremes) == bytes([0x80, 0x00])
    assert g711.alaw_encode(extremes) == bytes([0xAA, 0x2A])
    assert _samples(g711.ulaw_decode(bytes([0x80, 0x00]))).tolist() == [32124, -32124]
    assert _samples(g711.alaw_decode(bytes([0xAA, 0x2A]))).tolist() == [32256, -32256]


@pytest.mark.parametrize(("law", "encode", "decode", "ref_encode", "ref_decode"), LAWS)
def test_round_trip_error_is_bounded_by_the_segment_step(
    law: str, encode: Codec, decode: Codec, ref_encode: str, ref_decode: str
) -> None:
    original = _samples(ALL_SAMPLES)
    restored = _samples(decode(encode(ALL_SAMPLES)))
    error = np.abs(restored - original)
    # Logarithmic companding: the error grows with the magnitude but never beyond
    # half a quantisation step of the top segment (1024 for 16-bit input) plus the
    # clipping at full scale, and stays tiny for quiet samples.
    assert int(error.max()) <= 1024, law
    quiet = np.abs(original) < 64
    assert int(error[quiet].max()) <= 8, law
    relative = error[np.abs(original) >= 256] / np.abs(original[np.abs(original) >= 256])
    assert float(relative.max()) < 0.07, law


@pytest.mark.parametrize(("law", "encode", "decode", "ref_encode", "ref_decode"), LAWS)
def test_decoding_then_encoding_returns_every_code(
    law: str, encode: Codec, decode: Codec, ref_encode: str, ref_decode: str
) -> None:
    # Every code decodes to a value that encodes back to the same code, except
    # μ-law's negative zero (0x7F), which folds into positive zero (0xFF).
    back = encode(decode(ALL_CODES))
    differing = {code for code in range(256) if back[code] != code}
    assert differing == ({0x7F} if law == "ulaw" else set())


def test_lengths_and_empty_input() -> None:
    assert g711.ulaw_encode(b"") == b""
    assert g711.alaw_decode(b"") == b""
    assert len(g711.alaw_encode(bytes(320))) == 160
    assert len(g711.ulaw_decode(bytes(160))) == 320


@pytest.mark.parametrize("encode", [g711.ulaw_encode, g711.alaw_encode])
def test_half_a_sample_is_refused(encode: Codec) -> None:
    with pytest.raises(ValueError, match="multiple"):
        encode(b"\x00\x01\x02")
