"""Values of the lifecycle: states, the order's lifecycle record, commands, ledger entries.

Pure and frozen. ``Lifecycle.to_json``/``from_json`` give the form the store keeps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, ClassVar

from workorders.model import format_utc


class State(enum.StrEnum):
    RECEIVED = "received"  # 受理
    DISPATCHED = "dispatched"  # 交办, waiting for 签收
    OBJECTED = "objected"  # the unit contests the dispatch (异议), centre reviews
    RETURNED = "returned"  # 退单, waiting for 改派
    SIGNED = "signed"  # 签收
    IN_PROGRESS = "in_progress"  # 办理中
    INVESTIGATING = "investigating"  # 直办: the centre handles it itself
    ESCALATED = "escalated"  # 呈办: waiting for the leadership's instruction
    FEEDBACK = "feedback"  # 反馈: result back at the centre, co-signing
    REPLIED = "replied"  # 回复: caller answered, callback (回访) due
    CLOSED = "closed"  # 办结


MODE_LABELS = {"immediate": "即办", "dispatch": "交办", "direct": "直办", "escalate": "呈办"}
SATISFACTION_LABELS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
#: The seed study's invalid orders, excluded from the valid count of the three rates.
INVALID_REASONS = {
    "consultation_or_suggestion": "非投诉的咨询、建议",
    "unlawful_demand": "违背法律法规的不当诉求",
    "staff_own_complaint": "内部职工诉求",
    "wrong_dispatch": "工单派转错误",
}
COSIGN_KINDS = {"head": "承办部门负责人核签", "leader": "主管领导核签"}
DEADLINE_NAMES = ("handling", "sign_for", "feedback")


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: str
    unit: str | None = None


SYSTEM = Actor("scheduler", "system")


@dataclass(frozen=True, slots=True)
class Deadline:
    name: str  # handling | sign_for | feedback
    start: datetime
    due: datetime
    warned: bool = False
    overdue: bool = False
    # Counted over days past the calendar's horizon (no official holiday data yet): the
    # due time is a guess that treats every weekday as a working day. Shown, never hidden.
    estimate: bool = False


@dataclass(frozen=True, slots=True)
class Extension:
    reason: str
    until: datetime
    requested_by: str
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class CallbackResult:
    reached: bool
    responded: bool | None = None
    resolved: bool | None = None
    satisfaction: str | None = None

    @property
    def satisfied(self) -> bool:
        return self.satisfaction in ("satisfied", "basically_satisfied")


@dataclass(frozen=True, slots=True)
class Lifecycle:
    state: State
    category: str
    limit_class: str
    received_at: datetime
    mode: str | None = None
    region: str | None = None
    domain: str | None = None
    about_unit: str | None = None
    unit: str | None = None
    dispatched_at: datetime | None = None
    deadlines: tuple[Deadline, ...] = ()
    extension: Extension | None = None
    cosigns: tuple[str, ...] = ()
    result: str | None = None
    callback: CallbackResult | None = None
    callback_attempts: int = 0
    reopen_count: int = 0
    supervisions: int = 0
    invalid_reason: str | None = None
    closed_at: datetime | None = None

    def deadline(self, name: str) -> Deadline | None:
        return next((d for d in self.deadlines if d.name == name), None)

    def with_deadline(self, deadline: Deadline) -> Lifecycle:
        others = tuple(d for d in self.deadlines if d.name != deadline.name)
        return replace(self, deadlines=(*others, deadline))

    def without_deadline(self, name: str) -> Lifecycle:
        return replace(self, deadlines=tuple(d for d in self.deadlines if d.name != name))

    @property
    def valid(self) -> bool:
        return self.invalid_reason is None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _to_json(self)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lifecycle:
        extension = data.get("extension")
        callback = data.get("callback")
        return cls(
            state=State(data["state"]),
            category=data["category"],
            limit_class=data["limit_class"],
            received_at=_time(data["received_at"]),
            mode=data.get("mode"),
            region=data.get("region"),
            domain=data.get("domain"),
            about_unit=data.get("about_unit"),
            unit=data.get("unit"),
            dispatched_at=_optional_time(data.get("dispatched_at")),
            deadlines=tuple(
                Deadline(
                    name=d["name"],
                    start=_time(d["start"]),
                    due=_time(d["due"]),
                    warned=d["warned"],
                    overdue=d["overdue"],
                    estimate=d.get("estimate", False),
                )
                for d in data.get("deadlines", [])
            ),
            extension=None
            if extension is None
            else Extension(
                reason=extension["reason"],
                until=_time(extension["until"]),
                requested_by=extension["requested_by"],
                requested_at=_time(extension["requested_at"]),
            ),
            cosigns=tuple(data.get("cosigns", [])),
            result=data.get("result"),
            callback=None if callback is None else CallbackResult(**callback),
            callback_attempts=data.get("callback_attempts", 0),
            reopen_count=data.get("reopen_count", 0),
            supervisions=data.get("supervisions", 0),
            invalid_reason=data.get("invalid_reason"),
            closed_at=_optional_time(data.get("closed_at")),
        )


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
    return value


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else _time(text)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One line of the 全流程台账: who did what, when, with which note."""

    at: datetime
    actor: str
    role: str
    unit: str | None
    action: str
    state: State  # the state after the action
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": format_utc(self.at),
            "actor": self.actor,
            "role": self.role,
            "unit": self.unit,
            "action": self.action,
            "state": self.state.value,
            "note": self.note,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """Something supervisors must hear about (published through the outbox).

    ``level`` is ``yellow`` (75 % of a limit elapsed) or ``red`` (督办).
    """

    level: str
    #: warning | overdue | dissatisfied | manual | abusive_repetition | urgent_order |
    #: speech_emergency
    reason: str
    deadline: str | None = None
    due: datetime | None = None
    line: str | None = None
    """The dedicated line (``speech_emergency``: the one the classification heard)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    lifecycle: Lifecycle
    entry: LedgerEntry
    alerts: tuple[Alert, ...] = ()


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    action: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Classify(Command):
    """The call taker's handling decision (即办/交办/直办/呈办) with what dispatch needs."""

    action: ClassVar[str] = "classify"
    mode: str
    region: str | None = None
    domain: str | None = None
    limit_class: str | None = None
    about_unit: str | None = None
    unit: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Instruct(Command):
    """The leadership's instruction on a 呈办 order: ``dispatch`` or ``direct``."""

    action: ClassVar[str] = "instruct"
    mode: str
    unit: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Sign(Command):
    action: ClassVar[str] = "sign"
    note: str = ""


