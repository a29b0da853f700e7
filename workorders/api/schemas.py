"""Pydantic models of the intake routes' request and response bodies (the routes the IVR
calls), from which ``openapi.py`` generates their part of the OpenAPI document.

The handlers keep parsing bodies with ``workorders.validation`` (its messages name fields in
Chinese for the console, and its errors are the API's 422 contract); these models describe
the same rules, taken from ``workorders.fields``, and ``tests/workorders/test_openapi.py``
checks that every body a handler accepts validates against its route's model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeAlias

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from workorders import fields


def one_of(values: tuple[str, ...]) -> AfterValidator:
    """Restricts a string to ``values`` (documented by ``enum_of`` or a component reference)."""

    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return value

    return AfterValidator(check)


def enum_of(values: tuple[str, ...], **extra: object) -> WithJsonSchema:
    """Documents a string restricted by ``one_of(values)`` as an inline ``enum``."""
    return WithJsonSchema({"type": "string", "enum": list(values), **extra})


def _component(name: str) -> WithJsonSchema:
    # Wrapped in allOf: pydantic resolves a bare $ref among its own definitions;
    # ``openapi_gen.component_schemas`` unwraps it.
    return WithJsonSchema({"allOf": [{"$ref": f"#/components/schemas/{name}"}]})


Category: TypeAlias = Annotated[str, one_of(tuple(fields.CATEGORY_LABELS)), _component("Category")]
Domain: TypeAlias = Annotated[str, one_of(fields.DOMAINS), _component("Domain")]
Priority: TypeAlias = Annotated[str, one_of(fields.PRIORITIES), _component("Priority")]
SipUser: TypeAlias = Annotated[
    str,
    Field(
        pattern=fields.SIP_USER.pattern,
        description="SIP user part of the caller; may be empty when unknown",
    ),
]
Line: TypeAlias = Annotated[str, Field(pattern=fields.LINE.pattern)]


class Request(BaseModel):
    """A request body: unknown fields and loose types refused, like the handlers do."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CreateWorkOrder(Request):
    caller_number: SipUser
    category: Category
    menu_path: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=fields.MAX_MENU_STEP)]],
        Field(max_length=fields.MAX_MENU_DEPTH, description="menu keys chosen, in order"),
    ]
    flags: Annotated[
        list[Annotated[str, Field(pattern=fields.FLAG.pattern)]],
        Field(max_length=fields.MAX_FLAGS),
    ] = []
    recording: Annotated[
        str | None,
        Field(max_length=fields.MAX_RECORDING, description="path relative to the recordings root"),
    ] = None
    flow_version: Annotated[str | None, Field(max_length=fields.MAX_FLOW_VERSION)] = None
    call_id: Annotated[str | None, Field(max_length=fields.MAX_CALL_ID)] = None
    group: Annotated[
        str | None,
        Field(
            pattern=fields.GROUP.pattern,
            description="agent group for screen-pops (default intake)",
        ),
    ] = None
    received_at: Annotated[
        datetime | None, Field(description="when the call arrived (default now)")
    ] = None
    domain: Annotated[
        Domain | None,
        Field(description="the dispatch domain, when the menu knows it (lifecycle.domain)"),
    ] = None
    priority: Priority | None = None


class Evidence(Request):
    kind: Annotated[
        str,
        Field(
            min_length=1,
            max_length=fields.MAX_EVIDENCE_TEXT,
            description=(
                "category, domain, emergency, frame, acute, suppressor, menu, negated, "
                "suppressed, time"
            ),
        ),
    ]
    label: Annotated[str, Field(min_length=1, max_length=fields.MAX_EVIDENCE_TEXT)]
    word: Annotated[str, Field(min_length=1, max_length=fields.MAX_EVIDENCE_TEXT)]
    weight: Annotated[int, Field(ge=-fields.MAX_EVIDENCE_WEIGHT, le=fields.MAX_EVIDENCE_WEIGHT)]


class Classification(Request):
    """The IVR's speech classification of the intake (config/intake.yaml), kept as a
    suggestion with its evidence. The caller's menu choice stays the order's category; the
    domain fills lifecycle.domain when the order has none and a domain word backs it; an
    emergency_line on an order whose category is not emergency raises a red order.alert
    (reason speech_emergency) to supervisors."""

    category: Category
    domain: Domain | None = None
    emergency_line: Annotated[
        Line | None,
        Field(
            description="dedicated line (routing.yaml) the words point at, surely "
            "(the IVR transfers at once)"
        ),
    ] = None
    confirm_line: Annotated[
        Line | None,
        Field(
            description="dedicated line the words point at without certainty (the IVR "
            "asks the caller once); null when emergency_line is set"
        ),
    ] = None
    evidence: Annotated[list[Evidence], Field(max_length=fields.MAX_EVIDENCE)] = []


class TranscriptUpdate(Request):
    text: Annotated[str, Field(max_length=fields.MAX_TRANSCRIPT_CHARS)]
    status: Literal["done", "unavailable"]
    classification: Classification | None = None


class AnsweredCall(Request):
    call_id: Annotated[str, Field(min_length=1, max_length=fields.MAX_CALL_ID)]
    caller_number: SipUser
    callee: Annotated[str, Field(min_length=1, pattern=fields.SIP_USER.pattern)]
    group: Annotated[str | None, Field(pattern=fields.GROUP.pattern)] = None
    worker: Annotated[str | None, Field(max_length=fields.MAX_WORKER)] = None


class EmergencyRequest(Request):
    line: Line


class Call(BaseModel):
    call_id: str
    caller_number: str
    callee: str
    group: str
    worker: str | None
    answered_at: datetime


class EmergencyQueued(BaseModel):
    command_id: str
    line: str


class Health(BaseModel):
    status: Literal["ok"] = "ok"


#: Request body model of each route (by route name) whose body this module describes.
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "create_order": CreateWorkOrder,
    "put_transcript": TranscriptUpdate,
    "record_call": AnsweredCall,
    "request_emergency": EmergencyRequest,
}
#: Every model whose schema goes into ``components.schemas`` under its class name.
MODELS: tuple[type[BaseModel], ...] = (
    CreateWorkOrder,
    Classification,
    TranscriptUpdate,
    AnsweredCall,
    EmergencyRequest,
    Call,
    EmergencyQueued,
    Health,
)
