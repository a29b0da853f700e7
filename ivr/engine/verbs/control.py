"""``set``, ``goto`` and ``hangup``: verbs that finish at once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from ivr.engine import actions, events
from ivr.engine.state import READ_ONLY_VARIABLES, CallState, End, Jump, Runner, Step, Wait
from ivr.engine.verbs.base import FlowName, Reference, ValueOrVariable, VariableName, VerbModel


def _writable(name: str) -> str:
    if name in READ_ONLY_VARIABLES:
        raise ValueError(f"variable {name!r} is set by the engine and cannot be changed")
    return name


WritableName = Annotated[VariableName, AfterValidator(_writable)]
Assignments = dict[WritableName, ValueOrVariable]


def assignment_references(
    assignments: Mapping[str, str], at: tuple[str | int, ...]
) -> Iterator[Reference]:
    """What a ``set`` mapping defines and reads (``category`` values are checked by name)."""
    for name, value in assignments.items():
        yield Reference("defines", name, (*at, name))
        if value.startswith("$"):
            yield Reference("variable", value[1:], (*at, name))
        elif name == "category":
            yield Reference("category", value, (*at, name))


def apply_assignments(call: CallState, assignments: Mapping[str, str]) -> None:
    for name, value in assignments.items():
        call.variables[name] = call.resolve(value)


class Immediate:
    """A runner whose verb is done as soon as it starts."""

    def __init__(self, step: Step, assignments: Mapping[str, str] | None = None) -> None:
        self.step = step
        self.assignments = assignments

    def start(self, call: CallState, now: datetime) -> Step:
        if self.assignments:
            apply_assignments(call, self.assignments)
        return self.step

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        return Step(outcome=Wait())  # never reached: the verb never waits


class SetVerb(VerbModel):
    """``set: {category: complaint}``: assign variables (values may be ``$other``)."""

    verb = "set"
    shorthand = "variables"

    variables: Assignments = Field(min_length=1)

    @classmethod
    def wraps(cls, argument: object) -> bool:
        return True  # the whole mapping is the assignments

    def references(self) -> Iterator[Reference]:
        return assignment_references(self.variables, ("variables",))

    def runner(self) -> Runner:
        return Immediate(Step(), self.variables)


class GotoVerb(VerbModel):
    """``goto: intake``: continue at the start of another flow."""

    verb = "goto"
    shorthand = "flow"

    flow: FlowName

    def references(self) -> Iterator[Reference]:
        yield Reference("flow", self.flow, ("flow",))

    def runner(self) -> Runner:
        return Immediate(Step(outcome=Jump(self.flow)))


class HangupVerb(VerbModel):
    """``- hangup``: end the call."""

    verb = "hangup"

    def runner(self) -> Runner:
        return Immediate(Step((actions.Hangup(),), End()))