@dataclass(frozen=True, slots=True)
class Start(Command):
    action: ClassVar[str] = "start"
    note: str = ""


@dataclass(frozen=True, slots=True)
class Return(Command):
    action: ClassVar[str] = "return"
    reason: str


@dataclass(frozen=True, slots=True)
class Object(Command):
    action: ClassVar[str] = "object"
    reason: str


@dataclass(frozen=True, slots=True)
class ReviewObjection(Command):
    """``upheld``: the unit was right and the order goes to ``unit``; else back to the unit."""

    action: ClassVar[str] = "review_objection"
    upheld: bool
    unit: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Reassign(Command):
    action: ClassVar[str] = "reassign"
    unit: str
    reason: str


@dataclass(frozen=True, slots=True)
class RequestExtension(Command):
    action: ClassVar[str] = "request_extension"
    reason: str
    until: datetime


@dataclass(frozen=True, slots=True)
class DecideExtension(Command):
    action: ClassVar[str] = "decide_extension"
    approved: bool
    caller_informed: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class Feedback(Command):
    action: ClassVar[str] = "feedback"
    result: str


@dataclass(frozen=True, slots=True)
class Cosign(Command):
    action: ClassVar[str] = "cosign"
    kind: str  # head | leader
    note: str = ""


@dataclass(frozen=True, slots=True)
class Reply(Command):
    action: ClassVar[str] = "reply"
    note: str


@dataclass(frozen=True, slots=True)
class Callback(Command):
    action: ClassVar[str] = "callback"
    reached: bool
    responded: bool | None = None
    resolved: bool | None = None
    satisfaction: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Close(Command):
    """Close a replied order whose caller could not be reached for the callback."""

    action: ClassVar[str] = "close"
    note: str


@dataclass(frozen=True, slots=True)
class Supervise(Command):
    """督办: by a supervisor (``deadline=None``) or by the scheduler on an overdue deadline."""

    action: ClassVar[str] = "supervise"
    reason: str
    deadline: str | None = None


@dataclass(frozen=True, slots=True)
class Warn(Command):
    action: ClassVar[str] = "warn"
    deadline: str


@dataclass(frozen=True, slots=True)
class RecordTransfer(Command):
    """One attempt of the IVR to reach a dedicated line (emergency transfer); no state change."""

    action: ClassVar[str] = "transfer_attempt"
    line: str
    target: str
    outcome: str  # answered | refused | no_answer
    started: str
    ended: str
    code: int | None = None
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class MarkValidity(Command):
    """``invalid_reason`` one of ``INVALID_REASONS``, or ``None`` to mark the order valid."""

    action: ClassVar[str] = "mark_validity"
    invalid_reason: str | None
    note: str = ""
