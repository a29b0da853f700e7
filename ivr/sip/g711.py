"""G.711 μ-law and A-law, to and from 16-bit linear PCM (ITU-T G.711).

``audioop`` is deprecated in Python 3.11 and gone in 3.13, and pyVoIP sends
A-law calls μ-law encoded; these tables replace both. Encoding is a lookup in
a 64 Ki-entry table indexed by the 16-bit sample, decoding a 256-entry table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_BIAS = 0x84
_CLIP_14 = 8159
_ULAW_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def _ulaw_encode_sample(sample: int) -> int:
    # The 14-bit formulation of G.711 (as in the Sun reference code and audioop).
    value = sample >> 2
    if value < 0:
        value, mask = -value, 0x7F
    else:
        mask = 0xFF
    value = min(value, _CLIP_14) + 0x21
    segment = 0
    while segment < 8 and value > _ULAW_SEGMENT_ENDS[segment]:
        segment += 1
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _ulaw_decode_byte(code: int) -> int:
    code = ~code & 0xFF
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if sign else magnitude


def _alaw_encode_sample(sample: int) -> int:
    # Work on the 13-bit magnitude, as G.711 specifies A-law.
    if sample >= 0:
        sign = 0xD5  # sign bit set, then even bits inverted (0x55)
    else:
        sign = 0x55
        sample = -sample - 1
    sample >>= 3
    if sample < 0x20:
        code = sample >> 1
    else:
        exponent = sample.bit_length() - 5
        exponent = min(exponent, 7)
        mantissa = (sample >> exponent) & 0x0F
        code = (exponent << 4) | mantissa
    return (code ^ sign) & 0xFF


def _alaw_decode_byte(code: int) -> int:
    code ^= 0x55
    sign = code & 0x80
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    if exponent == 0:
        magnitude = (mantissa << 4) + 8
    else:
        magnitude = ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if sign else -magnitude


_ALL_SAMPLES = range(-32768, 32768)
_ULAW_ENCODE: npt.NDArray[np.uint8] = np.array(
    [_ulaw_encode_sample(s) for s in _ALL_SAMPLES], dtype=np.uint8
)
_ALAW_ENCODE: npt.NDArray[np.uint8] = np.array(
    [_alaw_encode_sample(s) for s in _ALL_SAMPLES], dtype=np.uint8
)
_ULAW_DECODE: npt.NDArray[np.int16] = np.array(
    [_ulaw_decode_byte(c) for c in range(256)], dtype="<i2"
)
_ALAW_DECODE: npt.NDArray[np.int16] = np.array(
    [_alaw_decode_byte(c) for c in range(256)], dtype="<i2"
)


def _encode(pcm16: bytes, table: npt.NDArray[np.uint8]) -> bytes:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.int32) + 32768
    return table.take(samples).tobytes()


def _decode(payload: bytes, table: npt.NDArray[np.int16]) -> bytes:
    # Runs for every received frame while a call is recorded: ``take`` on a little-endian
    # table is about half the cost of fancy indexing plus a byte-order conversion.
    return table.take(np.frombuffer(payload, dtype=np.uint8)).tobytes()


def ulaw_encode(pcm16: bytes) -> bytes:
    """16-bit little-endian PCM → μ-law (PCMU), one byte per sample."""
    return _encode(pcm16, _ULAW_ENCODE)


def alaw_encode(pcm16: bytes) -> bytes:
    """16-bit little-endian PCM → A-law (PCMA), one byte per sample."""
    return _encode(pcm16, _ALAW_ENCODE)


def ulaw_decode(payload: bytes) -> bytes:
    """μ-law (PCMU) → 16-bit little-endian PCM."""
    return _decode(payload, _ULAW_DECODE)


def alaw_decode(payload: bytes) -> bytes:
    """A-law (PCMA) → 16-bit little-endian PCM."""
    return _decode(payload, _ALAW_DECODE)


ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5
