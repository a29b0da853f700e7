"""The intake classifier during a call (issue 14): the real session, engine and menu.

Fakes stand at the seams only: the call leg, the order client, the recognisers (a scripted
stream, or ``tests.asr.fakes`` behind the real streaming pool) and the classifier — a
callable returning the verdict each test needs (the classifier is tested in tests/asr/).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from asr.streaming import AsrResult, Final, StreamingPool
from ivr.sip.leg import LegAudio, LegDigit, LegEnded, LegTransfer
from tests.asr.fakes import FakeBackend
from tests.ivr.test_session import (
    SILENT_FRAME,
    TONE_FRAME,
    FakeOrders,
    _played,
    _session,
    _until,
)

pytestmark = pytest.mark.unit


class Verdicts:
    """Sure about 昏迷, unsure about 胸口; ``gate`` holds every answer until it is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, text: str, menu: str | None) -> dict[str, Any]:
        self.calls.append((text, menu))
        self.gate.wait(timeout=5)
        sure = "medical_120" if "昏迷" in text else None
        unsure = "medical_120" if "胸口" in text and sure is None else None
        return {"category": "help", "domain": "other", "emergency_line": sure,
                "confirm_line": unsure, "evidence": []}  # fmt: skip


class ScriptedStream:
    """A live stream that hears ``text`` as a final segment on the ``at``-th frame."""

    def __init__(self, text: str, at: int) -> None:
        self.text, self.at, self.frames = text, at, 0

    def feed(self, frame: bytes, now: float, *, prompt_playing: bool = False) -> list[AsrResult]:
        self.frames += 1
        return [Final(self.text, now, "silence")] if self.frames == self.at else []

    async def aclose(self, now: float) -> list[AsrResult]:
        return []


class ScriptedPool:
    def __init__(self, stream: ScriptedStream) -> None:
        self.stream = stream

    def open(self, call_id: str) -> ScriptedStream:
        return self.stream


async def _start_intake(leg: Any, prompts: Any) -> None:
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("2"))
    await _until(lambda: leg.listening, "recording started after the beep")


async def test_a_sure_verdict_while_the_caller_speaks_transfers_at_once(tmp_path: Path) -> None:
    """Nothing but the live classification can end this intake: the caller talks on."""
    orders, verdicts = FakeOrders(), Verdicts()
    session, leg, prompts, background = _session(tmp_path, orders, None, classify=verdicts)
    session.speech = ScriptedPool(ScriptedStream("我 爸 昏迷 了", at=10))
    run = asyncio.create_task(session.run())
    await _start_intake(leg, prompts)
    for _ in range(100):  # 2 s of speech, no silence
        leg.events.put_nowait(LegAudio(TONE_FRAME))
    await _until(lambda: bool(leg.transfers), "the transfer to 120")
    assert not leg.listening  # the recording was stopped for the emergency
    leg.events.put_nowait(LegTransfer("answered", 200))
    async with asyncio.timeout(5):
        await run
    await asyncio.wait(background, timeout=5)
    assert verdicts.calls[0] == ("我 爸 昏迷 了", "2")  # then the order's transcript
    (order,) = orders.orders
    assert (order.category, order.menu_path) == ("emergency", ("2",))
    assert order.recording is not None  # the interrupted intake goes with the urgent order
    assert "confirm_120" not in _played(leg, prompts)  # sure: no question


async def _unsure_intake(
    tmp_path: Path, answer: str, caplog: pytest.LogCaptureFixture
) -> tuple[FakeOrders, Any, Any]:
    """An intake heard live (the real pool; its text arrives as the stream closes) that the
    classifier is unsure about; the caller answers the question with ``answer``."""
    pool = StreamingPool(FakeBackend(texts=["我家 老人 胸口 有点 闷"]), max_streams=1, workers=1)
    orders = FakeOrders()
    session, leg, prompts, background = _session(tmp_path, orders, None, classify=Verdicts())
    session.speech = pool
    caplog.set_level(logging.INFO)
    try:
        run = asyncio.create_task(session.run())
        await _start_intake(leg, prompts)
        for frame in [TONE_FRAME] * 50 + [SILENT_FRAME] * 201:  # 4 s of silence end it
            leg.events.put_nowait(LegAudio(frame))
        await _until(lambda: "confirm_120" in _played(leg, prompts), "the question")
        assert orders.orders == []  # asked before the order is opened
        leg.events.put_nowait(LegDigit(answer))
        await _until(lambda: bool(orders.orders), "the order")
        if answer == "1":
            await _until(lambda: bool(leg.transfers), "the transfer")
            leg.events.put_nowait(LegTransfer("answered", 200))
        async with asyncio.timeout(10):
            await run
            await asyncio.wait(background)
    finally:
        pool.shutdown()
    return orders, leg, prompts


def _questions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "emergency question" in r.getMessage()]


async def test_an_unsure_verdict_asks_and_key_1_transfers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    orders, leg, _ = await _unsure_intake(tmp_path, "1", caplog)
    (order,) = orders.orders
    assert (order.category, order.priority, order.menu_path) == ("emergency", "urgent", ("2",))
    assert order.recording is not None
    assert "sip:" in leg.transfers[0][0]
    assert _questions(caplog) == [f"call {leg.call_id}: emergency question for medical_120: "
                                  "confirmed"]  # fmt: skip
    assert not any(leg.caller in r.getMessage() for r in caplog.records)


async def test_an_unsure_verdict_declined_opens_the_order_as_usual(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """(Silence until the timeout: the engine's and the simulator's tests, on a fake clock.)"""
    orders, leg, prompts = await _unsure_intake(tmp_path, "2", caplog)
    (order,) = orders.orders
    assert (order.category, order.priority) == ("complaint", None)
    assert leg.transfers == []
    assert _played(leg, prompts)[-1] == "goodbye"
    assert _questions(caplog) == [f"call {leg.call_id}: emergency question for medical_120: "
                                  "declined"]  # fmt: skip


async def test_hanging_up_while_the_intake_is_classified_still_opens_the_order(
    tmp_path: Path,
) -> None:
    """The recording ended and waits for its verdict when the caller hangs up."""
    pool = StreamingPool(FakeBackend(texts=["我家 老人 胸口 有点 闷"]), max_streams=1, workers=1)
    orders, verdicts = FakeOrders(), Verdicts()
    verdicts.gate.clear()
    session, leg, prompts, background = _session(tmp_path, orders, None, classify=verdicts)
    session.speech = pool
    try:
        run = asyncio.create_task(session.run())
        await _start_intake(leg, prompts)
        for frame in [TONE_FRAME] * 50 + [SILENT_FRAME] * 201:
            leg.events.put_nowait(LegAudio(frame))
        await _until(lambda: bool(verdicts.calls), "the whole intake being classified")
        leg.events.put_nowait(LegEnded("remote"))
        async with asyncio.timeout(5):
            await run
        verdicts.gate.set()
        await asyncio.wait(background, timeout=5)
    finally:
        verdicts.gate.set()
        pool.shutdown()
    (order,) = orders.orders
    assert (order.category, order.menu_path) == ("complaint", ("2",))
    assert order.recording is not None
    assert "confirm_120" not in _played(leg, prompts)


def test_the_verdicts_fake_reads_like_the_classifier() -> None:
    """The dict the fake returns has the keys of ``IntakeResult.for_order()`` plus
    ``confirm_line`` (the interface the classifier's rewrite provides)."""
    result: Mapping[str, Any] = Verdicts()("胸口 闷", "2")
    assert set(result) == {"category", "domain", "emergency_line", "confirm_line", "evidence"}
