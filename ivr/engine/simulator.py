"""Run a flow against a scripted caller with a fake clock: no SIP, no sound.

The simulator plays the session's side of the engine contract (one
``PlayDone`` per ``Play`` in order, ``StopPlayback`` drops the queue,
``Record``/``RecordingDone``, answers to ``CreateOrder``, ``TimerFired`` at the
deadline) and the caller's side from a script. It records a readable
transcript and the longest stretch in which the caller heard nothing, so tests
can check the no-silence rule. Seed of ``hotline simulate`` (issue #3).

Script steps are consumed in order: ``Press``/``Silence``/``HangUp`` when the
engine next waits for a key (or, with ``during_prompt``, when the next prompt
starts), ``Speak`` when the next recording starts, ``Say`` when the engine
next listens for speech (or, met at a recording, is said into it). ``parse_script``
reads the ``hotline simulate --input`` form (``"2, speech:我要投诉收费, #"``).

With a ``classify`` callable (the worker's intake classifier, ``ivr.transcripts``), what the
caller says into a recording is classified as a call's intake is: a sure emergency is raised
when the caller stops talking, an unsure one marks the ``RecordingDone`` so that the engine
asks its confirming question (``Simulation.question`` tells how that went).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ivr.engine import actions, events
from ivr.engine.calendar import Calendar
from ivr.engine.confirm import classifier_lines
from ivr.engine.engine import FlowEngine
from ivr.engine.flow import Flow
from ivr.engine.script import (
    CallerStep,
    HangUp,
    Press,
    Say,
    ScriptError,
    Silence,
    Speak,
    format_step,
    parse_script,
    spoken,
)
from ivr.engine.simulation import (
    Line,
    OrderService,
    Simulation,
    SimulationError,
    default_prompt_seconds,
    longest_gap,
)

__all__ = [
    "CallerStep",
    "HangUp",
    "OrderService",
    "Press",
    "Say",
    "ScriptError",
    "Silence",
    "Simulation",
    "SimulationError",
    "Speak",
    "format_step",
    "longest_gap",
    "parse_script",
    "simulate",
]

BEEP_SECONDS = 0.25
KEY_GAP_SECONDS = 0.3
CHINA = timezone(timedelta(hours=8))

#: ``ivr.transcripts.Classifier``: ``(intake text, main-menu key) -> {emergency_line,
#: confirm_line, …}`` (that module runs it off the event loop, so it is not imported here).
IntakeClassifier = Callable[[str, str | None], Mapping[str, Any] | None]


def simulate(
    flow: Flow,
    script: Iterable[CallerStep] = (),
    *,
    orders: OrderService | None = None,
    prompt_seconds: Callable[[str, str], float] = default_prompt_seconds,
    start: datetime | None = None,
    call_id: str = "sim-call-1",
    caller: str = "13800138000",
    callee: str = "12320",
    limit_seconds: float = 900.0,
    calendar: Calendar | None = None,
    connects: bool = False,
    show_texts: bool = False,
    classify: IntakeClassifier | None = None,
) -> Simulation:
    """Run one call. ``prompt_seconds(key, language)``: how long a prompt plays;
    ``connects``: transfers and queues succeed (default: they fail, as in the session until
    issues #5/#6); ``show_texts``: prompt texts in the lines; ``classify``: the intake
    classifier what the caller says into recordings is given to."""
    run = _Run(
        flow,
        list(script),
        orders or OrderService(),
        prompt_seconds,
        start or datetime(2026, 5, 1, 9, 0, tzinfo=CHINA),
        (call_id, caller, callee),
        limit_seconds,
        calendar,
    )
    run.connects = connects
    run.show_texts = show_texts
    run.classify = classify
    return run.go()


@dataclass(order=True)
class _Due:
    at: datetime
    seq: int
    event: events.Event | None = field(compare=False)  # None: the caller hangs up
    play_id: int | None = field(default=None, compare=False)


@dataclass
class _Playing:
    play_id: int
    prompts: tuple[str, ...]
    start: datetime
    end: datetime
    due: _Due


class _Run:
    def __init__(
        self,
        flow: Flow,
        script: list[CallerStep],
        orders: OrderService,
        prompt_seconds: Callable[[str, str], float],
        start: datetime,
        ids: tuple[str, str, str],
        limit_seconds: float,
        calendar: Calendar | None = None,
    ) -> None:
        self.flow = flow
        self.script = script
        self.orders = orders
        self.prompt_seconds = prompt_seconds
        self.t0 = self.now = start
        self.ids = ids
        self.limit = start + timedelta(seconds=limit_seconds)
        self.engine = FlowEngine(
            flow, call_id=ids[0], caller=ids[1], callee=ids[2], calendar=calendar
        )
        self.queue: list[_Due] = []
        self.cancelled: set[int] = set()
        self.seq = 0
        self.playing: list[_Playing] = []
        self.audible: list[tuple[datetime, datetime]] = []
        self.recording_since: datetime | None = None
        self.recording_silence: _Due | None = None
        self.talking_until: datetime | None = None
        self.talk_on = False
        self.talk_seconds = 0.0  # what the caller says into the current recording
        self.listen_served = False
        self.lines: list[Line] = []
        self.actions: list[tuple[float, actions.Action]] = []
        self.ended_by: Literal["engine", "caller"] | None = None
        self.connects = False
        self.show_texts = False
        self.speech_due: _Due | None = None
        self.told_deadline: datetime | None = None
        self.classify: IntakeClassifier | None = None
        self.suspected: str | None = None  # the classifier's unsure line for this recording

    # -- main loop -------------------------------------------------------------------------
    def go(self) -> Simulation:
        call_id, caller, callee = self.ids
        self._engine(events.CallStarted(call_id, caller, callee))
        while self.ended_by is None:
            deadline = self.engine.next_deadline()
            head = self._next_due()
            if head is None and deadline is None:
                raise SimulationError(f"stuck at {self._offset():.2f}s: nothing can happen")
            if head is not None and (deadline is None or head.at <= deadline):
                heapq.heappop(self.queue)
                self.now = max(self.now, head.at)
                self._check_limit()
                self._deliver(head)
            else:
                assert deadline is not None
                self.now = max(self.now, deadline)
                self._check_limit()
                self._say("session", "timer")
                self._engine(events.TimerFired())
        return Simulation(
            lines=tuple(self.lines),
            timeline=tuple(self.actions),
            max_silence=self._max_silence(),
            ended_by=self.ended_by,
            seconds=self._offset(),
            unused=tuple(self.script),
            engine=self.engine,
        )

    def _next_due(self) -> _Due | None:
        while self.queue and self.queue[0].seq in self.cancelled:
            heapq.heappop(self.queue)
        return self.queue[0] if self.queue else None

    def _check_limit(self) -> None:
        if self.now > self.limit:
            raise SimulationError(f"the call is still going after {self._offset():.0f}s")

    def _deliver(self, due: _Due) -> None:
        if due.event is None:
            self._say("caller", "hangs up")
            self._close_audio()
            self.ended_by = "caller"
            for action in self.engine.handle(events.Hangup(), self.now):
                self.actions.append((self._offset(), action))
                self._act(action)
            return
        if due.play_id is not None:
            played = self.playing.pop(0)
            self.audible.append((played.start, played.end))
        if isinstance(due.event, events.Digit):
            self._say("caller", f"presses {due.event.key}")
        elif isinstance(due.event, events.RecordingDone):
            self._stop_recording_clock()
            line = due.event.suspected_line
            unsure = f" (the classifier suspects an emergency for {line})" if line else ""
            self._say("session", f"recording done: {due.event.reason}, {due.event.seconds:.1f}s"
                      + unsure)  # fmt: skip
        elif isinstance(due.event, events.EmergencyRaised):
            self._say("session", f"emergency {due.event.line} raised by the {due.event.source}")
        elif isinstance(due.event, events.OrderCreated):
            self._say("session", f"order created: {due.event.number}")
        elif isinstance(due.event, events.OrderFailed):
            self._say("session", f"order failed: {due.event.reason}")
        elif isinstance(due.event, events.SpeechResult):
            self.speech_due = None
            self._say("caller", f"says 「{due.event.text}」")
        elif isinstance(due.event, events.TransferResult | events.QueueResult):
            result = "connected" if due.event.ok else f"failed ({due.event.detail})"
            self._say("session", result)
        self._engine(due.event)

    def _engine(self, event: events.Event) -> None:
        for action in self.engine.handle(event, self.now):
            self.actions.append((self._offset(), action))
            self.listen_served = False
            self._act(action)
        if self.engine.finished and self.ended_by is None:
            self.ended_by = "engine"
            return
        if self._listening() and not self.listen_served:
            self.listen_served = True
            self._caller_turn()
        deadline = self.engine.next_deadline()
        if deadline is not None and deadline != self.told_deadline and not self.playing:
            self._say("engine", f"waits until {(deadline - self.t0).total_seconds():.2f}s")
        self.told_deadline = deadline

    # -- the session's side ----------------------------------------------------------------
    def _act(self, action: actions.Action) -> None:
        if isinstance(action, actions.Play):
            self._play(action)
        elif isinstance(action, actions.StopPlayback):
            self._say("engine", "stop playback")
            self._stop_playback()
        elif isinstance(action, actions.Record):
            self._record(action)
        elif isinstance(action, actions.StopRecording):
            self._say("engine", f"stop recording ({action.reason})")
            self._finish_recording(action.reason)
        elif isinstance(action, actions.CreateOrder):
            self._create_order(action)
        elif isinstance(action, actions.InvalidCall):
            self._say("engine", f"无效来电 ({action.reason}): no work order")
        elif isinstance(action, actions.Hangup):
            self._say("engine", "hang up")
            self._close_audio()
        elif isinstance(action, actions.ListenForSpeech):
            self._listen_for_speech(action)
        elif isinstance(action, actions.StopListening):
            self._say("engine", "stop listening")
            if self.speech_due is not None:
                self.cancelled.add(self.speech_due.seq)
                self.speech_due = None
        elif isinstance(action, actions.Transfer | actions.Enqueue):
            self._connect(action)
        elif isinstance(action, actions.EmergencyQuestion):
            self._say("engine", f"emergency question for {action.line}: {action.outcome}")
        else:  # pragma: no cover - every action is handled above
            raise SimulationError(f"the simulator cannot carry out {action!r} yet")

    def _listen_for_speech(self, listen: actions.ListenForSpeech) -> None:
        self._say("engine", f"listen for speech ({' / '.join(listen.phrases)})")
        step = self.script[0] if self.script else None
        if isinstance(step, Say):
            self.script.pop(0)
            at = self.now + timedelta(seconds=step.after)
            self.speech_due = self._push(at, events.SpeechResult(step.text))

    def _connect(self, action: actions.Transfer | actions.Enqueue) -> None:
        at = self.now + timedelta(seconds=1)
        if isinstance(action, actions.Transfer):
            self._say("engine", f"transfer to line {action.line}")
            self._push(at, events.TransferResult(self.connects, "simulated"))
        else:
            self._say("engine", f"queue for group {action.group}")
            self._push(at, events.QueueResult(self.connects, "simulated"))

    def _play(self, play: actions.Play) -> None:
        start = max([self.now, *(p.end for p in self.playing)])
        seconds = sum(self.prompt_seconds(key, play.language) for key in play.prompts)
        end = start + timedelta(seconds=seconds)
        self.seq += 1
        due = _Due(end, self.seq, events.PlayDone(), play_id=self.seq)
        heapq.heappush(self.queue, due)
        self.playing.append(_Playing(self.seq, play.prompts, start, end, due))
        barge = " (barge-in)" if play.barge_in else ""
        language = f" [{play.language}]" if play.language else ""
        self._say("engine", f"play {', '.join(play.prompts)}{language}{barge}")
        if self.show_texts:
            text = "".join(self.flow.prompt_text(key, play.language) for key in play.prompts)
            self._say("engine", f"  「{text}」")
        step = self.script[0] if self.script else None
        if isinstance(step, Press | HangUp) and step.during_prompt:
            self.script.pop(0)
            self._schedule_caller(step, start)

    def _stop_playback(self) -> None:
        for played in self.playing:
            self.cancelled.add(played.due.seq)
            if played.start < self.now:
                self.audible.append((played.start, min(played.end, self.now)))
            self.seq += 1
            heapq.heappush(self.queue, _Due(self.now, self.seq, events.PlayDone()))
        self.playing.clear()

    def _record(self, record: actions.Record) -> None:
        self._say(
            "engine", f"record (max {record.max_seconds:g}s, silence {record.silence_seconds:g}s)"
        )
        begin = self.now
        if record.beep:
            self.audible.append((begin, begin + timedelta(seconds=BEEP_SECONDS)))
            begin += timedelta(seconds=BEEP_SECONDS)
        self.recording_since = begin
        step = self._speech_into_recording()
        talk = 0.0
        if isinstance(step, Speak):
            self.script.pop(0)
            talk = step.seconds
            self._say("caller", f"speaks for {talk:g}s then {step.then}")
            self.talk_on = step.then == "talk_on"
        talk_end = begin + timedelta(seconds=talk)
        self.talking_until = talk_end
        self.talk_seconds = talk
        self.suspected = None
        if isinstance(step, Speak) and step.text:
            self._classify(step.text, talk_end)
        if isinstance(step, Speak) and step.then == "key":
            self._push(talk_end, events.Digit("#"))
        elif not self.talk_on:
            silence = talk_end + timedelta(seconds=record.silence_seconds)
            seconds = (silence - begin).total_seconds()
            done = events.RecordingDone(
                self._recording_name(), seconds, "silence", talk, self.suspected
            )
            self.recording_silence = self._push(silence, done)

    def _speech_into_recording(self) -> CallerStep | None:
        """The next step, a ``speech:TEXT`` turned into talking into the recording (ended by
        a ``#`` right after it, else by silence)."""
        step = self.script[0] if self.script else None
        if isinstance(step, Say):
            following = self.script[1] if len(self.script) > 1 else None
            by_key = isinstance(following, Press) and following.keys == "#"
            if by_key:
                self.script.pop(1)
            self.script[0] = step = spoken(step, "key" if by_key else "silence")
        return step

    def _classify(self, text: str, talk_end: datetime) -> None:
        """The intake as the session's live classification sees it: a sure line is raised as
        the caller stops talking; an unsure one goes on the ``RecordingDone``."""
        if self.classify is None:
            return
        menu = self.engine.call.menu_path[0] if self.engine.call.menu_path else None
        sure, unsure = classifier_lines(self.classify(text, menu))
        if sure is not None:
            self._push(talk_end, events.EmergencyRaised(sure, "classifier"))
        else:
            self.suspected = unsure

    def _finish_recording(self, reason: str) -> None:
        if self.recording_since is None:
            return
        if self.recording_silence is not None:
            self.cancelled.add(self.recording_silence.seq)
        seconds = max(0.0, (self.now - self.recording_since).total_seconds())
        speech = seconds if self.talk_on else min(self.talk_seconds, seconds)
        suspected = None if reason == "emergency" else self.suspected
        name = self._recording_name()
        self._push(self.now, events.RecordingDone(name, seconds, reason, speech, suspected))

    def _stop_recording_clock(self) -> None:
        if self.recording_since is not None and self.talking_until is not None:
            end = self.now if self.talk_on else min(self.talking_until, self.now)
            self.audible.append((self.recording_since, end))
        self.recording_since = self.talking_until = self.recording_silence = None
        self.talk_on = False

    def _create_order(self, order: actions.CreateOrder) -> None:
        flags = f" [{', '.join(order.flags)}]" if order.flags else ""
        path = "".join(order.menu_path) or "-"
        self._say("engine", f"create order: {order.category}{flags}, menu path {path}")
        if self.orders.after is None:
            return
        at = self.now + timedelta(seconds=self.orders.after)
        if self.orders.number is None:
            self._push(at, events.OrderFailed(self.orders.reason))
        else:
            self._push(at, events.OrderCreated(self.orders.number))

    # -- the caller's side -----------------------------------------------------------------
    def _listening(self) -> bool:
        """The engine waits for a key: a menu whose prompt has ended, or its question."""
        name, index = self.engine.position
        if self.engine.finished or self.playing or self.engine.next_deadline() is None:
            return False
        if self.engine.asking is not None:
            return True  # the confirming question
        verb = self.flow.flows[name][index]
        return verb.verb in ("menu", "gather")

    def _caller_turn(self) -> None:
        step = self.script[0] if self.script else None
        if isinstance(step, Silence):
            self.script.pop(0)
            self._say("caller", "says nothing")
        elif isinstance(step, Press | HangUp) and not step.during_prompt:
            self.script.pop(0)
            self._schedule_caller(step, self.now)

    def _schedule_caller(self, step: Press | HangUp, base: datetime) -> None:
        at = base + timedelta(seconds=step.after)
        if isinstance(step, HangUp):
            self._push(at, None)
            return
        for index, key in enumerate(step.keys):
            self._push(at + timedelta(seconds=index * KEY_GAP_SECONDS), events.Digit(key))

    # -- bookkeeping -----------------------------------------------------------------------
    def _push(self, at: datetime, event: events.Event | None) -> _Due:
        self.seq += 1
        due = _Due(at, self.seq, event)
        heapq.heappush(self.queue, due)
        return due

    def _close_audio(self) -> None:
        for played in self.playing:
            if played.start < self.now:
                self.audible.append((played.start, min(played.end, self.now)))
        self.playing.clear()
        if self.recording_since is not None:
            self._stop_recording_clock()

    def _recording_name(self) -> str:
        return f"recordings/{self.ids[0]}.wav"

    def _offset(self) -> float:
        return (self.now - self.t0).total_seconds()

    def _say(self, who: Literal["engine", "caller", "session"], text: str) -> None:
        self.lines.append(Line(self._offset(), who, text))

    def _max_silence(self) -> float:
        return longest_gap(self.audible, self.t0, self.now)
