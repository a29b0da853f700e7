"""What the engine asks of the working-day calendar (``routing.calendar.WorkCalendar``).

The engine takes the calendar *object* (the worker loads it from
``settings.calendar``); it never reads a file. ``WeekdayCalendar`` is the
stand-in when none is given: Monday to Friday are workdays, open all day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol

CHINA = timezone(timedelta(hours=8))
#: ``DayKind`` values the flow language may name (``routing.calendar.DayKind``).
DAY_KINDS = ("workday", "weekend", "holiday", "makeup_workday")


class HasValue(Protocol):
    @property
    def value(self) -> str: ...


class Calendar(Protocol):
    def local(self, moment: datetime) -> datetime: ...
    def day_kind(self, day: date) -> HasValue: ...
    def is_open(self, moment: datetime) -> bool: ...


class _Kind:
    def __init__(self, value: str) -> None:
        self._value = value

    @property
    def value(self) -> str:
        return self._value


class WeekdayCalendar:
    """Mon–Fri workdays, weekends closed, no holidays; China time."""

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(CHINA)

    def day_kind(self, day: date) -> HasValue:
        return _Kind("weekend" if day.weekday() >= 5 else "workday")

    def is_open(self, moment: datetime) -> bool:
        return self.local(moment).weekday() < 5
