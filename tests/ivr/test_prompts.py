"""Prompt texts, the prompt set, and rendering with the real espeak-ng and sox."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from ivr.prompts import PromptError, PromptSet, Tone, build_prompts, load_prompt_texts
from ivr.prompts.build import MANIFEST, audio_path

pytestmark = pytest.mark.integration

SHIPPED_TEXTS = Path(__file__).resolve().parents[2] / "config" / "prompts" / "zh.yaml"
TEXTS = """\
voice: cmn-latn-pinyin
prompts:
  please_wait: 请稍候
  digits/1: 幺
  beep: {tone: 1000, seconds: 0.25}
"""


def write_texts(tmp_path: Path, text: str = TEXTS) -> Path:
    path = tmp_path / "zh.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_wav(path: Path, frames: bytes, rate: int = 8000, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(frames)


def test_shipped_texts_have_the_digits_and_special_prompts() -> None:
    texts = load_prompt_texts(SHIPPED_TEXTS)
    digits = [texts.entries[f"digits/{digit}"] for digit in "0123456789"]
    assert digits == ["零", "幺", "二", "三", "四", "五", "六", "七", "八", "九"]
    assert texts.entries["please_wait"] == "请稍候。"
    assert texts.entries["beep"] == Tone(tone=1000, seconds=0.25)
    assert texts.voice == "cmn-latn-pinyin"


def test_fingerprint_changes_with_text_and_voice(tmp_path: Path) -> None:
    base = load_prompt_texts(write_texts(tmp_path))
    other_text = load_prompt_texts(write_texts(tmp_path, TEXTS.replace("请稍候", "请稍等")))
    other_voice = load_prompt_texts(write_texts(tmp_path, TEXTS.replace("cmn-latn-pinyin", "cmn")))
    assert base.fingerprint("please_wait") != other_text.fingerprint("please_wait")
    assert base.fingerprint("please_wait") != other_voice.fingerprint("please_wait")
    assert base.fingerprint("digits/1") == other_text.fingerprint("digits/1")
    assert base.fingerprint("beep") == other_voice.fingerprint("beep")  # tones ignore the voice


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TEXTS.replace("digits/1:", "Digits/1:"), "4:3 prompts.Digits/1: bad prompt key"),
        (TEXTS.replace("seconds: 0.25", "second: 0.25"), "5:9 prompts.beep: missing required key"),
        (TEXTS.replace("幺", "1"), "4:13 prompts.digits/1: expected the prompt's text"),
        (TEXTS.replace("voice", "voices"), "1:1 missing required key 'voice'\n"),
        (TEXTS + "  please_wait: again\n", "6:3 prompts.please_wait: duplicate key"),
    ],
)
def test_broken_texts_are_located(tmp_path: Path, text: str, message: str) -> None:
    path = write_texts(tmp_path, text)
    with pytest.raises(PromptError) as caught:
        load_prompt_texts(path)
    assert str(caught.value).startswith(f"{path}:{message}")


def test_prompt_set_loads_pcm_and_reports_missing_keys(tmp_path: Path) -> None:
    texts = write_texts(tmp_path)
    audio = tmp_path / "audio"
    write_wav(audio_path(audio, "please_wait"), b"\x01\x00\x02\x00" * 400)
    write_wav(audio / "digits" / "1.wav", b"\x00\x00" * 80)
    prompts = PromptSet.load(texts, audio)
    assert prompts.pcm16("please_wait") == b"\x01\x00\x02\x00" * 400
    assert prompts.seconds("please_wait") == 0.1
    assert prompts.missing(["please_wait", "digits/1", "beep", "no_such_prompt"]) == [
        "beep",
        "no_such_prompt",
    ]
    assert prompts.stale() == ["digits/1", "please_wait"]  # no manifest: not built by us
    with pytest.raises(PromptError, match="no audio for prompt 'beep'"):
        prompts.pcm16("beep")


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (8000, 2)])
def test_prompt_set_refuses_audio_in_another_format(
    tmp_path: Path, rate: int, channels: int
) -> None:
    texts = write_texts(tmp_path)
    write_wav(audio_path(tmp_path / "audio", "beep"), b"\x00\x00" * 160, rate, channels)
    with pytest.raises(PromptError, match="expected 8000 Hz mono 16-bit WAV"):
        PromptSet.load(texts, tmp_path / "audio")


def test_prompt_set_refuses_a_file_that_is_not_wav(tmp_path: Path) -> None:
    texts = write_texts(tmp_path)
    path = audio_path(tmp_path / "audio", "beep")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a wav file at all")
    with pytest.raises(PromptError, match="not a readable WAV file"):
        PromptSet.load(texts, tmp_path / "audio")


needs_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are needed to render prompts (apt-get install espeak-ng sox)",
)


@needs_tools
def test_build_renders_8khz_mono_16bit_wavs_and_skips_unchanged_texts(tmp_path: Path) -> None:
    texts = write_texts(
        tmp_path,
        "voice: cmn-latn-pinyin\nprompts:\n  digits/1: 幺\n  beep: {tone: 1000, seconds: 0.25}\n",
    )
    out = tmp_path / "audio"
    written = build_prompts(texts, out)
    assert sorted(written) == [out / "beep.wav", out / "digits" / "1.wav"]
    for path in written:
        with wave.open(str(path), "rb") as reader:
            assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (
                8000,
                1,
                2,
            )
            assert reader.getnframes() > 0
    with wave.open(str(out / "beep.wav"), "rb") as reader:
        assert reader.getnframes() == 2000  # 0.25 s at 8 kHz
    assert (out / MANIFEST).exists()

    assert build_prompts(texts, out) == []  # nothing changed
    texts.write_text(texts.read_text(encoding="utf-8").replace("幺", "一"), encoding="utf-8")
    assert build_prompts(texts, out) == [out / "digits" / "1.wav"]

    prompts = PromptSet.load(texts, out)
    assert prompts.missing(["beep", "digits/1"]) == []
    assert prompts.stale() == []
    assert len(prompts.pcm16("digits/1")) > 0


@needs_tools
def test_build_reports_a_failing_tool(tmp_path: Path) -> None:
    texts = write_texts(tmp_path, "voice: nosuchvoice\nprompts:\n  please_wait: 请稍候\n")
    with pytest.raises(PromptError, match="prompt 'please_wait': espeak-ng failed"):
        build_prompts(texts, tmp_path / "audio")
