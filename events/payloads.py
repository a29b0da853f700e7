"""Every event on MQTT as a pydantic model, with its topic, QoS and producer. Pure.

Every event is ``{"id": uuid, "type": ..., "at": ISO-8601 UTC with ms and Z, "payload":
{...}}``; a model per type fixes the payload. Producers build the model (so an event that
breaks the contract fails where it is made, not in a consumer) and publish
``model.wire()``; ``events.schema`` generates ``docs/events.schema.json`` from these models
and ``EVENT_KINDS``. Every field is always present on the wire (``None`` is sent as
``null``), which is what the console's JavaScript and the wallboard read.

Delivery is at least once: a consumer that must not act twice drops duplicates by ``id`` (the
id is the outbox row id, so a re-publish keeps it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from events.topics import (
    AGENT_POP_PATTERN,
    COMMAND_PATTERN,
    POP_PATTERN,
    QUEUE_PATTERN,
    SUPERVISOR_TOPIC,
)

EVENT_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
UTC_MS_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
ORDER_NUMBER_PATTERN = r"^12320-\d{8}-\d{5,}$"  # 05d: a 100,000th order of a day has 6

EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
UtcMs = Annotated[str, Field(pattern=UTC_MS_PATTERN)]
OrderNumber = Annotated[str, Field(pattern=ORDER_NUMBER_PATTERN)]
NonEmpty = Annotated[str, Field(min_length=1)]

CALL_ANSWERED: Final = "call.answered"
ORDER_CREATED: Final = "order.created"
CALL_PARTIAL_TRANSCRIPT: Final = "call.partial_transcript"
ORDER_ALERT: Final = "order.alert"
CALL_EMERGENCY: Final = "call.emergency"
CALL_OFFERED: Final = "call.offered"
QUEUE_CHANGED: Final = "queue.changed"

AlertReason = Literal[
    "warning",
    "overdue",
    "urgent_order",
    "abusive_repetition",
    "dissatisfied",
    "manual",
    "speech_emergency",
]


def utc_ms(moment: datetime) -> str:
    """``at`` and other times on the wire: ISO-8601 in UTC, milliseconds, ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("an event time must be an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


class Closed(BaseModel):
    """A payload part: immutable, nothing beyond its fields, and strict (no ``0`` for a
    boolean, no ``true`` for a count), as the JSON Schema is."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Event(Closed):
    """The envelope; each subclass fixes ``type`` (a one-value ``Literal``: a consumer's
    event without a type is refused, as the schema does) and ``payload``."""

    id: EventId
    type: str
    at: UtcMs
    payload: Closed

    def wire(self) -> dict[str, Any]:
        """The JSON object published (and kept in the outbox): every field, ``None`` as null."""
        return self.model_dump(mode="json")


# -- screen-pops: hotline/pops/{group} ------------------------------------------------------


class CallAnsweredPayload(Closed):
    call_id: str
    caller_number: str
    callee: str
    group: str


class CallAnswered(Event):
    type: Literal["call.answered"]
    payload: CallAnsweredPayload


class OrderCreatedPayload(Closed):
    call_id: str | None
    caller_number: str
    menu_choice: str | None
    menu_path: list[str]
    category: str
    category_label: str
    order_number: OrderNumber
    flags: list[str]


class OrderCreated(Event):
    type: Literal["order.created"]
    payload: OrderCreatedPayload


class PartialTranscriptPayload(Closed):
    call_id: str
    group: str
    text: str


class PartialTranscript(Event):
    type: Literal["call.partial_transcript"]
    payload: PartialTranscriptPayload


# -- supervisors: hotline/alerts/supervisors ------------------------------------------------


class OrderAlertPayload(Closed):
    """Never a phone number: supervisors see the order, not the caller."""

    order_number: OrderNumber
    level: Literal["yellow", "red"]
    reason: AlertReason
    deadline: str | None
    due: UtcMs | None
    unit: str | None
    line: str | None = Field(
        description="speech_emergency: the dedicated line the intake's words name"
    )


class OrderAlert(Event):
    type: Literal["order.alert"]
    payload: OrderAlertPayload


# -- commands to a live call: hotline/calls/{call_id}/commands -------------------------------


class EmergencyCommandPayload(Closed):
    call_id: str
    line: NonEmpty
    by: str


class EmergencyCommand(Event):
    type: Literal["call.emergency"]
    payload: EmergencyCommandPayload


# -- the ACD: hotline/agents/{login}/pops and hotline/queues/{group} -------------------------


class EarlierOrderEntry(Closed):
    """One of the caller's earlier orders (重复来电 history) on an agent's pop."""

    order_number: OrderNumber
    created_at: UtcMs
    category: str
    status: str


class CallOfferedPayload(Closed):
    call_id: str
    caller_number: str
    group: str
    menu_path: list[str]
    order_number: OrderNumber | None
    history: list[EarlierOrderEntry] = Field(
        description="the caller's earlier orders, newest first (at most 10, 90 days)"
    )
    repeat_caller: bool = Field(description="an earlier order lies within the repeat-caller window")
    priority: Literal["normal", "emergency"]
    agent: NonEmpty


class CallOffered(Event):
    type: Literal["call.offered"]
    payload: CallOfferedPayload


class QueueChangedPayload(Closed):
    group: str
    label: str
    waiting: NonNegativeInt
    agents_ready: NonNegativeInt


class QueueChanged(Event):
    type: Literal["queue.changed"]
    payload: QueueChangedPayload


@dataclass(frozen=True, slots=True)
class EventKind:
    """An event type with what the schema annotates it with (``x-topic`` and the rest)."""

    model: type[Event]
    topic: str  # pattern: {group}, {login}, {call_id} stand for one encoded level
    qos: int
    producer: str
    description: str

    @property
    def type(self) -> str:
        [value] = get_args(self.model.model_fields["type"].annotation)
        return str(value)


EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind(
        CallAnswered,
        POP_PATTERN,
        1,
        "work-order service (outbox), on POST /api/v1/calls",
        "The IVR answered a call: the first screen-pop.",
    ),
    EventKind(
        OrderCreated,
        POP_PATTERN,
        1,
        "work-order service (outbox), on POST /api/v1/workorders",
        "An order was opened for a call: the second screen-pop.",
    ),
    EventKind(
        PartialTranscript,
        POP_PATTERN,
        0,
        "IVR worker (live, best effort, not kept)",
        "What the streaming recogniser has heard of the caller so far.",
    ),
    EventKind(
        OrderAlert,
        SUPERVISOR_TOPIC,
        1,
        "work-order service (outbox): intake, lifecycle actions, deadline sweeps",
        "Something supervisors must hear about; never carries a phone number.",
    ),
    EventKind(
        EmergencyCommand,
        COMMAND_PATTERN,
        1,
        "work-order service (outbox), on POST /api/v1/calls/{call_id}/emergency",
        "An agent sends the caller of a live call to a dedicated line. In the topic the "
        "call id is one level: every byte outside A-Z a-z 0-9 - _ . @ percent-encoded "
        "(UTF-8), cut after 128 characters with ~ and a SHA-256 prefix; the payload's "
        "call_id is the full id.",
    ),
    EventKind(
        CallOffered,
        AGENT_POP_PATTERN,
        1,
        "work-order service (outbox), when the ACD offers a call to the agent",
        "The pop on the console of the agent whose phone is about to ring.",
    ),
    EventKind(
        QueueChanged,
        QUEUE_PATTERN,
        1,
        "work-order service (outbox), when a group's queue or ready agents change",
        "For the wallboard: callers waiting and agents ready in a group.",
    ),
)

EVENT_TYPES: tuple[str, ...] = tuple(kind.type for kind in EVENT_KINDS)


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The MQTT payload of ``event``: compact UTF-8 JSON (Chinese labels stay readable)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
