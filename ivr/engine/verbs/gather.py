"""``gather``: collect several keys (an ID, a date…) or a spoken keyword into a variable.

Keys: up to ``num_digits`` (the input ends there, at ``finish_on_key``, or when
``inter_digit_timeout`` passes after a key); ``first_digit_timeout`` counts from
the end of the prompt. Fewer than ``min_digits`` keys is invalid. Speech: the
engine asks the session to listen for the phrases of ``phrases`` (Vosk grammar
mode) and stores the *name* of the first choice whose phrase was heard.
Invalid or no input re-plays ``invalid``/``no_input`` plus the prompt
``retries`` times, then goes to ``on_failure`` (or on, with the variable empty).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, field_validator, model_validator

from ivr.engine import actions, events
from ivr.engine.state import MAX_SILENCE_SECONDS, CallState, Jump, Next, Runner, Step, Wait
from ivr.engine.verbs.base import (
    DtmfKey,
    Flag,
    FlowName,
    PromptKey,
    Reference,
    Seconds,
    VerbModel,
    as_tuple,
    check_name,
    single_or_list,
    values_single_or_list,
)
from ivr.engine.verbs.control import WritableName


def _phrase(value: str) -> str:
    if not value.strip():
        raise ValueError("a phrase cannot be empty")
    return value.strip()


Phrase = Annotated[str, AfterValidator(_phrase)]
ChoiceName = Annotated[str, AfterValidator(check_name)]


class GatherVerb(VerbModel):
    """``gather: {prompt: enter_id, num_digits: 18, finish_on_key: "#", into: id_number}``."""

    verb = "gather"

    prompt: tuple[PromptKey, ...] = Field(min_length=1, json_schema_extra=single_or_list)
    input: tuple[Literal["digits", "speech"], ...] = Field(
        ("digits",), min_length=1, json_schema_extra=single_or_list
    )
    into: WritableName = "digits"
    num_digits: Annotated[int, Strict()] = Field(1, ge=1, le=32)
    min_digits: Annotated[int, Strict()] = Field(1, ge=1, le=32)
    finish_on_key: DtmfKey | None = "#"
    first_digit_timeout: Seconds = Field(5.0, gt=0, le=MAX_SILENCE_SECONDS)
    inter_digit_timeout: Seconds = Field(3.0, gt=0, le=MAX_SILENCE_SECONDS)
    phrases: dict[ChoiceName, tuple[Phrase, ...]] = Field(
        default_factory=dict, json_schema_extra=values_single_or_list
    )
    retries: Annotated[int, Strict()] = Field(2, ge=0, le=5)
    invalid: tuple[PromptKey, ...] = Field((), json_schema_extra=single_or_list)
    no_input: tuple[PromptKey, ...] = Field((), json_schema_extra=single_or_list)
    on_failure: FlowName | None = None
    barge_in: Flag = True

    _one_or_many = field_validator("prompt", "invalid", "no_input", "input", mode="before")(
        as_tuple
    )

    @field_validator("phrases", mode="before")
    @classmethod
    def _phrase_lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: as_tuple(phrases) for key, phrases in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GatherVerb:
        if self.min_digits > self.num_digits:
            raise ValueError(
                f"min_digits ({self.min_digits}) is more than num_digits ({self.num_digits})"
            )
        if ("speech" in self.input) != bool(self.phrases):
            raise ValueError("'phrases' is needed with input speech, and only then")
        if self.finish_on_key is not None and self.finish_on_key in "0123456789":
            raise ValueError(f"finish_on_key {self.finish_on_key!r} would be taken as a digit")
        return self

    def references(self) -> Iterator[Reference]:
        for field in ("prompt", "invalid", "no_input"):
            for index, key in enumerate(getattr(self, field)):
                yield Reference("prompt", key, (field, index))
        yield Reference("defines", self.into, ("into",))
        if self.on_failure is not None:
            yield Reference("flow", self.on_failure, ("on_failure",))

    def runner(self) -> Runner:
        return GatherRunner(self)


def match_phrase(text: str, phrases: dict[str, tuple[str, ...]]) -> str | None:
    """The first choice one of whose phrases occurs in ``text`` (spaces ignored)."""
    heard = "".join(text.split())
    for choice, options in phrases.items():
        if any("".join(option.split()) in heard for option in options):
            return choice
    return None


class GatherRunner:
    def __init__(self, verb: GatherVerb) -> None:
        self.verb = verb
        self.failures = 0
        self.keys = ""
        self.listening = False  # the prompt has ended (or was stopped): timers run
        self.speech_pending = False
        self.deadline: datetime | None = None

    @property
    def wants_digits(self) -> bool:
        return "digits" in self.verb.input

    def start(self, call: CallState, now: datetime) -> Step:
        if self.wants_digits and self.verb.barge_in and call.typeahead:
            typed, call.typeahead[:] = list(call.typeahead), []
            step = Step(outcome=Wait())
            for key in typed:
                step = self._key(call, key, now, ())
                if not isinstance(step.outcome, Wait):
                    return step
            self.listening = True
            return self._wait_more(now, step.actions)
        return self._prompt(call, (), ())

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        if isinstance(event, events.Digit) and self.wants_digits:
            if self.listening:
                return self._key(call, event.key, now, self._stop_speech())
            if self.verb.barge_in:
                self.listening = True
                return self._key(call, event.key, now, (actions.StopPlayback(),))
        elif isinstance(event, events.PlayDone):
            if not self.listening and not call.playing:
                return self._listen(now)
        elif isinstance(event, events.SpeechResult) and self.speech_pending:
            return self._heard(call, event, now)
        elif isinstance(event, events.TimerFired) and self.listening:
            if self.keys:
                return self._complete(call, now, self._stop_speech())
            return self._fail(call, self.verb.no_input, self._stop_speech())
        return Step(outcome=Wait(self.deadline))

    # -- phases ------------------------------------------------------------------------------
    def _prompt(
        self, call: CallState, lead: tuple[str, ...], before: tuple[actions.Action, ...]
    ) -> Step:
        self.listening = False
        self.keys = ""
        self.deadline = None
        barge_in = self.verb.barge_in and self.wants_digits
        play = call.play((*lead, *self.verb.prompt), barge_in=barge_in)
        return Step((*before, play), Wait())

    def _listen(self, now: datetime) -> Step:
        self.listening = True
        self.deadline = now + timedelta(seconds=self.verb.first_digit_timeout)
        if "speech" not in self.verb.input:
            return Step(outcome=Wait(self.deadline))
        self.speech_pending = True
        phrases = tuple(phrase for group in self.verb.phrases.values() for phrase in group)
        listen = actions.ListenForSpeech(phrases, self.verb.first_digit_timeout)
        return Step((listen,), Wait(self.deadline))

    def _key(
        self, call: CallState, key: str, now: datetime, before: tuple[actions.Action, ...]
    ) -> Step:
        if key == self.verb.finish_on_key:
            if not self.keys:
                return self._fail(call, self.verb.invalid, before)
            return self._complete(call, now, before)
        if key not in "0123456789":
            return self._fail(call, self.verb.invalid, before)
        self.keys += key
        if len(self.keys) >= self.verb.num_digits:
            return self._complete(call, now, before)
        return self._wait_more(now, before)

    def _wait_more(self, now: datetime, before: tuple[actions.Action, ...]) -> Step:
        self.deadline = now + timedelta(seconds=self.verb.inter_digit_timeout)
        return Step(before, Wait(self.deadline))

    def _heard(self, call: CallState, result: events.SpeechResult, now: datetime) -> Step:
        self.speech_pending = False
        if not result.available:
            if self.wants_digits:  # no recogniser: keys still work
                return Step(outcome=Wait(self.deadline))
            return self._give_up(call, ())
        if not result.text.strip():
            return self._fail(call, self.verb.no_input, ())
        choice = match_phrase(result.text, self.verb.phrases)
        if choice is None:
            return self._fail(call, self.verb.invalid, ())
        call.variables[self.verb.into] = choice
        return Step()

    def _stop_speech(self) -> tuple[actions.Action, ...]:
        if not self.speech_pending:
            return ()
        self.speech_pending = False
        return (actions.StopListening(),)

    def _complete(self, call: CallState, now: datetime, before: tuple[actions.Action, ...]) -> Step:
        if len(self.keys) < self.verb.min_digits:
            return self._fail(call, self.verb.invalid, before)
        call.variables[self.verb.into] = self.keys
        return Step((*before, *self._stop_speech()), Next())

    def _fail(
        self, call: CallState, lead: tuple[str, ...], before: tuple[actions.Action, ...]
    ) -> Step:
        self.failures += 1
        if self.failures > self.verb.retries:
            return self._give_up(call, before)
        self.speech_pending = False
        return self._prompt(call, lead, before)

    def _give_up(self, call: CallState, before: tuple[actions.Action, ...]) -> Step:
        call.variables[self.verb.into] = ""
        failure = self.verb.on_failure
        return Step(before, Jump(failure) if failure else Next())
