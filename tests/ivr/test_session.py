"""The call session with the real engine, menu, prompts texts and WAV writer.

Fakes stand only at the adapter seams: the call leg (pyVoIP), the work-order
client (aiohttp) and the after-call transcription (Vosk). Plays complete at once,
so no test waits for audio in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import shutil
import struct
import wave
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from asr.after_call import Priority
from asr.intake import load_intake_rules
from ivr.engine.actions import CreateOrder
from ivr.engine.engine import FlowEngine
from ivr.engine.flow import Flow, load_flow
from ivr.orders_client import OrdersUnavailable
from ivr.session import CallSession
from ivr.sip.leg import LegAudio, LegDigit, LegEnded, LegPlayed, LegTransfer
from ivr.transcripts import Classifier, intake_classifier
from recordings.audio import is_silence
from recordings.store import RecordingStore, WavWriter

pytestmark = pytest.mark.integration

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
        self.transfers: list[tuple[str, dict[str, str]]] = []

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

    def transfer(self, target: str, headers: dict[str, str] | None = None) -> None:
        self.transfers.append((target, headers or {}))


class FakePrompts:
    """Each prompt is a distinct short buffer so tests can see what was played."""

    def __init__(self) -> None:
        self.keys: dict[bytes, str] = {}

    def pcm16(self, key: str, language: str = "") -> bytes:
        data = (f"{language}:{key}" if language else key).encode().ljust(320, b"\0")
        self.keys[data] = key
        return data


class FakeAcd:
    """The ACD's side of the queue API: the test hands out each status the IVR gets."""

    def __init__(self) -> None:
        self.statuses: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.queued: list[tuple[str, dict[str, object]]] = []
        self.polls: list[str | None] = []
        self.reports: list[str] = []
        self.left: list[str] = []

    def push(self, status: str, position: int | None = None, extension: str | None = None,
             detail: str = "") -> None:  # fmt: skip
        offer = None if extension is None else {
            "agent": f"a{extension}", "extension": extension, "ring_seconds": 20.0
        }  # fmt: skip
        version = f"{status}:{position}:{extension}:{self.statuses.qsize()}:{len(self.polls)}"
        self.statuses.put_nowait({"status": status, "version": version, "position": position,
                                  "offer": offer, "detail": detail})  # fmt: skip

    async def enqueue(self, group: str, body: dict[str, object]) -> dict[str, object]:
        self.queued.append((group, body))
        return await self.statuses.get()

    async def queue_status(self, call_id: str, seen: str | None, wait: float
                           ) -> dict[str, object]:  # fmt: skip
        self.polls.append(seen)
        return await self.statuses.get()

    async def report_offer(self, call_id: str, outcome: str) -> dict[str, object]:
        self.reports.append(outcome)
        return {}

    async def leave_queue(self, call_id: str, reason: str) -> None:
        self.left.append(reason)


class FakeOrders:
    def __init__(self, fail: bool = False, acd: FakeAcd | None = None) -> None:
        self.fail = fail
        self.acd = acd
        self.orders: list[CreateOrder] = []
        self.transcripts: list[tuple[str, str, str]] = []
        self.classifications: list[dict[str, Any] | None] = []
        self.answered: list[str] = []
        self.attempts: list[tuple[str, str, dict[str, object]]] = []
        self.invalid: list[dict[str, Any]] = []

    def _acd(self) -> FakeAcd:
        if self.acd is None:
            raise OrdersUnavailable("HTTP 404: no agent groups")
        return self.acd

    async def enqueue(self, group: str, body: dict[str, object]) -> dict[str, object]:
        return await self._acd().enqueue(group, body)

    async def queue_status(self, call_id: str, seen: str | None, wait: float
                           ) -> dict[str, object]:  # fmt: skip
        return await self._acd().queue_status(call_id, seen, wait)

    async def report_offer(self, call_id: str, outcome: str) -> dict[str, object]:
        return await self._acd().report_offer(call_id, outcome)

    async def leave_queue(self, call_id: str, reason: str) -> None:
        await self._acd().leave_queue(call_id, reason)

    async def create_order(self, order: CreateOrder, received_at: datetime) -> str:
        if self.fail:
            raise OrdersUnavailable("HTTP 503")
        self.orders.append(order)
        return "12320-20261123-00042"

    async def put_transcript(
        self, number: str, text: str, status: str, classification: dict[str, Any] | None = None
    ) -> None:
        self.transcripts.append((number, text, status))
        self.classifications.append(classification)

    async def record_transfer(self, number: str, line: str, attempt: dict[str, object]) -> None:
        self.attempts.append((number, line, attempt))

    async def call_answered(self, call_id: str, caller: str, callee: str) -> None:
        self.answered.append(call_id)

    async def report_invalid_call(self, call_id: str, caller: str, body: dict[str, Any]) -> None:
        self.invalid.append(body)


