"""``menu``: play a prompt, take one key, branch; re-prompt on invalid or no input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

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
    single_or_list,
    string_or_object,
)
from ivr.engine.verbs.control import Assignments, apply_assignments, assignment_references


class Branch(BaseModel):
    """What a menu key does: ``set`` variables, then ``goto`` a flow (or go on after the menu).

    Written as a flow name (``9: emergency``) or as a mapping
    (``1: {set: {category: consult}, goto: intake}``).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, json_schema_extra=string_or_object
    )

    assign: Assignments = Field(default_factory=dict, alias="set")
    goto: FlowName | None = None

    @model_validator(mode="before")
    @classmethod
    def _flow_name_shorthand(cls, data: Any) -> Any:
        return {"goto": data} if isinstance(data, str) else data


class MenuVerb(VerbModel):
    """Play ``prompt``, then wait ``timeout`` seconds for a key.

    A key in ``options`` is added to ``menu_path`` and its branch taken. An
    invalid key or no key re-plays ``invalid``/``no_input`` plus the prompt,
    ``retries`` times; after that the call goes to ``on_failure`` (or, without
    it, on to the next verb). With ``barge_in`` (default) a key press during the
    prompt stops it and counts as the choice; without it such keys are dropped.
    """

    verb = "menu"

    prompt: tuple[PromptKey, ...] = Field(min_length=1, json_schema_extra=single_or_list)
    options: dict[DtmfKey, Branch] = Field(min_length=1)
    timeout: Seconds = Field(5.0, gt=0, le=MAX_SILENCE_SECONDS)
    retries: Annotated[int, Strict()] = Field(2, ge=0, le=5)
    invalid: tuple[PromptKey, ...] = Field((), json_schema_extra=single_or_list)
    no_input: tuple[PromptKey, ...] = Field((), json_schema_extra=single_or_list)
    on_failure: FlowName | None = None
    barge_in: Flag = True

    _one_or_many = field_validator("prompt", "invalid", "no_input", mode="before")(as_tuple)

    @field_validator("options", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        """YAML reads ``1:`` as the number 1; menu keys are text."""
        if isinstance(value, dict):
            return {
                str(key) if isinstance(key, int) else key: branch for key, branch in value.items()
            }
        return value

    def references(self) -> Iterator[Reference]:
        for field in ("prompt", "invalid", "no_input"):
            for index, key in enumerate(getattr(self, field)):
                yield Reference("prompt", key, (field, index))
        for key, branch in self.options.items():
            yield from assignment_references(branch.assign, ("options", key, "set"))
            if branch.goto is not None:
                yield Reference("flow", branch.goto, ("options", key, "goto"))
        if self.on_failure is not None:
            yield Reference("flow", self.on_failure, ("on_failure",))

    def runner(self) -> Runner:
        return MenuRunner(self)


class MenuRunner:
    def __init__(self, menu: MenuVerb) -> None:
        self.menu = menu
        self.failures = 0
        self.listening = False  # the prompt has ended; the timeout runs
        self.deadline: datetime | None = None

    def start(self, call: CallState, now: datetime) -> Step:
        if call.typeahead:  # keys pressed during a barge-in ``play`` before the menu
            return self._choose(call, call.typeahead.pop(0), ())
        return self._prompt(call, (), ())

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        if isinstance(event, events.Digit):
            if self.listening:
                return self._choose(call, event.key, ())
            if self.menu.barge_in:
                return self._choose(call, event.key, (actions.StopPlayback(),))
        elif isinstance(event, events.PlayDone):
            if not self.listening and not call.playing:
                self.listening = True
                self.deadline = now + timedelta(seconds=self.menu.timeout)
        elif isinstance(event, events.TimerFired) and self.listening:
            return self._fail(call, self.menu.no_input, ())
        return Step(outcome=Wait(self.deadline))

    def _prompt(
        self, call: CallState, lead: tuple[str, ...], before: tuple[actions.Action, ...]
    ) -> Step:
        self.listening = False
        self.deadline = None
        play = call.play((*lead, *self.menu.prompt), barge_in=self.menu.barge_in)
        return Step((*before, play), Wait())

    def _choose(self, call: CallState, key: str, before: tuple[actions.Action, ...]) -> Step:
        branch = self.menu.options.get(key)
        if branch is None:
            return self._fail(call, self.menu.invalid, before)
        call.menu_path.append(key)
        apply_assignments(call, branch.assign)
        return Step(before, Jump(branch.goto) if branch.goto else Next())

    def _fail(
        self, call: CallState, lead: tuple[str, ...], before: tuple[actions.Action, ...]
    ) -> Step:
        self.failures += 1
        if self.failures > self.menu.retries:
            failure = self.menu.on_failure
            return Step(before, Jump(failure) if failure else Next())
        return self._prompt(call, lead, before)
