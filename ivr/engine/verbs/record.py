"""``record``: record the caller's intake until the finish key, silence or the time limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from pydantic import Field

from ivr.engine import actions, events
from ivr.engine.state import CallState, Jump, Runner, Step, Wait
from ivr.engine.verbs.base import DtmfKey, Flag, FlowName, Reference, Seconds, VerbModel

#: How long to wait for ``RecordingDone`` after ``StopRecording`` before going on without it.
STOP_GRACE_SECONDS = 5.0


class RecordVerb(VerbModel):
    """``record: {max_seconds: 60, silence_seconds: 4, finish_on_key: "#", beep: true}``.

    The session ends the recording after ``silence_seconds`` of silence; the
    engine stops it on ``finish_on_key`` and at ``max_seconds``. The silence
    limit is at most 5 s so that, with the 4 s hold prompt of ``create_order``,
    a caller who has stopped talking never waits 10 s in silence.
    """

    verb = "record"

    max_seconds: Seconds = Field(60.0, gt=0, le=600)
    silence_seconds: Seconds = Field(4.0, gt=0, le=5)
    finish_on_key: DtmfKey | None = "#"
    beep: Flag = True
    #: Where a caller who said nothing (less than ``invalid_calls.min_speech_seconds`` of
    #: speech) goes instead of on: e.g. a flow that asks once more, or offers an agent.
    #: Without it the next verb runs (a ``create_order`` then counts a 无效来电).
    on_no_speech: FlowName | None = None

    def references(self) -> Iterator[Reference]:
        if self.beep:
            yield Reference("prompt", actions.BEEP_PROMPT, ("beep",))
        if self.on_no_speech is not None:
            yield Reference("flow", self.on_no_speech, ("on_no_speech",))

    def runner(self) -> Runner:
        return RecordRunner(self)


class RecordRunner:
    def __init__(self, record: RecordVerb) -> None:
        self.record = record
        self.stopping = False
        self.stopped_at: datetime | None = None
        self.deadline: datetime | None = None

    def start(self, call: CallState, now: datetime) -> Step:
        call.typeahead.clear()  # a key typed earlier must not end the recording at once
        call.recording = None
        call.quiet_since = None  # the caller talks
        self.deadline = now + timedelta(seconds=self.record.max_seconds)
        record = actions.Record(
            max_seconds=self.record.max_seconds,
            silence_seconds=self.record.silence_seconds,
            beep=self.record.beep,
        )
        return Step((record,), Wait(self.deadline))

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        if isinstance(event, events.RecordingDone):
            quiet = self.record.silence_seconds if event.reason == "silence" else 0.0
            call.quiet_since = now - timedelta(seconds=quiet)
            speech = event.speech_seconds
            if (
                self.record.on_no_speech is not None
                and speech is not None
                and speech < call.min_speech_seconds
                and event.reason in ("silence", "key", "max_length")  # the caller is still there
            ):
                return Step(outcome=Jump(self.record.on_no_speech))
            return Step()
        if isinstance(event, events.TimerFired):
            if self.stopping:  # the session never answered: go on without the recording
                call.quiet_since = self.stopped_at
                return Step()
            return self._stop("max_length", now)
        if (
            isinstance(event, events.Digit)
            and event.key == self.record.finish_on_key
            and not self.stopping
        ):
            return self._stop("key", now)
        return Step(outcome=Wait(self.deadline))

    def _stop(self, reason: str, now: datetime) -> Step:
        self.stopping = True
        self.stopped_at = now
        self.deadline = now + timedelta(seconds=STOP_GRACE_SECONDS)
        return Step((actions.StopRecording(reason),), Wait(self.deadline))
