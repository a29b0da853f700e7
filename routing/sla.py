"""Time limits of work orders (``config/sla.yaml``) and the deadlines they give.

Pure: the working-day arithmetic is the calendar's (``WorkCalendar.working_days_deadline``);
times are parameters. ``load_sla`` only reads the file (through ``settings.located``, so every
error names ``file:line:col``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from routing.calendar import WorkCalendar
from routing.errors import RoutingError
from settings.located import (
    AtPath,
    Located,
    describe,
    near_miss,
    raising,
    read_located,
    refuse_unknown,
)

HOURS = "hours"
DAYS = "days"
WORKING_DAYS = "working_days"
_UNITS = (HOURS, DAYS, WORKING_DAYS)


class SlaError(RoutingError):
    """``sla.yaml`` is invalid or names an unknown class."""


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int
    unit: str  # hours | days | working_days

    def due(self, start: datetime, calendar: WorkCalendar) -> datetime:
        if self.unit == WORKING_DAYS:
            return calendar.working_days_deadline(start, self.amount)
        if self.unit == DAYS:
            return start + timedelta(days=self.amount)
        return start + timedelta(hours=self.amount)

    def due_is_estimate(self, due: datetime, calendar: WorkCalendar) -> bool:
        """Only working days depend on the holiday data; past its horizon they are guessed."""
        return self.unit == WORKING_DAYS and calendar.deadline_is_estimate(due)

    def describe(self) -> str:
        return f"{self.amount} {self.unit.replace('_', ' ')}"


@dataclass(frozen=True, slots=True)
class RepeatPolicy:
    window: timedelta
    abusive_count: int


@dataclass(frozen=True)
class SlaPolicy:
    classes: Mapping[str, Limit]
    category_classes: Mapping[str, str]
    sign_for: Limit
    feedback: Limit
    warn_at: float
    repeats: RepeatPolicy

    def limit(self, limit_class: str) -> Limit:
        try:
            return self.classes[limit_class]
        except KeyError:
            known = ", ".join(self.classes)
            raise SlaError(
                f"unknown limit class {limit_class!r}; expected one of {known}"
            ) from None

    def class_of_category(self, category: str) -> str:
        return self.category_classes.get(category, self.category_classes["default"])

    def warn_time(self, start: datetime, due: datetime) -> datetime:
        """The moment ``warn_at`` of the span from ``start`` to ``due`` has elapsed."""
        return start + (due - start) * self.warn_at


def deadline_status(start: datetime, due: datetime, now: datetime, warn_at: float) -> str:
    """``green`` before the warning point, ``yellow`` from it, ``red`` from ``due`` on."""
    if now >= due:
        return "red"
    if now >= start + (due - start) * warn_at:
        return "yellow"
    return "green"


def parse_sla(
    data: object, *, source: str = "sla.yaml", located: Located | None = None
) -> SlaPolicy:
    """Validate the file's data; ``located`` (from ``load_sla``) puts file:line:col on errors."""
    try:
        return _parse(data)
    except AtPath as exc:
        raise SlaError(describe(exc, source, located)) from exc


def load_sla(path: Path) -> SlaPolicy:
    _, located = read_located(path, "time limits", raising(SlaError))
    return parse_sla(located.document.data, source=str(path), located=located)


_KEYS = ("classes", "category_classes", "sign_for", "feedback", "warn_at", "repeat_callers")


def _parse(data: object) -> SlaPolicy:
    if not isinstance(data, dict):
        raise AtPath((), "expected a mapping at the top")
    refuse_unknown(data, _KEYS, ())
    missing = [key for key in _KEYS if key not in data]
    if missing:
        raise AtPath((), f"missing {missing} keys")
    classes_data = data["classes"]
    if not isinstance(classes_data, dict) or not classes_data:
        raise AtPath(("classes",), "expected a mapping of class → limit")
    classes = {str(name): _limit(value, ("classes", str(name))) for name, value in
               classes_data.items()}  # fmt: skip
    category_classes = data["category_classes"]
    if not isinstance(category_classes, dict) or "default" not in category_classes:
        raise AtPath(("category_classes",), "a mapping with a `default` entry")
    for category, limit_class in category_classes.items():
        if limit_class not in classes:
            raise AtPath(
                ("category_classes", str(category)),
                f"unknown class {limit_class!r}{near_miss(limit_class, classes)}",
            )
    warn_at = data["warn_at"]
    if not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        raise AtPath(("warn_at",), "warn_at must be a fraction between 0 and 1")
    repeats = data["repeat_callers"]
    if not isinstance(repeats, dict):
        raise AtPath(("repeat_callers",), "{window_hours: N, abusive_count: N}")
    refuse_unknown(repeats, ("window_hours", "abusive_count"), ("repeat_callers",))
    if set(repeats) != {"window_hours", "abusive_count"} or not all(
        isinstance(v, int) and v > 0 for v in repeats.values()
    ):
        raise AtPath(("repeat_callers",), "{window_hours: N, abusive_count: N}")
    return SlaPolicy(
        classes=MappingProxyType(classes),
        category_classes=MappingProxyType({str(k): str(v) for k, v in category_classes.items()}),
        sign_for=_limit(data["sign_for"], ("sign_for",)),
        feedback=_limit(data["feedback"], ("feedback",)),
        warn_at=float(warn_at),
        repeats=RepeatPolicy(timedelta(hours=repeats["window_hours"]), repeats["abusive_count"]),
    )


_LIMIT = "expected one of {hours: N}, {days: N}, {working_days: N}"


def _limit(value: object, where: tuple[str, ...]) -> Limit:
    if not isinstance(value, dict) or len(value) != 1:
        raise AtPath(where, _LIMIT)
    ((unit, amount),) = value.items()
    if unit not in _UNITS:
        raise AtPath((*where, str(unit)), f"{_LIMIT}{near_miss(unit, _UNITS)}", key=True)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        raise AtPath((*where, str(unit)), _LIMIT)
    return Limit(amount, str(unit))