class FakeAfterCall:
    """The worker's after-call consumer (``asr.streaming.AfterCallWorker``) at its seam."""

    def __init__(self, text: str = "我要投诉") -> None:
        self.text = text
        self.queued: list[tuple[Path, Priority, str]] = []

    async def transcribe(self, path: Path, priority: Priority, *, call_id: str = "") -> str | None:
        self.queued.append((path, priority, call_id))
        return self.text


def _shipped_flow() -> Flow:
    """The shipped menu, less its minimum call length: these calls last milliseconds of
    wall time (the engine's own tests cover ``too_short`` on a fake clock)."""
    flow = load_flow(REPO / "config/menus/12320.yaml")
    rules = flow.invalid_calls.model_copy(update={"min_call_seconds": 0.0})
    return dataclasses.replace(flow, invalid_calls=rules)


class RunningClock:
    """A call clock that starts at a fixed instant and runs with the event loop's monotonic
    time, so the session's timers fire as in production while the date never depends on
    the machine (a Monday morning in Shanghai, inside business hours)."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 10, 0, tzinfo=CHINA)) -> None:
        self.start = start
        self.started: float | None = None

    def __call__(self) -> datetime:
        loop_time = asyncio.get_running_loop().time()
        if self.started is None:
            self.started = loop_time
        return self.start + timedelta(seconds=loop_time - self.started)


def _session(
    tmp_path: Path,
    orders: FakeOrders,
    after_call: FakeAfterCall | None,
    clock: Callable[[], datetime] | None = None,
    classify: Classifier | None = None,
):
    flow = _shipped_flow()
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
        clock=clock or RunningClock(),
        background=background,
        after_call=after_call,
        classify=classify,
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
    """No live recogniser (e.g. the pool was full): the recording is transcribed after the
    call, classified with the caller's key, and both go to the order."""
    orders, after_call = FakeOrders(), FakeAfterCall()
    classify = intake_classifier(load_intake_rules(REPO / "config/intake.yaml"))
    session, leg, prompts, background = _session(tmp_path, orders, after_call, classify=classify)
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
    assert after_call.queued == [(tmp_path / order.recording, Priority.NORMAL, leg.call_id)]
    (classification,) = orders.classifications
    assert classification is not None
    assert (classification["category"], classification["emergency_line"]) == ("complaint", None)
    assert {"kind": "menu", "label": "complaint", "word": "2", "weight": 2} in classification[
        "evidence"
    ]
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


async def test_pressing_2_and_saying_nothing_twice_is_counted_as_invalid_not_an_order(
    tmp_path,
) -> None:
    """Issue 13, item 8: the empty 诉求 order. Silence below the gate, asked again, silence."""
    orders = FakeOrders()
    session, leg, prompts, background = _session(tmp_path, orders, None)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("2"))
    for attempt in (1, 2):  # asked again after the first silence (the menu's on_no_speech)
        await _until(
            lambda n=attempt: leg.listening and _played(leg, prompts).count("beep") == n,
            "recording",
        )
        for _ in range(int(4 / 0.02) + 1):
            leg.events.put_nowait(LegAudio(SILENT_FRAME))
    async with asyncio.timeout(5):
        await run
    await asyncio.wait(background, timeout=5)
    assert orders.orders == []
    (invalid,) = orders.invalid
    assert (invalid["reason"], invalid["category"], invalid["menu_path"]) == (
        "silent_intake", "complaint", ["2"],
    )  # fmt: skip
    assert invalid["recording"]
    assert _played(leg, prompts).count("record_instructions") == 2
    assert _played(leg, prompts)[-1] == "goodbye" and leg.hung_up


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


SEAMS_MENU = """\
version: 1
start: main
flows:
  main:
    - language: en
    - gather:
        prompt: main_menu
        input: [digits, speech]
        phrases: {complaint: [投诉]}
        into: choice
    - queue: {group: intake, on_failure: sorry}
  sorry:
    - play: goodbye
    - hangup
"""


