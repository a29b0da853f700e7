"""Lifecycle writes inside a caller's transaction: the intake start, the speech
classification, a step with its ledger row, and supervisor alerts with their outbox rows.

Functions of an open session, shared by ``OrderStore`` (intake, actions) and
``SupervisionStore`` (the deadline sweep), so an order's change, its ledger row, its 督办
record and the outbox row announcing it always commit in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from workorders.errors import NotFound
from workorders.events.alerts import SPEECH_EMERGENCY, SUPERVISOR_TOPIC, alert_event
from workorders.lifecycle.machine import Rules, new_lifecycle, next_check
from workorders.lifecycle.model import Alert, LedgerEntry, Lifecycle, State
from workorders.model import Classification
from workorders.repeats import RepeatVerdict, judge_repeat
from workorders.store.rows import outbox_row
from workorders.store.tables import LedgerRow, SupervisionRow, WorkOrderRow


async def start_lifecycle(
    session: AsyncSession,
    row: WorkOrderRow,
    rules: Rules,
    now: datetime,
    *,
    domain: str | None = None,
) -> None:
    """The lifecycle of a new order (called inside ``create_order``'s transaction)."""
    life = replace(new_lifecycle(row.category, row.received_at, rules), domain=domain)
    verdict = await _judge_repeat(session, row, rules)
    row.flags = [*row.flags, *(flag for flag in verdict.flags if flag not in row.flags)]
    row.repeat_of = verdict.repeat_of
    store_lifecycle(row, life, rules)
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
    session.add(ledger_row(row.number, entry))
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
        session.add(ledger_row(row.number, repeat))
    if verdict.alert:
        raise_alert(session, row, Alert("red", "abusive_repetition"), now)
    if row.category == "emergency":
        # An emergency is being transferred to its dedicated line right now: supervisors
        # hear of it at once, not at 75 % of its 2-hour limit.
        raise_alert(session, row, Alert("red", "urgent_order"), now)


def classified(
    session: AsyncSession,
    row: WorkOrderRow,
    classification: Classification,
    rules: Rules,
    now: datetime,
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
    life = lifecycle_of(row)
    filled = life.domain is None and classification.domain_backed
    if filled:
        life = replace(life, domain=classification.domain)
        store_lifecycle(row, life, rules)
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
    session.add(ledger_row(row.number, entry))
    line = classification.emergency_line
    if line is not None and line != previous_line and row.category != "emergency":
        raise_alert(session, row, Alert("red", SPEECH_EMERGENCY, line=line), now)


async def _judge_repeat(session: AsyncSession, row: WorkOrderRow, rules: Rules) -> RepeatVerdict:
    policy = rules.sla.repeats
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


async def record_step(
    session: AsyncSession,
    row: WorkOrderRow,
    life: Lifecycle,
    entry: LedgerEntry,
    alerts: tuple[Alert, ...],
    rules: Rules,
) -> LedgerRow:
    """One lifecycle step: the order's new lifecycle, its ledger row and its alerts."""
    store_lifecycle(row, life, rules)
    row.updated_at = entry.at
    ledger = ledger_row(row.number, entry)
    session.add(ledger)
    for alert in alerts:
        raise_alert(session, row, alert, entry.at)
    await session.flush()
    return ledger


def raise_alert(session: AsyncSession, row: WorkOrderRow, alert: Alert, now: datetime) -> None:
    """A 督办 record and its ``order.alert`` outbox row, in the caller's transaction."""
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


async def locked_order(session: AsyncSession, number: str) -> WorkOrderRow:
    """The order's row, locked until commit (``FOR UPDATE`` on PostgreSQL)."""
    row = await session.scalar(
        select(WorkOrderRow).where(WorkOrderRow.number == number).with_for_update()
    )
    if row is None:
        raise NotFound(f"no work order {number}", field="number")
    return row


async def order_row(session: AsyncSession, number: str) -> WorkOrderRow:
    row = await session.scalar(select(WorkOrderRow).where(WorkOrderRow.number == number))
    if row is None:
        raise NotFound(f"no work order {number}", field="number")
    return row


def lifecycle_of(row: WorkOrderRow) -> Lifecycle:
    if row.lifecycle is None:  # an order from before the lifecycle existed
        return Lifecycle(State(row.status), row.category, "general", row.received_at)
    return Lifecycle.from_json(row.lifecycle)


def store_lifecycle(row: WorkOrderRow, life: Lifecycle, rules: Rules) -> None:
    row.lifecycle = life.to_json()
    row.status = life.state.value
    row.unit = life.unit
    row.region = life.region
    row.about_unit = life.about_unit
    row.next_check_at = next_check(life, rules)


def ledger_row(number: str, entry: LedgerEntry) -> LedgerRow:
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


def ledger_entry(row: LedgerRow) -> LedgerEntry:
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
