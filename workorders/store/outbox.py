"""The transactional outbox: rows written with the changes they announce (by the other
parts, in their transactions) and read, marked and quarantined here by the publisher
(``workorders.events.publisher``) and by operators."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from workorders.errors import NotFound
from workorders.events.screenpop import OutboxMessage
from workorders.fields import MAX_OUTBOX_FAILURE
from workorders.store.base import Part, shielded
from workorders.store.rows import message_from_row
from workorders.store.tables import OutboxRow

log = logging.getLogger("workorders.store")


class OutboxStore(Part):
    @shielded
    async def outbox(self, *, unsent_only: bool = True, limit: int = 100) -> list[OutboxMessage]:
        """Outbox rows oldest first; by default only those still to publish (unsent and not
        quarantined)."""
        query = select(OutboxRow)
        if unsent_only:
            query = query.where(OutboxRow.sent_at.is_(None), OutboxRow.quarantined_at.is_(None))
        query = query.order_by(OutboxRow.seq).limit(limit)
        async with self._transaction() as session:
            rows = (await session.scalars(query)).all()
        return [message_from_row(row) for row in rows]

    @shielded
    async def mark_sent(self, message_id: str) -> None:
        """Record a publish the broker acknowledged."""
        async with self._transaction() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id, OutboxRow.sent_at.is_(None))
                .values(sent_at=self._clock(), attempts=OutboxRow.attempts + 1)
            )

    @shielded
    async def record_failed_attempt(self, message_id: str, reason: str = "") -> int:
        """Count a publish of the row that failed, with why; the row's attempts so far."""
        async with self._transaction() as session:
            attempts = await session.scalar(
                update(OutboxRow)
                .where(OutboxRow.id == message_id)
                .values(
                    attempts=OutboxRow.attempts + 1, failure=reason[:MAX_OUTBOX_FAILURE] or None
                )
                .returning(OutboxRow.attempts)
            )
        return 0 if attempts is None else int(attempts)

    @shielded
    async def quarantine(self, message_id: str, reason: str) -> None:
        """Hold the row back for good: it is kept with ``reason`` and no longer published."""
        async with self._transaction() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id, OutboxRow.sent_at.is_(None))
                .values(quarantined_at=self._clock(), failure=reason[:MAX_OUTBOX_FAILURE])
            )
        log.error("outbox row %s quarantined: %s", message_id, reason)

    @shielded
    async def quarantined(self, *, limit: int = 50, offset: int = 0) -> list[OutboxMessage]:
        """Quarantined rows, newest quarantine first (for operators)."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.quarantined_at.is_not(None), OutboxRow.sent_at.is_(None))
            .order_by(OutboxRow.quarantined_at.desc(), OutboxRow.seq.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._transaction() as session:
            rows = (await session.scalars(query)).all()
        return [message_from_row(row) for row in rows]

    @shielded
    async def release_quarantined(self, message_id: str) -> None:
        """Let the publisher try a quarantined row again (after the cause was fixed)."""
        async with self._transaction() as session:
            released = await session.scalar(
                update(OutboxRow)
                .where(OutboxRow.id == message_id, OutboxRow.quarantined_at.is_not(None))
                .values(quarantined_at=None, attempts=0)
                .returning(OutboxRow.id)
            )
        if released is None:
            raise NotFound(f"no quarantined event {message_id}", field="id")
        log.warning("outbox row %s released from quarantine", message_id)
