"""``play`` (prompts) and ``say_digits`` (a number read digit by digit)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from pydantic import Field, field_validator

from ivr.engine import actions, events
from ivr.engine.state import CallState, Runner, Step, Wait
from ivr.engine.verbs.base import (
    Flag,
    PromptKey,
    Reference,
    ValueOrVariable,
    VerbModel,
    as_tuple,
    single_or_list,
)

#: ``12320-YYYYMMDD-NNNNN``: callers need only the date and sequence digits.
_ORDER_NUMBER = re.compile(r"\d+-(\d{8})-(\d+)")
DIGIT_PROMPTS = tuple(f"digits/{digit}" for digit in "0123456789")


class PlayVerb(VerbModel):
    """``play: welcome`` / ``play: [a, b]`` / ``play: {prompt: a, barge_in: true}``.

    With ``barge_in`` a key press stops the prompt; the key is kept for the
    next ``menu`` (type-ahead). Without it, keys pressed during the prompt are
    dropped.
    """

    verb = "play"
    shorthand = "prompt"

    prompt: tuple[PromptKey, ...] = Field(min_length=1, json_schema_extra=single_or_list)
    barge_in: Flag = False

    _one_or_many = field_validator("prompt", mode="before")(as_tuple)

    def references(self) -> Iterator[Reference]:
        for index, key in enumerate(self.prompt):
            yield Reference("prompt", key, ("prompt", index))

    def runner(self) -> Runner:
        return PlayRunner(self.prompt, barge_in=self.barge_in)


class PlayRunner:
    """Queue prompts and wait until every queued prompt has been played (or stopped)."""

    def __init__(self, prompts: tuple[str, ...], *, barge_in: bool) -> None:
        self.prompts = prompts
        self.barge_in = barge_in
        self.stopped = False

    def start(self, call: CallState, now: datetime) -> Step:
        if not self.prompts:
            return Step()
        return Step((call.play(self.prompts, barge_in=self.barge_in),), Wait())

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        if isinstance(event, events.PlayDone) and not call.playing:
            return Step()
        if isinstance(event, events.Digit) and self.barge_in:
            call.typeahead.append(event.key)
            if not self.stopped:
                self.stopped = True
                return Step((actions.StopPlayback(),), Wait())
        return Step(outcome=Wait())


def spoken_digits(value: str) -> tuple[str, ...]:
    """The digits a caller hears for ``value``.

    An order number ``12320-20260501-00042`` is read as its date and sequence
    (``2026050100042``); any other value as all of its digits.
    """
    match = _ORDER_NUMBER.fullmatch(value.strip())
    text = match.group(1) + match.group(2) if match else value
    return tuple(character for character in text if character in "0123456789")


class SayDigitsVerb(VerbModel):
    """``say_digits: $order_number``: read a value digit by digit (prompts ``digits/0``…``9``)."""

    verb = "say_digits"
    shorthand = "value"

    value: ValueOrVariable
    barge_in: Flag = False

    def references(self) -> Iterator[Reference]:
        if self.value.startswith("$"):
            yield Reference("variable", self.value[1:], ("value",))
        for key in DIGIT_PROMPTS:
            yield Reference("prompt", key, ("value",))

    def runner(self) -> Runner:
        return SayDigitsRunner(self.value, barge_in=self.barge_in)


class SayDigitsRunner(PlayRunner):
    def __init__(self, value: str, *, barge_in: bool) -> None:
        super().__init__((), barge_in=barge_in)
        self.value = value

    def start(self, call: CallState, now: datetime) -> Step:
        digits = spoken_digits(call.resolve(self.value))
        self.prompts = tuple(f"digits/{digit}" for digit in digits)
        return super().start(call, now)
