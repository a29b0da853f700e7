"""The field rules of the work-order service: formats, lengths, enum values, phone numbers.

One place for what a field may hold. ``workorders.validation`` and the API's parsers check
requests with these rules, the pydantic models of the OpenAPI document
(``workorders.api.schemas``) take their patterns, lengths and enums from here, and the store
truncates to the lengths named here. Pure code, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeGuard

from routing.units import DOMAIN_LABELS


@dataclass(frozen=True, slots=True)
class TextFormat:
    """A string field's format: an anchored regular expression (its JSON Schema pattern too)
    and the words an error message uses for it."""

    pattern: str
    says: str
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def matches(self, value: object) -> TypeGuard[str]:
        return isinstance(value, str) and self._compiled.fullmatch(value) is not None

    def match(self, value: str) -> re.Match[str] | None:
        return self._compiled.fullmatch(value)

    def schema(self, **extra: Any) -> dict[str, Any]:
        """The JSON Schema of a string in this format."""
        return {"type": "string", "pattern": self.pattern, **extra}


# -- formats ------------------------------------------------------------------------------

#: Caller and callee are the user parts of SIP URIs as the edge delivers them: usually
#: digits, but "anonymous", "+86…", a softphone's "alice", or "" (no user part) occur too.
#: An order is never refused over the shape of a caller ID: any 0-64 visible characters.
SIP_USER = TextFormat(r"^[^\s\x00-\x1f\x7f]{0,64}$", "at most 64 visible characters")
#: Groups end up in MQTT topics (hotline/pops/{group}): no "/", "+", "#" or spaces.
GROUP = TextFormat(r"^[A-Za-z0-9_.-]{1,64}$", "1-64 of A-Z a-z 0-9 _ . -")
FLAG = TextFormat(r"^[a-z0-9_.-]{1,32}$", "1-32 of a-z 0-9 _ . -")
IDEMPOTENCY_KEY = TextFormat(r"^[\x21-\x7e]{1,200}$", "1-200 visible ASCII characters")
#: A dedicated line (120, 110 …) by its configured name.
LINE = TextFormat(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", "the name of a dedicated line")
#: Call ids the IVR sends to the queue and invalid-call routes (server-issued: ASCII). The
#: answered-call and order routes also take older SIP Call-IDs: ``MAX_CALL_ID`` printable.
ASCII_CALL_ID = TextFormat(r"^[\x21-\x7e]{1,255}$", "1-255 visible ASCII characters")
#: The sequence is ``{:05d}``: a day's 100,000th order would have 6 digits (the events contract,
#: ``events.payloads.ORDER_NUMBER_PATTERN``, accepts them; the store stops at 99,999).
ORDER_NUMBER = TextFormat(r"^12320-(\d{8})-(\d{5,})$", "an order number (12320-YYYYMMDD-NNNNN)")
SKILL = TextFormat(r"^[a-z][a-z0-9_-]{0,31}$", "a skill name")
MENU_KEY = TextFormat(r"^[0-9*#A-D]$", "a menu key")
EVENT_ID = TextFormat(r"^[0-9a-f-]{1,36}$", "an event id")
#: ``?status=`` of the order list (a lifecycle state's shape; unknown ones match nothing).
STATUS_QUERY = TextFormat(r"^[a-z_]{1,16}$", "a lifecycle state")
WHOLE_NUMBER = TextFormat(r"^[0-9]{1,9}$", "a whole number")

#: C0 and C1 controls, DEL; NUL among them (PostgreSQL text cannot hold it).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# -- lengths ------------------------------------------------------------------------------

MAX_SIP_USER = 64
MAX_CALL_ID = 255
MAX_MENU_DEPTH = 32
MAX_MENU_STEP = 64
MAX_FLAGS = 32
MAX_TRANSCRIPT_CHARS = 100_000
MAX_EVIDENCE = 200
MAX_EVIDENCE_TEXT = 64
MAX_EVIDENCE_WEIGHT = 1000
MAX_FLOW_VERSION = 64
MAX_WORKER = 100
MAX_RECORDING = 255
MAX_TIMESTAMP = 64
MAX_PAGE_LIMIT = 200
MAX_OFFSET = 10_000_000
DEFAULT_PAGE_LIMIT = 50
#: Free text of lifecycle actions and caller details (notes, reasons, addresses).
MAX_TEXT = 4000
#: The reason an unmasked read gives (``X-Access-Reason``), as the audit log keeps it.
MAX_ACCESS_REASON = 200
#: Why an outbox row failed or was quarantined, as the outbox keeps it.
MAX_OUTBOX_FAILURE = 500

# -- enum values --------------------------------------------------------------------------

#: Order categories and the Chinese labels shown to agents (12320 intake types).
CATEGORY_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "consult": "咨询",
        "complaint": "投诉",
        "report": "举报",
        "suggestion": "意见建议",
        "help": "求助",
        "emergency": "紧急",
    }
)
#: Dispatch domains (``routing/units.py``: the units' ``domains`` use the same codes).
DOMAINS: tuple[str, ...] = tuple(DOMAIN_LABELS)
TRANSCRIPT_PENDING = "pending"
TRANSCRIPT_DONE = "done"
TRANSCRIPT_UNAVAILABLE = "unavailable"
TRANSCRIPT_STATUSES = (TRANSCRIPT_PENDING, TRANSCRIPT_DONE, TRANSCRIPT_UNAVAILABLE)
#: Priorities an IVR menu may open an order with (``create_order: {priority: …}``). Kept on
#: the order and shown to agents; the handling limit still follows the category (``sla.yaml``).
PRIORITIES = ("low", "normal", "high", "urgent")
#: Why the IVR ended a call without an order (无效来电).
INVALID_CALL_REASONS = ("no_input", "silent_intake", "too_short", "cut_silent")

#: Chinese names of the fields the agent console shows errors for (its form labels).
FIELD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "caller_number": "来电号码",
        "caller_name": "来电人姓名",
        "callback_number": "回拨号码",
        "address": "地址",
        "note": "备注",
        "region": "区域",
        "reason": "原因",
        "received_at": "受理时间",
        "call_id": "呼叫编号",
    }
)

# -- phone numbers ------------------------------------------------------------------------


def mask_phone(number: str) -> str:
    """A phone number fit for logs: ``"13800138000"`` → ``"138****8000"``.

    Numbers of 8 characters or more keep their first 3 and last 4; shorter ones keep only
    their last 2. A leading ``+`` is kept and not counted. Logs never carry full numbers.
    """
    plus, digits = ("+", number[1:]) if number.startswith("+") else ("", number)
    if len(digits) >= 8:
        return f"{plus}{digits[:3]}****{digits[-4:]}"
    if len(digits) > 2:
        return f"{plus}****{digits[-2:]}"
    return f"{plus}****"


def is_utf8_encodable(text: str) -> bool:
    """False for text holding lone UTF-16 surrogates (JSON's ``\\ud800`` escapes carry them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_printable_text(value: object, max_length: int, *, min_length: int = 1) -> bool:
    """A string of ``min_length``-``max_length`` printable characters."""
    return isinstance(value, str) and min_length <= len(value) <= max_length and value.isprintable()
