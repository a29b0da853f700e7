"""The lifecycle in the store: actions, ledger, 督办 sweeps, audit log, reports.

Every lifecycle step runs in one transaction that locks the order's row (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), applies the
pure state machine, appends the ledger row, and queues any supervisor alert in the outbox.
The deadline sweep takes due orders with ``FOR UPDATE SKIP LOCKED``, so several service
instances on one PostgreSQL never handle the same order twice, and because it works from
``next_check_at`` it catches up with everything that fell due while no instance ran.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workorders.errors import Conflict, NotFound, StoreUnavailable
from workorders.events.alerts import SPEECH_EMERGENCY, SUPERVISOR_TOPIC, alert_event
from workorders.lifecycle.machine import apply, due_commands, new_lifecycle, next_check
from workorders.lifecycle.model import (
    SYSTEM,
    Actor,
    Alert,
    Command,
    LedgerEntry,
    Lifecycle,
    State,
)
from workorders.model import CallerDetails, Classification, WorkOrder
from workorders.rates import RateInput
from workorders.repeats import RepeatVerdict, judge_repeat
from workorders.store.base import StoreCore, fingerprint, shielded
from workorders.store.rows import order_from_row, outbox_row
from workorders.store.tables import (
    AuditRow,
    IdempotencyRow,
    LedgerRow,
    SupervisionRow,
    WorkOrderRow,
)

log = logging.getLogger("workorders.store")


@dataclass(frozen=True, slots=True)
class ActResult:
    order: WorkOrder
    entry: LedgerEntry
    replayed: bool


@dataclass(frozen=True, slots=True)
class Supervision:
    order_number: str
    at: datetime
    level: str
    reason: str
    deadline: str | None
    due: datetime | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    role: str
    order_number: str
    reason: str


class WorkflowStore(StoreCore):
    # -- intake (called inside create_order's transaction) --------------------------------

    async def _start_lifecycle(
        self, session: AsyncSession, row: WorkOrderRow, *, domain: str | None = None
    ) -> None:
        life = replace(new_lifecycle(row.category, row.received_at, self._rules), domain=domain)
        verdict = await self._judge_repeat(session, row)
        row.flags = [*row.flags, *(flag for flag in verdict.flags if flag not in row.flags)]
        row.repeat_of = verdict.repeat_of
        _store_lifecycle(row, life, self._rules_next_check(life))
        now = self._clock()
        entry = LedgerEntry(
            now,
            "intake",
            "ivr",
            None,
            "receive",
            life.state,
            "",
            {
                "category": row.category,
                "limit": life.limit_class,
                **({"domain": domain} if domain is not None else {}),
                **({"priority": row.priority} if row.priority is not None else {}),
            },
        )
        session.add(_ledger_row(row.number, entry))
        if verdict.repeat_of is not None:
            repeat = LedgerEntry(
                now,
                "intake",
                "ivr",
                None,
                "link_repeat",
                life.state,
                "重复来电",
                {"repeat_of": verdict.repeat_of},
            )
            session.add(_ledger_row(row.number, repeat))
        if verdict.alert:
            self._alert(session, row, Alert("red", "abusive_repetition"), now)
        if row.category == "emergency":
            # An emergency is being transferred to its dedicated line right now: supervisors
            # hear of it at once, not at 75 % of its 2-hour limit.
            self._alert(session, row, Alert("red", "urgent_order"), now)

    def _classified(
        self, session: AsyncSession, row: WorkOrderRow, classification: Classification
    ) -> None:
        """Keep the IVR's speech classification on the order (part of ``set_transcript``).

        The caller's menu choice stays the category. The classification is kept whole, with
        its evidence, as a suggestion for the agent; its domain fills the order's domain when
        the order has none and a domain word backs it (then dispatch can use it); an emergency
        line heard on an order that is not an emergency alerts supervisors (red,
        ``speech_emergency``). A repeated identical PUT (a client retry) changes nothing more.
        """
        stored = classification.to_json()
        if row.classification == stored:
            return
        previous_line = (row.classification or {}).get("emergency_line")
        row.classification = stored
        life = _lifecycle(row)
        filled = life.domain is None and classification.domain_backed
        if filled:
            life = replace(life, domain=classification.domain)
            _store_lifecycle(row, life, self._rules_next_check(life))
        now = self._clock()
        entry = LedgerEntry(
            now,
            "intake",
            "ivr",
            None,
            "speech_classified",
            life.state,
            "语音识别分类（建议）",
            {
                "category": classification.category,
                "domain": classification.domain,
                "emergency_line": classification.emergency_line,
                "domain_filled": filled,
            },
        )
        session.add(_ledger_row(row.number, entry))
        line = classification.emergency_line
        if line is not None and line != previous_line and row.category != "emergency":
            self._alert(session, row, Alert("red", SPEECH_EMERGENCY, line=line), now)

    async def _judge_repeat(self, session: AsyncSession, row: WorkOrderRow) -> RepeatVerdict:
        policy = self._rules.sla.repeats
        earlier = await session.scalars(
            select(WorkOrderRow.number)
            .where(
                WorkOrderRow.caller_number == row.caller_number,
                WorkOrderRow.received_at >= row.received_at - policy.window,
                WorkOrderRow.received_at <= row.received_at,
            )
            .order_by(WorkOrderRow.received_at, WorkOrderRow.id)
        )
        return judge_repeat(row.caller_number, list(earlier), policy)

    def _rules_next_check(self, life: Lifecycle) -> datetime | None:
        return next_check(life, self._rules)

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
                replay = await self._replay(session, actor.name, idempotency_key, digest)
                if replay is not None:
                    return replay
                row = await self._locked_order(session, number)
                outcome = apply(_lifecycle(row), command, actor, self._clock(), self._rules)
                ledger = await self._record(
                    session, row, outcome.lifecycle, outcome.entry, outcome.alerts
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
                replay = await self._replay(session, actor.name, idempotency_key, digest)
            if replay is None:
                raise StoreUnavailable("the action could not be stored") from exc
            return replay
        log.info("order %s: %s by %s (%s)", number, command.action, actor.name, actor.role)
        return ActResult(order, outcome.entry, replayed=False)

    async def _replay(
        self, session: AsyncSession, owner: str, key: str, digest: str
    ) -> ActResult | None:
        done = await session.get(IdempotencyRow, (owner, key))
        if done is None:
            return None
        if done.request_sha256 != digest:
            raise Conflict(
                "Idempotency-Key already used for a different request", field="Idempotency-Key"
            )
        row = await self._order_row(session, done.order_number)
        ledger = await session.get(LedgerRow, done.ledger_id)
        assert ledger is not None
        return ActResult(order_from_row(row), _entry(ledger), replayed=True)

    async def _record(
        self,
        session: AsyncSession,
        row: WorkOrderRow,
        life: Lifecycle,
        entry: LedgerEntry,
        alerts: tuple[Alert, ...],
    ) -> LedgerRow:
        _store_lifecycle(row, life, self._rules_next_check(life))
        row.updated_at = entry.at
        ledger = _ledger_row(row.number, entry)
        session.add(ledger)
        for alert in alerts:
            self._alert(session, row, alert, entry.at)
        await session.flush()
        return ledger

    def _alert(self, session: AsyncSession, row: WorkOrderRow, alert: Alert, now: datetime) -> None:
        session.add(
            SupervisionRow(
                order_number=row.number,
                at=now,
                level=alert.level,
                reason=alert.reason,
                deadline=alert.deadline,
                due=alert.due,
                unit=row.unit,
            )
        )
        event_id = str(uuid.uuid4())
        event = alert_event(event_id, row.number, row.unit, alert, now)
        session.add(outbox_row(event_id, SUPERVISOR_TOPIC, now, event))

    async def _locked_order(self, session: AsyncSession, number: str) -> WorkOrderRow:
        row = await session.scalar(
            select(WorkOrderRow).where(WorkOrderRow.number == number).with_for_update()
        )
        if row is None:
            raise NotFound(f"no work order {number}", field="number")
        return row

    async def _order_row(self, session: AsyncSession, number: str) -> WorkOrderRow:
        row = await session.scalar(select(WorkOrderRow).where(WorkOrderRow.number == number))
        if row is None:
            raise NotFound(f"no work order {number}", field="number")
        return row

    @shielded
    async def set_caller_details(self, number: str, details: CallerDetails) -> WorkOrder:
        async with self._transaction() as session:
            row = await self._locked_order(session, number)
            row.caller_name = details.caller_name
            row.callback_number = details.callback_number
            row.address = details.address
            row.confidential = details.confidential
            row.updated_at = self._clock()
            await session.flush()
            return order_from_row(row)

    @shielded
    async def ledger(self, number: str) -> list[LedgerEntry]:
        async with self._transaction() as session:
            await self._order_row(session, number)
            rows = await session.scalars(
                select(LedgerRow).where(LedgerRow.order_number == number).order_by(LedgerRow.id)
            )
            return [_entry(row) for row in rows]

    # -- deadlines ------------------------------------------------------------------------

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
                    life = _lifecycle(row)
                    for command in due_commands(life, now, self._rules):
                        outcome = apply(life, command, SYSTEM, now, self._rules)
                        life = outcome.lifecycle
                        await self._record(session, row, life, outcome.entry, outcome.alerts)
                    _store_lifecycle(row, life, self._rules_next_check(life))
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

    # -- audit and reports ----------------------------------------------------------------

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
                        reason=reason[:200],
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

    @shielded
    async def rate_inputs(
        self,
        *,
        start: datetime,
        end: datetime,
        units: frozenset[str] | None = None,
        region: str | None = None,
    ) -> list[RateInput]:
        """Orders received in ``[start, end)``, of ``units`` (``None``: all) and ``region``."""
        query = select(WorkOrderRow.lifecycle, WorkOrderRow.unit, WorkOrderRow.region).where(
            WorkOrderRow.received_at >= start, WorkOrderRow.received_at < end
        )
        if units is not None:
            query = query.where(WorkOrderRow.unit.in_(sorted(units)))
        async with self._transaction() as session:
            rows = (await session.execute(query)).all()
        inputs = []
        for data, _unit, order_region in rows:
            if region is not None and not (
                order_region == region or (order_region or "").startswith(region + "/")
            ):
                continue
            if data is None:
                continue
            life = Lifecycle.from_json(data)
            inputs.append(RateInput(valid=life.valid, callback=life.callback))
        return inputs


def _lifecycle(row: WorkOrderRow) -> Lifecycle:
    if row.lifecycle is None:  # an order from before the lifecycle existed
        return Lifecycle(State(row.status), row.category, "general", row.received_at)
    return Lifecycle.from_json(row.lifecycle)


def _store_lifecycle(row: WorkOrderRow, life: Lifecycle, check_at: datetime | None) -> None:
    row.lifecycle = life.to_json()
    row.status = life.state.value
    row.unit = life.unit
    row.region = life.region
    row.about_unit = life.about_unit
    row.next_check_at = check_at


def _ledger_row(number: str, entry: LedgerEntry) -> LedgerRow:
    return LedgerRow(
        order_number=number,
        at=entry.at,
        actor=entry.actor,
        role=entry.role,
        unit=entry.unit,
        action=entry.action,
        state=entry.state.value,
        note=entry.note,
        data=entry.data,
    )


def _entry(row: LedgerRow) -> LedgerEntry:
    return LedgerEntry(
        at=row.at,
        actor=row.actor,
        role=row.role,
        unit=row.unit,
        action=row.action,
        state=State(row.state),
        note=row.note,
        data=row.data,
    )
