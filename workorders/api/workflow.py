"""Routes of the lifecycle: reads with visibility and masking, actions, ledger, 督办, audit,
the three rates. ``app.py`` mounts them next to the intake routes.

Reads: a unit role sees only orders handled within its unit (others are a 404, so order
numbers of other units cannot even be probed); the identity is shown as ``access.identity_view``
decides, and every read that shows it unmasked is written to the audit log with the reason
from the ``X-Access-Reason`` header (default: the route's name).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from aiohttp import web

from routing.units import OrgTree
from workorders.access import (
    IdentityView,
    can_read,
    is_centre,
    may_search_identity,
    order_view,
    present,
    present_entry,
    visible_units,
)
from workorders.api.actions import parse_action, parse_caller_details
from workorders.errors import Forbidden, InvalidInput, NotFound
from workorders.fields import MAX_ACCESS_REASON
from workorders.lifecycle.model import Actor
from workorders.model import WorkOrder, format_utc, is_order_number
from workorders.rates import REPORT_ZONE, ReportPeriod, compute_rates, rates_csv
from workorders.store import Store
from workorders.tokens import Principal
from workorders.validation import (
    check_text,
    parse_idempotency_key,
    parse_json_object,
    parse_limit_offset,
    parse_page,
)

ACCESS_REASON_HEADER = "X-Access-Reason"


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.name, principal.role, principal.unit)


class Reader:
    """Visibility, masking and audit of order reads for one store and organisation."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def tree(self) -> OrgTree:
        return self.store.rules.tree

    async def order(self, principal: Principal, number: str) -> WorkOrder:
        if not is_order_number(number):
            raise NotFound(f"no work order {number}", field="number")
        order = await self.store.orders.get_order(number)
        if not can_read(principal, self.tree, order.unit):
            raise NotFound(f"no work order {number}", field="number")
        return order

    async def show(
        self, request: web.Request, principal: Principal, orders: list[WorkOrder]
    ) -> list[dict[str, Any]]:
        shown, unmasked = [], []
        for order in orders:
            view = order_view(principal, self.tree, order)
            if view is IdentityView.FULL:
                unmasked.append(order.number)
            shown.append(present(order.to_json(), view))
        reason = access_reason(request, str(request.match_info.route.name))
        await self.store.audit.record_reads(actor_of(principal), unmasked, reason)
        return shown


