"""Alerts to supervisors (yellow warnings, red 督办, abusive repetition), built from the
lifecycle's ``Alert``. Pure.

Published through the outbox to ``hotline/alerts/supervisors``; the payload (the contract's
``events.payloads.OrderAlertPayload``) carries the order number and the handling unit, never
the caller's number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from events.payloads import ORDER_ALERT, OrderAlert, OrderAlertPayload, utc_ms
from events.topics import SUPERVISOR_TOPIC
from workorders.lifecycle.model import Alert

__all__ = ["ORDER_ALERT", "SPEECH_EMERGENCY", "SUPERVISOR_TOPIC", "alert_event"]

#: The speech classification heard an emergency on an order that is not one.
SPEECH_EMERGENCY = "speech_emergency"


def alert_event(
    event_id: str, number: str, unit: str | None, alert: Alert, at: datetime
) -> dict[str, Any]:
    # Validated, not typed: level and reason are strings in the lifecycle, enums on the wire.
    payload = OrderAlertPayload.model_validate(
        {
            "order_number": number,
            "level": alert.level,
            "reason": alert.reason,
            "deadline": alert.deadline,
            "due": None if alert.due is None else utc_ms(alert.due),
            "unit": unit,
            "line": alert.line,
        }
    )
    return OrderAlert(id=event_id, type=ORDER_ALERT, at=utc_ms(at), payload=payload).wire()
