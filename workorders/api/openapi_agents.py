"""OpenAPI pieces of the ACD routes (merged by ``openapi.build_openapi``)."""

from __future__ import annotations

from typing import Any

from routing import acd
from workorders.api.openapi_gen import operation
from workorders.events.agents import CALL_OFFERED, PAYLOAD_SCHEMAS, QUEUE_CHANGED

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_COUNT = {"type": "integer", "minimum": 0}
_LOGIN = {"name": "login", "in": "path", "required": True, "schema": _STR}
_CALL_ID = {
    "name": "call_id",
    "in": "path",
    "required": True,
    "schema": _STR,
    "description": "the SIP Call-ID (percent-encoded)",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _items(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref(name)}},
    }


def _event(event_type: str) -> dict[str, Any]:
    return {
        "title": f"hotline event {event_type}",
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "type", "at", "payload"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"const": event_type},
            "at": _TIME,
            "payload": PAYLOAD_SCHEMAS[event_type],
        },
    }


_QUEUED_CALL_STATUSES = [acd.WAITING, acd.OVERFLOWED, acd.OFFERED, *acd.FINISHED]

SCHEMAS: dict[str, Any] = {
    "Agent": {
        "type": "object",
        "required": ["login", "name", "extension", "groups", "skills", "state", "since"],
        "properties": {
            "login": _STR,
            "name": _STR,
            "extension": {**_STR, "description": "the agent's phone, registered at the edge"},
            "groups": {"type": "array", "items": _STR},
            "skills": {"type": "array", "items": _STR},
            "state": {
                "enum": list(acd.PRESENCE_STATES),
                "description": "ready 空闲, busy 通话中 (also while an offered call rings), "
                "after_call 话后处理, away 离开, offline",
            },
            "since": {**_NSTR, "format": "date-time", "description": "last change of state"},
            "call_id": {**_NSTR, "description": "the call offered to or connected with them"},
            "idle_seconds": {
                "type": "number",
                "description": "time ready since the end of the last call (longest idle first)",
            },
        },
    },
    "AgentList": _items("Agent"),
    "Queue": {
        "type": "object",
        "required": ["group", "label", "waiting", "offered", "agents_ready", "agents_signed_in"],
        "properties": {
            "group": _STR,
            "label": _STR,
            "waiting": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["call_id", "caller_masked", "since", "position"],
                    "properties": {
                        "call_id": _STR,
                        "caller_masked": _STR,
                        "since": {**_TIME, "description": "when the call was queued"},
                        "position": {"type": "integer", "minimum": 1},
                        "priority": {"enum": list(acd.PRIORITIES)},
                        "status": {"enum": [acd.WAITING, acd.OVERFLOWED]},
                    },
                },
            },
            "offered": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["call_id", "caller_masked", "since", "agent"],
                    "properties": {
                        "call_id": _STR,
                        "caller_masked": _STR,
                        "since": _TIME,
                        "agent": _STR,
                    },
                },
            },
            "agents_ready": _COUNT,
            "agents_signed_in": _COUNT,
        },
    },
    "QueueList": _items("Queue"),
    "QueuedCall": {
        "type": "object",
        "required": ["call_id", "status", "group", "position", "offer", "version"],
        "properties": {
            "call_id": _STR,
            "status": {
                "enum": _QUEUED_CALL_STATUSES,
                "description": "overflowed: waiting in a group it overflowed to; connected, "
                "timeout and left are final",
            },
            "group": {**_STR, "description": "the group it waits in now"},
            "position": {
                "type": ["integer", "null"],
                "description": "1: next; null unless waiting",
            },
            "priority": {"enum": list(acd.PRIORITIES)},
            "offer": {
                "type": ["object", "null"],
                "required": ["agent", "extension", "ring_seconds"],
                "properties": {
                    "agent": _STR,
                    "extension": _STR,
                    "ring_seconds": {"type": "number"},
                },
                "description": "while offered: transfer the caller to this extension",
            },
            "detail": {
                **_STR,
                "description": "why it ended: max_wait, no_agents, hangup, callback, gone …",
            },
            "version": {
                **_STR,
                "description": "changes whenever the status, group, position or offer does; "
                "pass it back as ?seen= to long-poll",
            },
        },
    },
    "CallOfferedEvent": _event(CALL_OFFERED),
    "QueueChangedEvent": _event(QUEUE_CHANGED),
}


