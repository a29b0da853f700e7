"""The OpenAPI 3.1 description of the work-order API, served at ``/api/v1/openapi.json``.

The intake routes' bodies are generated from the pydantic models of ``schemas.py`` and their
operations by ``openapi_gen.operation``; the other routes' parts (``openapi_*.py``) are still
written by hand. Tests check that the document lists exactly the app's (method, path) pairs
and that the bodies the handlers accept validate against the models.
"""

from __future__ import annotations

from typing import Any

from routing.units import DOMAIN_LABELS
from workorders import fields
from workorders.api import (
    openapi_agents,
    openapi_operations,
    openapi_reports,
    openapi_workflow,
    schemas,
    schemas_acd,
    schemas_workflow,
)
from workorders.api.openapi_gen import component_schemas, json_content, operation, ref
from workorders.events.screenpop import CALL_ANSWERED, ORDER_CREATED, event_schema
from workorders.model import CATEGORY_LABELS, PRIORITIES, TRANSCRIPT_STATUSES

API_VERSION = "1.0.0"


_ref = ref
_json = json_content


_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _STR}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_ORDER_NUMBER = fields.ORDER_NUMBER.schema()
_PHONE = {
    "type": "string",
    "maxLength": 64,
    "pattern": r"^\S*$",
    "description": "SIP user part of the caller; may be empty when unknown",
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "examples": ["not_found", "invalid", "bad_request", "unauthorized"],
                    },
                    "message": _STR,
                    "field": {"type": "string", "description": "the offending field or header"},
                },
            }
        },
    },
    "Category": {
        "type": "string",
        "enum": list(CATEGORY_LABELS),
        "description": "; ".join(f"{key} = {label}" for key, label in CATEGORY_LABELS.items()),
    },
    "Domain": {
        "type": "string",
        "enum": list(DOMAIN_LABELS),
        "description": "; ".join(f"{key} = {label}" for key, label in DOMAIN_LABELS.items()),
    },
    "Priority": {
        "type": "string",
        "enum": list(PRIORITIES),
        "description": (
            "the menu's priority; kept and shown to agents (the handling limit still follows "
            "the category, config/sla.yaml)"
        ),
    },
    "WorkOrder": {
        "type": "object",
        "required": [
            "number",
            "channel",
            "caller_number",
            "received_at",
            "category",
            "category_label",
            "menu_path",
            "flags",
            "description",
            "transcript_status",
            "recording",
            "flow_version",
            "call_id",
            "status",
            "group",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "number": _ORDER_NUMBER,
            "channel": {"type": "string", "enum": ["phone"]},
            "caller_number": _STR,
            "received_at": _TIMESTAMP,
            "category": _ref("Category"),
            "category_label": _STR,
            "menu_path": _STRINGS,
            "flags": _STRINGS,
            "description": {**_NULLABLE_STR, "description": "transcript of the intake"},
            "transcript_status": {"type": "string", "enum": list(TRANSCRIPT_STATUSES)},
            "recording": _NULLABLE_STR,
            "flow_version": _NULLABLE_STR,
            "call_id": _NULLABLE_STR,
            "status": {"type": "string", "enum": openapi_workflow.STATES},
            "group": _STR,
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
            "priority": {"anyOf": [_ref("Priority"), {"type": "null"}]},
            "classification": {"anyOf": [_ref("Classification"), {"type": "null"}]},
            **openapi_workflow.WORKORDER_EXTRA_PROPERTIES,
        },
    },
    "WorkOrderList": {
        "type": "object",
        "required": ["items", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": _ref("WorkOrder")},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    },
    # Screen-pop events published over MQTT on hotline/pops/{group} (QoS 1, at least once).
    "CallAnsweredEvent": event_schema(CALL_ANSWERED),
    "OrderCreatedEvent": event_schema(ORDER_CREATED),
    **openapi_workflow.SCHEMAS,
    **openapi_reports.SCHEMAS,
    **component_schemas(schemas.MODELS + schemas_workflow.MODELS + schemas_acd.MODELS),
}

_NUMBER_PARAMETER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": _ORDER_NUMBER,
}
_SECURED: list[dict[str, list[str]]] = [{"bearer": []}, {"console": []}]


_CALL_ID_PARAMETER = {"name": "call_id", "in": "path", "required": True, "schema": _STR}
_UNAUTHORIZED = "missing or unknown bearer token"


