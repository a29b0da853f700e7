"""Alerts to supervisors (yellow warnings, red 督办, abusive repetition). Pure.

Published through the outbox to ``hotline/alerts/supervisors``; the payload carries the
order number and the handling unit, never the caller's number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workorders.events.screenpop import envelope
from workorders.lifecycle.model import Alert
from workorders.model import format_utc

ORDER_ALERT = "order.alert"
SUPERVISOR_TOPIC = "hotline/alerts/supervisors"
#: The speech classification heard an emergency on an order that is not one.
SPEECH_EMERGENCY = "speech_emergency"


def alert_event(
    event_id: str, number: str, unit: str | None, alert: Alert, at: datetime
) -> dict[str, Any]:
    payload = {
        "order_number": number,
        "level": alert.level,
        "reason": alert.reason,
        "deadline": alert.deadline,
        "due": None if alert.due is None else format_utc(alert.due),
        "unit": unit,
        "line": alert.line,
    }
    return envelope(event_id, ORDER_ALERT, at, payload)
