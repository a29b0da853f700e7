"""Events of the ACD, built from the service's objects: the pop an agent gets with an offered
call, and queue changes. Pure.

Shapes and topics are the contract's (``events.payloads``, ``events.topics``). Written to the
outbox in the transaction of the ACD step that caused them and published with QoS 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events.payloads import (
    CALL_OFFERED,
    EVENT_KINDS,
    QUEUE_CHANGED,
    CallOffered,
    CallOfferedPayload,
    EarlierOrderEntry,
    QueueChanged,
    QueueChangedPayload,
    utc_ms,
)
from events.schema import payload_schema
from events.topics import agent_pop_topic, queue_topic

__all__ = [
    "CALL_OFFERED",
    "PAYLOAD_SCHEMAS",
    "QUEUE_CHANGED",
    "EarlierOrder",
    "agent_pop_topic",
    "call_offered_event",
    "queue_changed_event",
    "queue_topic",
]

EVENT_TYPES = (CALL_OFFERED, QUEUE_CHANGED)


@dataclass(frozen=True, slots=True)
class EarlierOrder:
    """One of the caller's earlier orders (重复来电 history) on an agent's pop."""

    number: str
    created_at: datetime
    category: str
    status: str


def call_offered_event(
    event_id: str,
    at: datetime,
    *,
    call_id: str,
    caller_number: str,
    group: str,
    agent: str,
    menu_path: tuple[str, ...],
    order_number: str | None,
    history: tuple[EarlierOrder, ...],
    repeat_caller: bool,
    priority: str,
) -> dict[str, Any]:
    # Validated, not typed: priority is a string in the ACD, an enum on the wire.
    payload = CallOfferedPayload.model_validate(
        {
            "call_id": call_id,
            "caller_number": caller_number,
            "group": group,
            "menu_path": list(menu_path),
            "order_number": order_number,
            "history": [
                EarlierOrderEntry(
                    order_number=order.number,
                    created_at=utc_ms(order.created_at),
                    category=order.category,
                    status=order.status,
                )
                for order in history
            ],
            "repeat_caller": repeat_caller,
            "priority": priority,
            "agent": agent,
        }
    )
    return CallOffered(id=event_id, type=CALL_OFFERED, at=utc_ms(at), payload=payload).wire()


def queue_changed_event(
    event_id: str, at: datetime, *, group: str, label: str, waiting: int, agents_ready: int
) -> dict[str, Any]:
    payload = QueueChangedPayload(
        group=group, label=label, waiting=waiting, agents_ready=agents_ready
    )
    return QueueChanged(id=event_id, type=QUEUE_CHANGED, at=utc_ms(at), payload=payload).wire()


_KINDS = {kind.type: kind for kind in EVENT_KINDS}

#: JSON Schema (2020-12) of the payload of each event type (for the OpenAPI document).
PAYLOAD_SCHEMAS: Mapping[str, dict[str, Any]] = {
    event_type: payload_schema(_KINDS[event_type]) for event_type in EVENT_TYPES
}
