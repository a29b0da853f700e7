"""Loads the rules the service works by: calendar, organisation and time limits."""

from __future__ import annotations

import functools
from pathlib import Path

from routing.calendar_config import load_calendar
from routing.sla import load_sla
from routing.units import load_units
from workorders.lifecycle.machine import Rules

#: ``config/`` of the source tree, used when no paths are given (tests, development).
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def load_rules(calendar: Path, units: Path, sla: Path) -> Rules:
    return Rules(tree=load_units(units), sla=load_sla(sla), calendar=load_calendar(calendar))


@functools.cache
def default_rules() -> Rules:
    d = DEFAULT_CONFIG_DIR
    return load_rules(d / "calendar.yaml", d / "units.yaml", d / "sla.yaml")
