"""The real streaming path on the dither-0 Korean model: gating, finals, keyword spotting and
the vocabulary check. Text is never asserted (espeak-ng speech is not recognised)."""

from __future__ import annotations

import asyncio
import threading
import wave
from pathlib import Path

import pytest

from asr.after_call import AfterCallQueue, Priority
from asr.gating import FRAME_BYTES, FRAME_MS
from asr.keywords import UNK, KeywordPlan, plan_keywords, rules_from_mapping
from asr.streaming import AfterCallWorker, AsrResult, Final, KeywordHit, StreamingPool
from asr.vosk_adapter import Transcriber, VoskBackend

pytestmark = pytest.mark.integration

KOREAN_IN_VOCABULARY = ["안녕하세요", "오늘", "날씨", "좋네요", "화재", "병원"]
NOT_IN_VOCABULARY = ["날씨가", "도와주세요", "胸痛", "fire"]


@pytest.fixture(scope="module")
def backend(transcriber: Transcriber) -> VoskBackend:
    return VoskBackend(transcriber)


def frames_of(wav_path: Path, *, silence_before: float, silence_after: float) -> list[bytes]:
    with wave.open(str(wav_path), "rb") as wav:
        assert wav.getframerate() == 8000
        speech = wav.readframes(wav.getnframes())
    pcm = bytes(int(silence_before * 16000)) + speech + bytes(int(silence_after * 16000))
    pcm += bytes(-len(pcm) % FRAME_BYTES)
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


def run_call(pool: StreamingPool, frames: list[bytes]) -> tuple[list[AsrResult], int, int]:
    stream = pool.open("call")
    assert stream is not None
    results: list[AsrResult] = []
    for index, frame in enumerate(frames):
        results += stream.feed(frame, index * FRAME_MS / 1000)
    results += stream.close(len(frames) * FRAME_MS / 1000, timeout=60)
    return results, stream.gate.frames_seen, stream.gate.frames_fed


@pytest.mark.parametrize("word", KOREAN_IN_VOCABULARY)
def test_vocabulary_has_korean_words(backend: VoskBackend, word: str) -> None:
    assert backend.has_word(word)


@pytest.mark.parametrize("word", [*NOT_IN_VOCABULARY, UNK])
def test_vocabulary_lacks_other_words_and_unk(backend: VoskBackend, word: str) -> None:
    assert not backend.has_word(word)


def test_plan_reports_missing_keywords_and_refuses_a_model_without_unk(
    backend: VoskBackend,
) -> None:
    rules = rules_from_mapping({"119": ["화재", "도와주세요"], "120": ["병원", "胸痛 오늘"]})
    plan = plan_keywords(rules, backend.has_word)
    assert [(m.phrase, m.unknown_words) for m in plan.missing] == [
        ("도와주세요", ("도와주세요",)),
        ("胸痛 오늘", ("胸痛",)),
    ]
    assert not plan.has_unk
    assert not plan.enabled
    assert any("no [unk]" in line for line in plan.report())
    accepted = plan_keywords(rules, backend.has_word, require_unk=False)
    assert accepted.enabled
    assert accepted.grammar == ["화재", "병원"]  # no [unk] to add
    assert any("forced onto a keyword" in line for line in accepted.report())


def korean_plan(backend: VoskBackend) -> KeywordPlan:
    rules = rules_from_mapping({"120": ["안녕하세요", "오늘"], "119": ["날씨", "좋네요"]})
    return plan_keywords(rules, backend.has_word, require_unk=False)


def test_speech_gives_a_final_and_a_keyword_hit(backend: VoskBackend, speech_wav: Path) -> None:
    pool = StreamingPool(backend, max_streams=2, workers=2, keyword_plan=korean_plan(backend))
    try:
        frames = frames_of(speech_wav, silence_before=1.0, silence_after=2.0)
        results, seen, fed = run_call(pool, frames)
        again, _, _ = run_call(pool, frames)
    finally:
        pool.shutdown()
    finals = [r for r in results if isinstance(r, Final)]
    assert finals
    assert any(f.text for f in finals)
    assert finals[-1].reason == "silence"  # the backstop ended it, not the hang-up
    # Without [unk] the grammar forces speech onto some keyword: the spotter fired.
    assert {h.line for h in results if isinstance(h, KeywordHit)} <= {"120", "119"}
    assert any(isinstance(h, KeywordHit) for h in results)
    assert fed < seen - 100  # at least 2 s of the 3 s of silence never reached Vosk
    assert [r for r in again if isinstance(r, Final)] == finals  # dither 0: deterministic


def test_silence_only_decodes_nothing(backend: VoskBackend) -> None:
    pool = StreamingPool(backend, max_streams=1, workers=1, keyword_plan=korean_plan(backend))
    try:
        results, seen, fed = run_call(pool, [bytes(FRAME_BYTES)] * 150)
    finally:
        pool.shutdown()
    assert (results, seen, fed) == ([], 150, 0)


class _ThreadNoting(VoskBackend):
    """The real backend, noting which thread decodes each file."""

    def __init__(self, transcriber: Transcriber) -> None:
        super().__init__(transcriber)
        self.threads: list[str] = []

    def transcribe_wav(self, path: Path) -> str:
        self.threads.append(threading.current_thread().name)
        return super().transcribe_wav(path)


async def test_after_call_transcription_runs_the_model_in_the_pools_threads(
    transcriber: Transcriber, speech_wav: Path
) -> None:
    backend = _ThreadNoting(transcriber)
    pool = StreamingPool(backend, max_streams=1, workers=1)
    consumer = AfterCallWorker(pool, AfterCallQueue())
    running = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(60):
            text = await consumer.transcribe(speech_wav, Priority.EMERGENCY, call_id="c1")
    finally:
        running.cancel()
        pool.shutdown()
    assert text == transcriber.transcribe_wav(speech_wav)  # dither 0: the same words
    assert backend.threads and all(name.startswith("asr") for name in backend.threads)
    assert threading.main_thread().name not in backend.threads  # never the event loop's
    assert pool.active == 0
