"""The three rates (三率) of the seed study (003 篇七), and their table and CSV forms. Pure.

* valid: orders not marked invalid (pure consultations/suggestions, unlawful demands, staff's
  own complaints, wrong dispatch) — valid rate = valid / all orders;
* reached: valid orders whose callback (回访) reached the caller (unreachable counted apart);
* 响应率 = responded / reached, 解决率 = resolved / reached, 满意率 = (满意 + 基本满意) / reached.

The period is whole days in Asia/Shanghai (an order received at 23:30 on the 31st in Beijing
counts in that month, whatever the server's zone); without one, the current month there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from routing.clock import HOTLINE_ZONE
from workorders.lifecycle.model import CallbackResult

#: Reports count days here (the hotline's zone, not the server's).
REPORT_ZONE = HOTLINE_ZONE


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """Days ``first`` to ``last``, both inclusive, in ``REPORT_ZONE``; ``default``: nobody
    chose it (the current month)."""

    first: date
    last: date
    default: bool = False

    @classmethod
    def current_month(cls, now: datetime) -> ReportPeriod:
        """The calendar month ``now`` falls in, in Asia/Shanghai (16:30 UTC on 31 Dec is
        already January there)."""
        if now.tzinfo is None:
            raise ValueError("current_month needs an aware datetime")
        today = now.astimezone(REPORT_ZONE).date()
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(first, following - timedelta(days=1), default=True)

    def bounds(self) -> tuple[datetime, datetime]:
        """``[start, end)``: midnight of ``first`` to midnight after ``last``, in the zone."""
        start = datetime.combine(self.first, time(0), REPORT_ZONE)
        return start, datetime.combine(self.last + timedelta(days=1), time(0), REPORT_ZONE)

    def describe(self) -> str:
        """``2026-12-01 – 2026-12-31 (current month, Asia/Shanghai)``."""
        note = "current month, " if self.default else ""
        return f"{self.first} – {self.last} ({note}{REPORT_ZONE.key})"


@dataclass(frozen=True, slots=True)
class RateInput:
    valid: bool
    callback: CallbackResult | None


@dataclass(frozen=True, slots=True)
class Rates:
    total: int
    valid: int
    reached: int
    unreachable: int
    responded: int
    resolved: int
    satisfied: int
    dissatisfied: int
    valid_rate: float | None
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None

    def to_json(self) -> dict[str, int | float | None]:
        return asdict(self)


def percent(part: int, whole: int) -> float | None:
    """``part / whole`` in percent, rounded half up to 2 decimals; ``None`` when ``whole`` is 0."""
    if whole == 0:
        return None
    value = Decimal(part) * 100 / Decimal(whole)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def compute_rates(orders: Iterable[RateInput]) -> Rates:
    total = valid = reached = unreachable = responded = resolved = satisfied = 0
    for order in orders:
        total += 1
        if not order.valid:
            continue
        valid += 1
        callback = order.callback
        if callback is None:
            continue
        if not callback.reached:
            unreachable += 1
            continue
        reached += 1
        responded += bool(callback.responded)
        resolved += bool(callback.resolved)
        satisfied += callback.satisfied
    return Rates(
        total=total,
        valid=valid,
        reached=reached,
        unreachable=unreachable,
        responded=responded,
        resolved=resolved,
        satisfied=satisfied,
        dissatisfied=reached - satisfied,
        valid_rate=percent(valid, total),
        response_rate=percent(responded, reached),
        resolution_rate=percent(resolved, reached),
        satisfaction_rate=percent(satisfied, reached),
    )


_COLUMNS = (
    ("total", "工单总数"),
    ("valid", "有效工单"),
    ("valid_rate", "有效率%"),
    ("reached", "有效回访"),
    ("unreachable", "未接通"),
    ("responded", "响应"),
    ("response_rate", "响应率%"),
    ("resolved", "解决"),
    ("resolution_rate", "解决率%"),
    ("satisfied", "满意"),
    ("satisfaction_rate", "满意率%"),
)


def _cell(value: int | float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def rates_csv(rates: Rates) -> str:
    data = rates.to_json()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([key for key, _ in _COLUMNS])
    writer.writerow([_cell(data[key]) for key, _ in _COLUMNS])
    return out.getvalue()


def rates_table(rates: Rates) -> str:
    """Two aligned columns (label, value), as ``hotline report rates`` prints them."""
    data = rates.to_json()
    return "".join(f"{label}\t{_cell(data[key])}\n" for key, label in _COLUMNS)
