"""无效来电 in the store: marked on the call's row, counted by reason and by number."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select

from workorders.invalid_calls import InvalidCall, InvalidVerdict, judge_invalid
from workorders.model import mask_phone
from workorders.repeats import ANONYMOUS
from workorders.store.base import StoreCore, shielded
from workorders.store.tables import CallRow

log = logging.getLogger("workorders.store")


class InvalidCallStore(StoreCore):
    @shielded
    async def record_invalid_call(self, call: InvalidCall) -> InvalidVerdict:
        """Mark the call invalid (creating its row if its answer was never recorded) and
        judge the number by its invalid calls in the repeat window. Repeating the same
        ``call_id`` changes nothing (``replayed``)."""
        policy = self._rules.sla.repeats
        async with self._transaction() as session:
            now = self._clock()
            row = await session.get(CallRow, call.call_id)
            replayed = row is not None and row.invalid_reason is not None
            if row is None:
                row = CallRow(
                    call_id=call.call_id, caller_number=call.caller_number, callee="",
                    group=call.group, worker=call.worker, answered_at=now,
                )  # fmt: skip
                session.add(row)
            if not replayed:
                row.invalid_reason, row.invalid_at = call.reason, now
            await session.flush()
            in_window = await session.scalar(
                select(func.count())
                .select_from(CallRow)
                .where(
                    CallRow.caller_number == row.caller_number,
                    CallRow.invalid_reason.is_not(None),
                    CallRow.answered_at >= now - policy.window,
                )
            )
        verdict = judge_invalid(row.caller_number, int(in_window or 0), policy)
        if not replayed:
            log.info(
                "invalid call (%s) from %s: %d in the window%s",
                call.reason, mask_phone(row.caller_number), verdict.in_window,
                " — ABUSIVE REPETITION" if verdict.abusive else "",
            )  # fmt: skip
        return InvalidVerdict(verdict.in_window, verdict.abusive, replayed)

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
