"""One lifecycle step's context (``Step``: the order, the actor, the clock, the rules) and the
checks and moves several actions share: role sets, state and scope requirements, dispatching
to a unit, investigating at the centre. The per-action functions are in ``actions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from routing.dispatch import choose_unit
from routing.errors import RoutingError
from routing.units import TIER_CENTRE
from workorders.errors import Conflict, Forbidden, InvalidInput
from workorders.lifecycle.deadlines import Rules, capped, limit_deadline
from workorders.lifecycle.model import (
    Actor,
    Alert,
    LedgerEntry,
    Lifecycle,
    Outcome,
    State,
)
from workorders.tokens import (
    ROLE_ADMIN,
    ROLE_CALL_TAKER,
    ROLE_DISPATCHER,
    ROLE_HANDLER,
    ROLE_SUPERVISOR,
    UNIT_ROLES,
)

INTAKE = frozenset({ROLE_CALL_TAKER, ROLE_SUPERVISOR, ROLE_ADMIN})
CENTRE_MANAGERS = frozenset({ROLE_SUPERVISOR, ROLE_ADMIN})
UNIT_WORKERS = frozenset({ROLE_HANDLER, ROLE_DISPATCHER})
OPEN_STATES = frozenset(State) - {State.CLOSED}


@dataclass(frozen=True)
class Step:
    """What one command is applied to and by whom: the checks every action makes."""

    life: Lifecycle
    actor: Actor
    now: datetime
    rules: Rules
    action: str

    def require_state(self, *states: State) -> None:
        if self.life.state not in states:
            allowed = ", ".join(s.value for s in states)
            raise Conflict(
                f"cannot {self.action} an order that is {self.life.state.value} "
                f"(only when {allowed})",
                field="action",
            )

    def require(self, allowed: bool, why: str) -> None:
        if not allowed:
            raise Forbidden(f"{self.actor.role} {self.actor.name} may not {self.action}: {why}")

    def is_centre(self) -> bool:
        unit = self.actor.unit
        return self.actor.role not in UNIT_ROLES and (
            unit is None or self.rules.tree.is_centre(unit)
        )

    def require_centre(self, roles: frozenset[str]) -> None:
        self.require(self.actor.role in roles and self.is_centre(), "a centre role is needed")

    def in_scope(self, unit: str | None) -> bool:
        """Whether ``unit`` lies within the actor's unit."""
        own = self.actor.unit
        return own is not None and unit is not None and self.rules.tree.is_within(unit, own)

    def require_handling_unit(self) -> None:
        """The handling unit's own people, or the centre for orders it handles itself."""
        if self.life.state is State.INVESTIGATING:
            self.require_centre(CENTRE_MANAGERS)
        else:
            self.require(
                self.actor.role in UNIT_WORKERS and self.in_scope(self.life.unit),
                "only the handling unit",
            )

    def done(
        self,
        life: Lifecycle,
        note: str = "",
        alerts: tuple[Alert, ...] = (),
        **data: Any,
    ) -> Outcome:
        entry = LedgerEntry(
            at=self.now,
            actor=self.actor.name,
            role=self.actor.role,
            unit=self.actor.unit,
            action=self.action,
            state=life.state,
            note=note,
            data={k: v for k, v in data.items() if v is not None},
        )
        return Outcome(life, entry, alerts)


def text(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{field} must not be empty", field=field)
    return value.strip()


def to_unit(step: Step, life: Lifecycle, unit: str) -> Lifecycle:
    """Dispatched to ``unit`` at ``now``: fresh sign-for and feedback deadlines."""
    tree = step.rules.tree
    if unit not in tree or tree.unit(unit).tier == TIER_CENTRE:
        raise InvalidInput(f"{unit!r} is not a unit or sub-centre", field="unit")
    sla, calendar, now = step.rules.sla, step.rules.calendar, step.now
    feedback = capped(
        limit_deadline("feedback", sla.feedback, now, calendar), life.deadline("handling"), now
    )
    life = replace(life, state=State.DISPATCHED, unit=unit, dispatched_at=now)
    life = life.with_deadline(limit_deadline("sign_for", sla.sign_for, now, calendar))
    return life.with_deadline(feedback)


def investigate(step: Step, life: Lifecycle) -> Lifecycle:
    feedback = capped(
        limit_deadline("feedback", step.rules.sla.feedback, step.now, step.rules.calendar),
        life.deadline("handling"),
        step.now,
    )
    life = replace(life, state=State.INVESTIGATING, unit=step.rules.tree.centre.id)
    return life.with_deadline(feedback)


def choose(step: Step, life: Lifecycle, unit: str | None) -> tuple[str, str | None]:
    if unit is not None:
        return unit, "chosen"
    if life.region is None or life.domain is None:
        raise InvalidInput("dispatch needs a region and a domain, or a unit", field="region")
    try:
        decision = choose_unit(
            step.rules.tree, region=life.region, domain=life.domain, about_unit=life.about_unit
        )
    except RoutingError as exc:
        raise InvalidInput(str(exc), field="region") from exc
    return decision.unit, decision.rule