class WorkflowHandlers:
    def __init__(self, store: Store, principal_key: web.RequestKey[Principal]) -> None:
        self._store = store
        self._reader = Reader(store)
        self._principal = principal_key

    def _who(self, request: web.Request) -> Principal:
        return request[self._principal]

    async def list_orders(self, request: web.Request) -> web.Response:
        principal = self._who(request)
        page = parse_page(request.query)
        if page.caller is not None and not may_search_identity(principal, self._reader.tree):
            # Masked results would still tell a unit who complained about it.
            raise Forbidden("按来电号码查询仅限热线中心（caller search is for the centre）")
        units = visible_units(principal, self._reader.tree)
        orders = await self._store.orders.list_orders(page, units=units)
        items = await self._reader.show(request, principal, orders)
        return _json({"items": items, "limit": page.limit, "offset": page.offset})

    async def get_order(self, request: web.Request) -> web.Response:
        principal = self._who(request)
        order = await self._reader.order(principal, request.match_info["number"])
        return _json((await self._reader.show(request, principal, [order]))[0])

    async def put_caller(self, request: web.Request) -> web.Response:
        principal = self._who(request)
        number = (await self._reader.order(principal, request.match_info["number"])).number
        details = parse_caller_details(await json_object(request))
        order = await self._store.orders.set_caller_details(number, details)
        return _json((await self._reader.show(request, principal, [order]))[0])

    async def post_action(self, request: web.Request) -> web.Response:
        principal = self._who(request)
        key = parse_idempotency_key(request.headers.get("Idempotency-Key"))
        number = (await self._reader.order(principal, request.match_info["number"])).number
        body = await json_object(request)
        command = parse_action(body)
        result = await self._store.orders.act(
            number, command, actor_of(principal), idempotency_key=key, request=dict(body)
        )
        order = result.order
        if not can_read(principal, self._reader.tree, order.unit):
            shown: dict[str, Any] | None = None  # e.g. returned or reassigned away
        else:
            shown = (await self._reader.show(request, principal, [order]))[0]
        headers = {"Idempotent-Replayed": "true"} if result.replayed else None
        return _json(
            {"order": shown, "entry": result.entry.to_json()},
            status=200 if result.replayed else 201,
            headers=headers,
        )

    async def get_ledger(self, request: web.Request) -> web.Response:
        principal = self._who(request)
        order = await self._reader.order(principal, request.match_info["number"])
        view = order_view(principal, self._reader.tree, order)
        entries = await self._store.orders.ledger(order.number)
        return _json({"items": [present_entry(entry.to_json(), view) for entry in entries]})

    async def list_supervisions(self, request: web.Request) -> web.Response:
        limit, offset = parse_limit_offset(request.query)
        number = request.query.get("number")
        # A unit leader sees the 督办 of orders handled within their unit, not everyone's.
        units = visible_units(self._who(request), self._reader.tree)
        items = await self._store.supervision.supervisions(
            number=number, units=units, limit=limit, offset=offset
        )
        return _json(
            {
                "items": [
                    {
                        "order_number": s.order_number,
                        "at": format_utc(s.at),
                        "level": s.level,
                        "reason": s.reason,
                        "deadline": s.deadline,
                        "due": None if s.due is None else format_utc(s.due),
                        "unit": s.unit,
                    }
                    for s in items
                ],
                "limit": limit,
                "offset": offset,
            }
        )

    async def list_audit(self, request: web.Request) -> web.Response:
        limit, offset = parse_limit_offset(request.query)
        number = request.query.get("number")
        records = await self._store.audit.audit_log(number=number, limit=limit, offset=offset)
        return _json(
            {
                "items": [
                    {
                        "at": format_utc(r.at),
                        "actor": r.actor,
                        "role": r.role,
                        "order_number": r.order_number,
                        "reason": r.reason,
                    }
                    for r in records
                ],
                "limit": limit,
                "offset": offset,
            }
        )

    async def report_rates(self, request: web.Request) -> web.Response:
        principal = self._who(request)
        query = request.query
        period = report_period(query, self._store.clock())
        start, end = period.bounds()
        tree = self._reader.tree
        units = visible_units(principal, tree)
        unit = query.get("unit")
        if unit is not None:
            if unit not in tree:
                raise InvalidInput(f"unknown unit {unit!r}", field="unit")
            if units is not None and unit not in units:
                raise Forbidden(f"unit {unit} is outside what {principal.name} may see")
            units = tree.subtree(unit)
        region = query.get("region") or None
        inputs = await self._store.reports.rate_inputs(
            start=start, end=end, units=units, region=region
        )
        rates = compute_rates(inputs)
        if query.get("format") == "csv" or "text/csv" in request.headers.get("Accept", ""):
            name = f"rates-{period.first}-{period.last}.csv"
            return web.Response(
                text=rates_csv(rates),
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        scope = {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "period": "current_month" if period.default else "given",
            "zone": REPORT_ZONE.key,
            "unit": unit,
            "region": region,
        }
        return _json({**scope, **rates.to_json(), "centre_view": is_centre(principal, tree)})


def access_reason(request: web.Request, default: str) -> str:
    """The audit reason of a read: the ``X-Access-Reason`` header (checked like any text: a
    header of non-UTF-8 bytes or over 200 characters is a 422, not a failed audit write)."""
    value = request.headers.get(ACCESS_REASON_HEADER)
    if not value:
        return default
    return check_text(value, ACCESS_REASON_HEADER, max_length=MAX_ACCESS_REASON)


def report_period(query: Mapping[str, str], now: datetime) -> ReportPeriod:
    """``from``/``to`` as days in Asia/Shanghai, both inclusive; neither: the month ``now``
    falls in there. One without the other is refused rather than guessed."""
    given = [name for name in ("from", "to") if query.get(name) is not None]
    if not given:
        return ReportPeriod.current_month(now)
    days = []
    for name in ("from", "to"):
        value = query.get(name)
        if value is None:
            raise InvalidInput(
                f"{name} (YYYY-MM-DD) is required with {given[0]}; "
                "give neither for the current month",
                field=name,
            )
        try:
            days.append(date.fromisoformat(value))
        except ValueError:
            raise InvalidInput(f"{name} must be YYYY-MM-DD", field=name) from None
    first, last = days
    if last < first:
        raise InvalidInput("to is before from", field="to")
    return ReportPeriod(first, last)


async def json_object(request: web.Request) -> Mapping[str, object]:
    return parse_json_object(await request.read())


def _json(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(
        data,
        status=status,
        headers=headers,
        dumps=lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
    )
