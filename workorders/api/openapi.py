"""The OpenAPI 3.1 description of the work-order API, served at ``/api/v1/openapi.json``.

Kept by hand next to the routes; a test checks that both list the same (method, path) pairs.
"""

from __future__ import annotations

from typing import Any

from routing.units import DOMAIN_LABELS
from workorders.api import (
    openapi_agents,
    openapi_operations,
    openapi_reports,
    openapi_workflow,
)
from workorders.events.screenpop import CALL_ANSWERED, ORDER_CREATED, event_schema
from workorders.model import CATEGORY_LABELS, PRIORITIES, TRANSCRIPT_STATUSES

API_VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return {"$ref": "#/components/responses/Error", "description": description}


_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _STR}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_ORDER_NUMBER = {"type": "string", "pattern": r"^12320-\d{8}-\d{5}$"}
_GROUP = {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"}
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
    "CreateWorkOrder": {
        "type": "object",
        "additionalProperties": False,
        "required": ["caller_number", "category", "menu_path"],
        "properties": {
            "caller_number": _PHONE,
            "category": _ref("Category"),
            "menu_path": {**_STRINGS, "description": "menu keys chosen, in order"},
            "flags": _STRINGS,
            "recording": {**_NULLABLE_STR, "description": "path relative to the recordings root"},
            "flow_version": _NULLABLE_STR,
            "call_id": _NULLABLE_STR,
            "group": {**_GROUP, "description": "agent group for screen-pops (default intake)"},
            "received_at": {**_TIMESTAMP, "description": "when the call arrived (default now)"},
            "domain": {
                **_ref("Domain"),
                "description": "the dispatch domain, when the menu knows it (lifecycle.domain)",
            },
            "priority": _ref("Priority"),
        },
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
    "Classification": {
        "type": "object",
        "additionalProperties": False,
        "required": ["category"],
        "description": (
            "The IVR's speech classification of the intake (config/intake.yaml), kept as a "
            "suggestion with its evidence. The caller's menu choice stays the order's "
            "category; the domain fills lifecycle.domain when the order has none and a "
            "domain word backs it; an emergency_line on an order whose category is not "
            "emergency raises a red order.alert (reason speech_emergency) to supervisors."
        ),
        "properties": {
            "category": _ref("Category"),
            "domain": {"anyOf": [_ref("Domain"), {"type": "null"}]},
            "emergency_line": {
                **_NULLABLE_STR,
                "description": "dedicated line (routing.yaml) the words point at, surely "
                "(the IVR transfers at once)",
            },
            "confirm_line": {
                **_NULLABLE_STR,
                "description": "dedicated line the words point at without certainty (the IVR "
                "asks the caller once); null when emergency_line is set",
            },
            "evidence": {
                "type": "array",
                "maxItems": 200,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind", "label", "word", "weight"],
                    "properties": {
                        "kind": {
                            "type": "string",
                            "description": (
                                "category, domain, emergency, frame, acute, suppressor, "
                                "menu, negated, suppressed, time"
                            ),
                        },
                        "label": _STR,
                        "word": _STR,
                        "weight": {"type": "integer"},
                    },
                },
            },
        },
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
    "TranscriptUpdate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["text", "status"],
        "properties": {
            "text": _STR,
            "status": {"type": "string", "enum": ["done", "unavailable"]},
            "classification": {"anyOf": [_ref("Classification"), {"type": "null"}]},
        },
    },
    "AnsweredCall": {
        "type": "object",
        "additionalProperties": False,
        "required": ["call_id", "caller_number", "callee"],
        "properties": {
            "call_id": _STR,
            "caller_number": _PHONE,
            "callee": {"type": "string", "minLength": 1, "maxLength": 64},
            "group": _GROUP,
            "worker": _NULLABLE_STR,
        },
    },
    "Call": {
        "type": "object",
        "required": ["call_id", "caller_number", "callee", "group", "worker", "answered_at"],
        "properties": {
            "call_id": _STR,
            "caller_number": _STR,
            "callee": _STR,
            "group": _STR,
            "worker": _NULLABLE_STR,
            "answered_at": _TIMESTAMP,
        },
    },
    "Health": {"type": "object", "properties": {"status": {"const": "ok"}}},
    # Screen-pop events published over MQTT on hotline/pops/{group} (QoS 1, at least once).
    "CallAnsweredEvent": event_schema(CALL_ANSWERED),
    "OrderCreatedEvent": event_schema(ORDER_CREATED),
    **openapi_workflow.SCHEMAS,
    **openapi_reports.SCHEMAS,
}

