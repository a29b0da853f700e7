"""The work-order store: the only code that talks to the database (SQLAlchemy 2, async).

What must hold on SQLite and on PostgreSQL:

* Order numbers are drawn from ``order_counters`` with one atomic upsert
  (``INSERT … ON CONFLICT DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq``). On
  PostgreSQL the upsert row-locks the day's counter until commit; on SQLite every transaction
  starts with ``BEGIN IMMEDIATE`` (see ``base.py``).
* An order, its lifecycle start (ledger, repeat-caller link) and its ``order.created`` outbox
  row commit in one transaction, and so do a call and its ``call.answered`` row.
* A repeated idempotency key (or call id) returns what exists and writes nothing; when two
  creates race, the loser hits the unique constraint, rolls back (its counter increment too)
  and re-reads the winner's row.

Lifecycle steps, deadlines, audit and reports are in ``workflow.py``; plumbing in ``base.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workorders.errors import Conflict, NotFound, StoreUnavailable
from workorders.events.screenpop import (
    OutboxMessage,
    call_answered_event,
    command_topic,
    emergency_command,
    order_created_event,
    pop_topic,
)
from workorders.model import (
    AnsweredCall,
    CallResult,
    CreateResult,
    NewOrder,
    Page,
    TranscriptUpdate,
    WorkOrder,
    format_order_number,
    mask_phone,
    order_day,
)
from workorders.store.acd import AcdStore
from workorders.store.base import Clock, fingerprint, shielded, utc_now
from workorders.store.console import ConsoleStore
from workorders.store.rows import (
    call_result,
    message_from_row,
    new_order_row,
    order_from_row,
    outbox_row,
)
from workorders.store.tables import (
    ApiTokenRow,
    CallRow,
    OrderCounterRow,
    OutboxRow,
    WorkOrderRow,
)
from workorders.store.workflow import WorkflowStore
from workorders.tokens import Principal, check_role, check_token_text, new_token, token_digest

log = logging.getLogger("workorders.store")


class Store(WorkflowStore, AcdStore, ConsoleStore):
    """Async access to orders, calls, tokens, the outbox, the ACD (``acd.py``) and console users
    (``console.py``). Create with ``Store.open(url)``."""

    @shielded
    async def create_order(self, new: NewOrder, *, idempotency_key: str) -> CreateResult:
        """Create an order and its ``order.created`` event, or return the order that
        ``idempotency_key`` already created (``replayed=True``; nothing is written)."""
        digest = fingerprint(new.canonical())
        try:
            async with self._transaction() as session:
                existing = await _order_by_key(session, idempotency_key)
                if existing is not None:
                    return _replay(existing, digest)
                now = self._clock()
                day = order_day(now)
                number = format_order_number(day, await self._next_sequence(session, day))
                row = new_order_row(new, number, idempotency_key, digest, now)
                await self._start_lifecycle(session, row, domain=new.domain)
                session.add(row)
                await session.flush()
                order = order_from_row(row)
                event_id = str(uuid.uuid4())
                event = order_created_event(event_id, order, now)
                session.add(outbox_row(event_id, pop_topic(order.group), now, event))
        except IntegrityError as exc:
            # Lost a race for the same idempotency key: the other create committed first.
            async with self._transaction() as session:
                existing = await _order_by_key(session, idempotency_key)
            if existing is None:
                raise StoreUnavailable("the order could not be stored") from exc
            return _replay(existing, digest)
        log.info(
            "order %s created: caller %s category %s group %s",
            order.number,
            mask_phone(order.caller_number),
            order.category,
            order.group,
        )
        return CreateResult(order=order, replayed=False)

    @shielded
    async def get_order(self, number: str) -> WorkOrder:
        async with self._transaction() as session:
            row = await session.scalar(select(WorkOrderRow).where(WorkOrderRow.number == number))
        if row is None:
            raise NotFound(f"no work order {number}", field="number")
        return order_from_row(row)

    @shielded
    async def list_orders(
        self, page: Page, *, units: frozenset[str] | None = None
    ) -> list[WorkOrder]:
        """Orders newest first (by the time the call was received), optionally of one caller
        or status; ``units`` limits them to those handling units (``None``: all orders)."""
        query = select(WorkOrderRow)
        if page.caller is not None:
            query = query.where(WorkOrderRow.caller_number == page.caller)
        if page.status is not None:
            query = query.where(WorkOrderRow.status == page.status)
        if units is not None:
            query = query.where(WorkOrderRow.unit.in_(sorted(units)))
        query = (
            query.order_by(WorkOrderRow.received_at.desc(), WorkOrderRow.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        async with self._transaction() as session:
            rows = (await session.scalars(query)).all()
        return [order_from_row(row) for row in rows]

    @shielded
    async def set_transcript(self, number: str, update_: TranscriptUpdate) -> WorkOrder:
        """Store the intake's transcript and, when given, its speech classification
        (``WorkflowStore._classified``: a suggestion; it may fill the domain or alert)."""
        async with self._transaction() as session:
            row = await self._locked_order(session, number)
            row.description = update_.text
            row.transcript_status = update_.status
            row.updated_at = self._clock()
            if update_.classification is not None:
                self._classified(session, row, update_.classification)
            await session.flush()
            order = order_from_row(row)
        log.info("order %s transcript %s", number, update_.status)
        return order

    async def _next_sequence(self, session: AsyncSession, day: str) -> int:
        insert = postgresql.insert if self._backend == "postgresql" else sqlite.insert
        statement = (
            insert(OrderCounterRow)
            .values(day=day, last_seq=1)
            .on_conflict_do_update(
                index_elements=[OrderCounterRow.day],
                set_={"last_seq": OrderCounterRow.last_seq + 1},
            )
            .returning(OrderCounterRow.last_seq)
        )
        sequence: int = (await session.execute(statement)).scalar_one()
        return sequence

    # -- calls ----------------------------------------------------------------------------

    @shielded
    async def record_call(self, call: AnsweredCall) -> CallResult:
        """Record an answered call and its ``call.answered`` event; a repeated ``call_id``
        returns the stored call (``replayed=True``) and publishes nothing new."""
        try:
            async with self._transaction() as session:
                existing = await session.get(CallRow, call.call_id)
                if existing is not None:
                    return call_result(existing, replayed=True)
                now = self._clock()
                row = CallRow(
                    call_id=call.call_id,
                    caller_number=call.caller_number,
                    callee=call.callee,
                    group=call.group,
                    worker=call.worker,
                    answered_at=now,
                )
                session.add(row)
                await session.flush()
                event_id = str(uuid.uuid4())
                event = call_answered_event(event_id, call, now)
                session.add(outbox_row(event_id, pop_topic(call.group), now, event))
        except IntegrityError as exc:
            async with self._transaction() as session:
                existing = await session.get(CallRow, call.call_id)
            if existing is None:
                raise StoreUnavailable("the call could not be stored") from exc
            return call_result(existing, replayed=True)
        log.info("call answered: caller %s group %s", mask_phone(call.caller_number), call.group)
        return call_result(row, replayed=False)

    async def request_emergency(self, call_id: str, line: str, by: str) -> str:
        """Queue an ``call.emergency`` command for the worker holding the call; its event id.

        The call must have been answered (``record_call``); whether it is still in
        progress only the IVR knows — a command for a call that has ended is ignored there.
        """
        async with self._transaction() as session:
            if await session.get(CallRow, call_id) is None:
                raise NotFound(f"no answered call {call_id}", field="call_id")
            now = self._clock()
            event_id = str(uuid.uuid4())
            event = emergency_command(event_id, call_id, line, by, now)
            session.add(outbox_row(event_id, command_topic(call_id), now, event))
        log.warning("emergency %s requested by %s for a call in progress", line, by)
        return event_id

    # -- tokens ---------------------------------------------------------------------------

    async def create_token(self, name: str, role: str, unit: str | None = None) -> str:
        """Create an API token and return it in clear; only its SHA-256 is stored."""
        token = new_token()
        await self._register_token(token, name, role, unit)
        return token

    @shielded
    async def authenticate(self, token: str) -> Principal | None:
        digest = token_digest(token)
        async with self._transaction() as session:
            row = await session.scalar(
                select(ApiTokenRow).where(ApiTokenRow.token_sha256 == digest)
            )
        return None if row is None else Principal(name=row.name, role=row.role, unit=row.unit)

    async def ensure_token_file(self, path: str | os.PathLike[str], name: str, role: str) -> str:
        """The token kept in ``path``; created (file mode 0600) when the file is missing.

        A token found in the file but unknown to the database (e.g. a fresh database) is
        registered again under ``name``/``role``, so the file stays the source of truth.
        """
        check_role(role)
        token, created = await asyncio.to_thread(_claim_token_file, Path(path), new_token())
        if created or await self.authenticate(token) is None:
            await self._register_token(token, name, role, None)
        if created:
            log.info("created %s token %r in %s", role, name, path)
        return token

    @shielded
    async def _register_token(self, token: str, name: str, role: str, unit: str | None) -> None:
        check_role(role)
        async with self._transaction() as session:
            session.add(
                ApiTokenRow(
                    name=name,
                    role=role,
                    unit=unit,
                    token_sha256=token_digest(token),
                    created_at=self._clock(),
                )
            )

    # -- outbox ---------------------------------------------------------------------------

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
                .values(attempts=OutboxRow.attempts + 1, failure=reason[:500] or None)
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
                .values(quarantined_at=self._clock(), failure=reason[:500])
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

    # -- plumbing -------------------------------------------------------------------------


def _claim_token_file(file: Path, candidate: str) -> tuple[str, bool]:
    """Write ``candidate`` to a new 0600 ``file``, or read the token already there.

    ``O_EXCL`` makes two processes starting at once agree on one token.
    """
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return check_token_text(file.read_text(encoding="ascii").strip()), False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(candidate + "\n")
    return candidate, True


async def _order_by_key(session: AsyncSession, key: str) -> WorkOrderRow | None:
    return await session.scalar(select(WorkOrderRow).where(WorkOrderRow.idempotency_key == key))


def _replay(row: WorkOrderRow, fingerprint: str) -> CreateResult:
    if row.request_sha256 != fingerprint:
        raise Conflict(
            f"Idempotency-Key already created order {row.number} from a different request",
            field="Idempotency-Key",
        )
    return CreateResult(order=order_from_row(row), replayed=True)


__all__ = ["Clock", "Store", "utc_now"]
