"""Orders due soon and overdue (督办) for the wallboard. Pure.

An open order is *overdue* when one of its running deadlines (``active_deadlines``: handling,
sign-for, feedback) is past; *due soon* when the earliest one falls within ``within`` from
``now``. Each order appears once, under its most urgent running deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workorders.lifecycle.machine import active_deadlines
from workorders.lifecycle.model import Lifecycle
from workorders.model import format_utc

DEADLINE_LABELS = {"handling": "办理时限", "sign_for": "签收时限", "feedback": "反馈时限"}


@dataclass(frozen=True, slots=True)
class DueInput:
    number: str
    lifecycle: Lifecycle
    unit: str | None


@dataclass(frozen=True, slots=True)
class DueItem:
    number: str
    deadline: str
    due: datetime
    state: str
    unit: str | None
    overdue: bool
    supervisions: int
    estimate: bool = False  # the due time was counted past the calendar's horizon

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "number": self.number,
            "deadline": self.deadline,
            "deadline_label": DEADLINE_LABELS.get(self.deadline, self.deadline),
            "due": format_utc(self.due),
            "minutes_left": int((self.due - now).total_seconds() // 60),
            "state": self.state,
            "unit": self.unit,
            "overdue": self.overdue,
            "supervisions": self.supervisions,
            "estimate": self.estimate,
        }


def due_items(
    orders: Iterable[DueInput], now: datetime, within: timedelta
) -> tuple[list[DueItem], list[DueItem]]:
    """(overdue, due soon), each most urgent first."""
    overdue: list[DueItem] = []
    soon: list[DueItem] = []
    for order in orders:
        running = active_deadlines(order.lifecycle)
        if not running:
            continue
        first = min(running, key=lambda deadline: deadline.due)
        item = DueItem(
            number=order.number,
            deadline=first.name,
            due=first.due,
            state=order.lifecycle.state.value,
            unit=order.unit,
            overdue=first.due <= now,
            supervisions=order.lifecycle.supervisions,
            estimate=first.estimate,
        )
        if item.overdue:
            overdue.append(item)
        elif first.due <= now + within:
            soon.append(item)
    overdue.sort(key=lambda item: (item.due, item.number))
    soon.sort(key=lambda item: (item.due, item.number))
    return overdue, soon
