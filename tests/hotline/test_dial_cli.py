"""``hotline dial``'s checks before it calls, and its timing from the rendered prompts.

The call itself is the e2e test ``tests/e2e/test_readme_dial.py`` (a real baresip,
Kamailio and ``hotline up``)."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from hotline.cli import main as hotline
from hotline.commands.dial import _greeting_seconds, _speech_wait
from settings.node import load_settings

pytestmark = pytest.mark.unit


def test_a_missing_speech_file_is_refused_before_dialling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("edge: {port: 9}\n")
    with pytest.raises(SystemExit) as exited:
        hotline(["dial", "--config", str(config), "--speech", str(tmp_path / "nope.wav")])
    assert exited.value.code == 1
    assert capsys.readouterr() == ("", f"{tmp_path / 'nope.wav'}: no such file\n")


def _wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * int(8000 * seconds))


def test_the_waits_come_from_the_rendered_prompts(tmp_path: Path) -> None:
    config = tmp_path / "config" / "hotline.yaml"
    config.parent.mkdir()
    config.write_text("ivr: {prompt_audio: var/prompts/zh}\n")
    settings = load_settings(config)
    assert (_greeting_seconds(settings), _speech_wait(settings, None)) == (12.0, 7.25)
    _wav(tmp_path / "var/prompts/zh/welcome.wav", 9.5)
    _wav(tmp_path / "var/prompts/zh/record_instructions.wav", 3.0)
    assert (_greeting_seconds(settings), _speech_wait(settings, None)) == (10.5, 4.25)
    assert _speech_wait(settings, 2.0) == 2.0
