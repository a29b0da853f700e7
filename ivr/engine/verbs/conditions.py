"""``hours`` (branch on business hours and holidays) and ``if`` (branch on conditions).

Both ask the call's calendar (``routing.calendar.WorkCalendar`` in the worker),
so a 调休 Saturday is a working day and a public holiday is closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ivr.engine.state import CallState, Jump, Next, Runner, Step
from ivr.engine.verbs.base import Flag, FlowName, Reference, VariableName, VerbModel
from ivr.engine.verbs.control import Immediate

DayKindName = Literal["workday", "weekend", "holiday", "makeup_workday"]
_SPAN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


def _span(value: str) -> str:
    match = _SPAN.fullmatch(value)
    if not match or value[6:] > "24:00":
        raise ValueError(f"bad time span {value!r}: expected HH:MM-HH:MM, e.g. '08:00-12:00'")
    if value[6:] <= value[:5]:
        raise ValueError(f"bad time span {value!r}: it ends before it starts")
    return value


TimeSpan = Annotated[str, AfterValidator(_span)]


def in_span(span: str, moment: time) -> bool:
    start, end = span.split("-")
    now = moment.strftime("%H:%M")
    return start <= now < end


def _goto(flow: str | None) -> Step:
    return Step(outcome=Jump(flow) if flow else Next())


class HoursVerb(VerbModel):
    """``hours: {open: staffed, closed: after_hours, holiday: holiday_greeting}``.

    ``open``: within the business hours of ``config/calendar.yaml`` (a 调休
    make-up Saturday has working hours); ``holiday``: a public holiday (default:
    the ``closed`` branch); ``closed``: any other time. A missing branch means
    "go on with the next verb".
    """

    verb = "hours"

    open: FlowName | None = None
    closed: FlowName | None = None
    holiday: FlowName | None = None

    @model_validator(mode="after")
    def _some_branch(self) -> HoursVerb:
        if self.open is None and self.closed is None and self.holiday is None:
            raise ValueError("give at least one of 'open', 'closed', 'holiday'")
        return self

    def references(self) -> Iterator[Reference]:
        for field in ("open", "closed", "holiday"):
            name = getattr(self, field)
            if name is not None:
                yield Reference("flow", name, (field,))

    def runner(self) -> Runner:
        return HoursRunner(self)


class HoursRunner(Immediate):
    def __init__(self, verb: HoursVerb) -> None:
        super().__init__(Step())
        self.verb = verb

    def start(self, call: CallState, now: datetime) -> Step:
        calendar = call.calendar
        if calendar.is_open(now):
            return _goto(self.verb.open)
        if calendar.day_kind(calendar.local(now).date()).value == "holiday":
            return _goto(self.verb.holiday or self.verb.closed)
        return _goto(self.verb.closed)


class Condition(BaseModel):
    """All given tests must hold. ``variable`` with ``equals``/``not_equals``/``in``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    variable: VariableName | None = None
    equals: str | None = None
    not_equals: str | None = None
    one_of: tuple[str, ...] | None = Field(None, alias="in")
    open: Flag | None = None
    day_kind: tuple[DayKindName, ...] | None = None
    time: TimeSpan | None = None

    @model_validator(mode="after")
    def _meaningful(self) -> Condition:
        tests = (self.equals, self.not_equals, self.one_of)
        if self.variable is not None and all(test is None for test in tests):
            raise ValueError("'variable' needs 'equals', 'not_equals' or 'in'")
        if self.variable is None and any(test is not None for test in tests):
            raise ValueError("'equals', 'not_equals' and 'in' need 'variable'")
        if self.one_of == () or self.day_kind == ():
            raise ValueError("an empty list never matches")
        if self.variable is None and (self.open, self.day_kind, self.time) == (None,) * 3:
            raise ValueError("give 'variable', 'open', 'day_kind' or 'time'")
        return self

    def holds(self, call: CallState, now: datetime) -> bool:
        if self.variable is not None:
            value = call.value(self.variable)
            if self.equals is not None and value != self.equals:
                return False
            if self.not_equals is not None and value == self.not_equals:
                return False
            if self.one_of is not None and value not in self.one_of:
                return False
        calendar = call.calendar
        local = calendar.local(now)
        if self.open is not None and calendar.is_open(now) != self.open:
            return False
        if self.day_kind is not None and calendar.day_kind(local.date()).value not in self.day_kind:
            return False
        return self.time is None or in_span(self.time, local.time())


class IfVerb(VerbModel):
    """``if: {condition: {variable: repeat_caller, equals: "yes"}, then: vip, else: main}``.

    The tests of one ``condition`` must all hold (e.g. ``{open: true, variable:
    repeat_caller, equals: "yes"}``); nest ``if``s for more. ``then``/``else``
    are flows; a missing one means "go on with the next verb".
    """

    verb = "if"

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    condition: Condition
    then: FlowName | None = None
    otherwise: FlowName | None = Field(None, alias="else")

    @model_validator(mode="after")
    def _some_branch(self) -> IfVerb:
        if self.then is None and self.otherwise is None:
            raise ValueError("give 'then' or 'else' (or both)")
        return self

    def references(self) -> Iterator[Reference]:
        if self.condition.variable is not None:
            yield Reference("variable", self.condition.variable, ("condition", "variable"))
        if self.then is not None:
            yield Reference("flow", self.then, ("then",))
        if self.otherwise is not None:
            yield Reference("flow", self.otherwise, ("else",))

    def runner(self) -> Runner:
        return IfRunner(self)


class IfRunner(Immediate):
    def __init__(self, verb: IfVerb) -> None:
        super().__init__(Step())
        self.verb = verb

    def start(self, call: CallState, now: datetime) -> Step:
        if self.verb.condition.holds(call, now):
            return _goto(self.verb.then)
        return _goto(self.verb.otherwise)
