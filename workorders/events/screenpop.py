"""Screen-pop events: their JSON shape, topics, and JSON Schema. Pure code.

Every event is ``{"id": uuid, "type": ..., "at": ISO-8601 UTC, "payload": {...}}``, published
to ``hotline/pops/{group}`` with QoS 1. Delivery is at least once: a consumer that must not act
twice dedupes on ``id`` (the id is also the outbox row id, so a re-publish keeps it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workorders.events.topics import topic_level
from workorders.model import AnsweredCall, WorkOrder, format_utc

CALL_ANSWERED = "call.answered"
ORDER_CREATED = "order.created"
EVENT_TYPES = (CALL_ANSWERED, ORDER_CREATED)

POP_TOPIC_ROOT = "hotline/pops"


def pop_topic(group: str) -> str:
    """The topic agents of ``group`` subscribe to for screen-pops (every topic builder passes
    outside text through ``topics.topic_level``)."""
    return f"{POP_TOPIC_ROOT}/{topic_level(group)}"


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


def envelope(
    event_id: str, event_type: str, at: datetime, payload: dict[str, Any]
) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "at": format_utc(at), "payload": payload}


def call_answered_event(event_id: str, call: AnsweredCall, at: datetime) -> dict[str, Any]:
    payload = {
        "call_id": call.call_id,
        "caller_number": call.caller_number,
        "callee": call.callee,
        "group": call.group,
    }
    return envelope(event_id, CALL_ANSWERED, at, payload)


def order_created_event(event_id: str, order: WorkOrder, at: datetime) -> dict[str, Any]:
    payload = {
        "call_id": order.call_id,
        "caller_number": order.caller_number,
        "menu_choice": order.menu_choice,
        "menu_path": list(order.menu_path),
        "category": order.category,
        "category_label": order.category_label,
        "order_number": order.number,
        "flags": list(order.flags),
    }
    return envelope(event_id, ORDER_CREATED, at, payload)


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _STRING}

#: JSON Schema (2020-12) of the payload of each event type.
PAYLOAD_SCHEMAS: Mapping[str, dict[str, Any]] = {
    CALL_ANSWERED: {
        "type": "object",
        "additionalProperties": False,
        "required": ["call_id", "caller_number", "callee", "group"],
        "properties": {
            "call_id": _STRING,
            "caller_number": _STRING,
            "callee": _STRING,
            "group": _STRING,
        },
    },
    ORDER_CREATED: {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "call_id",
            "caller_number",
            "menu_choice",
            "menu_path",
            "category",
            "category_label",
            "order_number",
            "flags",
        ],
        "properties": {
            "call_id": _NULLABLE_STRING,
            "caller_number": _STRING,
            "menu_choice": _NULLABLE_STRING,
            "menu_path": _STRINGS,
            "category": _STRING,
            "category_label": _STRING,
            "order_number": {"type": "string", "pattern": r"^12320-\d{8}-\d{5}$"},
            "flags": _STRINGS,
        },
    },
}


def event_schema(event_type: str) -> dict[str, Any]:
    """JSON Schema (2020-12) of a whole event of ``event_type``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"hotline screen-pop event {event_type}",
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "type", "at", "payload"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"const": event_type},
            "at": {"type": "string", "format": "date-time"},
            "payload": PAYLOAD_SCHEMAS[event_type],
        },
    }


CALL_EMERGENCY = "call.emergency"


def command_topic(call_id: str) -> str:
    """Where the IVR worker holding ``call_id`` listens for commands (QoS 1)."""
    return f"hotline/calls/{topic_level(call_id)}/commands"


def emergency_command(
    event_id: str, call_id: str, line: str, by: str, at: datetime
) -> dict[str, Any]:
    """An agent sends the caller of a live call to a dedicated line."""
    return envelope(event_id, CALL_EMERGENCY, at, {"call_id": call_id, "line": line, "by": by})
