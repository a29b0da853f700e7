"""The State Council holiday schedule as shipped by the ``chinesecalendar`` package.

The only module importing ``chinese_calendar``. It turns the package's tables
into plain mappings for ``routing.calendar.WorkCalendar``. The package covers
the years its release knows; ``config/calendar.yaml`` adds later years when
the State Council publishes them (usually in November or December).
"""

from __future__ import annotations

from datetime import date

from chinese_calendar import constants


def holidays() -> dict[date, str]:
    """Statutory holidays (including the weekend days inside a holiday block)."""
    return {day: str(name) for day, name in constants.holidays.items()}


def makeup_workdays() -> dict[date, str]:
    """调休: weekend days worked in exchange for a holiday."""
    return {day: str(name) for day, name in constants.workdays.items()}


def known_years() -> frozenset[int]:
    """Years for which the package has the official schedule."""
    return frozenset(day.year for day in constants.holidays)
