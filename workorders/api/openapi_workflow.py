"""OpenAPI pieces of the lifecycle routes (merged by ``openapi.build_openapi``)."""

from __future__ import annotations

from typing import Any

from workorders import fields
from workorders.api.openapi_gen import operation
from workorders.lifecycle.model import State

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_NTIME = {"type": ["string", "null"], "format": "date-time"}
_INT = {"type": "integer"}
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": fields.ORDER_NUMBER.schema(),
}
_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"},
}
_REASON = {
    "name": "X-Access-Reason",
    "in": "header",
    "required": False,
    "schema": _STR,
    "description": "why the caller's identity is read (written to the audit log)",
}
_PAGE = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _err(description: str) -> dict[str, Any]:
    return {"$ref": "#/components/responses/Error", "description": description}


def _listing(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "limit": _INT,
            "offset": _INT,
        },
    }


STATES = [state.value for state in State]

WORKORDER_EXTRA_PROPERTIES: dict[str, Any] = {
    "unit": {**_NSTR, "description": "the handling unit (units.yaml id)"},
    "region": _NSTR,
    "about_unit": {**_NSTR, "description": "the unit a complaint is about"},
    "repeat_of": {**_NSTR, "description": "first order of this caller in the repeat window"},
    "caller_name": _NSTR,
    "callback_number": _NSTR,
    "address": _NSTR,
    "confidential": {"type": "boolean", "description": "保密: identity hidden outside the centre"},
    "lifecycle": {
        "type": ["object", "null"],
        "description": "state, deadlines (each with `estimate`), callback …",
    },
    "due_is_estimate": {
        "type": "boolean",
        "description": (
            "a deadline of the open order (lifecycle.deadlines[].estimate) was counted over "
            "working days past the calendar's horizon (no official holiday data yet, every "
            "weekday taken as a working day): its due time is an estimate"
        ),
    },
    "identity": {"type": "string", "enum": ["full", "masked", "hidden"]},
}

SCHEMAS: dict[str, Any] = {
    "LedgerEntry": {
        "type": "object",
        "required": ["at", "actor", "role", "unit", "action", "state", "note", "data"],
        "properties": {
            "at": _TIME,
            "actor": _STR,
            "role": _STR,
            "unit": _NSTR,
            "action": _STR,
            "state": {"type": "string", "enum": STATES},
            "note": _STR,
            "data": {"type": "object"},
        },
    },
    "ActionResult": {
        "type": "object",
        "required": ["order", "entry"],
        "properties": {
            "order": {
                "oneOf": [_ref("WorkOrder"), {"type": "null"}],
                "description": "null when the order left the caller's view",
            },
            "entry": _ref("LedgerEntry"),
        },
    },
    "Ledger": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("LedgerEntry")}},
    },
    "Supervision": {
        "type": "object",
        "properties": {
            "order_number": _STR,
            "at": _TIME,
            "level": {"type": "string", "enum": ["yellow", "red"]},
            "reason": _STR,
            "deadline": _NSTR,
            "due": _NTIME,
            "unit": _NSTR,
        },
    },
    "SupervisionList": _listing("Supervision"),
    "AuditRecord": {
        "type": "object",
        "properties": {
            "at": _TIME,
            "actor": _STR,
            "role": _STR,
            "order_number": _STR,
            "reason": _STR,
        },
    },
    "AuditList": _listing("AuditRecord"),
    "Rates": {
        "type": "object",
        "description": "响应率/解决率/满意率 over reached callbacks of valid orders (percent)",
        "properties": {
            **dict.fromkeys(
                (
                    "total",
                    "valid",
                    "reached",
                    "unreachable",
                    "responded",
                    "resolved",
                    "satisfied",
                    "dissatisfied",
                ),
                _INT,
            ),
            **{
                k: {"type": ["number", "null"]}
                for k in ("valid_rate", "response_rate", "resolution_rate", "satisfaction_rate")
            },
            "from": {
                "type": "string",
                "format": "date",
                "description": "first day counted (Asia/Shanghai), the one given or the default",
            },
            "to": {"type": "string", "format": "date", "description": "last day counted"},
            "period": {
                "type": "string",
                "enum": ["given", "current_month"],
                "description": "current_month: no from/to was given",
            },
            "zone": {"type": "string", "description": "the zone the days are counted in"},
            "unit": _NSTR,
            "region": _NSTR,
            "centre_view": {"type": "boolean"},
        },
    },
}


def paths() -> dict[str, Any]:
    order = "/api/v1/workorders/{number}"
    return {
        f"{order}/caller": {
            "put": operation(
                "putCallerDetails",
                "Record the caller's name, callback number, address and 保密 request",
                parameters=[_NUMBER, _REASON],
                body="CallerDetails",
                responses={"200": (_ref("WorkOrder"), "the order")},
                errors={
                    "403": "only centre roles",
                    "404": "no such order",
                    "422": "a field is invalid",
                },
            )
        },
        f"{order}/actions": {
            "post": operation(
                "postAction",
                "Take one lifecycle step (idempotent on Idempotency-Key)",
                parameters=[_NUMBER, _KEY, _REASON],
                body="Action",
                responses={
                    "201": (_ref("ActionResult"), "done; one ledger entry"),
                    "200": (_ref("ActionResult"), "replay of this key"),
                },
                errors={
                    "403": "the role or unit may not take this step",
                    "404": "no such order (or not visible)",
                    "409": "not allowed in the order's state, or key reuse",
                    "422": "a field is invalid",
                },
            )
        },
        f"{order}/ledger": {
            "get": operation(
                "getLedger",
                "The order's 全流程台账, oldest first",
                parameters=[_NUMBER],
                responses={"200": (_ref("Ledger"), "entries")},
                errors={"404": "no such order (or not visible)"},
            )
        },
        "/api/v1/supervisions": {
            "get": operation(
                "listSupervisions",
                "督办 records and warnings, newest first",
                parameters=[*_PAGE, {"name": "number", "in": "query", "schema": _STR}],
                responses={"200": (_ref("SupervisionList"), "records")},
                errors={"403": "supervisors, leaders and admins only"},
            )
        },
        "/api/v1/audit": {
            "get": operation(
                "listAudit",
                "Unmasked reads of callers' identities, newest first",
                parameters=[*_PAGE, {"name": "number", "in": "query", "schema": _STR}],
                responses={"200": (_ref("AuditList"), "records")},
                errors={"403": "supervisors and admins only"},
            )
        },
        "/api/v1/reports/rates": {
            "get": {
                "operationId": "reportRates",
                "summary": "The three rates for orders received from..to (days in Asia/Shanghai)",
                "description": "Without from and to: the current month in Asia/Shanghai (the "
                "response's from/to/period say which days were counted; the CSV's file name "
                "too). Give both or neither.",
                "parameters": [
                    {
                        "name": "from",
                        "in": "query",
                        "description": "first day (inclusive); default: the month's first",
                        "schema": {"type": "string", "format": "date"},
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "description": "last day (inclusive); default: the month's last",
                        "schema": {"type": "string", "format": "date"},
                    },
                    {"name": "unit", "in": "query", "schema": _STR},
                    {"name": "region", "in": "query", "schema": _STR},
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["csv"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "counts and rates",
                        "content": {
                            "application/json": {"schema": _ref("Rates")},
                            "text/csv": {"schema": _STR},
                        },
                    },
                    "403": _err("a unit outside the caller's view"),
                    "422": _err("a query parameter is invalid, or only one of from/to"),
                },
            }
        },
    }
