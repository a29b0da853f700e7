"""The real Vosk path, on the dither-0 Korean model. Transcript text is never asserted:
espeak-ng speech is not recognised by small models, only its shape and determinism are."""

from __future__ import annotations

import asyncio
import logging
import wave
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from asr.errors import AsrError, ModelUnavailable, UnsupportedAudio
from asr.vosk_adapter import Transcriber, _VoskRecognizer, open_transcriber

pytestmark = pytest.mark.integration

T = TypeVar("T")


def write_wav(path: Path, *, channels: int, width: int, rate: int, frames: bytes) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return path


@pytest.fixture(scope="module")
def speech_transcript(transcriber: Transcriber, speech_wav: Path) -> str:
    return transcriber.transcribe_wav(speech_wav)


def test_speech_gives_stripped_text(speech_transcript: str) -> None:
    assert isinstance(speech_transcript, str)
    assert speech_transcript == speech_transcript.strip()


async def test_same_file_twice_gives_identical_text(
    transcriber: Transcriber, speech_wav: Path, speech_transcript: str
) -> None:
    # With Vosk's default dither this fails (measured: 3 different texts in 4 decodes).
    assert speech_transcript, "the model must hear something, else identity proves nothing"
    assert await transcriber.transcribe_wav_async(speech_wav) == speech_transcript


def test_pcm_path_matches_wav_path(
    transcriber: Transcriber, speech_wav: Path, speech_transcript: str
) -> None:
    with wave.open(str(speech_wav), "rb") as wav:
        rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    assert transcriber.transcribe_pcm16(pcm, rate) == speech_transcript


def test_digital_silence_gives_a_string(transcriber: Transcriber) -> None:
    two_seconds = bytes(2 * 8000 * 2)
    assert isinstance(transcriber.transcribe_pcm16(two_seconds, 8000), str)


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.submitted = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def test_async_transcriptions_are_bounded(transcriber: Transcriber, tmp_path: Path) -> None:
    silence = write_wav(tmp_path / "s.wav", channels=1, width=2, rate=8000, frames=bytes(8000))
    executor = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    try:
        tasks = [asyncio.create_task(transcriber.transcribe_wav_async(silence)) for _ in range(3)]
        await asyncio.sleep(0)  # every task has run up to its semaphore or its thread
        assert transcriber.max_concurrent == 2
        assert executor.submitted == 2
        results = await asyncio.gather(*tasks)
    finally:
        executor.shutdown(wait=True)
    assert executor.submitted == 3
    assert all(isinstance(text, str) for text in results)


def test_missing_model_disables_asr_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-model"
    with caplog.at_level(logging.WARNING):
        assert open_transcriber(missing) is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert str(missing) in warnings[0].getMessage()


def test_load_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not found"):
        Transcriber.load(tmp_path / "absent")


def test_load_refuses_a_directory_without_a_feature_conf(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"no conf/mfcc\.conf or conf/fbank\.conf"):
        Transcriber.load(tmp_path)


def test_load_refuses_a_directory_vosk_cannot_load(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n", encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="could not load"):
        Transcriber.load(tmp_path)


def test_max_concurrent_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        Transcriber.load(tmp_path, max_concurrent=0)


@pytest.mark.parametrize(
    ("name", "channels", "width"),
    [("8-bit.wav", 1, 1), ("stereo.wav", 2, 2), ("24-bit.wav", 1, 3), ("32-bit.wav", 1, 4)],
)
def test_wav_other_than_mono_16_bit_is_rejected(
    transcriber: Transcriber, tmp_path: Path, name: str, channels: int, width: int
) -> None:
    path = write_wav(
        tmp_path / name, channels=channels, width=width, rate=8000, frames=bytes(800 * width)
    )
    with pytest.raises(UnsupportedAudio, match="mono 16-bit"):
        transcriber.transcribe_wav(path)


@pytest.mark.parametrize(
    "content", [b"", b"not a wav file at all", b"RIFF\x24\x00\x00\x00WAVEfmt "], ids=repr
)
def test_unreadable_wav_is_rejected(
    transcriber: Transcriber, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(UnsupportedAudio):
        transcriber.transcribe_wav(path)


def test_missing_wav_is_an_asr_error(transcriber: Transcriber, tmp_path: Path) -> None:
    with pytest.raises(AsrError, match="cannot read"):
        transcriber.transcribe_wav(tmp_path / "absent.wav")


@pytest.mark.parametrize(
    ("pcm", "rate", "message"),
    [(b"\x00\x00\x00", 8000, "even byte count"), (bytes(160), 0, "sample rate")],
)
def test_bad_pcm_is_rejected(transcriber: Transcriber, pcm: bytes, rate: int, message: str) -> None:
    with pytest.raises(UnsupportedAudio, match=message):
        transcriber.transcribe_pcm16(pcm, rate)


class _NotingKaldi:
    """Stands in for ``vosk.KaldiRecognizer`` to record the calls the adapter makes (the
    blocking is the adapter's; what Vosk makes of the blocks is checked in test_model_rate)."""

    def __init__(self, endpoint_at_call: int) -> None:
        self.calls: list[str | int] = []
        self._endpoint_at_call = endpoint_at_call

    def AcceptWaveform(self, pcm: bytes) -> bool:
        self.calls.append(len(pcm))
        return len(self.calls) == self._endpoint_at_call

    def Result(self) -> str:
        self.calls.append("result")
        return '{"text": "a"}'

    def FinalResult(self) -> str:
        self.calls.append("final")
        return '{"text": "b"}'


def test_vosk_gets_whole_blocks_and_an_endpoint_stops_the_feeding() -> None:
    kaldi = _NotingKaldi(endpoint_at_call=2)
    recognizer = _VoskRecognizer(kaldi, block_bytes=100)  # type: ignore[arg-type]
    assert not recognizer.accept(bytes(90))  # less than a block: held back
    assert recognizer.accept(bytes(230))  # 320 bytes: the second block ends the segment
    assert recognizer.result() == "a"
    assert not recognizer.accept(bytes(10))  # the held-back block first, then 30 bytes wait
    assert recognizer.final() == "b"
    assert kaldi.calls == [100, 100, "result", 100, 30, "final"]
