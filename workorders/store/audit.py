"""The audit log of unmasked reads (who saw a confidential complainant, when, and why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from workorders.fields import MAX_ACCESS_REASON
from workorders.lifecycle.model import Actor
from workorders.store.base import Part, shielded
from workorders.store.tables import AuditRow


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    role: str
    order_number: str
    reason: str


class AuditLog(Part):
    @shielded
    async def record_reads(self, actor: Actor, numbers: list[str], reason: str) -> None:
        """Audit unmasked reads of ``numbers`` by ``actor``."""
        if not numbers:
            return
        async with self._transaction() as session:
            now = self._clock()
            for number in numbers:
                session.add(
                    AuditRow(
                        at=now,
                        actor=actor.name,
                        role=actor.role,
                        order_number=number,
                        reason=reason[:MAX_ACCESS_REASON],
                    )
                )

    @shielded
    async def audit_log(
        self, *, number: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[AuditRecord]:
        query = select(AuditRow)
        if number is not None:
            query = query.where(AuditRow.order_number == number)
        query = query.order_by(AuditRow.id.desc()).limit(limit).offset(offset)
        async with self._transaction() as session:
            rows = await session.scalars(query)
            return [AuditRecord(r.at, r.actor, r.role, r.order_number, r.reason) for r in rows]
