"""Orders and calls in the store: intake, transcripts, caller details, lifecycle actions.

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
* Every lifecycle step runs in one transaction that locks the order's row (``SELECT … FOR
  UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), applies
  the pure state machine, appends the ledger row, and queues any supervisor alert in the
  outbox (``steps.py``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workorders.errors import Conflict, NotFound, StoreUnavailable
from workorders.events.screenpop import (
    call_answered_event,
    command_topic,
    emergency_command,
    order_created_event,
    pop_topic,
)
from workorders.invalid_calls import InvalidCall, InvalidVerdict, judge_invalid
from workorders.lifecycle.machine import apply
from workorders.lifecycle.model import Actor, Command, LedgerEntry
from workorders.model import (
    AnsweredCall,
    CallerDetails,
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
from workorders.store import steps
from workorders.store.base import Part, fingerprint, shielded
from workorders.store.rows import call_result, new_order_row, order_from_row, outbox_row
from workorders.store.tables import (
    CallRow,
    IdempotencyRow,
    LedgerRow,
    OrderCounterRow,
    WorkOrderRow,
)

log = logging.getLogger("workorders.store")


@dataclass(frozen=True, slots=True)
class ActResult:
    order: WorkOrder
    entry: LedgerEntry
    replayed: bool


class OrderStore(Part):
    """Work orders (with their ledger) and the calls that lead to them."""

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
                await steps.start_lifecycle(
                    session, row, self._rules, self._clock(), domain=new.domain
                )
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
        (``steps.classified``: a suggestion; it may fill the domain or alert)."""
        async with self._transaction() as session:
            row = await steps.locked_order(session, number)
            row.description = update_.text
            row.transcript_status = update_.status
            row.updated_at = self._clock()
            if update_.classification is not None:
                steps.classified(session, row, update_.classification, self._rules, self._clock())
            await session.flush()
            order = order_from_row(row)
        log.info("order %s transcript %s", number, update_.status)
        return order

    @shielded
    async def set_caller_details(self, number: str, details: CallerDetails) -> WorkOrder:
        async with self._transaction() as session:
            row = await steps.locked_order(session, number)
            row.caller_name = details.caller_name
            row.callback_number = details.callback_number
            row.address = details.address
            row.confidential = details.confidential
            row.updated_at = self._clock()
            await session.flush()
            return order_from_row(row)

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

    # -- lifecycle steps ------------------------------------------------------------------

    @shielded
    async def act(
        self,
        number: str,
        command: Command,
        actor: Actor,
        *,
        idempotency_key: str,
        request: dict[str, Any],
    ) -> ActResult:
        """Apply one lifecycle command; a repeated key returns what it did the first time."""
        digest = fingerprint(request)
        try:
            async with self._transaction() as session:
                replay = await _replay_action(session, actor.name, idempotency_key, digest)
                if replay is not None:
                    return replay
                row = await steps.locked_order(session, number)
                outcome = apply(steps.lifecycle_of(row), command, actor, self._clock(), self._rules)
                ledger = await steps.record_step(
                    session, row, outcome.lifecycle, outcome.entry, outcome.alerts, self._rules
                )
                session.add(
                    IdempotencyRow(
                        owner=actor.name,
                        key=idempotency_key,
                        request_sha256=digest,
                        order_number=number,
                        ledger_id=ledger.id,
                        created_at=self._clock(),
                    )
                )
                await session.flush()
                order = order_from_row(row)
        except IntegrityError as exc:  # lost a race for the same key
            async with self._transaction() as session:
                replay = await _replay_action(session, actor.name, idempotency_key, digest)
            if replay is None:
                raise StoreUnavailable("the action could not be stored") from exc
            return replay
        log.info("order %s: %s by %s (%s)", number, command.action, actor.name, actor.role)
        return ActResult(order, outcome.entry, replayed=False)

    @shielded
    async def ledger(self, number: str) -> list[LedgerEntry]:
        async with self._transaction() as session:
            await steps.order_row(session, number)
            rows = await session.scalars(
                select(LedgerRow).where(LedgerRow.order_number == number).order_by(LedgerRow.id)
            )
            return [steps.ledger_entry(row) for row in rows]

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

    @shielded
    async def record_invalid_call(self, call: InvalidCall) -> InvalidVerdict:
        """Mark the call invalid (无效来电; creating its row if its answer was never recorded)
        and judge the number by its invalid calls in the repeat window. Repeating the same
        ``call_id`` changes nothing (``replayed``)."""
        policy = self._rules.sla.repeats
        async with self._transaction() as session:
            now = self._clock()
            row = await session.get(CallRow, call.call_id)
            replayed = row is not None and row.invalid_reason is not None
            if row is None:
                row = CallRow(
                    call_id=call.call_id, caller_number=call.caller_number, callee="",
                    group=call.group, worker=call.worker, answered_at=now,
                )  # fmt: skip
                session.add(row)
            if not replayed:
                row.invalid_reason, row.invalid_at = call.reason, now
            await session.flush()
            in_window = await session.scalar(
                select(func.count())
                .select_from(CallRow)
                .where(
                    CallRow.caller_number == row.caller_number,
                    CallRow.invalid_reason.is_not(None),
                    CallRow.answered_at >= now - policy.window,
                )
            )
        verdict = judge_invalid(row.caller_number, int(in_window or 0), policy)
        if not replayed:
            log.info(
                "invalid call (%s) from %s: %d in the window%s",
                call.reason, mask_phone(row.caller_number), verdict.in_window,
                " — ABUSIVE REPETITION" if verdict.abusive else "",
            )  # fmt: skip
        return InvalidVerdict(verdict.in_window, verdict.abusive, replayed)


async def _order_by_key(session: AsyncSession, key: str) -> WorkOrderRow | None:
    return await session.scalar(select(WorkOrderRow).where(WorkOrderRow.idempotency_key == key))


def _replay(row: WorkOrderRow, fingerprint: str) -> CreateResult:
    if row.request_sha256 != fingerprint:
        raise Conflict(
            f"Idempotency-Key already created order {row.number} from a different request",
            field="Idempotency-Key",
        )
    return CreateResult(order=order_from_row(row), replayed=True)


async def _replay_action(
    session: AsyncSession, owner: str, key: str, digest: str
) -> ActResult | None:
    done = await session.get(IdempotencyRow, (owner, key))
    if done is None:
        return None
    if done.request_sha256 != digest:
        raise Conflict(
            "Idempotency-Key already used for a different request", field="Idempotency-Key"
        )
    row = await steps.order_row(session, done.order_number)
    ledger = await session.get(LedgerRow, done.ledger_id)
    assert ledger is not None
    return ActResult(order_from_row(row), steps.ledger_entry(ledger), replayed=True)
