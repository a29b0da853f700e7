"""The clock's part of the lifecycle. Pure.

The scheduler asks ``due_commands`` what the clock owes an order (``Warn`` at 75 % of a
running limit, ``Supervise`` past due) and ``next_check`` when to ask again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from routing.calendar import WorkCalendar
from routing.sla import Limit, SlaPolicy
from routing.units import OrgTree
from workorders.lifecycle.model import Command, Deadline, Lifecycle, State, Supervise, Warn


@dataclass(frozen=True)
class Rules:
    tree: OrgTree
    sla: SlaPolicy
    calendar: WorkCalendar


def new_lifecycle(category: str, received_at: datetime, rules: Rules) -> Lifecycle:
    """A received order: its class from the category, its handling deadline from receipt."""
    limit_class = rules.sla.class_of_category(category)
    handling = limit_deadline("handling", rules.sla.limit(limit_class), received_at, rules.calendar)
    return Lifecycle(
        state=State.RECEIVED,
        category=category,
        limit_class=limit_class,
        received_at=received_at,
        deadlines=(handling,),
    )


def limit_deadline(name: str, limit: Limit, start: datetime, calendar: WorkCalendar) -> Deadline:
    """The deadline ``limit`` gives from ``start``, marked when it is only an estimate."""
    due = limit.due(start, calendar)
    return Deadline(name, start, due, estimate=limit.due_is_estimate(due, calendar))


def capped(deadline: Deadline, cap: Deadline | None, now: datetime) -> Deadline:
    """``deadline`` no later than ``cap``'s due (but not before ``now``): feedback within
    handling. Taking the cap's time takes its estimate mark too."""
    if cap is None or max(cap.due, now) >= deadline.due:
        return deadline
    due = max(cap.due, now)
    return Deadline(deadline.name, deadline.start, due, estimate=cap.estimate and due == cap.due)


def active_deadlines(life: Lifecycle) -> tuple[Deadline, ...]:
    """The deadlines the order's state still runs against."""
    running = {
        "handling": life.state not in (State.REPLIED, State.CLOSED),
        "sign_for": life.state is State.DISPATCHED,
        "feedback": life.state
        in (State.DISPATCHED, State.SIGNED, State.IN_PROGRESS, State.INVESTIGATING),
    }
    return tuple(d for d in life.deadlines if running.get(d.name, False))


def due_commands(life: Lifecycle, now: datetime, rules: Rules) -> list[Command]:
    """What the clock owes the order at ``now``: one command per deadline, red before yellow."""
    commands: list[Command] = []
    for deadline in active_deadlines(life):
        if deadline.overdue:
            continue
        if now >= deadline.due:
            commands.append(Supervise(reason="overdue", deadline=deadline.name))
        elif not deadline.warned and now >= rules.sla.warn_time(deadline.start, deadline.due):
            commands.append(Warn(deadline=deadline.name))
    return commands


def next_check(life: Lifecycle, rules: Rules) -> datetime | None:
    """The earliest moment ``due_commands`` will have something new, or ``None``."""
    moments = [
        d.due if d.warned else rules.sla.warn_time(d.start, d.due)
        for d in active_deadlines(life)
        if not d.overdue
    ]
    return min(moments, default=None)