async def test_speech_seam_and_an_unreachable_acd_answer_not_available_and_keys_still_work(
    tmp_path: Path,
) -> None:
    """No recogniser and no ACD: the call goes on."""
    shutil.copytree(REPO / "config" / "prompts", tmp_path / "prompts")
    shutil.copy(REPO / "config" / "routing.yaml", tmp_path / "routing.yaml")
    shutil.copy(REPO / "config" / "agents.yaml", tmp_path / "agents.yaml")
    (tmp_path / "menus").mkdir()
    (tmp_path / "menus" / "seams.yaml").write_text(SEAMS_MENU, encoding="utf-8")
    flow = load_flow(tmp_path / "menus" / "seams.yaml")
    leg, prompts, orders = FakeLeg(), FakePrompts(), FakeOrders()
    session = CallSession(
        leg,
        FlowEngine(flow, call_id=leg.call_id, caller=leg.caller, callee=leg.callee),
        prompts=prompts,
        orders=orders,
        recordings=RecordingStore(tmp_path / "recordings"),
        open_writer=WavWriter,
        is_silence=is_silence,
        clock=RunningClock(),
        background=set(),
    )
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "the gather prompt")
    assert leg.played[0].startswith(b"en:main_menu")  # played from the English set
    leg.events.put_nowait(LegDigit("2"))
    async with asyncio.timeout(5):
        await run
    assert session.engine.variables["choice"] == "2"
    assert session.engine.variables["connect_failure"] == "unavailable"
    assert _played(leg, prompts)[-1] == "goodbye"
    assert leg.hung_up


async def test_emergency_opens_an_urgent_order_then_tries_each_target_then_the_agents(
    tmp_path: Path,
) -> None:
    """Key 9 then 1: 120 is busy, its backup does not answer, an emergency agent does."""
    orders = FakeOrders()
    now = [datetime(2026, 11, 23, 10, 0, tzinfo=CHINA)]
    session, leg, prompts, background = _session(tmp_path, orders, None, clock=lambda: now[0])
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "main menu")
    leg.events.put_nowait(LegDigit("9"))
    await _until(lambda: "emergency_menu" in _played(leg, prompts), "emergency menu")
    leg.events.put_nowait(LegDigit("1"))
    await _until(lambda: len(leg.transfers) == 1, "REFER to 120")

    (order,) = orders.orders
    assert (order.category, order.flags, order.menu_path) == ("emergency", ("urgent",), ("9", "1"))
    assert leg.transfers[0] == (
        "sip:120@127.0.0.1:5060",
        {
            "X-Hotline-Order": "12320-20261123-00042",
            "X-Hotline-Category": "emergency",
            "X-Hotline-Ring-Timeout": "20",
        },
    )
    assert "transferring" in _played(leg, prompts)  # the caller is told, not left in silence

    leg.events.put_nowait(LegTransfer("accepted", 202))
    leg.events.put_nowait(LegTransfer("failed", 486))
    await _until(lambda: len(leg.transfers) == 2, "REFER to the backup")
    assert leg.transfers[1][0] == "sip:120-backup@127.0.0.1:5060"

    now[0] += timedelta(seconds=26)  # ring timeout (20 s) and margin pass without a NOTIFY
    leg.events.put_nowait(object())  # wakes the session to look at the clock
    await _until(lambda: len(leg.transfers) == 3, "REFER to the emergency agents")
    assert leg.transfers[2][0] == "sip:1901@127.0.0.1:5060"

    leg.events.put_nowait(LegTransfer("answered", 200))
    async with asyncio.timeout(5):
        await run
    await asyncio.wait(background, timeout=5)
    assert session.engine.finished
    outcomes = [
        (a["target"], a["outcome"], a["code"], a["fallback"]) for _, _, a in orders.attempts
    ]
    assert outcomes == [
        ("sip:120@127.0.0.1:5060", "refused", 486, False),
        ("sip:120-backup@127.0.0.1:5060", "no_answer", None, False),
        ("sip:1901@127.0.0.1:5060", "answered", 200, True),
    ]
    assert {(number, line) for number, line, _ in orders.attempts} == {
        ("12320-20261123-00042", "medical_120")
    }


