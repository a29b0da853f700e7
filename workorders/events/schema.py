"""The JSON Schema of every event on MQTT, one document with ``oneOf`` by type. Pure.

``docs/events.schema.json`` is this document, generated (a test keeps the two equal)::

    python -m workorders.events.schema > docs/events.schema.json

Each type's definition also names its topic pattern (``x-topic``), QoS (``x-qos``) and producer
(``x-producer``): annotations that validators ignore and readers need.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workorders.events.agents import CALL_OFFERED, QUEUE_CHANGED
from workorders.events.agents import PAYLOAD_SCHEMAS as ACD_PAYLOAD_SCHEMAS
from workorders.events.alerts import ORDER_ALERT, SUPERVISOR_TOPIC
from workorders.events.screenpop import (
    CALL_ANSWERED,
    CALL_EMERGENCY,
    ORDER_CREATED,
    PAYLOAD_SCHEMAS,
)

CALL_PARTIAL_TRANSCRIPT = "call.partial_transcript"

#: Where the generated document is kept, relative to the repository root.
SCHEMA_PATH = "docs/events.schema.json"

EVENT_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
UTC_MS_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
ORDER_NUMBER_PATTERN = r"^12320-\d{8}-\d{5}$"
ALERT_REASONS = (
    "warning",
    "overdue",
    "urgent_order",
    "abusive_repetition",
    "dissatisfied",
    "manual",
    "speech_emergency",
)

_STRING = {"type": "string"}
_NONEMPTY = {"type": "string", "minLength": 1}
_STRINGS = {"type": "array", "items": _STRING}
_UTC = {"type": "string", "pattern": UTC_MS_PATTERN}
_ORDER_NUMBER = {"type": "string", "pattern": ORDER_NUMBER_PATTERN}
_COUNT = {"type": "integer", "minimum": 0}


def _object(**properties: Mapping[str, Any]) -> dict[str, Any]:
    """A closed object whose every property is required."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": dict(properties),
    }


@dataclass(frozen=True, slots=True)
class EventKind:
    type: str
    topic: str  # pattern: {group}, {login}, {call_id} are filled in
    qos: int
    producer: str
    description: str
    payload: Mapping[str, Any]


EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind(
        CALL_ANSWERED,
        "hotline/pops/{group}",
        1,
        "work-order service (outbox), on POST /api/v1/calls",
        "The IVR answered a call: the first screen-pop.",
        PAYLOAD_SCHEMAS[CALL_ANSWERED],
    ),
    EventKind(
        ORDER_CREATED,
        "hotline/pops/{group}",
        1,
        "work-order service (outbox), on POST /api/v1/workorders",
        "An order was opened for a call: the second screen-pop.",
        PAYLOAD_SCHEMAS[ORDER_CREATED],
    ),
    EventKind(
        CALL_PARTIAL_TRANSCRIPT,
        "hotline/pops/{group}",
        0,
        "IVR worker (live, best effort, not kept)",
        "What the streaming recogniser has heard of the caller so far.",
        _object(call_id=_STRING, group=_STRING, text=_STRING),
    ),
    EventKind(
        ORDER_ALERT,
        SUPERVISOR_TOPIC,
        1,
        "work-order service (outbox): intake, lifecycle actions, deadline sweeps",
        "Something supervisors must hear about; never carries a phone number.",
        _object(
            order_number=_ORDER_NUMBER,
            level={"enum": ["yellow", "red"]},
            reason={"enum": list(ALERT_REASONS)},
            deadline={"type": ["string", "null"]},
            due={"anyOf": [_UTC, {"type": "null"}]},
            unit={"type": ["string", "null"]},
            line={
                "type": ["string", "null"],
                "description": "speech_emergency: the dedicated line the intake's words name",
            },
        ),
    ),
    EventKind(
        CALL_EMERGENCY,
        "hotline/calls/{call_id}/commands",
        1,
        "work-order service (outbox), on POST /api/v1/calls/{call_id}/emergency",
        "An agent sends the caller of a live call to a dedicated line. In the topic the "
        "call id is one level: every byte outside A-Z a-z 0-9 - _ . @ percent-encoded "
        "(UTF-8), cut after 128 characters with ~ and a SHA-256 prefix; the payload's "
        "call_id is the full id.",
        _object(call_id=_STRING, line=_NONEMPTY, by=_STRING),
    ),
    EventKind(
        CALL_OFFERED,
        "hotline/agents/{login}/pops",
        1,
        "work-order service (outbox), when the ACD offers a call to the agent",
        "The pop on the console of the agent whose phone is about to ring.",
        ACD_PAYLOAD_SCHEMAS[CALL_OFFERED],
    ),
    EventKind(
        QUEUE_CHANGED,
        "hotline/queues/{group}",
        1,
        "work-order service (outbox), when a group's queue or ready agents change",
        "For the wallboard: callers waiting and agents ready in a group.",
        ACD_PAYLOAD_SCHEMAS[QUEUE_CHANGED],
    ),
)

EVENT_TYPES: tuple[str, ...] = tuple(kind.type for kind in EVENT_KINDS)


def _definition(kind: EventKind) -> dict[str, Any]:
    return {
        "description": kind.description,
        "x-topic": kind.topic,
        "x-qos": kind.qos,
        "x-producer": kind.producer,
        **_object(
            id={"type": "string", "pattern": EVENT_ID_PATTERN},
            type={"const": kind.type},
            at=_UTC,
            payload=kind.payload,
        ),
    }


def events_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of any hotline event; ``$defs`` holds one definition per type."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "12320 hotline events on MQTT",
        "description": (
            "UTF-8 JSON published under hotline/. Delivery is at least once: consumers drop "
            "duplicates by id. See docs/events.md."
        ),
        "oneOf": [{"$ref": f"#/$defs/{kind.type}"} for kind in EVENT_KINDS],
        "$defs": {kind.type: _definition(kind) for kind in EVENT_KINDS},
    }


def events_schema_text() -> str:
    return json.dumps(events_schema(), ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    sys.stdout.write(events_schema_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
