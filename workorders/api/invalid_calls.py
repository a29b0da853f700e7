"""``POST /invalid-calls`` (the IVR counts a 无效来电) and ``GET /reports/invalid-calls``.

A call the IVR ended without an order — no input, a silent intake, too short, an intake cut
by a crash before any speech — is not work, but it is statistics (issue 13, item 8): the
service keeps it on the call's row, counts it per reason, and flags a number whose invalid
calls reach the malicious-caller threshold (``workorders/invalid_calls.py``). Nothing here
carries audio or words; reports show numbers masked.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

from aiohttp import web

from workorders.api.workflow import json_object, report_period
from workorders.errors import InvalidInput
from workorders.fields import ASCII_CALL_ID, GROUP, MAX_WORKER, SIP_USER
from workorders.invalid_calls import REASONS, InvalidCall
from workorders.rates import REPORT_ZONE
from workorders.store.orders import OrderStore
from workorders.store.reports import ReportStore

_FIELDS = frozenset(
    {"call_id", "caller_number", "reason", "group", "worker", "category", "menu_path",
     "seconds", "received_at", "recording"}
)  # fmt: skip
_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def parse_invalid_call(body: Mapping[str, object], *, default_group: str) -> InvalidCall:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    call_id = body.get("call_id")
    if not isinstance(call_id, str) or not ASCII_CALL_ID.matches(call_id):
        raise InvalidInput(f"call_id must be {ASCII_CALL_ID.says}", field="call_id")
    caller = body.get("caller_number", "")
    if not isinstance(caller, str) or not SIP_USER.matches(caller):
        raise InvalidInput(f"caller_number must be {SIP_USER.says}", field="caller_number")
    reason = body.get("reason")
    if reason not in REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(REASONS)}", field="reason")
    group = body.get("group", default_group)
    if not isinstance(group, str) or not GROUP.matches(group):
        raise InvalidInput(f"group must be {GROUP.says}", field="group")
    worker = body.get("worker")
    if worker is not None and (not isinstance(worker, str) or len(worker) > MAX_WORKER):
        raise InvalidInput(
            f"worker must be a string of at most {MAX_WORKER} characters", field="worker"
        )
    seconds = body.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise InvalidInput("seconds must be a number ≥ 0", field="seconds")
    return InvalidCall(call_id, caller, str(reason), group, worker)


class InvalidCallHandlers:
    def __init__(self, orders: OrderStore, reports: ReportStore, default_group: str) -> None:
        self._orders = orders
        self._reports = reports
        self._default_group = default_group

    async def post_invalid_call(self, request: web.Request) -> web.Response:
        call = parse_invalid_call(await json_object(request), default_group=self._default_group)
        verdict = await self._orders.record_invalid_call(call)
        body = {"call_id": call.call_id, "reason": call.reason, **verdict.to_json()}
        return web.json_response(body, status=200 if verdict.replayed else 201, dumps=_dumps)

    async def report_invalid_calls(self, request: web.Request) -> web.Response:
        period = report_period(request.query, self._reports.clock())
        start, end = period.bounds()
        by_reason, repeated = await self._reports.invalid_call_counts(start, end)
        body = {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "period": "current_month" if period.default else "given",
            "zone": REPORT_ZONE.key,
            "total": sum(by_reason.values()),
            "by_reason": {reason: by_reason.get(reason, 0) for reason in REASONS},
            "repeated_numbers": [{"caller": c, "count": n} for c, n in repeated],
        }
        return web.json_response(body, dumps=_dumps)
