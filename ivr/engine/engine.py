"""The flow engine: one instance per call, events and the time in, actions out.

No I/O, no clock, no threads: ``ivr.session`` feeds it events with the current
time, carries out the actions it returns and sends ``TimerFired`` once
``next_deadline()`` has passed. The engine walks the flow verb by verb; each
verb's runner (``ivr.engine.verbs``) decides what its events mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from ivr.engine import actions, events
from ivr.engine.calendar import Calendar, WeekdayCalendar
from ivr.engine.confirm import HANGUP, INTERRUPTED, ConfirmRunner, emergency_step, question_for
from ivr.engine.errors import EngineUsageError
from ivr.engine.flow import Flow
from ivr.engine.state import READ_ONLY_VARIABLES, CallState, End, Jump, Next, Runner, Step, Wait

#: Verbs run in one ``handle`` call without waiting; more means a ``goto`` loop.
MAX_STEPS_WITHOUT_WAITING = 1000


class FlowEngine:
    """One call on one ``Flow`` version (the flow object never changes under a call).

    ``calendar`` answers the ``hours`` verb and the clock variables (pass the
    worker's ``routing.calendar.WorkCalendar``; default: Mon–Fri open all day).
    """

    def __init__(
        self,
        flow: Flow,
        *,
        call_id: str,
        caller: str,
        callee: str,
        calendar: Calendar | None = None,
        repeat_caller: bool = False,
    ) -> None:
        self.flow = flow
        self.call = CallState(
            call_id=call_id,
            caller=caller,
            callee=callee,
            flow_version=flow.version,
            default_language=flow.language,
            language=flow.language,
            calendar=calendar if calendar is not None else WeekdayCalendar(),
            repeat_caller=repeat_caller,
            min_call_seconds=flow.invalid_calls.min_call_seconds,
            min_speech_seconds=flow.invalid_calls.min_speech_seconds,
            on_invalid=flow.invalid_calls.on_invalid,
        )
        self._flow_name = flow.start
        self._index = -1
        self._runner: Runner | None = None
        self._deadline: datetime | None = None
        self._started = False
        self._finished = False

    @property
    def finished(self) -> bool:
        """True after the engine returned ``Hangup`` or was told the caller hung up."""
        return self._finished

    @property
    def variables(self) -> Mapping[str, str]:
        """The call's variables so far (``category``, ``order_number``, ``menu_path`` …)."""
        values = {name: self.call.value(name) for name in sorted(READ_ONLY_VARIABLES)}
        values.update(self.call.variables)
        values["menu_path"] = self.call.value("menu_path")
        return MappingProxyType(values)

    @property
    def position(self) -> tuple[str, int]:
        """The flow name and verb index the call is at (for logs and the simulator)."""
        return self._flow_name, self._index

    @property
    def asking(self) -> str | None:
        """The line the confirming question (``emergency_confirm``) is asking about, if any."""
        return self._runner.line if isinstance(self._runner, ConfirmRunner) else None

    def next_deadline(self) -> datetime | None:
        """When the session must send ``TimerFired`` (``None``: no timer needed)."""
        return None if self._finished else self._deadline

    def handle(self, event: events.Event, now: datetime) -> list[actions.Action]:
        if now.tzinfo is None or now.utcoffset() is None:
            raise EngineUsageError("the engine needs a timezone-aware 'now'")
        if self._finished:
            return []
        self.call.now = now
        if isinstance(event, events.Hangup):
            todo = self._hung_up_on_question(now) if isinstance(self._runner, ConfirmRunner) else []
            self._finished = True
            return todo
        if isinstance(event, events.CallStarted):
            if self._started:
                return []
            self._started = True
            self.call.quiet_since = now
            self.call.started_at = now
            return self._advance(Step(outcome=Jump(self.flow.start)), now)
        if not self._started or self._runner is None:
            return []
        if isinstance(event, events.EmergencyRaised):
            return self._emergency(event, now)
        if isinstance(event, events.PlayDone):
            self.call.play_done(now)
        elif isinstance(event, events.RecordingDone) and event.recording:
            self.call.recording = event.recording
            self.call.heard(event.speech_seconds)
        elif isinstance(event, events.Digit):
            self.call.keys_pressed += 1
        elif isinstance(event, events.TimerFired) and (
            self._deadline is None or now < self._deadline
        ):
            return []  # early or stale timer
        step = self._runner.on_event(self.call, event, now)
        if isinstance(event, events.RecordingDone):
            step = self._ask_first(step, event.suspected_line, now)
        return self._advance(step, now)

    def _emergency(self, event: events.EmergencyRaised, now: datetime) -> list[actions.Action]:
        """Leave the current verb for the line's emergency flow (once per call)."""
        target = self.flow.emergency.get(event.line)
        step = None if target is None else emergency_step(self.call, target, event.line,
                                                          event.source)  # fmt: skip
        if step is None:
            return []  # no flow for that line, or an emergency is already being handled
        if isinstance(self._runner, ConfirmRunner):
            step = Step((self._runner.ended(INTERRUPTED), *step.actions), step.outcome)
        return self._advance(step, now)

    def _hung_up_on_question(self, now: datetime) -> list[actions.Action]:
        """The caller hung up on the question: the flow still goes on as it would have, up to
        its next wait, so that the intake becomes its order, as after a hang-up during the
        recording (the session delivers ``RecordingDone`` first). Only the bookkeeping of
        those steps is kept: nothing can be played or connected any more."""
        assert isinstance(self._runner, ConfirmRunner)
        step = Step((self._runner.ended(HANGUP),), self._runner.then)
        kept = (actions.EmergencyQuestion, actions.CreateOrder, actions.InvalidCall)
        return [action for action in self._advance(step, now) if isinstance(action, kept)]

    def _ask_first(self, step: Step, suspected_line: str | None, now: datetime) -> Step:
        """Ask the confirming question (``ivr.engine.confirm``) before the flow goes on as
        ``step`` says, when the finished recording is a suspected emergency."""
        if isinstance(step.outcome, Wait | End):
            return step
        question = question_for(self.flow.emergency_confirm, self.flow.emergency, self.call,
                                suspected_line, step.outcome)  # fmt: skip
        if question is None:
            return step
        self._runner = question
        asked = question.start(self.call, now)
        return Step((*step.actions, *asked.actions), asked.outcome)

    def _advance(self, step: Step, now: datetime) -> list[actions.Action]:
        emitted: list[actions.Action] = []
        for _ in range(MAX_STEPS_WITHOUT_WAITING):
            emitted.extend(step.actions)
            outcome = step.outcome
            if isinstance(outcome, Wait):
                self._deadline = outcome.deadline
                return emitted
            if isinstance(outcome, End):
                return self._finish(emitted)
            if isinstance(outcome, Jump):
                self._flow_name, self._index = outcome.flow, 0
            else:
                assert isinstance(outcome, Next)
                self._index += 1
            verbs = self.flow.flows[self._flow_name]
            if self._index >= len(verbs):  # a flow that ends without ``hangup``
                emitted.append(actions.Hangup())
                return self._finish(emitted)
            self._runner = verbs[self._index].runner()
            step = self._runner.start(self.call, now)
        emitted.append(actions.Hangup())  # a goto loop that never waits: end the call
        return self._finish(emitted)

    def _finish(self, emitted: list[actions.Action]) -> list[actions.Action]:
        self._finished = True
        self._runner = None
        self._deadline = None
        return emitted