def _paths() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": operation(
                "health",
                "Liveness and database reachability (no authentication)",
                public=True,
                responses={"200": (schemas.Health, "the service and its database answer")},
                errors={"503": "the database is not reachable"},
            )
        },
        "/api/v1/openapi.json": {
            "get": operation(
                "openapi",
                "This document (no authentication)",
                public=True,
                responses={"200": ({"type": "object"}, "OpenAPI 3.1 document")},
                errors={},
            )
        },
        "/api/v1/workorders": {
            "post": operation(
                "createWorkOrder",
                "Open a work order (idempotent on the Idempotency-Key header)",
                description=(
                    "Writes the order and an order.created screen-pop event in one "
                    "transaction. Repeating a key returns the stored order with 200; "
                    "repeating it with a different body is a 409."
                ),
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "schema": fields.IDEMPOTENCY_KEY.schema(),
                    }
                ],
                body=schemas.CreateWorkOrder,
                responses={
                    "201": (_ref("WorkOrder"), "created"),
                    "200": (_ref("WorkOrder"), "replay: the order this key created"),
                },
                errors={
                    "400": "missing Idempotency-Key or malformed JSON",
                    "401": _UNAUTHORIZED,
                    "409": "the key was used for a different request",
                    "422": "a field is invalid; error.field names it",
                },
            ),
            "get": operation(
                "listWorkOrders",
                "List orders, newest first",
                parameters=[
                    {
                        "name": "caller",
                        "in": "query",
                        "schema": _PHONE,
                        "description": "centre roles only (403 otherwise)",
                    },
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": fields.MAX_PAGE_LIMIT,
                            "default": fields.DEFAULT_PAGE_LIMIT,
                        },
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                    },
                ],
                responses={"200": (_ref("WorkOrderList"), "orders")},
                errors={
                    "401": _UNAUTHORIZED,
                    "403": "a search by caller outside the centre",
                    "422": "a query parameter is invalid",
                },
            ),
        },
        "/api/v1/workorders/{number}": {
            "get": operation(
                "getWorkOrder",
                "One order by its number",
                parameters=[_NUMBER_PARAMETER],
                responses={"200": (_ref("WorkOrder"), "the order")},
                errors={"401": _UNAUTHORIZED, "404": "no such order"},
            )
        },
        "/api/v1/workorders/{number}/transcript": {
            "put": operation(
                "putTranscript",
                "Store the transcript of the intake recording and its classification",
                description=(
                    "The IVR sends the transcript once it is known (live recognition or after "
                    "the call) with the speech classification of config/intake.yaml; see the "
                    "Classification schema for what the service does with it. Repeating the "
                    "same body changes nothing more."
                ),
                parameters=[_NUMBER_PARAMETER],
                body=schemas.TranscriptUpdate,
                responses={"200": (_ref("WorkOrder"), "the updated order")},
                errors={
                    "400": "malformed JSON",
                    "401": _UNAUTHORIZED,
                    "404": "no such order",
                    "422": "a field is invalid",
                },
            )
        },
        "/api/v1/calls": {
            "post": operation(
                "recordAnsweredCall",
                "Record an answered call and pop it to agents (idempotent on call_id)",
                body=schemas.AnsweredCall,
                responses={
                    "201": (schemas.Call, "recorded; call.answered event queued"),
                    "200": (schemas.Call, "replay: this call_id was already recorded"),
                },
                errors={"400": "malformed JSON", "401": _UNAUTHORIZED, "422": "a field is invalid"},
            )
        },
        "/api/v1/calls/{call_id}/emergency": {
            "post": operation(
                "requestEmergency",
                "Send the caller of a live call to a dedicated line (the IVR gets a "
                "call.emergency command on hotline/calls/{call_id}/commands)",
                parameters=[
                    {
                        "name": "call_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                body=schemas.EmergencyRequest,
                responses={
                    "202": (schemas.EmergencyQueued, "queued for the IVR worker holding the call")
                },
                errors={
                    "401": _UNAUTHORIZED,
                    "403": "only centre desk roles",
                    "404": "no answered call with this id",
                    "422": "a field is invalid",
                },
            )
        },
    }


def build_openapi() -> dict[str, Any]:
    schemas = {
        name: {key: value for key, value in schema.items() if key != "$schema"}
        for name, schema in {**_SCHEMAS, **openapi_agents.SCHEMAS}.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "12320 hotline work-order service",
            "version": API_VERSION,
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
            "description": (
                "Internal API of the work-order service. Errors are "
                '{"error": {"code", "message", "field"?}}. Screen-pop events go out over '
                "MQTT on hotline/pops/{group}; their schemas are CallAnsweredEvent and "
                "OrderCreatedEvent under components.schemas. The ACD sends CallOfferedEvent "
                "to hotline/agents/{login}/pops and QueueChangedEvent to hotline/queues/{group}."
            ),
        },
        "security": _SECURED,
        "paths": {
            **_paths(),
            **openapi_workflow.paths(),
            **openapi_agents.paths(),
            **openapi_reports.paths(),
            **openapi_operations.paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "console": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "hotline_session",
                    "description": "the agent console's session (POST /console/login); "
                    "requests that change something also need X-CSRF-Token",
                },
            },
            "schemas": schemas,
            "responses": {"Error": _json(_ref("Error"), "error")},
        },
    }
