"""The work order as the service understands it: categories, numbers, and the API's view.

Pure code: no I/O, no clock (callers pass ``now``), no database or web types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from workorders.errors import InvalidInput, SequenceExhausted
from workorders.fields import CATEGORY_LABELS as CATEGORY_LABELS
from workorders.fields import ORDER_NUMBER
from workorders.fields import PRIORITIES as PRIORITIES
from workorders.fields import TRANSCRIPT_DONE as TRANSCRIPT_DONE
from workorders.fields import TRANSCRIPT_PENDING as TRANSCRIPT_PENDING
from workorders.fields import TRANSCRIPT_STATUSES as TRANSCRIPT_STATUSES
from workorders.fields import TRANSCRIPT_UNAVAILABLE as TRANSCRIPT_UNAVAILABLE
from workorders.fields import mask_phone as mask_phone

STATUS_RECEIVED = "received"
CHANNEL_PHONE = "phone"

#: Order numbers carry the date of the day the order was created, in China Standard Time.
ORDER_NUMBER_ZONE = ZoneInfo("Asia/Shanghai")
ORDER_NUMBER_PREFIX = "12320"
MAX_DAILY_SEQUENCE = 99_999


def category_label(category: str) -> str:
    """The Chinese label of ``category``; ``InvalidInput`` naming ``category`` if unknown."""
    try:
        return CATEGORY_LABELS[category]
    except KeyError:
        known = "|".join(CATEGORY_LABELS)
        raise InvalidInput(
            f"unknown category {category!r}; expected one of {known}", field="category"
        ) from None


def order_day(now: datetime) -> str:
    """``YYYYMMDD`` of ``now`` in Asia/Shanghai: the day whose sequence a new order draws from."""
    if now.tzinfo is None:
        raise ValueError("order_day needs an aware datetime")
    return now.astimezone(ORDER_NUMBER_ZONE).strftime("%Y%m%d")


def format_order_number(day: str, sequence: int) -> str:
    """``12320-YYYYMMDD-NNNNN``; the sequence starts at 1 each day."""
    if not re.fullmatch(r"\d{8}", day):
        raise ValueError(f"day must be YYYYMMDD, got {day!r}")
    if sequence < 1:
        raise ValueError(f"sequence starts at 1, got {sequence}")
    if sequence > MAX_DAILY_SEQUENCE:
        raise SequenceExhausted(f"order sequence for {day} is exhausted")
    return f"{ORDER_NUMBER_PREFIX}-{day}-{sequence:05d}"


def is_order_number(text: str) -> bool:
    """Whether ``text`` has the shape of an order number (it may still not exist)."""
    return ORDER_NUMBER.match(text) is not None


def format_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix and millisecond precision."""
    if moment.tzinfo is None:
        raise ValueError("format_utc needs an aware datetime")
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A validated create request (see ``workorders.validation.parse_new_order``)."""

    caller_number: str
    category: str
    menu_path: tuple[str, ...]
    group: str
    flags: tuple[str, ...] = ()
    recording: str | None = None
    flow_version: str | None = None
    call_id: str | None = None
    received_at: datetime | None = None
    domain: str | None = None
    """A dispatch domain (``routing.units.DOMAIN_LABELS``) the menu already knows."""
    priority: str | None = None

    def canonical(self) -> dict[str, Any]:
        """The request as a plain dict with a stable shape, for fingerprinting replays.

        ``domain`` and ``priority`` appear only when given, so requests without them keep the
        fingerprint they had before these fields existed (a spooled create replays cleanly).
        """
        optional = {"domain": self.domain, "priority": self.priority}
        return {
            **{name: value for name, value in optional.items() if value is not None},
            "caller_number": self.caller_number,
            "category": self.category,
            "menu_path": list(self.menu_path),
            "group": self.group,
            "flags": list(self.flags),
            "recording": self.recording,
            "flow_version": self.flow_version,
            "call_id": self.call_id,
            "received_at": None if self.received_at is None else format_utc(self.received_at),
        }


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """An order as the API returns it."""

    number: str
    channel: str
    caller_number: str
    received_at: datetime
    category: str
    menu_path: tuple[str, ...]
    flags: tuple[str, ...]
    description: str | None
    transcript_status: str
    recording: str | None
    flow_version: str | None
    call_id: str | None
    status: str
    group: str
    created_at: datetime
    updated_at: datetime
    lifecycle: dict[str, Any] | None = None
    unit: str | None = None
    region: str | None = None
    about_unit: str | None = None
    repeat_of: str | None = None
    caller_name: str | None = None
    callback_number: str | None = None
    address: str | None = None
    confidential: bool = False
    priority: str | None = None
    classification: dict[str, Any] | None = None
    """The speech classification of the intake (``Classification.to_json``): a suggestion."""

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.category, self.category)

    @property
    def due_is_estimate(self) -> bool:
        """A deadline of the open order (``lifecycle.deadlines[].estimate``) was counted over
        working days past the calendar's horizon, where no official holiday data exists."""
        life = self.lifecycle or {}
        if life.get("state") in ("replied", "closed"):
            return False
        return any(d.get("estimate") for d in life.get("deadlines") or [])

    @property
    def menu_choice(self) -> str | None:
        """The last menu key the caller chose, or ``None`` for an empty path."""
        return self.menu_path[-1] if self.menu_path else None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "channel": self.channel,
            "caller_number": self.caller_number,
            "received_at": format_utc(self.received_at),
            "category": self.category,
            "category_label": self.category_label,
            "menu_path": list(self.menu_path),
            "flags": list(self.flags),
            "description": self.description,
            "transcript_status": self.transcript_status,
            "recording": self.recording,
            "flow_version": self.flow_version,
            "call_id": self.call_id,
            "status": self.status,
            "group": self.group,
            "created_at": format_utc(self.created_at),
            "updated_at": format_utc(self.updated_at),
            "unit": self.unit,
            "region": self.region,
            "about_unit": self.about_unit,
            "repeat_of": self.repeat_of,
            "caller_name": self.caller_name,
            "callback_number": self.callback_number,
            "address": self.address,
            "confidential": self.confidential,
            "priority": self.priority,
            "classification": self.classification,
            "lifecycle": self.lifecycle,
            "due_is_estimate": self.due_is_estimate,
        }


