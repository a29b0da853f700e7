"""OpenAPI paths and schemas of the wallboard reports and recording playback (``reports.py``)."""

from __future__ import annotations

from typing import Any

from workorders.api.openapi_gen import operation

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUMBER = {"type": "number"}
_TIMESTAMP = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _err(description: str) -> dict[str, Any]:
    return {"$ref": "#/components/responses/Error", "description": description}


_DUE_ITEM = {
    "type": "object",
    "required": ["number", "deadline", "due", "minutes_left", "state", "overdue"],
    "properties": {
        "number": _STR,
        "deadline": {"type": "string", "enum": ["handling", "sign_for", "feedback"]},
        "deadline_label": _STR,
        "due": _TIMESTAMP,
        "minutes_left": {"type": "integer", "description": "negative when overdue"},
        "state": _STR,
        "unit": {"type": ["string", "null"]},
        "overdue": {"type": "boolean"},
        "supervisions": _INT,
        "estimate": {
            "type": "boolean",
            "description": "due counted past the calendar's horizon: an estimate",
        },
    },
}

SCHEMAS: dict[str, Any] = {
    "Hotspots": {
        "type": "object",
        "required": ["today", "from", "days", "cells"],
        "properties": {
            "today": {"type": "string", "format": "date"},
            "from": {"type": "string", "format": "date"},
            "days": {"type": "integer", "enum": [7, 30]},
            "region_depth": _INT,
            "spike_rule": _STR,
            "domains": {"type": "array", "items": _STR},
            "regions": {"type": "array", "items": _STR},
            "cells": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["domain", "region", "total", "today", "daily", "spike"],
                    "properties": {
                        "domain": _STR,
                        "domain_label": _STR,
                        "region": _STR,
                        "total": _INT,
                        "today": _INT,
                        "daily": {"type": "array", "items": _INT},
                        "baseline_mean": _NUMBER,
                        "baseline_sigma": _NUMBER,
                        "threshold": _NUMBER,
                        "spike": {"type": "boolean"},
                    },
                },
            },
        },
    },
    "DueOrders": {
        "type": "object",
        "required": ["now", "calendar", "within_hours", "overdue", "soon"],
        "properties": {
            "now": _TIMESTAMP,
            "calendar": {
                "type": "object",
                "description": (
                    "where the official holiday data ends (`horizon`, the last day of the "
                    "last known year); `warn` when fewer than `margin_days` are left: "
                    "import the State Council's `next_year` notice"
                ),
                "required": ["horizon", "today", "days_left", "margin_days", "warn", "next_year"],
                "properties": {
                    "horizon": {"type": ["string", "null"], "format": "date"},
                    "today": {"type": "string", "format": "date"},
                    "days_left": {"type": ["integer", "null"]},
                    "margin_days": _INT,
                    "warn": {"type": "boolean"},
                    "next_year": _INT,
                },
            },
            "within_hours": _INT,
            "overdue": {"type": "array", "items": _DUE_ITEM},
            "soon": {"type": "array", "items": _DUE_ITEM},
        },
    },
}


_REASONS = ["no_input", "silent_intake", "too_short", "cut_silent"]
_INVALID_VERDICT = {
    "type": "object",
    "required": ["call_id", "reason", "in_window", "abusive"],
    "properties": {
        "call_id": _STR,
        "reason": _STR,
        "in_window": {
            "type": "integer",
            "description": "the number's invalid calls in the repeat window, this one included",
        },
        "abusive": {"type": "boolean", "description": "恶意反复拨打: at the abusive count"},
    },
}
_INVALID_REPORT = {
    "type": "object",
    "required": ["total", "by_reason", "repeated_numbers"],
    "properties": {
        "from": _STR,
        "to": _STR,
        "total": _INT,
        "by_reason": {"type": "object", "properties": dict.fromkeys(_REASONS, _INT)},
        "repeated_numbers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "caller": {"type": "string", "description": "masked"},
                    "count": _INT,
                },
            },
        },
    },
}


def _invalid_call_paths() -> dict[str, Any]:
    day = {"type": "string", "format": "date"}
    return {
        "/api/v1/invalid-calls": {
            "post": operation(
                "postInvalidCall",
                (
                    "Count a 无效来电: a call the IVR ended without an order (no input, silent "
                    "intake, too short, cut before any speech); flags a number reaching the"
                    " malicious-caller count"
                ),
                body="InvalidCall",
                responses={
                    "201": (_INVALID_VERDICT, "counted"),
                    "200": (_INVALID_VERDICT, "already counted (same call_id)"),
                },
                errors={"403": "the IVR and admins only", "422": "a field is invalid"},
            )
        },
        "/api/v1/reports/invalid-calls": {
            "get": operation(
                "reportInvalidCalls",
                (
                    "无效来电 per reason over days (Asia/Shanghai), and the numbers with at "
                    "least the abusive count (masked)"
                ),
                parameters=[
                    {"name": "from", "in": "query", "required": True, "schema": day},
                    {"name": "to", "in": "query", "required": True, "schema": day},
                ],
                responses={"200": (_INVALID_REPORT, "counts")},
                errors={
                    "403": "supervisors, leaders and admins only",
                    "422": "a query parameter is invalid",
                },
            )
        },
    }


def paths() -> dict[str, Any]:
    return {
        **_invalid_call_paths(),
        "/api/v1/workorders/{number}/recording": {
            "get": {
                "operationId": "getRecording",
                "summary": "Play the caller's recording (centre roles; every playback audited)",
                "parameters": [
                    {"name": "number", "in": "path", "required": True, "schema": _STR},
                    {"name": "X-Access-Reason", "in": "header", "schema": _STR},
                ],
                "responses": {
                    "200": {
                        "description": "the WAV file (Range requests supported)",
                        "content": {"audio/wav": {"schema": {"type": "string"}}},
                    },
                    "403": _err("roles outside the centre never hear the caller"),
                    "404": _err("no such order, or no recording"),
                },
            }
        },
        "/api/v1/reports/hotspots": {
            "get": operation(
                "reportHotspots",
                (
                    "Orders per domain × region over the last 7 or 30 days, spikes marked "
                    "(today > mean + 2σ of the earlier days and ≥ 3)"
                ),
                parameters=[
                    {"name": "days", "in": "query", "schema": {"type": "integer", "enum": [7, 30]}},
                    {
                        "name": "region_depth",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 5, "default": 2},
                    },
                ],
                responses={"200": (_ref("Hotspots"), "cells, largest first")},
                errors={
                    "403": "supervisors, leaders and admins only",
                    "422": "a query parameter is invalid",
                },
            )
        },
        "/api/v1/reports/due": {
            "get": operation(
                "reportDue",
                "Open orders overdue (督办) or due within the next hours",
                parameters=[
                    {
                        "name": "within_hours",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 168, "default": 24},
                    }
                ],
                responses={"200": (_ref("DueOrders"), "most urgent first")},
                errors={
                    "403": "supervisors, leaders and admins only",
                    "422": "a query parameter is invalid",
                },
            )
        },
    }
