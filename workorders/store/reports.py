"""Report queries: the inputs of the pure report code (rates, hotspots, due deadlines,
invalid calls). Read only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from workorders.due import DueInput
from workorders.fields import mask_phone
from workorders.hotspots import HotspotInput
from workorders.lifecycle.model import Lifecycle, State
from workorders.rates import RateInput
from workorders.repeats import ANONYMOUS
from workorders.store.base import Part, shielded
from workorders.store.tables import CallRow, WorkOrderRow

#: Open states whose deadlines the wallboard shows (replied/closed orders run none).
_OPEN_STATES = tuple(s.value for s in State if s not in (State.REPLIED, State.CLOSED))


class ReportStore(Part):
    @shielded
    async def rate_inputs(
        self,
        *,
        start: datetime,
        end: datetime,
        units: frozenset[str] | None = None,
        region: str | None = None,
    ) -> list[RateInput]:
        """Orders received in ``[start, end)``, of ``units`` (``None``: all) and ``region``."""
        query = select(WorkOrderRow.lifecycle, WorkOrderRow.unit, WorkOrderRow.region).where(
            WorkOrderRow.received_at >= start, WorkOrderRow.received_at < end
        )
        if units is not None:
            query = query.where(WorkOrderRow.unit.in_(sorted(units)))
        async with self._transaction() as session:
            rows = (await session.execute(query)).all()
        inputs = []
        for data, _unit, order_region in rows:
            if region is not None and not (
                order_region == region or (order_region or "").startswith(region + "/")
            ):
                continue
            if data is None:
                continue
            life = Lifecycle.from_json(data)
            inputs.append(RateInput(valid=life.valid, callback=life.callback))
        return inputs

    @shielded
    async def hotspot_inputs(
        self, *, start: datetime, units: frozenset[str] | None = None
    ) -> list[HotspotInput]:
        """Orders received since ``start`` (domain and region as classified)."""
        query = select(WorkOrderRow.received_at, WorkOrderRow.lifecycle, WorkOrderRow.region)
        query = query.where(WorkOrderRow.received_at >= start)
        if units is not None:
            query = query.where(WorkOrderRow.unit.in_(sorted(units)))
        async with self._transaction() as session:
            rows = (await session.execute(query)).all()
        return [
            HotspotInput(received, (life or {}).get("domain"), region)
            for received, life, region in rows
        ]

    @shielded
    async def due_inputs(
        self, *, units: frozenset[str] | None = None, limit: int = 2000
    ) -> list[DueInput]:
        """Open orders, oldest first (at most ``limit``). Not by ``next_check_at``: an order
        whose every deadline is already overdue has none."""
        query = select(WorkOrderRow.number, WorkOrderRow.lifecycle, WorkOrderRow.unit).where(
            WorkOrderRow.status.in_(_OPEN_STATES)
        )
        if units is not None:
            query = query.where(WorkOrderRow.unit.in_(sorted(units)))
        query = query.order_by(WorkOrderRow.received_at, WorkOrderRow.id).limit(limit)
        async with self._transaction() as session:
            rows = (await session.execute(query)).all()
        return [
            DueInput(number, Lifecycle.from_json(life), unit)
            for number, life, unit in rows
            if life is not None
        ]

    async def invalid_call_counts(
        self, start: datetime, end: datetime
    ) -> tuple[dict[str, int], list[tuple[str, int]]]:
        """Invalid calls in [start, end): per reason, and the numbers with at least the
        abusive count (masked), most first."""
        policy = self._rules.sla.repeats
        async with self._transaction() as session:
            in_period = (CallRow.invalid_at >= start) & (CallRow.invalid_at < end)
            reasons = await session.execute(
                select(CallRow.invalid_reason, func.count())
                .where(in_period)
                .group_by(CallRow.invalid_reason)
            )
            numbers = await session.execute(
                select(CallRow.caller_number, func.count())
                .where(in_period)
                .group_by(CallRow.caller_number)
                .having(func.count() >= policy.abusive_count)
                .order_by(func.count().desc())
            )
        by_reason = {str(reason): int(count) for reason, count in reasons}
        repeated = [
            (mask_phone(str(number)), int(count))
            for number, count in numbers
            if str(number).lower() not in ANONYMOUS  # nobody to flag
        ]
        return by_reason, repeated
