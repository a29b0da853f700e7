"""What becomes of an intake besides its order: pure helpers of ``ivr.session``.

* the order an intake would become if the worker died while recording it (kept in the
  spool's journal, ``ivr/journal.py``: issue 13, item 9);
* the report of a 无效来电 (no order; counted by the service: issue 13, item 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from ivr.engine import actions


class Journal(Protocol):
    """``ivr.journal.OrderJournal``: an intake in progress, kept for a crash's successor."""

    def begin(self, order: actions.CreateOrder, received_at: datetime) -> None: ...
    def end(self, key: str) -> None: ...


def cut_order(
    call_id: str,
    caller: str,
    variables: Mapping[str, str],
    menu_path: tuple[str, ...],
    recording: str,
    flow_version: str,
) -> actions.CreateOrder:
    """The order an intake being recorded becomes if its call is cut (flag added later)."""
    return actions.CreateOrder(
        idempotency_key=call_id,
        caller=caller,
        category=variables.get("category") or "consult",
        menu_path=menu_path,
        recording=recording,
        flow_version=flow_version,
    )


def invalid_report(invalid: actions.InvalidCall, answered_at: datetime) -> dict[str, Any]:
    """The body of ``POST /api/v1/invalid-calls`` (besides call id, caller and worker).

    A silent recording stays on disk, named here, so a wrongly gated intake can be found."""
    body: dict[str, Any] = {
        "reason": invalid.reason,
        "category": invalid.category,
        "menu_path": list(invalid.menu_path),
        "seconds": round(invalid.seconds, 1),
        "received_at": answered_at.isoformat(),
    }
    if invalid.recording is not None:
        body["recording"] = invalid.recording
    return body