async def test_emergency_with_every_target_down_apologises_and_reads_the_order(
    tmp_path: Path,
) -> None:
    orders = FakeOrders()
    session, leg, prompts, _ = _session(tmp_path, orders, None)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "main menu")
    leg.events.put_nowait(LegDigit("9"))
    await _until(lambda: "emergency_menu" in _played(leg, prompts), "emergency menu")
    leg.events.put_nowait(LegDigit("5"))  # public-health duty: 2 targets + 2 agents
    for expected in range(1, 5):
        await _until(lambda n=expected: len(leg.transfers) == n, f"attempt {expected}")
        leg.events.put_nowait(LegTransfer("failed", 404))
    async with asyncio.timeout(5):
        await run
    assert [t for t, _ in leg.transfers] == [
        "sip:8001@127.0.0.1:5060",
        "sip:8002@127.0.0.1:5060",
        "sip:1901@127.0.0.1:5060",
        "sip:1902@127.0.0.1:5060",
    ]
    played = _played(leg, prompts)
    assert played.index("emergency_unreached") < played.index("goodbye")
    assert leg.hung_up


async def test_an_emergency_keyword_in_the_intake_sends_the_caller_to_120(tmp_path: Path) -> None:
    """The real streaming code (gating, utterances, keyword plan, decoding threads), with the
    recogniser's results injected at the Vosk seam: the Chinese keyword logic needs a Chinese
    model this machine cannot have."""
    from asr.keywords import plan_keywords, rules_from_mapping
    from asr.streaming import StreamingPool
    from tests.asr.fakes import FakeBackend

    backend = FakeBackend(
        texts=["我 爸 突然 昏迷 了"], spotted=["[unk] 昏迷 [unk]"], vocabulary=["昏迷", "[unk]"]
    )
    plan = plan_keywords(rules_from_mapping({"medical_120": ["昏迷"]}), backend.has_word)
    pool = StreamingPool(backend, max_streams=1, workers=1, keyword_plan=plan)
    orders = FakeOrders()
    partials: list[tuple[str, str]] = []

    async def publish(call_id: str, text: str) -> None:
        partials.append((call_id, text))

    session, leg, prompts, _ = _session(tmp_path, orders, None)
    session.speech = pool
    session.publish_partial = publish
    run = asyncio.create_task(session.run())
    try:
        await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
        leg.events.put_nowait(LegDigit("2"))
        await _until(lambda: leg.listening, "recording started")
        # 0.5 s of speech, then a pause that ends the utterance, at the line's pace: the
        # streaming code measures pauses on the clock (its endpoint backstop is 0.8 s).
        for frame in [TONE_FRAME] * 25 + [SILENT_FRAME] * 100:
            leg.events.put_nowait(LegAudio(frame))
            await asyncio.sleep(0.02)
            if leg.transfers:
                break
        await _until(lambda: bool(leg.transfers), "the transfer to 120")
    finally:
        run.cancel()
        pool.shutdown()
    (order,) = orders.orders
    assert (order.category, order.flags) == ("emergency", ("urgent",))
    assert leg.transfers[0][0] == "sip:120@127.0.0.1:5060"
    assert session.engine.variables["emergency_source"] == "keyword"
    assert partials and all(call_id == leg.call_id for call_id, _ in partials)


class FakeJournal:
    def __init__(self) -> None:
        self.open: dict[str, CreateOrder] = {}

    def begin(self, order: CreateOrder, received_at: datetime) -> None:
        self.open[order.idempotency_key] = order

    def end(self, key: str) -> None:
        self.open.pop(key, None)


async def test_an_intake_is_journaled_while_recorded_and_forgotten_once_ordered(tmp_path) -> None:
    """Issue 13, item 9: what a crash's successor needs, kept only while it is needed."""
    orders, journal = FakeOrders(), FakeJournal()
    session, leg, prompts, background = _session(tmp_path, orders, None)
    session.journal = journal
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("2"))
    await _until(lambda: leg.listening, "recording")
    cut = journal.open[leg.call_id]
    assert (cut.category, cut.menu_path) == ("complaint", ("2",))
    assert cut.recording and (tmp_path / cut.recording).exists()
    for _ in range(50):
        leg.events.put_nowait(LegAudio(TONE_FRAME))
    leg.events.put_nowait(LegDigit("#"))
    async with asyncio.timeout(5):
        await run
    await asyncio.wait(background, timeout=5)
    assert len(orders.orders) == 1 and journal.open == {}


async def test_a_crash_while_recording_leaves_the_journal(tmp_path) -> None:
    orders, journal = FakeOrders(), FakeJournal()
    session, leg, prompts, _ = _session(tmp_path, orders, None)
    session.journal = journal
    run = asyncio.create_task(session._run())  # the worker dies: no cleanup runs
    await _until(lambda: "main_menu" in _played(leg, prompts), "menu played")
    leg.events.put_nowait(LegDigit("2"))
    await _until(lambda: leg.listening, "recording")
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    assert list(journal.open) == [leg.call_id]