@dataclass(frozen=True, slots=True)
class CallerDetails:
    """What the call taker records about the caller (事件受理单: 姓名、联系电话、地址、保密)."""

    caller_name: str | None
    callback_number: str | None
    address: str | None
    confidential: bool


@dataclass(frozen=True, slots=True)
class CreateResult:
    """What a create returns: the order, and whether it already existed under that key."""

    order: WorkOrder
    replayed: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    """One rule word that counted for (or against) a label (``asr.intake.Evidence``)."""

    kind: str
    label: str
    word: str
    weight: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "word": self.word, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Classification:
    """What the IVR's speech classification made of the intake (``config/intake.yaml``).

    A suggestion for the call taker, kept with its evidence: the caller's menu choice stays
    the order's category; ``domain`` fills the order's domain when it has none (and a word
    backs it); an ``emergency_line`` on an order that is not an emergency alerts supervisors.
    ``confirm_line`` is a line the words point at without certainty (the IVR asked the caller
    once); it raises no alert by itself.
    """

    category: str
    domain: str | None
    emergency_line: str | None
    evidence: tuple[Evidence, ...] = ()
    confirm_line: str | None = None

    @property
    def domain_backed(self) -> bool:
        """A domain word matched (the rules' default domain has no evidence)."""
        return any(e.kind == "domain" and e.label == self.domain for e in self.evidence)

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "domain": self.domain,
            "emergency_line": self.emergency_line,
            "confirm_line": self.confirm_line,
            "evidence": [item.to_json() for item in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class TranscriptUpdate:
    text: str
    status: str
    classification: Classification | None = None


@dataclass(frozen=True, slots=True)
class AnsweredCall:
    """A call the IVR answered; the screen-pop "on answer" is built from it."""

    call_id: str
    caller_number: str
    callee: str
    group: str
    worker: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "caller_number": self.caller_number,
            "callee": self.callee,
            "group": self.group,
            "worker": self.worker,
        }


@dataclass(frozen=True, slots=True)
class CallResult:
    call: AnsweredCall
    answered_at: datetime
    replayed: bool


@dataclass(frozen=True, slots=True)
class Page:
    """A list query: optional exact caller number and status, then limit/offset."""

    caller: str | None = None
    limit: int = 50
    offset: int = 0
    status: str | None = None
