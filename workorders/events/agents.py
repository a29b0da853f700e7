"""Events of the ACD: the pop an agent gets with an offered call, and queue changes. Pure.

Same envelope as the screen-pops (``{"id", "type", "at", "payload"}``), written to the outbox
in the transaction of the ACD step that caused them and published with QoS 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workorders.events.screenpop import envelope
from workorders.events.topics import topic_level
from workorders.model import format_utc

CALL_OFFERED = "call.offered"
QUEUE_CHANGED = "queue.changed"
EVENT_TYPES = (CALL_OFFERED, QUEUE_CHANGED)


def agent_pop_topic(login: str) -> str:
    """The agent's own topic: only that agent (and the service) may read it."""
    return f"hotline/agents/{topic_level(login)}/pops"


def queue_topic(group: str) -> str:
    return f"hotline/queues/{topic_level(group)}"


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
    payload = {
        "call_id": call_id,
        "caller_number": caller_number,
        "group": group,
        "menu_path": list(menu_path),
        "order_number": order_number,
        "history": [
            {
                "order_number": order.number,
                "created_at": format_utc(order.created_at),
                "category": order.category,
                "status": order.status,
            }
            for order in history
        ],
        "repeat_caller": repeat_caller,
        "priority": priority,
        "agent": agent,
    }
    return envelope(event_id, CALL_OFFERED, at, payload)


def queue_changed_event(
    event_id: str, at: datetime, *, group: str, label: str, waiting: int, agents_ready: int
) -> dict[str, Any]:
    payload = {"group": group, "label": label, "waiting": waiting, "agents_ready": agents_ready}
    return envelope(event_id, QUEUE_CHANGED, at, payload)


_STRING = {"type": "string"}
_UTC = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}
_ORDER_NUMBER = {"type": "string", "pattern": r"^12320-\d{8}-\d{5}$"}
_COUNT = {"type": "integer", "minimum": 0}

#: JSON Schema (2020-12) of the payload of each event type.
PAYLOAD_SCHEMAS: Mapping[str, dict[str, Any]] = {
    CALL_OFFERED: {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "call_id",
            "caller_number",
            "group",
            "menu_path",
            "order_number",
            "history",
            "repeat_caller",
            "priority",
            "agent",
        ],
        "properties": {
            "call_id": _STRING,
            "caller_number": _STRING,
            "group": _STRING,
            "menu_path": {"type": "array", "items": _STRING},
            "order_number": {"anyOf": [_ORDER_NUMBER, {"type": "null"}]},
            "history": {
                "type": "array",
                "description": "the caller's earlier orders, newest first (at most 10, 90 days)",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["order_number", "created_at", "category", "status"],
                    "properties": {
                        "order_number": _ORDER_NUMBER,
                        "created_at": _UTC,
                        "category": _STRING,
                        "status": _STRING,
                    },
                },
            },
            "repeat_caller": {
                "type": "boolean",
                "description": "an earlier order lies within the repeat-caller window",
            },
            "priority": {"enum": ["normal", "emergency"]},
            "agent": {"type": "string", "minLength": 1},
        },
    },
    QUEUE_CHANGED: {
        "type": "object",
        "additionalProperties": False,
        "required": ["group", "label", "waiting", "agents_ready"],
        "properties": {
            "group": _STRING,
            "label": _STRING,
            "waiting": _COUNT,
            "agents_ready": _COUNT,
        },
    },
}
