"""Wallboard reports and recording playback: hotspots (未诉先办), orders due soon and overdue
(督办), and ``GET /workorders/{n}/recording``.

The recording is part of the caller's identity: only roles that see the identity in full
(centre roles) may play it, and every playback is written to the audit log like an unmasked
read (reason from ``X-Access-Reason``, default ``recording``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from recordings.errors import RecordingError
from recordings.store import RecordingStore
from workorders.access import may_play_recording, order_view, visible_units
from workorders.api.workflow import Reader, access_reason, actor_of
from workorders.due import due_items
from workorders.errors import Forbidden, InvalidInput, NotFound
from workorders.hotspots import ZONE, check_window, compute_hotspots, window_start
from workorders.model import format_utc
from workorders.store import Store
from workorders.tokens import Principal

MAX_DUE_HOURS = 24 * 7
_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


class ReportHandlers:
    def __init__(
        self,
        store: Store,
        principal_key: web.RequestKey[Principal],
        recordings: Path | None,
    ) -> None:
        self._store = store
        self._reader = Reader(store)
        self._principal = principal_key
        self._recordings = None if recordings is None else RecordingStore(recordings)

    async def report_hotspots(self, request: web.Request) -> web.Response:
        principal = request[self._principal]
        days = check_window(_int(request.query, "days", 7, 1, 30))
        depth = _int(request.query, "region_depth", 2, 1, 5)
        now = self._store.clock()
        today = now.astimezone(ZONE).date()
        units = visible_units(principal, self._reader.tree)
        inputs = await self._store.reports.hotspot_inputs(
            start=window_start(today, days), units=units
        )
        hotspots = compute_hotspots(inputs, today=today, days=days, region_depth=depth)
        return web.json_response({**hotspots.to_json(), "region_depth": depth}, dumps=_dumps)

    async def report_due(self, request: web.Request) -> web.Response:
        principal = request[self._principal]
        hours = _int(request.query, "within_hours", 24, 1, MAX_DUE_HOURS)
        now: datetime = self._store.clock()
        units = visible_units(principal, self._reader.tree)
        overdue, soon = due_items(
            await self._store.reports.due_inputs(units=units), now, timedelta(hours=hours)
        )
        calendar = self._store.rules.calendar
        horizon = calendar.horizon_status(calendar.local(now).date())
        return web.json_response(
            {
                "now": format_utc(now),
                # Where the holiday data ends: the wallboard's banner when it is near.
                "calendar": horizon.to_json(),
                "within_hours": hours,
                "overdue": [item.to_json(now) for item in overdue],
                "soon": [item.to_json(now) for item in soon],
            },
            dumps=_dumps,
        )

    async def get_recording(self, request: web.Request) -> web.StreamResponse:
        principal = request[self._principal]
        order = await self._reader.order(principal, request.match_info["number"])
        if not may_play_recording(order_view(principal, self._reader.tree, order)):
            raise Forbidden("only the centre may play a caller's recording")
        if order.recording is None or self._recordings is None:
            raise NotFound(f"order {order.number} has no recording", field="number")
        try:
            path = self._recordings.resolve(order.recording)
        except RecordingError:
            raise NotFound(f"order {order.number} has no recording", field="number") from None
        if not path.is_file():
            raise NotFound(f"the recording of {order.number} is missing", field="number")
        reason = access_reason(request, "recording")
        await self._store.audit.record_reads(actor_of(principal), [order.number], reason)
        return web.FileResponse(
            path,
            headers={
                "Content-Type": "audio/wav",
                "Cache-Control": "private, no-store",
                "Content-Disposition": f'inline; filename="{order.number}.wav"',
            },
        )


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}", field=name)
    return int(text)
