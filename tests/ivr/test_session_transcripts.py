"""Where an order's transcript comes from, and what goes with it (``ivr/transcripts.py``).

The real session, engine, menu, streaming pool, after-call queue and consumer; fakes only at
the seams: the call leg, the order client and the recognisers (``tests.asr.fakes``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from asr.after_call import AfterCallQueue, Priority
from asr.intake import load_intake_rules
from asr.streaming import AfterCallWorker, StreamingPool
from ivr.engine.actions import CreateOrder
from ivr.sip.leg import LegAudio, LegDigit, LegTransfer
from ivr.transcripts import IntakeTranscripts, after_call_priority, intake_classifier
from tests.asr.fakes import FakeBackend
from tests.ivr.test_session import (
    REPO,
    SILENT_FRAME,
    TONE_FRAME,
    FakeAfterCall,
    FakeOrders,
    _played,
    _session,
    _until,
)

pytestmark = pytest.mark.unit

CLASSIFY = intake_classifier(load_intake_rules(REPO / "config/intake.yaml"))


async def _complain(leg: Any, prompts: Any, *, speech_then_silence: bool = True) -> None:
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("2"))
    await _until(lambda: leg.listening, "recording started after the beep")
    if speech_then_silence:
        for frame in [TONE_FRAME] * 50 + [SILENT_FRAME] * 201:  # 4 s of silence end it
            leg.events.put_nowait(LegAudio(frame))


async def test_the_live_streams_text_is_the_transcript_with_its_classification(
    tmp_path: Path,
) -> None:
    backend = FakeBackend(texts=["医院 多收 了 我 两千块 检查费"])
    pool = StreamingPool(backend, max_streams=1, workers=1)
    orders, after_call = FakeOrders(), FakeAfterCall("never used")
    session, leg, prompts, background = _session(tmp_path, orders, after_call, classify=CLASSIFY)
    session.speech = pool
    try:
        run = asyncio.create_task(session.run())
        await _complain(leg, prompts)
        async with asyncio.timeout(10):
            await run
            await asyncio.wait(background)
    finally:
        pool.shutdown()
    assert orders.transcripts == [("12320-20261123-00042", "医院 多收 了 我 两千块 检查费", "done")]
    assert after_call.queued == []  # heard live: nothing queued after the call
    (classification,) = orders.classifications
    assert classification is not None
    assert (classification["category"], classification["domain"]) == ("complaint", "medical_fees")
    assert pool.active == 0


async def test_a_full_pool_queues_the_recording_and_an_emergency_goes_first(
    tmp_path: Path,
) -> None:
    """Every recogniser is busy; an agent sends the caller to 120 in the middle of the intake:
    the interrupted recording belongs to the urgent order and is queued as an emergency."""
    pool = StreamingPool(FakeBackend(), max_streams=1, workers=1)
    elsewhere = pool.open("another-call")  # the only slot
    assert elsewhere is not None
    orders, after_call = FakeOrders(), FakeAfterCall("我 爸 昏迷 了")
    session, leg, prompts, background = _session(tmp_path, orders, after_call, classify=CLASSIFY)
    session.speech = pool
    try:
        run = asyncio.create_task(session.run())
        await _complain(leg, prompts, speech_then_silence=False)
        for _ in range(25):
            leg.events.put_nowait(LegAudio(TONE_FRAME))
        session.raise_emergency("medical_120", "agent")
        await _until(lambda: bool(leg.transfers), "the transfer to 120")
        assert after_call.queued == []  # not while the caller is still on the line
        leg.events.put_nowait(LegTransfer("answered", 200))
        async with asyncio.timeout(10):
            await run
            await asyncio.wait(background)
    finally:
        elsewhere.close(0.0)
        pool.shutdown()
    (order,) = orders.orders
    assert (order.category, order.menu_path) == ("emergency", ("2",))
    assert order.recording is not None
    assert after_call.queued == [(tmp_path / order.recording, Priority.EMERGENCY, leg.call_id)]
    assert orders.transcripts == [("12320-20261123-00042", "我 爸 昏迷 了", "done")]
    (classification,) = orders.classifications
    assert classification is not None and classification["emergency_line"] == "medical_120"


def _order(key: str, **changes: Any) -> CreateOrder:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "caller": "13800138000",
        "category": "complaint",
        "menu_path": ("2",),
        "recording": f"{key}.wav",
        **changes,
    }
    return CreateOrder(**fields)


async def test_after_call_recordings_are_transcribed_emergencies_first(tmp_path: Path) -> None:
    """The real queue and consumer: three calls end while the pool's only slot is busy."""
    backend = FakeBackend(transcripts={"a.wav": "一", "b.wav": "二", "c.wav": "三"})
    pool = StreamingPool(backend, max_streams=1, workers=1)
    consumer = AfterCallWorker(pool, AfterCallQueue())
    live = pool.open("live-call")
    assert live is not None
    orders = FakeOrders()
    calls = [
        ("a", _order("a"), False),  # an ordinary complaint
        ("b", _order("b", priority="urgent", flags=("urgent",)), False),  # a 2-hour order
        ("c", _order("c"), True),  # transferred to a dedicated line
    ]
    deliveries = []
    for key, order, emergency in calls:
        transcripts = IntakeTranscripts(
            key, orders, tmp_path.joinpath, after_call=consumer, classify=None, speech=True
        )
        transcripts.emergency = emergency
        transcripts.call_over()
        deliveries.append(asyncio.create_task(transcripts.deliver(f"n-{key}", order)))
    running = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: len(consumer.queue) == 3, "all three queued")
        assert [e.priority for e in consumer.queue.pending()] == [
            Priority.EMERGENCY,
            Priority.URGENT,
            Priority.NORMAL,
        ]
        assert backend.transcribed == []  # the live call keeps its slot
        await live.aclose(1.0)
        async with asyncio.timeout(10):
            await asyncio.gather(*deliveries)
    finally:
        running.cancel()
        pool.shutdown()
    assert [p.name for p in backend.transcribed] == ["c.wav", "b.wav", "a.wav"]
    assert sorted(orders.transcripts) == [
        ("n-a", "一", "done"),
        ("n-b", "二", "done"),
        ("n-c", "三", "done"),
    ]


def test_priorities_of_the_after_call_queue() -> None:
    assert after_call_priority(_order("x"), emergency=True) is Priority.EMERGENCY
    assert after_call_priority(_order("x", category="emergency"), emergency=False) is (
        Priority.URGENT
    )
    assert after_call_priority(_order("x", flags=("urgent",)), emergency=False) is (Priority.URGENT)
    assert after_call_priority(_order("x", priority="high"), emergency=False) is Priority.NORMAL


async def test_without_a_model_the_order_gets_an_empty_unavailable_transcript() -> None:
    orders = FakeOrders()
    transcripts = IntakeTranscripts(
        "c", orders, Path, after_call=None, classify=CLASSIFY, speech=False
    )
    await transcripts.deliver("n-1", _order("x"))
    assert (orders.transcripts, orders.classifications) == ([("n-1", "", "unavailable")], [None])
