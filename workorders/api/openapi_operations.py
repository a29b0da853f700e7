"""OpenAPI paths of the operators' routes (``operations.py``)."""

from __future__ import annotations

from typing import Any

from workorders.api.openapi_gen import operation

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_TIMESTAMP = {"type": "string", "format": "date-time"}


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
            "get": operation(
                "listQuarantinedEvents",
                (
                    "Events the broker refused N times (or the MQTT client refused outright): kept "
                    "with the reason, no longer holding back later events"
                ),
                parameters=_PAGE,
                responses={
                    "200": (
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": _QUARANTINED},
                                "limit": {"type": "integer"},
                                "offset": {"type": "integer"},
                            },
                        },
                        "newest quarantine first",
                    )
                },
                errors={"403": "admins and supervisors only"},
            )
        },
        "/api/v1/outbox/quarantine/{id}/release": {
            "post": operation(
                "releaseQuarantinedEvent",
                "Publish a quarantined event again (after its cause was fixed)",
                parameters=[{"name": "id", "in": "path", "required": True, "schema": _STR}],
                responses={"200": ({"type": "object"}, "released; the publisher tries it again")},
                errors={"403": "admins only", "404": "no quarantined event with this id"},
            )
        },
        "/api/v1/console/logins/{login}/unlock": {
            "post": operation(
                "unlockConsoleLogin",
                "Lift the failed-login limits on a console login (every address)",
                parameters=[{"name": "login", "in": "path", "required": True, "schema": _STR}],
                responses={
                    "200": (
                        {
                            "type": "object",
                            "properties": {"login": _STR, "cleared": {"type": "integer"}},
                        },
                        "the number of failure counts cleared",
                    )
                },
                errors={"403": "admins only"},
            )
        },
    }
