"""督办 in the store: the deadline sweep and the supervision records it leaves.

The sweep takes due orders with ``FOR UPDATE SKIP LOCKED``, so several service instances on
one PostgreSQL never handle the same order twice, and because it works from
``next_check_at`` it catches up with everything that fell due while no instance ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from workorders.lifecycle.machine import apply, due_commands
from workorders.lifecycle.model import SYSTEM
from workorders.store import steps
from workorders.store.base import Part, shielded
from workorders.store.tables import SupervisionRow, WorkOrderRow


@dataclass(frozen=True, slots=True)
class Supervision:
    order_number: str
    at: datetime
    level: str
    reason: str
    deadline: str | None
    due: datetime | None
    unit: str | None


class SupervisionStore(Part):
    @shielded
    async def sweep(self, *, batch: int = 50) -> int:
        """Warn and supervise every order whose next check is due; the number handled."""
        handled = 0
        while True:
            async with self._transaction() as session:
                now = self._clock()
                rows = list(
                    await session.scalars(
                        select(WorkOrderRow)
                        .where(WorkOrderRow.next_check_at <= now)
                        .order_by(WorkOrderRow.next_check_at)
                        .limit(batch)
                        .with_for_update(skip_locked=True)
                    )
                )
                for row in rows:
                    life = steps.lifecycle_of(row)
                    for command in due_commands(life, now, self._rules):
                        outcome = apply(life, command, SYSTEM, now, self._rules)
                        life = outcome.lifecycle
                        await steps.record_step(
                            session, row, life, outcome.entry, outcome.alerts, self._rules
                        )
                    steps.store_lifecycle(row, life, self._rules)
            handled += len(rows)
            if len(rows) < batch:
                return handled

    @shielded
    async def supervisions(
        self,
        *,
        number: str | None = None,
        units: frozenset[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Supervision]:
        """督办 records newest first; ``units`` limits them to orders handled by those units
        (``None``: all)."""
        query = select(SupervisionRow)
        if number is not None:
            query = query.where(SupervisionRow.order_number == number)
        if units is not None:
            handled = select(WorkOrderRow.number).where(WorkOrderRow.unit.in_(sorted(units)))
            query = query.where(SupervisionRow.order_number.in_(handled))
        query = query.order_by(SupervisionRow.id.desc()).limit(limit).offset(offset)
        async with self._transaction() as session:
            rows = await session.scalars(query)
            return [
                Supervision(r.order_number, r.at, r.level, r.reason, r.deadline, r.due, r.unit)
                for r in rows
            ]
