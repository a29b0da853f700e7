"""The streaming core with recognizers injected at the adapter seam: gating, utterance
boundaries, the Chinese keyword → line logic, the bounded pool and the after-call queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asr.after_call import AfterCallQueue, Priority, QueuedRecording
from asr.gating import FRAME_BYTES, FRAME_MS, GateConfig
from asr.keywords import KeywordPlan, plan_keywords, rules_from_mapping
from asr.streaming import (
    AfterCallWorker,
    AsrResult,
    Final,
    KeywordHit,
    Partial,
    StreamingPool,
    StreamingRecognizer,
)
from tests.asr.fakes import FakeBackend
from tests.asr.test_gating import LOUD, QUIET

pytestmark = pytest.mark.unit

GATE = GateConfig(preroll_ms=0, hangover_ms=0, endpoint_silence_ms=200, partial_interval_ms=100)

EMERGENCY_KEYWORDS = {
    "120": ["昏迷", "胸痛", "呼吸 困难", "大 出血", "抽搐", "晕倒"],
    "119": ["着火", "火灾"],
    "110": ["打人", "持刀"],
    "122": ["车祸"],
    "public_health_duty": ["食物中毒", "职业 中毒"],
}
VOCABULARY = {w for ps in EMERGENCY_KEYWORDS.values() for p in ps for w in p.split()} | {"[unk]"}


def chinese_plan() -> KeywordPlan:
    plan = plan_keywords(rules_from_mapping(EMERGENCY_KEYWORDS), VOCABULARY.__contains__)
    assert plan.enabled
    return plan


def pool_for(
    backend: FakeBackend, *, max_streams: int = 2, plan: KeywordPlan | None = None
) -> StreamingPool:
    return StreamingPool(
        backend, max_streams=max_streams, workers=1, gate=GATE, keyword_plan=plan or chinese_plan()
    )


def drive(stream: StreamingRecognizer, script: str) -> list[AsrResult]:
    """L = a loud frame, q = a quiet one, P = loud while a prompt plays; then close."""
    results: list[AsrResult] = []
    for index, symbol in enumerate(script):
        frame = QUIET if symbol == "q" else LOUD
        results += stream.feed(frame, index * FRAME_MS / 1000, prompt_playing=symbol == "P")
    results += stream.close(len(script) * FRAME_MS / 1000, timeout=10)
    return results


def test_silence_and_prompts_never_reach_the_recognizers() -> None:
    backend = FakeBackend()
    pool = pool_for(backend)
    stream = pool.open("c1")
    assert stream is not None
    assert drive(stream, "q" * 50 + "P" * 50) == []
    assert backend.text.audio == b""
    assert backend.keywords.audio == b""
    pool.shutdown()


def test_one_utterance_gives_partials_one_final_and_its_keyword() -> None:
    backend = FakeBackend(texts=["我 爸 突然 昏迷 了"], spotted=["[unk] 昏迷 [unk]"])
    pool = pool_for(backend)
    stream = pool.open("c1")
    assert stream is not None
    results = drive(stream, "q" * 5 + "L" * 20 + "q" * 15)
    finals = [r for r in results if isinstance(r, Final)]
    assert [(f.text, f.reason) for f in finals] == [("我 爸 突然 昏迷 了", "silence")]
    assert finals[0].at == pytest.approx(0.68)  # last loud frame at 0.48 s + 200 ms of silence
    assert [(h.phrase, h.line) for h in results if isinstance(h, KeywordHit)] == [("昏迷", "120")]
    partials = [r for r in results if isinstance(r, Partial)]
    assert partials  # the scripted partial is half of the final text
    assert all(p.text == "我 爸 突" for p in partials)
    assert len(partials) == 1  # an unchanged partial is not repeated
    assert len(backend.text.audio) == 20 * FRAME_BYTES  # only the speech was decoded
    assert backend.text.threads and all(t.startswith("asr") for t in backend.text.threads)
    assert backend.grammars == [chinese_plan().grammar]
    pool.shutdown()


@pytest.mark.parametrize(
    ("spotted", "lines"),
    [
        ("[unk] 胸痛 [unk]", ["120"]),
        ("呼吸 困难", ["120"]),
        ("[unk] 困难", []),  # half of a phrase is not the phrase
        ("呼吸 [unk] 困难", []),
        ("着火 [unk] 有人 打人", ["119", "110"]),
        ("车祸 车祸", ["122"]),  # one trigger per line and utterance
        ("食物中毒", ["public_health_duty"]),
        ("职业 中毒", ["public_health_duty"]),
        ("[unk] [unk]", []),
        ("", []),
    ],
)
def test_chinese_keywords_map_to_lines(spotted: str, lines: list[str]) -> None:
    backend = FakeBackend(texts=["文本"], spotted=[spotted])
    pool = pool_for(backend)
    stream = pool.open("c1")
    assert stream is not None
    results = drive(stream, "L" * 10)
    assert [r.line for r in results if isinstance(r, KeywordHit)] == lines
    assert [r.reason for r in results if isinstance(r, Final)] == ["closed"]
    pool.shutdown()


def test_utterances_are_kept_apart() -> None:
    backend = FakeBackend(texts=["第一句", "第二句"], spotted=["[unk]", "车祸"])
    pool = pool_for(backend)
    stream = pool.open("c1")
    assert stream is not None
    results = drive(stream, "L" * 5 + "q" * 12 + "L" * 7)
    finals = [r for r in results if isinstance(r, Final)]
    assert [(f.text, f.reason) for f in finals] == [("第一句", "silence"), ("第二句", "closed")]
    assert [len(a) for a in backend.text.utterance_audio] == [5 * FRAME_BYTES, 7 * FRAME_BYTES]
    hit_index = next(i for i, r in enumerate(results) if isinstance(r, KeywordHit))
    assert results.index(finals[0]) < hit_index < results.index(finals[1])
    pool.shutdown()


def test_without_a_keyword_plan_only_text_is_recognised() -> None:
    backend = FakeBackend(texts=["你好"])
    disabled = plan_keywords(rules_from_mapping(EMERGENCY_KEYWORDS), lambda word: False)
    pool = pool_for(backend, plan=disabled)
    stream = pool.open("c1")
    assert stream is not None
    assert [type(r) for r in drive(stream, "L" * 3)] == [Final]
    assert backend.grammars == []
    pool.shutdown()


def test_feed_after_close_is_an_error() -> None:
    pool = pool_for(FakeBackend())
    stream = pool.open("c1")
    assert stream is not None
    stream.close(0.0)
    assert stream.close(0.0) == []
    with pytest.raises(Exception, match="after close"):
        stream.feed(LOUD, 1.0)
    pool.shutdown()


def test_the_pool_is_bounded_and_frees_slots_on_close() -> None:
    pool = pool_for(FakeBackend(), max_streams=2)
    first, second = pool.open("c1"), pool.open("c2")
    assert first is not None
    assert second is not None
    assert pool.open("c3") is None
    assert pool.free_slots == 0
    first.close(0.0)
    assert pool.free_slots == 1
    third = pool.open("c3")
    assert third is not None
    second.close(0.0)
    third.close(0.0)
    assert pool.active == 0
    pool.shutdown()


async def test_after_call_worker_transcribes_emergencies_first_when_a_slot_frees() -> None:
    backend = FakeBackend(transcripts={"urgent.wav": "有人昏迷"})
    pool = pool_for(backend, max_streams=1)
    queue = AfterCallQueue()
    done: list[tuple[str, str | None]] = []
    finished = asyncio.Event()

    async def on_transcript(entry: QueuedRecording, text: str | None) -> None:
        done.append((entry.path.name, text))
        if len(done) == 3:
            finished.set()

    worker = AfterCallWorker(pool, queue, on_transcript)
    live = pool.open("live-call")  # the pool is full: recordings wait
    assert live is not None
    for name, priority in [("a.wav", Priority.NORMAL), ("b.wav", Priority.NORMAL)]:
        queue.submit(Path(name), priority, now=0.0)
    queue.submit(Path("urgent.wav"), Priority.EMERGENCY, now=1.0)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0)
        assert done == []  # nothing runs while the only slot is taken
        await live.aclose(2.0)
        await asyncio.wait_for(finished.wait(), timeout=10)
    finally:
        task.cancel()
        pool.shutdown()
    assert done == [("urgent.wav", "有人昏迷"), ("a.wav", ""), ("b.wav", "")]
    assert pool.active == 0


class _Failing(FakeBackend):
    def transcribe_wav(self, path: Path) -> str:
        if path.name == "bad.wav":
            raise RuntimeError("decoder crashed")
        return super().transcribe_wav(path)


async def test_after_call_waiters_get_their_text_and_a_failure_stops_nothing() -> None:
    backend = _Failing(transcripts={"good.wav": "我要投诉"})
    pool = pool_for(backend, max_streams=1)
    worker = AfterCallWorker(pool, AfterCallQueue())
    running = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(10):
            bad, good = await asyncio.gather(
                worker.transcribe(Path("bad.wav"), Priority.URGENT),
                worker.transcribe(Path("good.wav")),
            )
    finally:
        running.cancel()
        pool.shutdown()
    assert (bad, good) == (None, "我要投诉")
    assert pool.active == 0
