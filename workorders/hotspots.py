"""Hotspots (未诉先办): orders per domain × region over the last days, with spikes. Pure.

* The window is the ``days`` calendar days (Asia/Shanghai) that end with ``today``, today
  included; each cell (domain, region) counts the orders received in it, day by day.
* Domain is the order's (``Lifecycle.domain``: from the menu, the speech classification or the
  call taker's ``classify``), or ``unclassified``; region is the order's region (given at
  ``classify``) cut to ``region_depth`` levels
  (``内蒙古/呼和浩特/赛罕区`` → ``内蒙古/呼和浩特`` at depth 2), or ``unknown``.
* **Spike**: today's count of a cell is above ``mean + 2σ`` of that cell's counts on the
  window's earlier days (zeros included; σ is the population standard deviation) *and* at
  least ``min_today`` (so one call on a quiet cell is not a spike).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from routing.units import DOMAIN_LABELS
from workorders.errors import InvalidInput

ZONE = ZoneInfo("Asia/Shanghai")
UNCLASSIFIED = "unclassified"
UNKNOWN_REGION = "unknown"
WINDOWS = (7, 30)
SIGMAS = 2.0
MIN_TODAY = 3


@dataclass(frozen=True, slots=True)
class HotspotInput:
    received_at: datetime
    domain: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class HotspotCell:
    domain: str
    region: str
    daily: tuple[int, ...]  # oldest first; the last is today
    baseline_mean: float
    baseline_sigma: float
    threshold: float  # mean + 2σ
    spike: bool

    @property
    def total(self) -> int:
        return sum(self.daily)

    @property
    def today(self) -> int:
        return self.daily[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "domain_label": domain_label(self.domain),
            "region": self.region,
            "total": self.total,
            "today": self.today,
            "daily": list(self.daily),
            "baseline_mean": round(self.baseline_mean, 3),
            "baseline_sigma": round(self.baseline_sigma, 3),
            "threshold": round(self.threshold, 3),
            "spike": self.spike,
        }


@dataclass(frozen=True, slots=True)
class Hotspots:
    today: date
    days: int
    cells: tuple[HotspotCell, ...]  # by total, largest first

    @property
    def first_day(self) -> date:
        return self.today - timedelta(days=self.days - 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "from": self.first_day.isoformat(),
            "days": self.days,
            "spike_rule": f"today > mean + {SIGMAS:g}σ of the earlier days and today ≥ {MIN_TODAY}",
            "domains": sorted({cell.domain for cell in self.cells}),
            "regions": sorted({cell.region for cell in self.cells}),
            "cells": [cell.to_json() for cell in self.cells],
        }


def domain_label(domain: str) -> str:
    if domain == UNCLASSIFIED:
        return "未分类"
    return DOMAIN_LABELS.get(domain, domain)


def check_window(days: int) -> int:
    if days not in WINDOWS:
        raise InvalidInput(f"days must be one of {', '.join(map(str, WINDOWS))}", field="days")
    return days


def window_start(today: date, days: int) -> datetime:
    """The first moment of the window (aware, Asia/Shanghai)."""
    return datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), ZONE)


def region_at_depth(region: str | None, depth: int) -> str:
    if not region:
        return UNKNOWN_REGION
    return "/".join(region.split("/")[:depth])


def is_spike(baseline: list[int], today: int) -> tuple[float, float, float, bool]:
    """(mean, σ, threshold, spike) of ``today`` against the ``baseline`` days."""
    if not baseline:
        return 0.0, 0.0, 0.0, False
    mean = sum(baseline) / len(baseline)
    sigma = math.sqrt(sum((count - mean) ** 2 for count in baseline) / len(baseline))
    threshold = mean + SIGMAS * sigma
    return mean, sigma, threshold, today > threshold and today >= MIN_TODAY


def compute_hotspots(
    orders: Iterable[HotspotInput], *, today: date, days: int, region_depth: int = 2
) -> Hotspots:
    """Cells of the orders received within the window; orders outside it are ignored."""
    check_window(days)
    first = today - timedelta(days=days - 1)
    counts: dict[tuple[str, str], list[int]] = {}
    for order in orders:
        day = order.received_at.astimezone(ZONE).date()
        if not first <= day <= today:
            continue
        key = (order.domain or UNCLASSIFIED, region_at_depth(order.region, region_depth))
        series = counts.setdefault(key, [0] * days)
        series[(day - first).days] += 1
    cells = []
    for (domain, region), series in counts.items():
        mean, sigma, threshold, spike = is_spike(series[:-1], series[-1])
        cells.append(HotspotCell(domain, region, tuple(series), mean, sigma, threshold, spike))
    cells.sort(key=lambda cell: (-cell.total, cell.domain, cell.region))
    return Hotspots(today=today, days=days, cells=tuple(cells))
