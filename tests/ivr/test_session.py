"""The call session with the real engine, menu, prompts texts and WAV writer.

Fakes stand only at the adapter seams: the call leg (pyVoIP), the work-order
client (aiohttp) and the transcriber (Vosk). Plays complete at once, so no
test waits for audio in real time.
"""

from __future__ import annotations

import asyncio
import math
import struct
import wave
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.engine.actions import CreateOrder
from ivr.engine.engine import FlowEngine
from ivr.engine.flow import load_flow
from ivr.orders_client import OrdersUnavailable
from ivr.session import CallSession
from ivr.sip.pyvoip_adapter import LegAudio, LegDigit, LegEnded, LegPlayed
from recordings.audio import is_silence
from recordings.store import RecordingStore, WavWriter

REPO = Path(__file__).resolve().parents[2]
CHINA = ZoneInfo("Asia/Shanghai")
TONE_FRAME = b"".join(
    struct.pack("<h", int(9000 * math.sin(2 * math.pi * 300 * i / 8000))) for i in range(160)
)
SILENT_FRAME = bytes(320)


class FakeLeg:
    def __init__(self) -> None:
        self.call_id = "call-1@test"
        self.caller = "13800138000"
        self.callee = "12320"
        self.events: asyncio.Queue[object] = asyncio.Queue()
        self.played: list[bytes] = []
        self.listening = False
        self.hung_up = False
        self.stops = 0

    def play(self, pcm16: bytes, token: object) -> None:
        self.played.append(pcm16)
        if token is not None:
            self.events.put_nowait(LegPlayed(token, stopped=False))

    def stop_playback(self) -> None:
        self.stops += 1

    def listen(self, on: bool) -> None:
        self.listening = on

    def hangup(self) -> None:
        if not self.hung_up:
            self.hung_up = True
            self.events.put_nowait(LegEnded("local"))

    def audio_taken(self) -> None:
        pass


class FakePrompts:
    """Each prompt is a distinct short buffer so tests can see what was played."""

    def __init__(self) -> None:
        self.keys: dict[bytes, str] = {}

    def pcm16(self, key: str) -> bytes:
        data = key.encode().ljust(320, b"\0")
        self.keys[data] = key
        return data


class FakeOrders:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.orders: list[CreateOrder] = []
        self.transcripts: list[tuple[str, str, str]] = []
        self.answered: list[str] = []

    async def create_order(self, order: CreateOrder, received_at: datetime) -> str:
        if self.fail:
            raise OrdersUnavailable("HTTP 503")
        self.orders.append(order)
        return "12320-20261123-00042"

    async def put_transcript(self, number: str, text: str, status: str) -> None:
        self.transcripts.append((number, text, status))

    async def call_answered(self, call_id: str, caller: str, callee: str) -> None:
        self.answered.append(call_id)


class FakeTranscriber:
    def __init__(self) -> None:
        self.paths: list[Path] = []

    async def transcribe_wav_async(self, path: Path) -> str:
        self.paths.append(path)
        return "我要投诉"


def _session(tmp_path: Path, orders: FakeOrders, transcriber: FakeTranscriber | None):
    flow = load_flow(REPO / "config/menus/12320.yaml")
    leg = FakeLeg()
    prompts = FakePrompts()
    background: set[asyncio.Task[None]] = set()
    session = CallSession(
        leg,
        FlowEngine(flow, call_id=leg.call_id, caller=leg.caller, callee=leg.callee),
        prompts=prompts,
        orders=orders,
        recordings=RecordingStore(tmp_path),
        open_writer=WavWriter,
        is_silence=is_silence,
        transcriber=transcriber,
        clock=lambda: datetime.now(CHINA),
        background=background,
    )
    return session, leg, prompts, background


async def _until(predicate: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110 - lets the session task run
            await asyncio.sleep(0)
    assert predicate(), what


def _played(leg: FakeLeg, prompts: FakePrompts) -> list[str]:
    return [prompts.keys.get(p, "?") for p in leg.played]


async def test_complaint_is_recorded_ordered_read_back_and_transcribed(tmp_path) -> None:
    orders, transcriber = FakeOrders(), FakeTranscriber()
    session, leg, prompts, background = _session(tmp_path, orders, transcriber)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("2"))
    await _until(lambda: leg.listening, "recording started after the beep")
    for _ in range(50):  # 1 s of speech-like tone, then silence ends the recording
        leg.events.put_nowait(LegAudio(TONE_FRAME))
    for _ in range(int(4 / 0.02) + 1):
        leg.events.put_nowait(LegAudio(SILENT_FRAME))
    async with asyncio.timeout(5):
        await run
    await asyncio.wait(background, timeout=5)

    assert leg.hung_up
    (order,) = orders.orders
    assert order.category == "complaint"
    assert order.menu_path == ("2",)
    assert order.idempotency_key == leg.call_id
    assert order.caller == "13800138000"
    assert order.recording is not None
    with wave.open(str(tmp_path / order.recording)) as wav:
        assert wav.getframerate() == 8000
        assert 4.9 <= wav.getnframes() / 8000 <= 5.1
    assert orders.transcripts == [("12320-20261123-00042", "我要投诉", "done")]
    assert orders.answered == [leg.call_id]
    played = _played(leg, prompts)
    assert played.index("beep") < played.index("order_accepted") < played.index("goodbye")
    digits = [k.removeprefix("digits/") for k in played if k.startswith("digits/")]
    assert "".join(digits) == "2026112300042"


async def test_hangup_while_recording_still_opens_the_order(tmp_path) -> None:
    orders = FakeOrders()
    session, leg, prompts, background = _session(tmp_path, orders, None)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("3"))
    await _until(lambda: leg.listening, "recording")
    for _ in range(25):
        leg.events.put_nowait(LegAudio(TONE_FRAME))
    leg.events.put_nowait(LegEnded("remote"))
    async with asyncio.timeout(5):
        await run
    await asyncio.wait(background, timeout=5)
    (order,) = orders.orders
    assert order.category == "report"
    assert order.recording is not None
    # No model: the order gets an empty transcript marked unavailable.
    assert orders.transcripts == [("12320-20261123-00042", "", "unavailable")]


async def test_order_service_down_apologises_and_hangs_up(tmp_path) -> None:
    orders = FakeOrders(fail=True)
    session, leg, prompts, _ = _session(tmp_path, orders, None)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("0"))
    async with asyncio.timeout(5):
        await run
    assert "order_failed" in _played(leg, prompts)
    assert leg.hung_up


@pytest.mark.parametrize("key", ["1", "5"])
async def test_menu_barge_in_stops_the_prompt(tmp_path, key) -> None:
    orders = FakeOrders()
    session, leg, _, _ = _session(tmp_path, orders, None)
    leg.play = _deferred_play(leg)  # type: ignore[method-assign]
    run = asyncio.create_task(session.run())
    await _until(lambda: len(leg.played) >= 2, "menu prompt queued")
    leg.events.put_nowait(LegDigit(key))
    await _until(lambda: leg.stops >= 1, "playback stopped")
    run.cancel()


def _deferred_play(leg: FakeLeg):  # type: ignore[no-untyped-def]
    """Plays that never finish by themselves, except the first (the greeting)."""

    def play(pcm16: bytes, token: object) -> None:
        leg.played.append(pcm16)
        if token is not None and len(leg.played) == 1:
            leg.events.put_nowait(LegPlayed(token, stopped=False))

    return play
