"""Operators' routes: the outbox quarantine (events the broker refused, kept with the reason)
and lifting console login limits. ``app.py`` mounts them; OpenAPI in ``openapi_operations``.
"""

from __future__ import annotations

import functools
import json

from aiohttp import web

from workorders.errors import InvalidInput
from workorders.fields import EVENT_ID
from workorders.model import format_utc
from workorders.store.outbox import OutboxStore
from workorders.store.people import PeopleAndUnitsStore
from workorders.validation import check_text, parse_limit_offset

_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


class OperationHandlers:
    def __init__(self, outbox: OutboxStore, people: PeopleAndUnitsStore) -> None:
        self._outbox = outbox
        self._people = people

    async def list_quarantine(self, request: web.Request) -> web.Response:
        limit, offset = parse_limit_offset(request.query)
        rows = await self._outbox.quarantined(limit=limit, offset=offset)
        items = [
            {
                "id": row.id,
                "type": row.event.get("type"),
                "topic": row.topic,
                "created_at": format_utc(row.created_at),
                "quarantined_at": None
                if row.quarantined_at is None
                else format_utc(row.quarantined_at),
                "attempts": row.attempts,
                "reason": row.failure,
            }
            for row in rows
        ]
        return web.json_response({"items": items, "limit": limit, "offset": offset}, dumps=_dumps)

    async def release_quarantined(self, request: web.Request) -> web.Response:
        event_id = request.match_info["id"]
        if not EVENT_ID.matches(event_id):
            raise InvalidInput("id must be an event id (a uuid)", field="id")
        await self._outbox.release_quarantined(event_id)
        return web.json_response({"id": event_id, "released": True}, dumps=_dumps)

    async def unlock_login(self, request: web.Request) -> web.Response:
        login = check_text(request.match_info["login"], "login", max_length=64, empty=False)
        cleared = await self._people.unlock_login(login)
        return web.json_response({"login": login, "cleared": cleared}, dumps=_dumps)
