"""The working-day calendar: public holidays, 调休 make-up workdays and business hours.

Pure: the holiday tables come in as data (``routing.holidays_cn`` reads them
from the ``chinesecalendar`` package, ``config/calendar.yaml`` adds or
overrides days), and every question takes the time as a parameter.

A day is a *working day* when it is a make-up workday (调休, usually a
Saturday or Sunday), or a Monday–Friday that is not a public holiday.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.errors import RoutingError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CalendarError(RoutingError):
    """A calendar question the data cannot answer, or bad calendar data."""


class DayKind(enum.Enum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"  # 调休: a weekend day worked instead of a holiday


@dataclass(frozen=True, slots=True)
class Span:
    """Opening hours within one day, ``start`` inclusive, ``end`` exclusive."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Span:
        """``"08:30-17:30"``; ``"00:00-24:00"`` is the whole day."""
        try:
            first, second = (part.strip() for part in text.split("-"))
            start = time.fromisoformat(first)
            end = time.max if second == "24:00" else time.fromisoformat(second)
        except ValueError as exc:
            raise CalendarError(f"bad opening hours {text!r}: expected HH:MM-HH:MM") from exc
        if end <= start:
            raise CalendarError(f"bad opening hours {text!r}: ends before it starts")
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end or (self.end == time.max and moment >= self.start)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Opening hours per weekday; make-up workdays use ``makeup`` (default: Monday's)."""

    weekly: Mapping[str, tuple[Span, ...]]
    makeup: tuple[Span, ...] | None = None

    def spans(self, kind: DayKind, weekday: int) -> tuple[Span, ...]:
        if kind is DayKind.HOLIDAY or kind is DayKind.WEEKEND:
            return ()
        if kind is DayKind.MAKEUP_WORKDAY:
            return self.makeup if self.makeup is not None else self.weekly.get("mon", ())
        return self.weekly.get(WEEKDAYS[weekday], ())


ALWAYS_OPEN = BusinessHours({day: (Span.parse("00:00-24:00"),) for day in WEEKDAYS})


@dataclass(frozen=True)
class WorkCalendar:
    """Holidays and make-up workdays by date, business hours, and the years the data covers."""

    holidays: Mapping[date, str]
    makeup_workdays: Mapping[date, str]
    known_years: frozenset[int]
    hours: BusinessHours = ALWAYS_OPEN
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def __post_init__(self) -> None:
        both = set(self.holidays) & set(self.makeup_workdays)
        if both:
            raise CalendarError(f"days both holiday and make-up workday: {sorted(both)}")

    def knows(self, day: date) -> bool:
        return day.year in self.known_years

    def day_kind(self, day: date) -> DayKind:
        if day in self.holidays:
            return DayKind.HOLIDAY
        if day in self.makeup_workdays:
            return DayKind.MAKEUP_WORKDAY
        return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY

    def is_working_day(self, day: date) -> bool:
        return self.day_kind(day) in (DayKind.WORKDAY, DayKind.MAKEUP_WORKDAY)

    def holiday_name(self, day: date) -> str | None:
        return self.holidays.get(day) or self.makeup_workdays.get(day)

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise CalendarError("naive datetime: pass an aware time")
        return moment.astimezone(self.timezone)

    def is_open(self, moment: datetime) -> bool:
        """Within business hours (hours of a holiday or weekend are empty)."""
        local = self.local(moment)
        day = local.date()
        spans = self.hours.spans(self.day_kind(day), day.weekday())
        return any(span.contains(local.time()) for span in spans)

    def next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        for _ in range(366):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise CalendarError(f"no working day within a year after {day}")  # pragma: no cover

    def working_days_deadline(self, received: datetime, days: int) -> datetime:
        """End of the ``days``-th working day after the day ``received`` falls on.

        "5 个工作日内": counting starts on the next working day, whatever the hour of
        receipt, and the order is due by the end (24:00 local) of the fifth one.
        """
        if days < 1:
            raise CalendarError("a working-day limit is at least 1 day")
        day = self.local(received).date()
        for _ in range(days):
            day = self.next_working_day(day)
        end = datetime.combine(day + timedelta(days=1), time(0), self.timezone)
        return end

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count
