"""``transfer`` (to a named line) and ``queue`` (to a named agent group).

Both names are checked at load time against ``config/routing.yaml`` (and a queue's group
against ``config/agents.yaml`` by ``hotline check-config``). The
engine emits ``Transfer``/``Enqueue`` and waits for ``TransferResult``/
``QueueResult``: success ends the IVR's part of the call; failure, or no
answer within ``timeout``, goes to ``on_failure`` (or on to the next verb).
While waiting, ``hold_prompt`` (if given) is played once, so the caller
never sits in silence; a queued caller also hears their position (``ivr/queueing.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ivr.engine import actions, events
from ivr.engine.state import CallState, End, Jump, Next, Runner, Step, Wait
from ivr.engine.verbs.base import FlowName, PromptKey, Reference, Seconds, VerbModel, check_name
from ivr.engine.verbs.numbers import NUMBER_PROMPTS

#: The queue's announcements (texts in config/prompts/*.yaml), spoken by ``ivr/queueing.py``.
QUEUE_PROMPTS = ("queue_ahead", "queue_callers", "queue_next", "queue_callback_hint",
                 *NUMBER_PROMPTS)  # fmt: skip

#: A line or agent-group name of ``config/routing.yaml``.
TargetName = Annotated[str, AfterValidator(check_name)]


class _ConnectVerb(VerbModel):
    """What ``transfer`` and ``queue`` share: where to go on failure, what to play meanwhile."""

    on_failure: FlowName | None = None
    hold_prompt: PromptKey | None = None

    def _references(self, kind: Literal["line", "group"], name: str) -> Iterator[Reference]:
        yield Reference(kind, name, (kind,))
        if self.on_failure is not None:
            yield Reference("flow", self.on_failure, ("on_failure",))
        if self.hold_prompt is not None:
            yield Reference("prompt", self.hold_prompt, ("hold_prompt",))


class TransferVerb(_ConnectVerb):
    """``transfer: public_health_duty`` / ``transfer: {line: …, on_failure: …, timeout: 40}``."""

    verb = "transfer"
    shorthand = "line"

    line: TargetName
    timeout: Seconds = Field(60.0, gt=0, le=300)

    def references(self) -> Iterator[Reference]:
        return self._references("line", self.line)

    def runner(self) -> Runner:
        return ConnectRunner(
            actions.Transfer(self.line, self.timeout),
            events.TransferResult,
            self.on_failure,
            self.hold_prompt,
            self.timeout,
        )


class QueueVerb(_ConnectVerb):
    """``queue: intake`` / ``queue: {group: …, on_failure: …, timeout: 300, priority:
    emergency, skills: [cantonese]}``: wait for an agent of the group (``config/agents.yaml``).

    The caller hears their position and may press 1 for a callback instead
    (``connect_failure`` is then ``callback``); ``on_failure`` also follows a queue timeout
    (``timeout``, ``max_wait``, ``no_agents``) or an unreachable ACD (``unavailable``).
    """

    verb = "queue"
    shorthand = "group"

    group: TargetName
    timeout: Seconds = Field(180.0, gt=0, le=1800)
    priority: Literal["normal", "emergency"] = "normal"
    skills: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")], ...] = ()

    def references(self) -> Iterator[Reference]:
        yield from self._references("group", self.group)
        for key in QUEUE_PROMPTS:  # announcements of the position (ivr/queueing.py)
            yield Reference("prompt", key, ("group",))

    def runner(self) -> Runner:
        return ConnectRunner(
            actions.Enqueue(self.group, self.timeout, self.priority, self.skills),
            events.QueueResult,
            self.on_failure,
            self.hold_prompt,
            self.timeout,
        )


class ConnectRunner:
    def __init__(
        self,
        request: actions.Transfer | actions.Enqueue,
        answer: type[events.TransferResult] | type[events.QueueResult],
        on_failure: str | None,
        hold_prompt: str | None,
        timeout: float,
    ) -> None:
        self.request = request
        self.answer = answer
        self.on_failure = on_failure
        self.hold_prompt = hold_prompt
        self.timeout = timeout
        self.deadline: datetime | None = None

    def start(self, call: CallState, now: datetime) -> Step:
        self.deadline = now + timedelta(seconds=self.timeout)
        todo: list[actions.Action] = [self.request]
        if self.hold_prompt is not None:
            todo.append(call.play((self.hold_prompt,)))
        return Step(tuple(todo), Wait(self.deadline))

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        if isinstance(event, self.answer):
            if event.ok:
                return Step(outcome=End())  # the call has left the IVR
            call.variables["connect_failure"] = event.detail
            return self._failed(call)
        if isinstance(event, events.TimerFired):
            call.variables["connect_failure"] = "timeout"
            return self._failed(call)
        return Step(outcome=Wait(self.deadline))

    def _failed(self, call: CallState) -> Step:
        stop = (actions.StopPlayback(),) if call.playing else ()
        return Step(stop, Jump(self.on_failure) if self.on_failure else Next())