_NUMBER_PARAMETER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": _ORDER_NUMBER,
}
_SECURED: list[dict[str, list[str]]] = [{"bearer": []}, {"console": []}]


def _paths() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Liveness and database reachability (no authentication)",
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "the service and its database answer"),
                    "503": _error("the database is not reachable"),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document (no authentication)",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
            }
        },
        "/api/v1/workorders": {
            "post": {
                "operationId": "createWorkOrder",
                "summary": "Open a work order (idempotent on the Idempotency-Key header)",
                "description": (
                    "Writes the order and an order.created screen-pop event in one "
                    "transaction. Repeating a key returns the stored order with 200; "
                    "repeating it with a different body is a 409."
                ),
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CreateWorkOrder")}},
                },
                "responses": {
                    "201": _json(_ref("WorkOrder"), "created"),
                    "200": _json(_ref("WorkOrder"), "replay: the order this key created"),
                    "400": _error("missing Idempotency-Key or malformed JSON"),
                    "401": _error("missing or unknown bearer token"),
                    "409": _error("the key was used for a different request"),
                    "422": _error("a field is invalid; error.field names it"),
                },
            },
            "get": {
                "operationId": "listWorkOrders",
                "summary": "List orders, newest first",
                "parameters": [
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
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                    },
                ],
                "responses": {
                    "200": _json(_ref("WorkOrderList"), "orders"),
                    "401": _error("missing or unknown bearer token"),
                    "403": _error("a search by caller outside the centre"),
                    "422": _error("a query parameter is invalid"),
                },
            },
        },
        "/api/v1/workorders/{number}": {
            "get": {
                "operationId": "getWorkOrder",
                "summary": "One order by its number",
                "parameters": [_NUMBER_PARAMETER],
                "responses": {
                    "200": _json(_ref("WorkOrder"), "the order"),
                    "401": _error("missing or unknown bearer token"),
                    "404": _error("no such order"),
                },
            }
        },
        "/api/v1/workorders/{number}/transcript": {
            "put": {
                "operationId": "putTranscript",
                "summary": "Store the transcript of the intake recording and its classification",
                "description": (
                    "The IVR sends the transcript once it is known (live recognition or after "
                    "the call) with the speech classification of config/intake.yaml; see the "
                    "Classification schema for what the service does with it. Repeating the "
                    "same body changes nothing more."
                ),
                "parameters": [_NUMBER_PARAMETER],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("TranscriptUpdate")}},
                },
                "responses": {
                    "200": _json(_ref("WorkOrder"), "the updated order"),
                    "400": _error("malformed JSON"),
                    "401": _error("missing or unknown bearer token"),
                    "404": _error("no such order"),
                    "422": _error("a field is invalid"),
                },
            }
        },
        "/api/v1/calls": {
            "post": {
                "operationId": "recordAnsweredCall",
                "summary": "Record an answered call and pop it to agents (idempotent on call_id)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("AnsweredCall")}},
                },
                "responses": {
                    "201": _json(_ref("Call"), "recorded; call.answered event queued"),
                    "200": _json(_ref("Call"), "replay: this call_id was already recorded"),
                    "400": _error("malformed JSON"),
                    "401": _error("missing or unknown bearer token"),
                    "422": _error("a field is invalid"),
                },
            }
        },
        "/api/v1/calls/{call_id}/emergency": {
            "post": {
                "operationId": "requestEmergency",
                "summary": (
                    "Send the caller of a live call to a dedicated line (the IVR gets a "
                    "call.emergency command on hotline/calls/{call_id}/commands)"
                ),
                "parameters": [
                    {
                        "name": "call_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["line"],
                                "additionalProperties": False,
                                "properties": {"line": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "properties": {
                                "command_id": {"type": "string"},
                                "line": {"type": "string"},
                            },
                        },
                        "queued for the IVR worker holding the call",
                    ),
                    "401": _error("missing or unknown bearer token"),
                    "403": _error("only centre desk roles"),
                    "404": _error("no answered call with this id"),
                    "422": _error("a field is invalid"),
                },
            }
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
