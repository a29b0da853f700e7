"""Conversions between table rows and the package's frozen model values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workorders.events.screenpop import OutboxMessage
from workorders.model import (
    CHANNEL_PHONE,
    STATUS_RECEIVED,
    TRANSCRIPT_PENDING,
    AnsweredCall,
    CallResult,
    NewOrder,
    WorkOrder,
)
from workorders.store.tables import CallRow, OutboxRow, WorkOrderRow


def new_order_row(
    new: NewOrder, number: str, key: str, fingerprint: str, now: datetime
) -> WorkOrderRow:
    return WorkOrderRow(
        number=number,
        idempotency_key=key,
        request_sha256=fingerprint,
        channel=CHANNEL_PHONE,
        caller_number=new.caller_number,
        call_id=new.call_id,
        received_at=new.received_at or now,
        category=new.category,
        menu_path=list(new.menu_path),
        flags=list(new.flags),
        description=None,
        transcript_status=TRANSCRIPT_PENDING,
        recording=new.recording,
        flow_version=new.flow_version,
        status=STATUS_RECEIVED,
        group=new.group,
        created_at=now,
        updated_at=now,
        confidential=False,
        priority=new.priority,
    )


def order_from_row(row: WorkOrderRow) -> WorkOrder:
    return WorkOrder(
        number=row.number,
        channel=row.channel,
        caller_number=row.caller_number,
        received_at=row.received_at,
        category=row.category,
        menu_path=tuple(row.menu_path),
        flags=tuple(row.flags),
        description=row.description,
        transcript_status=row.transcript_status,
        recording=row.recording,
        flow_version=row.flow_version,
        call_id=row.call_id,
        status=row.status,
        group=row.group,
        created_at=row.created_at,
        updated_at=row.updated_at,
        lifecycle=row.lifecycle,
        unit=row.unit,
        region=row.region,
        about_unit=row.about_unit,
        repeat_of=row.repeat_of,
        caller_name=row.caller_name,
        callback_number=row.callback_number,
        address=row.address,
        confidential=row.confidential,
        priority=row.priority,
        classification=row.classification,
    )


def outbox_row(event_id: str, topic: str, now: datetime, event: dict[str, Any]) -> OutboxRow:
    return OutboxRow(
        id=event_id,
        topic=topic,
        payload=event,
        created_at=now,
        sent_at=None,
        attempts=0,
    )


def call_result(row: CallRow, *, replayed: bool) -> CallResult:
    call = AnsweredCall(
        call_id=row.call_id,
        caller_number=row.caller_number,
        callee=row.callee,
        group=row.group,
        worker=row.worker,
    )
    return CallResult(call=call, answered_at=row.answered_at, replayed=replayed)


def message_from_row(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        topic=row.topic,
        event=row.payload,
        created_at=row.created_at,
        sent_at=row.sent_at,
        attempts=row.attempts,
        failure=row.failure,
        quarantined_at=row.quarantined_at,
    )
