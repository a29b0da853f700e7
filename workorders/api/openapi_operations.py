"""OpenAPI paths of the operators' routes (``operations.py``)."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_TIMESTAMP = {"type": "string", "format": "date-time"}


def _ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict[str, Any]:
    return {"$ref": "#/components/responses/Error", "description": description}


_QUARANTINED = {
    "type": "object",
    "required": ["id", "type", "topic", "created_at", "quarantined_at", "attempts", "reason"],
    "properties": {
        "id": _STR,
        "type": _STR,
        "topic": _STR,
        "created_at": _TIMESTAMP,
        "quarantined_at": _TIMESTAMP,
        "attempts": {"type": "integer"},
        "reason": _NULLABLE_STR,
    },
}
_PAGE = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
]


def paths() -> dict[str, Any]:
    return {
        "/api/v1/outbox/quarantine": {
            "get": {
                "operationId": "listQuarantinedEvents",
                "summary": "Events the broker refused N times (or the MQTT client refused "
                "outright): kept with the reason, no longer holding back later events",
                "parameters": _PAGE,
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": _QUARANTINED},
                                "limit": {"type": "integer"},
                                "offset": {"type": "integer"},
                            },
                        },
                        "newest quarantine first",
                    ),
                    "403": _err("admins and supervisors only"),
                },
            }
        },
        "/api/v1/outbox/quarantine/{id}/release": {
            "post": {
                "operationId": "releaseQuarantinedEvent",
                "summary": "Publish a quarantined event again (after its cause was fixed)",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": _STR}],
                "responses": {
                    "200": _ok({"type": "object"}, "released; the publisher tries it again"),
                    "403": _err("admins only"),
                    "404": _err("no quarantined event with this id"),
                },
            }
        },
        "/api/v1/console/logins/{login}/unlock": {
            "post": {
                "operationId": "unlockConsoleLogin",
                "summary": "Lift the failed-login limits on a console login (every address)",
                "parameters": [{"name": "login", "in": "path", "required": True, "schema": _STR}],
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {"login": _STR, "cleared": {"type": "integer"}},
                        },
                        "the number of failure counts cleared",
                    ),
                    "403": _err("admins only"),
                },
            }
        },
    }
