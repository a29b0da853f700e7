"""Time limits of work orders (``config/sla.yaml``) and the deadlines they give.

Pure: the working-day arithmetic is the calendar's (``WorkCalendar.working_days_deadline``);
times are parameters. ``load_sla`` only reads the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import yaml

from routing.calendar import WorkCalendar
from routing.errors import RoutingError

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


def parse_sla(data: object, *, source: str = "sla.yaml") -> SlaPolicy:
    if not isinstance(data, dict):
        raise SlaError(f"{source}: expected a mapping at the top")
    known = {"classes", "category_classes", "sign_for", "feedback", "warn_at", "repeat_callers"}
    unknown = set(data) - known
    missing = known - set(data)
    if unknown or missing:
        raise SlaError(f"{source}: unknown {sorted(unknown)} / missing {sorted(missing)} keys")
    classes_data = data["classes"]
    if not isinstance(classes_data, dict) or not classes_data:
        raise SlaError(f"{source}: classes: expected a mapping of class → limit")
    classes = {str(name): _limit(value, f"{source}: classes.{name}") for name, value in
               classes_data.items()}  # fmt: skip
    category_classes = data["category_classes"]
    if not isinstance(category_classes, dict) or "default" not in category_classes:
        raise SlaError(f"{source}: category_classes: a mapping with a `default` entry")
    for category, limit_class in category_classes.items():
        if limit_class not in classes:
            raise SlaError(f"{source}: category_classes.{category}: unknown class {limit_class!r}")
    warn_at = data["warn_at"]
    if not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        raise SlaError(f"{source}: warn_at must be a fraction between 0 and 1")
    repeats = data["repeat_callers"]
    if (
        not isinstance(repeats, dict)
        or set(repeats) != {"window_hours", "abusive_count"}
        or not all(isinstance(v, int) and v > 0 for v in repeats.values())
    ):
        raise SlaError(f"{source}: repeat_callers: {{window_hours: N, abusive_count: N}}")
    return SlaPolicy(
        classes=MappingProxyType(classes),
        category_classes=MappingProxyType({str(k): str(v) for k, v in category_classes.items()}),
        sign_for=_limit(data["sign_for"], f"{source}: sign_for"),
        feedback=_limit(data["feedback"], f"{source}: feedback"),
        warn_at=float(warn_at),
        repeats=RepeatPolicy(timedelta(hours=repeats["window_hours"]), repeats["abusive_count"]),
    )


def load_sla(path: Path) -> SlaPolicy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SlaError(f"{path}: {exc}") from exc
    return parse_sla(data, source=str(path))


def _limit(value: object, where: str) -> Limit:
    if not isinstance(value, dict) or len(value) != 1:
        raise SlaError(f"{where}: expected one of {{hours: N}}, {{days: N}}, {{working_days: N}}")
    ((unit, amount),) = value.items()
    if unit not in _UNITS or not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        raise SlaError(f"{where}: expected one of {{hours: N}}, {{days: N}}, {{working_days: N}}")
    return Limit(amount, str(unit))