def paths() -> dict[str, Any]:
    return {
        "/api/v1/agents": {
            "get": operation(
                "listAgents",
                "Agents of config/agents.yaml with their presence",
                responses={"200": (_ref("AgentList"), "agents in the file's order")},
                errors={
                    "401": "missing or unknown bearer token",
                    "403": "agents, supervisors, leaders and admins only",
                },
            )
        },
        "/api/v1/agents/{login}/presence": {
            "put": operation(
                "setPresence",
                "Set an agent's presence (agents their own; supervisors anyone's)",
                description=(
                    "An agent of role call_taker is the token whose name is the login. "
                    "Setting ready may offer a waiting call at once (call.offered on "
                    "hotline/agents/{login}/pops)."
                ),
                parameters=[_LOGIN],
                body="PresenceUpdate",
                responses={"200": (_ref("Agent"), "the agent as it is now")},
                errors={
                    "401": "missing or unknown bearer token",
                    "403": "another agent's presence",
                    "404": "no such agent",
                    "422": "not a state one may set",
                },
            )
        },
        "/api/v1/queues": {
            "get": operation(
                "listQueues",
                "Per agent group: calls waiting and offered, agents ready",
                responses={"200": (_ref("QueueList"), "groups in the file's order")},
                errors={
                    "401": "missing or unknown bearer token",
                    "403": "agents, supervisors, leaders and admins only",
                },
            )
        },
        "/api/v1/queues/{group}/calls": {
            "post": operation(
                "queueCall",
                "Queue a call for the group's agents (the IVR)",
                description=(
                    "Idempotent on call_id while the call is queued; a call whose queueing "
                    "ended is queued anew."
                ),
                parameters=[{"name": "group", "in": "path", "required": True, "schema": _STR}],
                body="QueueCallRequest",
                responses={
                    "201": (_ref("QueuedCall"), "queued (possibly offered already)"),
                    "200": (_ref("QueuedCall"), "already queued"),
                },
                errors={
                    "401": "missing or unknown bearer token",
                    "403": "the IVR and admins only",
                    "404": "no such group",
                    "422": "a field is invalid",
                },
            )
        },
        "/api/v1/queues/calls/{call_id}": {
            "get": operation(
                "getQueuedCall",
                "A queued call's status; long-polls with ?seen=VERSION&wait=S",
                parameters=[
                    _CALL_ID,
                    {"name": "seen", "in": "query", "schema": _STR},
                    {
                        "name": "wait",
                        "in": "query",
                        "schema": {"type": "number", "minimum": 0, "maximum": 30, "default": 0},
                    },
                ],
                responses={"200": (_ref("QueuedCall"), "as soon as version differs from seen")},
                errors={
                    "401": "missing or unknown bearer token",
                    "404": "no such queued call",
                    "422": "wait out of range",
                },
            ),
            "delete": operation(
                "leaveQueue",
                "The caller left the queue (hung up, asked for a callback …)",
                parameters=[
                    _CALL_ID,
                    {
                        "name": "reason",
                        "in": "query",
                        "schema": {"enum": list(acd.LEAVE_REASONS), "default": "hangup"},
                    },
                ],
                responses={"200": (_ref("QueuedCall"), "the call, now left (or as it ended)")},
                errors={
                    "401": "missing or unknown bearer token",
                    "404": "no such queued call",
                    "422": "unknown reason",
                },
            ),
        },
        "/api/v1/queues/calls/{call_id}/result": {
            "post": operation(
                "reportOffer",
                "How the transfer to the offered agent went (the IVR)",
                description=(
                    "answered connects the call; anything else sets the agent away (RONA) "
                    "and offers the call again."
                ),
                parameters=[_CALL_ID],
                body="OfferResult",
                responses={"200": (_ref("QueuedCall"), "the call after the report")},
                errors={
                    "401": "missing or unknown bearer token",
                    "404": "no such queued call",
                    "422": "unknown outcome",
                },
            )
        },
    }
