"""The working-day calendar: public holidays, 调休 make-up workdays and business hours.

Pure: the holiday tables come in as data (``routing.holidays_cn`` reads them
from the ``chinesecalendar`` package, ``config/calendar.yaml`` adds or
overrides days), and every question takes the time as a parameter.

A day is a *working day* when it is a make-up workday (调休, usually a
Saturday or Sunday), or a Monday–Friday that is not a public holiday.

The data ends somewhere: the *horizon* is the last day of the last year with the
official schedule. Past it every weekday counts as a working day, which is wrong for
春节 and 国庆; so the calendar says where it ends (``horizon_status``) and whether a
deadline is only an estimate (``deadline_is_estimate``) rather than answering silently.
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


DEFAULT_HORIZON_WARNING_DAYS = 60


@dataclass(frozen=True, slots=True)
class HorizonStatus:
    """Where the official data ends, seen from ``today``; ``warn`` when under the margin."""

    horizon: date | None  # None: no year at all
    today: date
    margin_days: int

    @property
    def days_left(self) -> int | None:
        return None if self.horizon is None else (self.horizon - self.today).days

    @property
    def warn(self) -> bool:
        return self.days_left is None or self.days_left < self.margin_days

    @property
    def next_year(self) -> int:
        return self.today.year if self.horizon is None else self.horizon.year + 1

    def describe(self) -> str:
        """One line for logs and ``check-config``."""
        if self.horizon is None:
            return "the calendar has no official holiday data at all"
        left = self.days_left
        when = "ended" if left is not None and left < 0 else "ends"
        text = f"holiday data {when} on {self.horizon} ({left} days from {self.today})"
        if self.warn:
            text += (
                f", under the {self.margin_days}-day margin: import the State Council's "
                f"{self.next_year} notice with `hotline calendar import`; until then deadlines "
                "past it are estimates"
            )
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "horizon": None if self.horizon is None else self.horizon.isoformat(),
            "today": self.today.isoformat(),
            "days_left": self.days_left,
            "margin_days": self.margin_days,
            "warn": self.warn,
            "next_year": self.next_year,
        }


ALWAYS_OPEN = BusinessHours({day: (Span.parse("00:00-24:00"),) for day in WEEKDAYS})


@dataclass(frozen=True)
class WorkCalendar:
    """Holidays and make-up workdays by date, business hours, and the years the data covers."""

    holidays: Mapping[date, str]
    makeup_workdays: Mapping[date, str]
    known_years: frozenset[int]
    hours: BusinessHours = ALWAYS_OPEN
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    horizon_warning_days: int = DEFAULT_HORIZON_WARNING_DAYS

    def __post_init__(self) -> None:
        both = set(self.holidays) & set(self.makeup_workdays)
        if both:
            raise CalendarError(f"days both holiday and make-up workday: {sorted(both)}")

    def knows(self, day: date) -> bool:
        return day.year in self.known_years

    @property
    def horizon(self) -> date | None:
        """The last day with official data: 31 December of the last known year."""
        return date(max(self.known_years), 12, 31) if self.known_years else None

    def horizon_status(self, today: date) -> HorizonStatus:
        return HorizonStatus(self.horizon, today, self.horizon_warning_days)

    def deadline_is_estimate(self, due: datetime) -> bool:
        """A working-day deadline ending at ``due`` counted a day past the horizon."""
        last_day = (self.local(due) - timedelta(microseconds=1)).date()
        return self.horizon is None or last_day > self.horizon

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
