"""Request bodies of the lifecycle routes → commands and caller details. Pure.

``POST /api/v1/workorders/{number}/actions`` takes ``{"action": name, …fields}``; the fields
are those of the command dataclass in ``workorders.lifecycle.model`` (``note``, ``reason``,
``unit``, …). Unknown fields and wrong types are a 422 naming the field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from workorders import fields
from workorders.errors import InvalidInput
from workorders.lifecycle import model as lm
from workorders.model import CallerDetails
from workorders.validation import check_text, parse_timestamp

#: The actions people may post (``warn`` and deadline 督办 are the scheduler's own).
ACTIONS: dict[str, type[lm.Command]] = {
    cls.action: cls
    for cls in (
        lm.Classify,
        lm.Instruct,
        lm.Sign,
        lm.Start,
        lm.Return,
        lm.Object,
        lm.ReviewObjection,
        lm.Reassign,
        lm.RequestExtension,
        lm.DecideExtension,
        lm.Feedback,
        lm.Cosign,
        lm.Reply,
        lm.Callback,
        lm.Close,
        lm.Supervise,
        lm.MarkValidity,
        lm.RecordTransfer,
    )
}
HUMAN_HIDDEN_FIELDS = {("supervise", "deadline")}
MAX_TEXT = fields.MAX_TEXT
#: Free-text fields that may hold line breaks (the rest are one line: names, units, regions).
_MULTILINE = frozenset({"note", "reason", "text", "content", "result"})


def parse_action(body: Mapping[str, object]) -> lm.Command:
    name = body.get("action")
    if not isinstance(name, str) or name not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", field="action")
    cls = ACTIONS[name]
    specs = {f.name: f for f in dataclasses.fields(cls) if (name, f.name) not in
             HUMAN_HIDDEN_FIELDS}  # fmt: skip
    unknown = set(body) - set(specs) - {"action"}
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"unknown field {field!r} for action {name}", field=field)
    values: dict[str, Any] = {}
    for field_name, spec in specs.items():
        if field_name not in body:
            required = (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            )
            if required:
                raise InvalidInput(f"{field_name} is required for {name}", field=field_name)
            continue
        values[field_name] = _value(body[field_name], str(spec.type), field_name)
    return cls(**values)


def _value(value: object, kind: str, field: str) -> Any:
    optional = kind.endswith("| None")
    base = kind.removesuffix(" | None").strip()
    if value is None:
        if optional:
            return None
        raise InvalidInput(f"{field} must not be null", field=field)
    if base == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(f"{field} must be true or false", field=field)
        return value
    if base == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"{field} must be a whole number", field=field)
        return value
    if base == "datetime":
        return parse_timestamp(value, field)
    return check_text(value, field, max_length=MAX_TEXT, multiline=field in _MULTILINE)


def parse_caller_details(body: Mapping[str, object]) -> CallerDetails:
    """``PUT …/caller``: ``caller_name``, ``callback_number``, ``address``, ``confidential``."""
    allowed = {"caller_name", "callback_number", "address", "confidential"}
    unknown = set(body) - allowed
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"unknown field {field!r}", field=field)
    texts: dict[str, str | None] = {}
    for name, limit in (("caller_name", 100), ("callback_number", 64), ("address", 500)):
        value = body.get(name)
        texts[name] = None if value is None else check_text(value, name, max_length=limit)
    confidential = body.get("confidential", False)
    if not isinstance(confidential, bool):
        raise InvalidInput("confidential must be true or false", field="confidential")
    return CallerDetails(
        caller_name=texts["caller_name"],
        callback_number=texts["callback_number"],
        address=texts["address"],
        confidential=confidential,
    )
