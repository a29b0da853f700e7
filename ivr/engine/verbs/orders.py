"""``create_order``: open the work order, keep the caller company while it is created."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from ivr.engine import actions, events
from ivr.engine.state import CallState, End, Jump, Runner, Step, Wait
from ivr.engine.verbs.base import (
    FlowName,
    PromptKey,
    Reference,
    Seconds,
    ValueOrVariable,
    VerbModel,
    check_name,
)
from routing.units import DOMAIN_LABELS

#: Work-order categories (the work-order service's ``category`` field).
ORDER_CATEGORIES = ("consult", "complaint", "report", "suggestion", "help", "emergency")

OrderFlag = Annotated[str, AfterValidator(check_name)]


def _check_domain(value: str) -> str:
    if value not in DOMAIN_LABELS:
        raise ValueError(f"unknown domain {value!r}: use one of {', '.join(DOMAIN_LABELS)}")
    return value


#: A dispatch domain of ``routing/units.py`` (what the work-order service accepts).
OrderDomain = Annotated[str, AfterValidator(_check_domain)]
#: Priorities an order may be opened with (the work-order service decides what they mean).
OrderPriority = Literal["low", "normal", "high", "urgent"]


class CreateOrderVerb(VerbModel):
    """``create_order: {category: $category, flags: [urgent], on_failure: order_failed}``.

    The order carries the call's menu path, last recording and flow version; on
    success ``$order_number`` is set and the flow goes on, on failure (or after
    ``timeout`` seconds without an answer) it jumps to ``on_failure``. ``domain``
    and ``priority`` are optional (``OrderPriority``). While it
    waits, ``hold_prompt`` plays after every ``hold_after`` seconds of silence.
    """

    verb = "create_order"

    category: ValueOrVariable
    flags: tuple[OrderFlag, ...] = ()
    #: The dispatch domain (``medical_service``, ``infectious_disease`` …, the codes of
    #: ``routing.units.DOMAIN_LABELS``): the order starts with it, so dispatch can use it.
    domain: OrderDomain | None = None
    priority: OrderPriority | None = None
    on_failure: FlowName
    hold_prompt: PromptKey = "please_wait"
    hold_after: Seconds = Field(4.0, gt=0, le=5)
    timeout: Seconds = Field(30.0, gt=0, le=120)

    def references(self) -> Iterator[Reference]:
        if self.category.startswith("$"):
            yield Reference("variable", self.category[1:], ("category",))
        else:
            yield Reference("category", self.category, ("category",))
        yield Reference("flow", self.on_failure, ("on_failure",))
        yield Reference("prompt", self.hold_prompt, ("hold_prompt",))

    def runner(self) -> Runner:
        return CreateOrderRunner(self)


class CreateOrderRunner:
    def __init__(self, verb: CreateOrderVerb) -> None:
        self.verb = verb
        self.give_up_at: datetime | None = None
        self.deadline: datetime | None = None

    def start(self, call: CallState, now: datetime) -> Step:
        category = call.resolve(self.verb.category)
        invalid = call.invalid_reason(now, category)
        if invalid is not None:
            return self._invalid(call, now, invalid, category)
        self.give_up_at = now + timedelta(seconds=self.verb.timeout)
        order = actions.CreateOrder(
            idempotency_key=call.call_id,
            caller=call.caller,
            category=category,
            menu_path=tuple(call.menu_path),
            flags=self.verb.flags,
            recording=call.recording,
            flow_version=call.flow_version,
            domain=self.verb.domain,
            priority=self.verb.priority,
        )
        return self._keep_company(call, now, (order,))

    def _invalid(self, call: CallState, now: datetime, reason: str, category: str) -> Step:
        """No order: a 无效来电, counted by the session; on to ``on_invalid``, or hang up."""
        started = call.started_at or now
        invalid = actions.InvalidCall(
            reason,
            category,
            tuple(call.menu_path),
            call.recording,
            (now - started).total_seconds(),
        )
        if call.on_invalid is not None:
            return Step((invalid,), Jump(call.on_invalid))
        return Step((invalid, actions.Hangup()), End())

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        if isinstance(event, events.OrderCreated):
            call.variables["order_number"] = event.number
            return Step()
        if isinstance(event, events.OrderFailed):
            return Step(outcome=Jump(self.verb.on_failure))
        if isinstance(event, events.TimerFired):
            assert self.give_up_at is not None
            if now >= self.give_up_at:
                return Step(outcome=Jump(self.verb.on_failure))
            return self._keep_company(call, now, ())
        if isinstance(event, events.PlayDone):
            return self._keep_company(call, now, ())
        return Step(outcome=Wait(self.deadline))

    def _keep_company(
        self, call: CallState, now: datetime, before: tuple[actions.Action, ...]
    ) -> Step:
        """Play the hold prompt once the caller has heard nothing for ``hold_after`` seconds.

        The silence counts from when the caller last heard something (or
        stopped being recorded), not from when the order was sent, so a menu
        timeout followed by a slow order still stays within the silence limit.
        """
        assert self.give_up_at is not None
        if call.playing or call.quiet_since is None:
            self.deadline = self.give_up_at  # the PlayDone of the audio on the line re-arms
            return Step(before, Wait(self.deadline))
        hold_at = call.quiet_since + timedelta(seconds=self.verb.hold_after)
        if hold_at <= now:
            play = call.play((self.verb.hold_prompt,))
            self.deadline = self.give_up_at
            return Step((*before, play), Wait(self.deadline))
        self.deadline = min(hold_at, self.give_up_at)
        return Step(before, Wait(self.deadline))
