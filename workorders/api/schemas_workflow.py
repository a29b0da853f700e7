"""Pydantic models of the lifecycle and invalid-call request bodies (``workflow.py``,
``actions.py``, ``invalid_calls.py``), from which ``openapi_workflow.py`` and
``openapi_reports.py`` generate their part of the OpenAPI document.

The ``Action`` body is generated from the command dataclasses of ``workorders.lifecycle.model``
(the ones ``actions.parse_action`` fills): one model per action, told apart by ``action``.
Values the state machine checks (a cosign ``kind``, a ``satisfaction`` …) are documented as
enums; the machine's 422 stays the contract.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from routing.units import DOMAIN_LABELS
from workorders import fields
from workorders.api.actions import ACTIONS, HUMAN_HIDDEN_FIELDS, MAX_TEXT
from workorders.api.schemas import Request, enum_of, one_of
from workorders.lifecycle.actions import TRANSFER_OUTCOMES
from workorders.lifecycle.model import (
    COSIGN_KINDS,
    INVALID_REASONS,
    MODE_LABELS,
    SATISFACTION_LABELS,
)

_Text = Annotated[str, Field(max_length=MAX_TEXT)]
_BASE_TYPES: dict[str, Any] = {"str": _Text, "bool": bool, "int": int, "datetime": datetime}
#: Fields whose values the state machine restricts (documented; its 422 is the contract).
_CHOICES: dict[str, tuple[str, ...]] = {
    "kind": tuple(COSIGN_KINDS),
    "satisfaction": tuple(SATISFACTION_LABELS),
    "invalid_reason": tuple(INVALID_REASONS),
    "outcome": TRANSFER_OUTCOMES,
}


def _field_type(name: str, kind: str) -> Any:
    optional = kind.endswith("| None")
    base: Any = _BASE_TYPES[kind.removesuffix(" | None").strip()]
    if name in _CHOICES:
        base = Annotated[str, one_of(_CHOICES[name]), enum_of(_CHOICES[name])]
    return base | None if optional else base


def _action_model(name: str, command: type[Any]) -> type[BaseModel]:
    """The body of one action: ``action`` and the command dataclass's fields."""
    specs: dict[str, Any] = {"action": (Literal[name], ...)}
    for spec in dataclasses.fields(command):
        if (name, spec.name) in HUMAN_HIDDEN_FIELDS:
            continue
        required = (
            spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        )
        default = ... if required else spec.default
        specs[spec.name] = (_field_type(spec.name, str(spec.type)), default)
    title = "".join(part.title() for part in name.split("_"))
    return create_model(f"{title}Action", __base__=Request, **specs)


ACTION_MODELS = tuple(_action_model(name, command) for name, command in ACTIONS.items())
_ACTION_DESCRIPTION = (
    "One lifecycle step, by its action. Modes: "
    + ", ".join(f"{k} = {v}" for k, v in MODE_LABELS.items())
    + ". Domains: "
    + ", ".join(DOMAIN_LABELS)
    + ". Satisfaction: "
    + ", ".join(f"{k} = {v}" for k, v in SATISFACTION_LABELS.items())
    + ". Invalid reasons: "
    + ", ".join(INVALID_REASONS)
    + "."
)


_ACTION_BODY: Any = Annotated[Union[ACTION_MODELS], Field(discriminator="action")]  # noqa: UP007


class Action(RootModel[Any]):
    """Any action's body (a ``oneOf`` of the per-action models, by ``action``)."""

    model_config = ConfigDict(json_schema_extra={"description": _ACTION_DESCRIPTION})
    root: _ACTION_BODY


class CallerDetails(Request):
    caller_name: Annotated[str | None, Field(max_length=100)] = None
    callback_number: Annotated[str | None, Field(max_length=64)] = None
    address: Annotated[str | None, Field(max_length=500)] = None
    confidential: bool = False


class InvalidCall(Request):
    """A 无效来电 the IVR counts. The handler checks call_id, caller_number, reason, group,
    worker and seconds; the other fields are accepted and not used."""

    call_id: Annotated[str, Field(pattern=fields.ASCII_CALL_ID.pattern)]
    caller_number: Annotated[str, Field(pattern=fields.SIP_USER.pattern)] = ""
    reason: Annotated[
        str, one_of(fields.INVALID_CALL_REASONS), enum_of(fields.INVALID_CALL_REASONS)
    ]
    # absent: the service's default group; null is refused (pydantic does not check defaults)
    group: str = Field(  # type: ignore[assignment]
        default=None, pattern=fields.GROUP.pattern, json_schema_extra={"default": None}
    )
    worker: Annotated[str | None, Field(max_length=fields.MAX_WORKER)] = None
    category: str | None = None
    menu_path: list[str] = Field(default_factory=list)
    seconds: Annotated[float, Field(ge=0)] = 0
    received_at: datetime | None = None
    recording: str | None = None


#: Request body model of each route (by route name) whose body this module describes.
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "put_caller": CallerDetails,
    "post_action": Action,
    "post_invalid_call": InvalidCall,
}
MODELS: tuple[type[BaseModel], ...] = (Action, CallerDetails, InvalidCall)
