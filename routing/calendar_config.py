"""Builds the ``WorkCalendar`` from the built-in tables and ``config/calendar.yaml``.

The file is read through ``settings.located``: every error names ``file:line:col``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from routing import holidays_cn
from routing.calendar import (
    DEFAULT_HORIZON_WARNING_DAYS,
    WEEKDAYS,
    BusinessHours,
    CalendarError,
    Span,
    WorkCalendar,
)
from settings.located import AtPath, describe, raising, read_located, refuse_unknown

_KEYS = ("timezone", "business_hours", "years", "days", "horizon_warning_days")


def load_calendar(path: Path | None) -> WorkCalendar:
    """The calendar; ``path=None`` gives the built-in holidays and all-day hours."""
    if path is None:
        return WorkCalendar(
            holidays_cn.holidays(),
            holidays_cn.makeup_workdays(),
            frozenset(holidays_cn.known_years()),
        )
    _, located = read_located(path, "calendar", raising(CalendarError), date_keys=True)
    try:
        return _parse(located.document.data)
    except AtPath as exc:
        raise CalendarError(describe(exc, str(path), located)) from exc


def _parse(data: Any) -> WorkCalendar:
    holidays = holidays_cn.holidays()
    makeup = holidays_cn.makeup_workdays()
    years = set(holidays_cn.known_years())
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise AtPath((), "expected a mapping at the top")
    refuse_unknown(data, _KEYS, ())
    try:
        zone = ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise AtPath(("timezone",), str(exc)) from exc
    hours = _hours(data.get("business_hours") or {})
    days = data.get("days") or {}
    if not isinstance(days, dict):
        raise AtPath(("days",), "expected `YYYY-MM-DD: {holiday: name}` entries")
    for day, entry in days.items():
        at = ("days", str(day))
        if not isinstance(day, date) or not isinstance(entry, dict) or len(entry) != 1:
            raise AtPath(at, "expected `YYYY-MM-DD: {holiday: name}`")
        ((kind, name),) = entry.items()
        holidays.pop(day, None)
        makeup.pop(day, None)
        if kind == "holiday":
            holidays[day] = str(name)
        elif kind == "workday":
            makeup[day] = str(name)
        else:
            raise AtPath((*at, str(kind)), f"{kind!r} is neither holiday nor workday", key=True)
    for index, year in enumerate(data.get("years") or []):
        if not isinstance(year, int):
            raise AtPath(("years", index), f"{year!r} is not a year")
        years.add(year)
    margin = data.get("horizon_warning_days", DEFAULT_HORIZON_WARNING_DAYS)
    if not isinstance(margin, int) or isinstance(margin, bool) or margin < 0:
        raise AtPath(("horizon_warning_days",), f"{margin!r} is not a number of days")
    return WorkCalendar(holidays, makeup, frozenset(years), hours, zone, margin)


def _hours(data: object) -> BusinessHours:
    at = ("business_hours",)
    if not isinstance(data, dict):
        raise AtPath(at, "expected a mapping of weekdays")
    refuse_unknown(data, (*WEEKDAYS, "makeup_workday"), at, "day(s)")
    weekly = {day: _spans(data.get(day), (*at, day)) for day in WEEKDAYS}
    makeup = data.get("makeup_workday")
    return BusinessHours(weekly, _spans(makeup, (*at, "makeup_workday")) if makeup else None)


def _spans(texts: object, at: tuple[str, ...]) -> tuple[Span, ...]:
    if not texts:
        return ()
    if not isinstance(texts, list):
        raise AtPath(at, "expected a list of opening hours such as '08:00-12:00'")
    spans = []
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise AtPath((*at, index), f"{text!r} is not opening hours (HH:MM-HH:MM)")
        try:
            spans.append(Span.parse(text))
        except CalendarError as exc:
            raise AtPath((*at, index), str(exc)) from exc
    return tuple(spans)
