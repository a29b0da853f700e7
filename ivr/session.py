"""Drives one call: feeds SIP/audio events to the pure flow engine and carries out its actions.

The session is the only place where engine time meets real time: it asks the
engine for its next deadline and sends ``TimerFired`` when it passes. It owns
the side effects the engine only names — audio out, recording to disk, the
work-order API, transcription — and turns their outcomes back into events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ivr.engine import actions, events
from ivr.engine.engine import FlowEngine
from ivr.orders_client import OrdersUnavailable
from ivr.sip.pyvoip_adapter import LegAudio, LegDigit, LegEnded, LegPlayed

log = logging.getLogger("ivr.session")

FRAME_SECONDS = 0.020
BEEP_PROMPT = "beep"


class Leg(Protocol):
    """What the session needs of a call (``ivr.sip.pyvoip_adapter.CallLeg``)."""

    call_id: str
    caller: str
    callee: str
    events: asyncio.Queue[object]

    def play(self, pcm16: bytes, token: object) -> None: ...
    def stop_playback(self) -> None: ...
    def listen(self, on: bool) -> None: ...
    def hangup(self) -> None: ...
    def audio_taken(self) -> None: ...


class Prompts(Protocol):
    def pcm16(self, key: str) -> bytes: ...


class Orders(Protocol):
    async def create_order(self, order: actions.CreateOrder, received_at: datetime) -> str: ...
    async def put_transcript(self, number: str, text: str, status: str) -> None: ...
    async def call_answered(self, call_id: str, caller: str, callee: str) -> None: ...


class Recordings(Protocol):
    def new_path(self, call_id: str, when: datetime) -> tuple[Path, str]: ...
    def resolve(self, ref: str) -> Path: ...


class Writer(Protocol):
    def write(self, pcm16: bytes) -> None: ...
    def close(self) -> float: ...


class Transcriber(Protocol):
    async def transcribe_wav_async(self, path: Path) -> str: ...


@dataclass(frozen=True, slots=True)
class _PlayEnd:
    """Token on the last segment of a ``Play``: its playback end becomes ``PlayDone``."""

    serial: int


@dataclass(frozen=True, slots=True)
class _BeepEnd:
    """Token on the beep before a recording: the recording starts when it ends."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """An engine event produced by background work (the order API)."""

    event: events.Event


@dataclass(slots=True)
class _Recording:
    spec: actions.Record
    path: Path
    ref: str
    writer: Writer | None = None  # None until the beep has been played
    silent_frames: int = 0


class CallSession:
    def __init__(
        self,
        leg: Leg,
        engine: FlowEngine,
        *,
        prompts: Prompts,
        orders: Orders,
        recordings: Recordings,
        open_writer: Callable[[Path], Writer],
        is_silence: Callable[[bytes], bool],
        transcriber: Transcriber | None,
        clock: Callable[[], datetime],
        background: set[asyncio.Task[None]],
    ) -> None:
        self.leg = leg
        self.engine = engine
        self.prompts = prompts
        self.orders = orders
        self.recordings = recordings
        self.open_writer = open_writer
        self.is_silence = is_silence
        self.transcriber = transcriber
        self.clock = clock
        self.background = background
        self.answered_at = clock()
        self._plays = 0
        self._recording: _Recording | None = None
        self._ended = False

    async def run(self) -> None:
        leg = self.leg
        self._spawn(self._announce())
        await self._carry_out(
            self.engine.handle(
                events.CallStarted(leg.call_id, leg.caller, leg.callee), self.clock()
            )
        )
        while not self.engine.finished:
            deadline = self.engine.next_deadline()
            timeout = (
                None if deadline is None else max(0.0, (deadline - self.clock()).total_seconds())
            )
            try:
                async with asyncio.timeout(timeout):
                    item = await leg.events.get()
            except TimeoutError:
                await self._feed(events.TimerFired())
                continue
            await self._dispatch(item)
        self._finish_recording("hangup")

    async def _dispatch(self, item: object) -> None:
        if isinstance(item, LegAudio):
            self.leg.audio_taken()
            self._record_audio(item.pcm16)
        elif isinstance(item, LegDigit):
            await self._feed(events.Digit(item.key))
        elif isinstance(item, LegPlayed):
            if isinstance(item.token, _PlayEnd):
                await self._feed(events.PlayDone())
            elif isinstance(item.token, _BeepEnd):
                self._start_writing()
        elif isinstance(item, _Outcome):
            await self._feed(item.event)
        elif isinstance(item, LegEnded):
            self._ended = True
            done = self._finish_recording("hangup")
            if done is not None:
                await self._feed(done)
            await self._feed(events.Hangup())

    async def _feed(self, event: events.Event) -> None:
        if self.engine.finished:
            return
        todo = self.engine.handle(event, self.clock())
        log.debug("call %s: %s -> %s", self.leg.call_id, event, todo)
        await self._carry_out(todo)

    async def _carry_out(self, todo: list[actions.Action]) -> None:
        for action in todo:
            if isinstance(action, actions.Play):
                self._play(action.prompts)
            elif isinstance(action, actions.StopPlayback):
                self.leg.stop_playback()
            elif isinstance(action, actions.Record):
                self._begin_recording(action)
            elif isinstance(action, actions.StopRecording):
                done = self._finish_recording(action.reason)
                if done is not None:
                    self.leg.events.put_nowait(_Outcome(done))
            elif isinstance(action, actions.CreateOrder):
                self._spawn(self._create_order(action))
            elif isinstance(action, actions.Hangup):
                if not self._ended:
                    self.leg.hangup()
            elif isinstance(action, actions.Transfer | actions.Enqueue):
                # Transfers and queues arrive with the emergency and agent issues.
                log.warning("call %s: %s is not supported yet", self.leg.call_id, action)
                self.leg.events.put_nowait(
                    _Outcome(events.TransferResult(ok=False, detail="not supported"))
                )

    # -- audio out --
    def _play(self, keys: tuple[str, ...]) -> None:
        self._plays += 1
        for index, key in enumerate(keys):
            last = index == len(keys) - 1
            self.leg.play(self.prompts.pcm16(key), _PlayEnd(self._plays) if last else None)
        if not keys:
            self.leg.events.put_nowait(LegPlayed(_PlayEnd(self._plays), stopped=False))

    # -- recording --
    def _begin_recording(self, spec: actions.Record) -> None:
        path, ref = self.recordings.new_path(self.leg.call_id, self.clock())
        self._recording = _Recording(spec, path, ref)
        if spec.beep:
            self.leg.play(self.prompts.pcm16(BEEP_PROMPT), _BeepEnd())
        else:
            self._start_writing()

    def _start_writing(self) -> None:
        if self._recording is not None and self._recording.writer is None:
            self._recording.writer = self.open_writer(self._recording.path)
            self.leg.listen(True)

    def _record_audio(self, pcm16: bytes) -> None:
        recording = self._recording
        if recording is None or recording.writer is None:
            return
        recording.writer.write(pcm16)
        recording.silent_frames = recording.silent_frames + 1 if self.is_silence(pcm16) else 0
        if recording.silent_frames * FRAME_SECONDS >= recording.spec.silence_seconds:
            done = self._finish_recording("silence")
            if done is not None:
                self.leg.events.put_nowait(_Outcome(done))

    def _finish_recording(self, reason: str) -> events.RecordingDone | None:
        recording, self._recording = self._recording, None
        if recording is None:
            return None
        self.leg.listen(False)
        if recording.writer is None:  # stopped during the beep: an empty recording
            recording.writer = self.open_writer(recording.path)
        seconds = recording.writer.close()
        return events.RecordingDone(recording.ref, seconds, reason)

    # -- work orders --
    async def _announce(self) -> None:
        try:
            await self.orders.call_answered(self.leg.call_id, self.leg.caller, self.leg.callee)
        except OrdersUnavailable as exc:
            log.warning("call %s: screen-pop on answer not sent: %s", self.leg.call_id, exc)

    async def _create_order(self, order: actions.CreateOrder) -> None:
        try:
            number = await self.orders.create_order(order, self.answered_at)
        except OrdersUnavailable as exc:
            self.leg.events.put_nowait(_Outcome(events.OrderFailed(str(exc))))
            return
        self.leg.events.put_nowait(_Outcome(events.OrderCreated(number)))
        if order.recording:
            self._spawn(self._transcribe(number, order.recording))

    async def _transcribe(self, number: str, ref: str) -> None:
        """Runs on after the caller hung up; the order already exists."""
        if self.transcriber is None:
            await self._put_transcript(number, "", "unavailable")
            return
        try:
            text = await self.transcriber.transcribe_wav_async(self.recordings.resolve(ref))
        except Exception:
            log.exception("order %s: transcription failed", number)
            await self._put_transcript(number, "", "unavailable")
            return
        await self._put_transcript(number, text, "done")

    async def _put_transcript(self, number: str, text: str, status: str) -> None:
        try:
            await self.orders.put_transcript(number, text, status)
        except OrdersUnavailable as exc:
            log.error("order %s: transcript not stored: %s", number, exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
