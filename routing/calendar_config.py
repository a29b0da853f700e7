"""Builds the ``WorkCalendar`` from the built-in tables and ``config/calendar.yaml``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from routing import holidays_cn
from routing.calendar import (
    DEFAULT_HORIZON_WARNING_DAYS,
    WEEKDAYS,
    BusinessHours,
    CalendarError,
    Span,
    WorkCalendar,
)


def load_calendar(path: Path | None) -> WorkCalendar:
    """The calendar; ``path=None`` gives the built-in holidays and all-day hours."""
    holidays = holidays_cn.holidays()
    makeup = holidays_cn.makeup_workdays()
    years = set(holidays_cn.known_years())
    if path is None:
        return WorkCalendar(holidays, makeup, frozenset(years))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CalendarError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CalendarError(f"{path}: expected a mapping at the top")
    unknown = set(data) - {"timezone", "business_hours", "years", "days", "horizon_warning_days"}
    if unknown:
        raise CalendarError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        zone = ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"{path}: timezone: {exc}") from exc
    hours = _hours(path, data.get("business_hours") or {})
    for day, entry in (data.get("days") or {}).items():
        if not isinstance(day, date) or not isinstance(entry, dict) or len(entry) != 1:
            raise CalendarError(f"{path}: days.{day}: expected `YYYY-MM-DD: {{holiday: name}}`")
        ((kind, name),) = entry.items()
        holidays.pop(day, None)
        makeup.pop(day, None)
        if kind == "holiday":
            holidays[day] = str(name)
        elif kind == "workday":
            makeup[day] = str(name)
        else:
            raise CalendarError(f"{path}: days.{day}: {kind!r} is neither holiday nor workday")
    for year in data.get("years") or []:
        if not isinstance(year, int):
            raise CalendarError(f"{path}: years: {year!r} is not a year")
        years.add(year)
    margin = data.get("horizon_warning_days", DEFAULT_HORIZON_WARNING_DAYS)
    if not isinstance(margin, int) or isinstance(margin, bool) or margin < 0:
        raise CalendarError(f"{path}: horizon_warning_days: {margin!r} is not a number of days")
    return WorkCalendar(holidays, makeup, frozenset(years), hours, zone, margin)


def _hours(path: Path, data: object) -> BusinessHours:
    if not isinstance(data, dict):
        raise CalendarError(f"{path}: business_hours: expected a mapping of weekdays")
    unknown = set(data) - {*WEEKDAYS, "makeup_workday"}
    if unknown:
        raise CalendarError(f"{path}: business_hours: unknown day(s) {', '.join(sorted(unknown))}")
    try:
        weekly = {day: tuple(Span.parse(s) for s in data.get(day) or []) for day in WEEKDAYS}
        makeup = data.get("makeup_workday")
        return BusinessHours(weekly, tuple(Span.parse(s) for s in makeup) if makeup else None)
    except CalendarError as exc:
        raise CalendarError(f"{path}: business_hours: {exc}") from exc
