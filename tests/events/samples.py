"""One valid event of each type, as the console's JavaScript and the wallboard read it."""

from __future__ import annotations

from typing import Any

AT = "2025-03-14T02:00:00.000Z"

SAMPLES: dict[str, dict[str, Any]] = {
    "call.answered": {
        "id": "0b6f3c58-2a9e-4f3e-9a57-3f1c2d4e5f61",
        "type": "call.answered",
        "at": AT,
        "payload": {
            "call_id": "c-1",
            "caller_number": "13800138000",
            "callee": "12320",
            "group": "intake",
        },
    },
    "order.created": {
        "id": "0b6f3c58-2a9e-4f3e-9a57-3f1c2d4e5f62",
        "type": "order.created",
        "at": AT,
        "payload": {
            "call_id": "c-1",
            "caller_number": "13800138000",
            "menu_choice": "3",
            "menu_path": ["1", "3"],
            "category": "complaint",
            "category_label": "投诉",
            "order_number": "12320-20250314-00001",
            "flags": ["infectious_disease"],
        },
    },
    "call.partial_transcript": {
        "id": "0b6f3c58-2a9e-4f3e-9a57-3f1c2d4e5f63",
        "type": "call.partial_transcript",
        "at": AT,
        "payload": {"call_id": "c-1", "group": "intake", "text": "我要投诉"},
    },
    "order.alert": {
        "id": "0b6f3c58-2a9e-4f3e-9a57-3f1c2d4e5f60",
        "type": "order.alert",
        "at": AT,
        "payload": {
            "order_number": "12320-20250314-00001",
            "level": "red",
            "reason": "overdue",
            "deadline": "handling",
            "due": "2025-03-14T04:00:00.000Z",
            "unit": "saihan-cdc",
            "line": None,
        },
    },
    "call.emergency": {
        "id": "0b6f3c58-2a9e-4f3e-9a57-3f1c2d4e5f64",
        "type": "call.emergency",
        "at": AT,
        "payload": {"call_id": "a+b#c%d@10.0.0.1", "line": "medical_120", "by": "taker"},
    },
    "call.offered": {
        "id": "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        "type": "call.offered",
        "at": AT,
        "payload": {
            "call_id": "c-1",
            "caller_number": "13800138000",
            "group": "intake",
            "menu_path": ["0"],
            "order_number": None,
            "history": [
                {
                    "order_number": "12320-20250310-00007",
                    "created_at": "2025-03-10T01:02:03.000Z",
                    "category": "complaint",
                    "status": "closed",
                }
            ],
            "repeat_caller": True,
            "priority": "normal",
            "agent": "a1001",
        },
    },
    "queue.changed": {
        "id": "0b6f3c58-2a9e-4f3e-9a57-3f1c2d4e5f65",
        "type": "queue.changed",
        "at": AT,
        "payload": {"group": "intake", "label": "受理组", "waiting": 2, "agents_ready": 0},
    },
}
