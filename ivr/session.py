"""Drives one call: feeds SIP/audio events to the pure flow engine and carries out its actions.

The session is the only place where engine time meets real time: it asks the
engine for its next deadline and sends ``TimerFired`` when it passes. It owns
the side effects the engine only names — audio out, recording to disk, the
work-order API, transcription — and turns their outcomes back into events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from asr.streaming import AsrResult, Final, KeywordHit, Partial
from ivr.engine import actions, events
from ivr.engine.engine import FlowEngine
from ivr.intake_outcome import Journal, cut_order, invalid_report
from ivr.intake_verdicts import IntakeVerdicts
from ivr.intake_watch import log_question
from ivr.orders_client import OrdersUnavailable
from ivr.queueing import NO_QUEUE, AgentOffer, OfferEnded, QueueApi, QueueDriver, QueueRequest
from ivr.sip.leg import LegAudio, LegDigit, LegEnded, LegPlayed, LegTransfer
from ivr.transcripts import AfterCall, Classifier, IntakeTranscripts
from ivr.transfer import Attempt, LineTransfer, candidates, resolve

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
    def transfer(self, target: str, headers: dict[str, str] | None = None) -> None: ...


class Prompts(Protocol):
    """``ivr.prompts.library.PromptLibrary``: ``language=""`` is the flow's language."""

    def pcm16(self, key: str, language: str = "") -> bytes: ...


class Orders(QueueApi, Protocol):
    async def create_order(self, order: actions.CreateOrder, received_at: datetime) -> str: ...
    async def put_transcript(
        self, number: str, text: str, status: str, classification: dict[str, Any] | None = None
    ) -> None: ...
    async def call_answered(self, call_id: str, caller: str, callee: str) -> None: ...
    async def report_invalid_call(
        self, call_id: str, caller: str, body: dict[str, Any]
    ) -> None: ...
    async def record_transfer(self, number: str, line: str, attempt: dict[str, object]) -> None: ...


class Recordings(Protocol):
    def new_path(self, call_id: str, when: datetime) -> tuple[Path, str]: ...
    def resolve(self, ref: str) -> Path: ...


class Writer(Protocol):
    def write(self, pcm16: bytes) -> None: ...
    def close(self) -> float: ...


class SpeechStream(Protocol):
    """One call's streaming recogniser (``asr.streaming.StreamingRecognizer``)."""

    def feed(
        self, frame: bytes, now: float, *, prompt_playing: bool = False
    ) -> list[AsrResult]: ...
    async def aclose(self, now: float) -> list[AsrResult]: ...


