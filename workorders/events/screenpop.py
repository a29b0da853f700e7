"""Screen-pop events and agents' commands, built from the service's objects. Pure.

The shapes, topics and QoS are the contract's (``events.payloads``, ``events.topics``); this
module only maps an ``AnsweredCall`` or a ``WorkOrder`` onto them and keeps the outbox row
type. Every event is ``{"id": uuid, "type": ..., "at": ISO-8601 UTC, "payload": {...}}``,
published with QoS 1. Delivery is at least once: a consumer that must not act twice dedupes
on ``id`` (the id is also the outbox row id, so a re-publish keeps it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events.payloads import (
    CALL_ANSWERED,
    CALL_EMERGENCY,
    EVENT_KINDS,
    ORDER_CREATED,
    CallAnswered,
    CallAnsweredPayload,
    EmergencyCommand,
    EmergencyCommandPayload,
    OrderCreated,
    OrderCreatedPayload,
    utc_ms,
)
from events.schema import DIALECT, model_schema, payload_schema
from events.topics import command_topic, pop_topic
from workorders.model import AnsweredCall, WorkOrder

__all__ = [
    "CALL_ANSWERED",
    "CALL_EMERGENCY",
    "ORDER_CREATED",
    "PAYLOAD_SCHEMAS",
    "OutboxMessage",
    "call_answered_event",
    "command_topic",
    "emergency_command",
    "event_schema",
    "order_created_event",
    "pop_topic",
]

EVENT_TYPES = (CALL_ANSWERED, ORDER_CREATED)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One row of the outbox: an event waiting to be (or already) published."""

    id: str
    topic: str
    event: Mapping[str, Any]
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    #: Why the row is held back for good (the broker refused it ``attempts`` times), or None.
    failure: str | None = None
    quarantined_at: datetime | None = None


def call_answered_event(event_id: str, call: AnsweredCall, at: datetime) -> dict[str, Any]:
    payload = CallAnsweredPayload(
        call_id=call.call_id, caller_number=call.caller_number, callee=call.callee, group=call.group
    )
    return CallAnswered(id=event_id, type=CALL_ANSWERED, at=utc_ms(at), payload=payload).wire()


def order_created_event(event_id: str, order: WorkOrder, at: datetime) -> dict[str, Any]:
    payload = OrderCreatedPayload(
        call_id=order.call_id,
        caller_number=order.caller_number,
        menu_choice=order.menu_choice,
        menu_path=list(order.menu_path),
        category=order.category,
        category_label=order.category_label,
        order_number=order.number,
        flags=list(order.flags),
    )
    return OrderCreated(id=event_id, type=ORDER_CREATED, at=utc_ms(at), payload=payload).wire()


def emergency_command(
    event_id: str, call_id: str, line: str, by: str, at: datetime
) -> dict[str, Any]:
    """An agent sends the caller of a live call to a dedicated line."""
    payload = EmergencyCommandPayload(call_id=call_id, line=line, by=by)
    return EmergencyCommand(id=event_id, type=CALL_EMERGENCY, at=utc_ms(at), payload=payload).wire()


_KINDS = {kind.type: kind for kind in EVENT_KINDS}

#: JSON Schema (2020-12) of the payload of each screen-pop type (for the OpenAPI document).
PAYLOAD_SCHEMAS: Mapping[str, dict[str, Any]] = {
    event_type: payload_schema(_KINDS[event_type]) for event_type in EVENT_TYPES
}


def event_schema(event_type: str) -> dict[str, Any]:
    """JSON Schema (2020-12) of a whole event of ``event_type``."""
    return {
        "$schema": DIALECT,
        "title": f"hotline screen-pop event {event_type}",
        **model_schema(_KINDS[event_type].model),
    }
