"""Per-call runtime state shared by the verbs, and the vocabulary of verb steps.

A verb's *runner* is created when the flow reaches the verb and lives until the
verb is done. ``start`` and ``on_event`` return a ``Step``: the actions to carry
out now, and what the engine does next (wait, continue, jump, or end the call).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ivr.engine import actions
from ivr.engine.calendar import Calendar, WeekdayCalendar
from ivr.engine.events import Event

#: The longest the engine lets a caller hear nothing while it waits (menu
#: timeouts, waiting for an order) — verb schemas bound their timers by it.
MAX_SILENCE_SECONDS = 10.0

#: Variables that change with the time of the question: ``time_of_day`` is
#: ``HH:MM`` local, ``date`` is ``YYYY-MM-DD`` local, ``day_kind`` one of
#: ``workday``/``weekend``/``holiday``/``makeup_workday`` (调休), ``open`` is
#: ``yes``/``no`` (within business hours).
CLOCK_VARIABLES = frozenset({"time_of_day", "date", "day_kind", "open"})
#: Variables the engine sets itself; flows may read them but not ``set`` them.
#: ``repeat_caller`` is ``yes``/``no``, given by the session when the engine starts
#: (a placeholder until the caller history exists: ``no``).
READ_ONLY_VARIABLES = (
    frozenset(
        {
            "caller",
            "callee",
            "call_id",
            "order_number",
            "menu_path",
            "language",
            "repeat_caller",
            "connect_failure",
        }
    )
    | CLOCK_VARIABLES
)
#: Variables a flow may ``set`` without declaring them (issue #3 may add more).
WRITABLE_VARIABLES = frozenset({"category", "digits", "choice"})
BUILTIN_VARIABLES = READ_ONLY_VARIABLES | WRITABLE_VARIABLES


@dataclass
class CallState:
    """What the engine knows about one call. Mutable; owned by one ``FlowEngine``."""

    call_id: str
    caller: str
    callee: str
    flow_version: str
    #: The flow's language; ``language`` (the ``language`` verb) may differ.
    default_language: str = "zh"
    language: str = "zh"
    calendar: Calendar = field(default_factory=WeekdayCalendar)
    #: The time of the event being handled (the engine sets it before each event).
    now: datetime | None = None
    repeat_caller: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    menu_path: list[str] = field(default_factory=list)
    recording: str | None = None
    plays_outstanding: int = 0
    typeahead: list[str] = field(default_factory=list)
    #: Since when the caller has heard nothing and not been recorded (None: audio is on).
    quiet_since: datetime | None = None
    #: What the caller gave: for telling a 无效来电 from an intake (``invalid_reason``).
    started_at: datetime | None = None
    keys_pressed: int = 0
    speech_seconds: float = 0.0  # over all recordings; unmeasured ones count as speech
    #: Speech in the last recording (``None``: none yet, or not measured).
    recording_speech: float | None = None
    min_call_seconds: float = 0.0
    min_speech_seconds: float = 0.5
    on_invalid: str | None = None  # the flow a 无效来电 goes on at (None: it ends)
    #: The confirming question (``emergency_confirm``) was asked: never twice in a call.
    emergency_asked: bool = False

    def heard(self, speech_seconds: float | None) -> None:
        """A recording ended with this much speech above the gate."""
        self.recording_speech = speech_seconds
        self.speech_seconds += float("inf") if speech_seconds is None else speech_seconds

    def invalid_reason(self, now: datetime, category: str) -> str | None:
        """Why an order now would be a 无效来电, or ``None`` (an intake: open the order).

        Emergencies never are: a caller in danger may press 9 and be unable to speak.
        """
        if category == "emergency" or "emergency_source" in self.variables:
            return None
        started = self.started_at or now
        if (now - started).total_seconds() < self.min_call_seconds:
            return "too_short"
        if self.keys_pressed == 0 and self.speech_seconds < self.min_speech_seconds:
            return "no_input"
        if (
            self.recording is not None
            and self.recording_speech is not None
            and self.recording_speech < self.min_speech_seconds
        ):
            return "silent_intake"
        return None

    @property
    def playing(self) -> bool:
        """True while some queued ``Play`` has not been answered by ``PlayDone``."""
        return self.plays_outstanding > 0

    def play(self, prompts: Iterable[str], *, barge_in: bool = False) -> actions.Play:
        """Make a ``Play`` action and count it (one ``PlayDone`` per ``Play``, in order)."""
        self.plays_outstanding += 1
        self.quiet_since = None
        language = "" if self.language == self.default_language else self.language
        return actions.Play(tuple(prompts), barge_in=barge_in, language=language)

    def play_done(self, now: datetime) -> None:
        self.plays_outstanding = max(0, self.plays_outstanding - 1)
        if self.plays_outstanding == 0 and self.quiet_since is None:
            self.quiet_since = now

    def value(self, name: str) -> str:
        """The value of a variable as text; unset variables read as ``""``."""
        if name == "caller":
            return self.caller
        if name == "callee":
            return self.callee
        if name == "call_id":
            return self.call_id
        if name == "menu_path":
            return "".join(self.menu_path)
        if name == "language":
            return self.language
        if name == "repeat_caller":
            return "yes" if self.repeat_caller else "no"
        if name in CLOCK_VARIABLES:
            return self._clock_value(name)
        return self.variables.get(name, "")

    def _clock_value(self, name: str) -> str:
        if self.now is None:
            return ""
        local = self.calendar.local(self.now)
        if name == "time_of_day":
            return local.strftime("%H:%M")
        if name == "date":
            return local.date().isoformat()
        if name == "day_kind":
            return str(self.calendar.day_kind(local.date()).value)
        return "yes" if self.calendar.is_open(self.now) else "no"

    def resolve(self, text: str) -> str:
        """``"$name"`` → the variable's value; anything else is a literal."""
        return self.value(text[1:]) if text.startswith("$") else text


@dataclass(frozen=True, slots=True)
class Wait:
    """Stay on this verb until the next event; ``deadline`` asks for a ``TimerFired``."""

    deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class Next:
    """This verb is done; go on with the following verb of the flow."""


@dataclass(frozen=True, slots=True)
class Jump:
    """This verb is done; continue at the start of another flow."""

    flow: str


@dataclass(frozen=True, slots=True)
class End:
    """The call is over (the runner has returned ``Hangup``)."""


Outcome = Wait | Next | Jump | End


@dataclass(frozen=True, slots=True)
class Step:
    actions: tuple[actions.Action, ...] = ()
    outcome: Outcome = Next()


class Runner(Protocol):
    """The running instance of one verb in one call."""

    def start(self, call: CallState, now: datetime) -> Step: ...

    def on_event(self, call: CallState, event: Event, now: datetime) -> Step:
        """Called for every event while this verb waits.

        The engine has already done the bookkeeping (``PlayDone`` counted,
        ``RecordingDone`` stored, early ``TimerFired`` dropped).
        """
        ...