class SpeechPool(Protocol):
    def open(self, call_id: str) -> SpeechStream | None: ...


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
    speech_frames: int = 0  # above the silence gate: did the caller say anything at all?


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
        clock: Callable[[], datetime],
        background: set[asyncio.Task[None]],
        edge: tuple[str, int] = ("127.0.0.1", 5060),
        speech: SpeechPool | None = None,
        publish_partial: Callable[[str, str], Coroutine[Any, Any, None]] | None = None,
        after_call: AfterCall | None = None,
        classify: Classifier | None = None,
        journal: Journal | None = None,
    ) -> None:
        """``speech`` (live recognition) and ``after_call`` (recordings that found it full)
        both come with a speech model; without one, orders get no transcript. ``journal``
        keeps each intake being recorded until its order is made (issue 13, item 9)."""
        self.leg = leg
        self.engine = engine
        self.prompts = prompts
        self.orders = orders
        self.recordings = recordings
        self.open_writer = open_writer
        self.is_silence = is_silence
        self.clock = clock
        self.background = background
        self.answered_at = clock()
        self._plays = 0
        self._recording: _Recording | None = None
        self._transfer: LineTransfer | None = None
        self._queue: QueueDriver | None = None
        self._queue_at: tuple[str, int] = ("", -1)  # the engine's place while it waits for it
        self._queue_line: LineTransfer | None = None  # the line whose agent group it is
        self._order_category = ""  # of the last order requested: context for transfers
        self.edge = edge
        self.speech = speech
        self.publish_partial = publish_partial
        self._stream: SpeechStream | None = None
        self._stream_ref = ""  # the recording the live stream hears
        self._stopped_ref: str | None = None  # stopped by StopRecording, engine not yet told
        self.transcripts = IntakeTranscripts(
            leg.call_id,
            orders,
            recordings.resolve,
            after_call=after_call,
            classify=classify,
            speech=speech is not None or after_call is not None,
        )
        self.verdicts = IntakeVerdicts(leg.call_id, classify, self.transcripts,
            menu_key=lambda: next(iter(engine.call.menu_path), None),
            raise_emergency=self.raise_emergency, spawn=self._spawn,
            tell_engine=lambda done: leg.events.put_nowait(_Outcome(done)))  # fmt: skip
        self._ended = False
        self.journal = journal
        self._orders_in_flight = 0

    def raise_emergency(self, line: str, source: str) -> None:
        """An emergency for ``line`` from outside the keys (agent command, spoken keyword)."""
        self.transcripts.emergency = True
        self.verdicts.watch.emergency_raised()
        self.leg.events.put_nowait(_Outcome(events.EmergencyRaised(line, source)))

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self.transcripts.call_over()
            if self.journal is not None and not self._orders_in_flight:
                self.journal.end(self.leg.call_id)  # else when the order is made or spooled

    async def _run(self) -> None:
        leg = self.leg
        self._spawn(self._announce())
        await self._carry_out(
            self.engine.handle(
                events.CallStarted(leg.call_id, leg.caller, leg.callee), self.clock()
            )
        )
        while not self.engine.finished:
            deadlines = [self.engine.next_deadline()]
            if self._transfer is not None:
                deadlines.append(self._transfer.attempt_deadline)
            deadline = min((d for d in deadlines if d is not None), default=None)
            timeout = (
                None if deadline is None else max(0.0, (deadline - self.clock()).total_seconds())
            )
            try:
                async with asyncio.timeout(timeout):
                    item = await leg.events.get()
            except TimeoutError:
                await self._on_deadline()
                continue
            await self._dispatch(item)
        self._finish_recording("hangup")

    async def _dispatch(self, item: object) -> None:
        if isinstance(item, LegAudio):
            self.leg.audio_taken()
            self._record_audio(item.pcm16)
        elif isinstance(item, LegDigit):
            if self._queue is None or not self._queue.on_key(item.key):
                await self._feed(events.Digit(item.key))
        elif isinstance(item, LegPlayed):
            if isinstance(item.token, _PlayEnd):
                await self._feed(events.PlayDone())
            elif isinstance(item.token, _BeepEnd):
                self._start_writing()
        elif isinstance(item, _Outcome):
            if isinstance(item.event, events.RecordingDone):
                self._stopped_ref = None  # the engine knows it now
            await self._feed(item.event)
        elif isinstance(item, LegTransfer):
            if self._queue is not None and self._queue.transferring:
                self._queue.on_transfer(item.stage, item.code)
            else:
                await self._on_transfer_progress(item)
        elif isinstance(item, LegEnded):
            self._ended = True
            self._leave_queue("hangup")
            done = self._finish_recording("hangup") or self.verdicts.hung_up()
            if done is not None:
                await self._feed(done)
            await self._feed(events.Hangup())

    async def _feed(self, event: events.Event) -> None:
        if self.engine.finished:
            return
        todo = self.engine.handle(event, self.clock())
        log.debug("call %s: %s -> %s", self.leg.call_id, event, todo)
        await self._carry_out(todo)
        if self._queue is not None and self.engine.position != self._queue_at:
            # The engine stopped waiting (its timeout, an emergency): so does the queue.
            self._leave_queue("timeout" if isinstance(event, events.TimerFired) else "flow")

    async def _carry_out(self, todo: list[actions.Action]) -> None:
        for action in todo:
            if isinstance(action, actions.Play):
                self._play(action.prompts, action.language)
            elif isinstance(action, actions.StopPlayback):
                self.leg.stop_playback()
            elif isinstance(action, actions.Record):
                self._begin_recording(action)
            elif isinstance(action, actions.StopRecording):
                done = self._finish_recording(action.reason)
                if done is not None:
                    self._stopped_ref = done.recording
                    self.verdicts.recording_done(done)
            elif isinstance(action, actions.CreateOrder):
                if action.recording is None and self._stopped_ref is not None:
                    # An emergency stopped the intake and opens its order in the same step,
                    # before the engine hears RecordingDone: the recording is this order's.
                    action = dataclasses.replace(action, recording=self._stopped_ref)
                self._order_category = action.category
                self._spawn(self._create_order(action))
            elif isinstance(action, actions.InvalidCall):
                self._invalid_call(action)
            elif isinstance(action, actions.Hangup):
                if not self._ended:
                    self.leg.hangup()
            elif isinstance(action, actions.ListenForSpeech):
                # Grammar-mode keyword spotting arrives with issue #5; keys still work.
                self.leg.events.put_nowait(_Outcome(events.SpeechResult("", available=False)))
            elif isinstance(action, actions.StopListening):
                pass  # nothing is listening yet
            elif isinstance(action, actions.Transfer):
                self._start_transfer(action)
            elif isinstance(action, actions.Enqueue):
                self._start_queue(action.group, action.priority, action.skills, None)
            elif isinstance(action, actions.EmergencyQuestion):
                log_question(self.leg.call_id, action.line, action.outcome)

    # -- transfer to a dedicated line --
    def _start_transfer(self, action: actions.Transfer) -> None:
        self.transcripts.emergency = True  # a dedicated line: its recording goes first
        targets = self.engine.flow.targets
        line = targets.lines.get(action.line)
        if line is None:
            self.leg.events.put_nowait(
                _Outcome(events.TransferResult(ok=False, detail=f"unknown line {action.line}"))
            )
            return
        now = self.clock()
        self._transfer = LineTransfer(
            action.line,
            candidates(line, targets.groups, self.edge),
            give_up_at=now + timedelta(seconds=action.timeout),
            fallback_group=line.fallback_group,
            hold_fallback=line.fallback_group is not None,
        )
        self._refer_next(now)

    def _refer_next(self, now: datetime) -> None:
        transfer = self._transfer
        if transfer is None:
            return
        target = transfer.next_target(now)
        if target is None and transfer.hold_fallback and transfer.fallback_group is not None:
            transfer.hold_fallback = False  # the ACD first; its members directly if it cannot
            self._start_queue(transfer.fallback_group, "emergency", (), transfer)
            return
        if target is None:
            self._transfer = None
            tried = ", ".join(f"{a.target}={a.outcome}" for a in transfer.attempts)
            self.leg.events.put_nowait(
                _Outcome(events.TransferResult(ok=False, detail=f"no target answered: {tried}"))
            )
            return
        log.info("call %s: transfer to %s (%s)", self.leg.call_id, target.uri, transfer.line)
        self.leg.transfer(target.uri, self._context(target.ring_seconds))

    def _context(self, ring_seconds: float, **more: str) -> dict[str, str]:
        """Headers the edge puts on the INVITE to the line or agent (and its ring time)."""
        variables = self.engine.variables
        context = {
            "X-Hotline-Order": variables.get("order_number", ""),
            "X-Hotline-Category": self._order_category or variables.get("category", ""),
            "X-Hotline-Ring-Timeout": str(round(ring_seconds)),
            **more,
        }
        return {k: v for k, v in context.items() if v}

    async def _on_transfer_progress(self, progress: LegTransfer) -> None:
        transfer = self._transfer
        if transfer is None or progress.stage not in ("answered", "failed"):
            return
        now = self.clock()
        outcome = "answered" if progress.stage == "answered" else "refused"
        self._record_attempt(transfer, transfer.finish_attempt(now, outcome, progress.code))
        if progress.stage == "answered":
            self._transfer = None
            await self._feed(events.TransferResult(ok=True, detail=transfer.line))
        else:
            self._refer_next(now)

    async def _on_deadline(self) -> None:
        now = self.clock()
        transfer = self._transfer
        deadline = transfer.attempt_deadline if transfer is not None else None
        if transfer is not None and deadline is not None and now >= deadline:
            self._record_attempt(transfer, transfer.finish_attempt(now, "no_answer", None))
            self._refer_next(now)
            return
        await self._feed(events.TimerFired())
        if transfer is not None and now >= transfer.give_up_at:
            self._transfer = None  # the engine gave up waiting and went on

    def _record_attempt(self, transfer: LineTransfer, attempt: Attempt | None) -> None:
        number = self.engine.variables.get("order_number")
        if number and attempt is not None:
            self._spawn(self._store_attempt(number, transfer.line, attempt.as_dict()))

    # -- queue for an agent group (ivr/queueing.py); the driver calls the queue_* methods --
    def _start_queue(
        self, group: str, priority: str, skills: tuple[str, ...], line: LineTransfer | None
    ) -> None:
        number = self.engine.variables.get("order_number") or None
        request = QueueRequest(self.leg.call_id, self.leg.caller, group, priority, skills,
                               number, tuple(self.engine.call.menu_path))  # fmt: skip
        self._queue_at, self._queue_line = self.engine.position, line
        self._queue = QueueDriver(request, self.orders, self, self.clock, self._spawn)
        self._queue.start()
        log.info("call %s: queued for %s (%s)", self.leg.call_id, group, priority)

    def _leave_queue(self, reason: str) -> None:
        queue, self._queue, self._queue_line = self._queue, None, None
        if queue is not None:
            queue.cancel(reason)

    def queue_announce(self, prompts: tuple[str, ...]) -> None:
        language = self.engine.variables.get("language", "")
        for key in prompts:
            self.leg.play(self.prompts.pcm16(key, language), None)

    def queue_silence(self) -> None:
        self.leg.stop_playback()

    def queue_refer(self, offer: AgentOffer) -> None:
        target = resolve(f"sip:{offer.extension}", self.edge)
        log.info("call %s: transfer to agent %s at %s", self.leg.call_id, offer.agent, target)
        self.leg.transfer(
            target, self._context(offer.ring_seconds, **{"X-Hotline-Call": self.leg.call_id})
        )

    def queue_offer_ended(self, ended: OfferEnded) -> None:
        if self._queue_line is not None:  # a line's agent fallback: kept on the order
            target = resolve(f"sip:{ended.offer.extension}", self.edge)
            attempt = Attempt(target, ended.started, ended.ended, ended.outcome, ended.code, True)
            self._record_attempt(self._queue_line, attempt)

    def queue_finished(self, ok: bool, detail: str) -> None:
        line, self._queue, self._queue_line = self._queue_line, None, None
        if line is None:
            self.leg.events.put_nowait(_Outcome(events.QueueResult(ok, detail)))
        elif not ok and detail in NO_QUEUE and self._transfer is line:
            self._refer_next(self.clock())  # no ACD for the group: ring its members directly
        else:
            self._transfer = None
            result = events.TransferResult(ok, line.line if ok else f"agents: {detail}")
            self.leg.events.put_nowait(_Outcome(result))

    async def _store_attempt(self, number: str, line: str, detail: dict[str, object]) -> None:
        try:
            await self.orders.record_transfer(number, line, detail)
        except OrdersUnavailable as exc:
            log.error("order %s: transfer attempt not recorded: %s", number, exc)

    # -- audio out --
    def _play(self, keys: tuple[str, ...], language: str = "") -> None:
        self._plays += 1
        for index, key in enumerate(keys):
            last = index == len(keys) - 1
            self.leg.play(
                self.prompts.pcm16(key, language), _PlayEnd(self._plays) if last else None
            )
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
            self._journal_intake(self._recording.ref)
            if self.speech is not None and self._stream is None:
                # None when every recogniser is busy: the recording is transcribed after the call.
                try:
                    self._stream = self.speech.open(self.leg.call_id)
                except Exception:
                    log.exception("call %s: no live recognition", self.leg.call_id)
                if self._stream is not None:
                    self._stream_ref = self._recording.ref
                    self.transcripts.streaming(self._stream_ref)
                    self.verdicts.watch.recording()

    def _record_audio(self, pcm16: bytes) -> None:
        recording = self._recording
        if recording is None or recording.writer is None:
            return
        recording.writer.write(pcm16)
        if self._stream is not None:
            now = asyncio.get_running_loop().time()
            self._speech_results(self._stream.feed(pcm16, now), self._stream_ref)
        silent = self.is_silence(pcm16)
        recording.silent_frames = recording.silent_frames + 1 if silent else 0
        recording.speech_frames += not silent
        if recording.silent_frames * FRAME_SECONDS >= recording.spec.silence_seconds:
            done = self._finish_recording("silence")
            if done is not None:
                self._stopped_ref = done.recording  # the engine hears of it after its verdict
                self.verdicts.recording_done(done)

    def _finish_recording(self, reason: str) -> events.RecordingDone | None:
        recording, self._recording = self._recording, None
        if recording is None:
            return None
        self.leg.listen(False)
        if self._stream is not None:
            stream, self._stream = self._stream, None
            self._spawn(self._close_stream(stream, self._stream_ref))
        if recording.writer is None:  # stopped during the beep: an empty recording
            recording.writer = self.open_writer(recording.path)
        seconds = recording.writer.close()
        speech = recording.speech_frames * FRAME_SECONDS
        return events.RecordingDone(recording.ref, seconds, reason, speech)

    # -- streaming speech: live partials, emergency keywords --
    def _speech_results(self, results: list[AsrResult], ref: str) -> None:
        for result in results:
            if isinstance(result, Final):
                self.transcripts.final(ref, result.text)
                self.verdicts.final(result.text)
            elif isinstance(result, KeywordHit):
                log.warning("call %s: emergency keyword %r", self.leg.call_id, result.phrase)
                self.raise_emergency(result.line, "keyword")
            elif isinstance(result, Partial) and result.text and self.publish_partial is not None:
                self._spawn(self.publish_partial(self.leg.call_id, result.text))

    async def _close_stream(self, stream: SpeechStream, ref: str) -> None:
        try:
            self._speech_results(await stream.aclose(asyncio.get_running_loop().time()), ref)
        finally:
            self.transcripts.stream_closed(ref)

    # -- work orders --
    async def _announce(self) -> None:
        try:
            await self.orders.call_answered(self.leg.call_id, self.leg.caller, self.leg.callee)
        except OrdersUnavailable as exc:
            log.warning("call %s: screen-pop on answer not sent: %s", self.leg.call_id, exc)

    async def _create_order(self, order: actions.CreateOrder) -> None:
        self._orders_in_flight += 1
        try:
            number = await self.orders.create_order(order, self.answered_at)
        except OrdersUnavailable as exc:  # spooled, or refused and set aside: not lost
            self.leg.events.put_nowait(_Outcome(events.OrderFailed(str(exc))))
            return
        finally:  # made, spooled or set aside: the intake no longer needs its journal
            self._orders_in_flight -= 1
            if self.journal is not None:
                self.journal.end(self.leg.call_id)
        log.info("call %s: order %s created", self.leg.call_id, number)
        self.leg.events.put_nowait(_Outcome(events.OrderCreated(number)))
        if order.recording:
            # Runs on after the caller hung up (ivr/transcripts.py): live text or after-call.
            self._spawn(self.transcripts.deliver(number, order))

    def _journal_intake(self, recording: str) -> None:
        """The order this intake would become if the worker died now (``ivr/journal.py``)."""
        if self.journal is not None:
            leg, engine = self.leg, self.engine
            path = tuple(engine.call.menu_path)
            cut = cut_order(leg.call_id, leg.caller, engine.variables, path, recording,
                            engine.flow.version)  # fmt: skip
            self.journal.begin(cut, self.answered_at)

    def _invalid_call(self, invalid: actions.InvalidCall) -> None:
        """A 无效来电: no order; the service counts it by reason and by number."""
        log.warning("call %s: 无效来电 (%s) after %.1f s: no work order",
                    self.leg.call_id, invalid.reason, invalid.seconds)  # fmt: skip
        self._spawn(self._report_invalid(invalid_report(invalid, self.answered_at)))

    async def _report_invalid(self, body: dict[str, Any]) -> None:
        try:
            await self.orders.report_invalid_call(self.leg.call_id, self.leg.caller, body)
        except OrdersUnavailable as exc:
            log.warning("call %s: invalid call not counted: %s", self.leg.call_id, exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
