"""Pure wallboard computations: hotspot cells with spikes, and orders due soon or overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from workorders.due import DueInput, due_items
from workorders.errors import InvalidInput
from workorders.hotspots import (
    UNCLASSIFIED,
    UNKNOWN_REGION,
    HotspotInput,
    compute_hotspots,
    is_spike,
    region_at_depth,
    window_start,
)
from workorders.lifecycle.model import Deadline, Lifecycle, State

pytestmark = pytest.mark.unit

TODAY = date(2025, 3, 14)
SAIHAN = "内蒙古/呼和浩特/赛罕区"
BAOTOU = "内蒙古/包头"


def at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock in Shanghai on ``day``, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


def orders(counts: list[int], domain: str | None, region: str | None) -> list[HotspotInput]:
    """``counts[i]`` orders on the i-th day of a window ending today."""
    first = TODAY - timedelta(days=len(counts) - 1)
    return [
        HotspotInput(at(first + timedelta(days=index)), domain, region)
        for index, count in enumerate(counts)
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    ("baseline", "today", "spike"),
    [
        ([1, 1, 1, 1, 1, 1], 3, True),  # σ = 0: anything ≥ 3 above the mean
        ([1, 1, 1, 1, 1, 1], 2, False),  # above the mean but under the floor of 3
        ([0, 0, 0, 0, 0, 0], 3, True),
        ([2, 4, 2, 4, 2, 4], 5, False),  # mean 3, σ 1: threshold 5, not above it
        ([2, 4, 2, 4, 2, 4], 6, True),
        ([10, 0, 10, 0, 10, 0], 14, False),  # a noisy cell needs more (5 + 2·5 = 15)
        ([10, 0, 10, 0, 10, 0], 16, True),
        ([], 9, False),
    ],
)
def test_spike_rule(baseline: list[int], today: int, spike: bool) -> None:
    assert is_spike(baseline, today)[3] is spike


def test_cells_count_by_domain_and_region_over_the_window() -> None:
    data = [
        *orders([1, 1, 1, 1, 1, 1, 5], "infectious_disease", SAIHAN),
        *orders([2, 0, 0, 0, 0, 0, 1], "food_safety", BAOTOU),
        *orders([0, 0, 0, 0, 0, 0, 2], None, None),
        HotspotInput(at(TODAY - timedelta(days=7)), "food_safety", BAOTOU),  # before the window
    ]
    hotspots = compute_hotspots(data, today=TODAY, days=7)
    cells = {(c.domain, c.region): c for c in hotspots.cells}
    assert set(cells) == {
        ("infectious_disease", "内蒙古/呼和浩特"),
        ("food_safety", BAOTOU),
        (UNCLASSIFIED, UNKNOWN_REGION),
    }
    disease = cells["infectious_disease", "内蒙古/呼和浩特"]
    assert disease.daily == (1, 1, 1, 1, 1, 1, 5) and disease.total == 11 and disease.spike
    assert disease.baseline_mean == 1 and disease.baseline_sigma == 0
    food = cells["food_safety", BAOTOU]
    assert food.total == 3 and food.today == 1 and not food.spike
    assert not cells[UNCLASSIFIED, UNKNOWN_REGION].spike  # 2 < the floor of 3
    assert hotspots.cells[0] is disease  # largest first
    data_json = hotspots.to_json()
    assert data_json["from"] == "2025-03-08" and data_json["today"] == "2025-03-14"
    assert data_json["cells"][0]["domain_label"] == "传染病"
    assert sorted(data_json["domains"]) == data_json["domains"]


def test_days_are_counted_in_shanghai_time() -> None:
    late = datetime(2025, 3, 13, 16, 30, tzinfo=UTC)  # 00:30 on the 14th in Shanghai
    hotspots = compute_hotspots([HotspotInput(late, "other", BAOTOU)], today=TODAY, days=7)
    assert hotspots.cells[0].daily[-1] == 1
    assert window_start(TODAY, 7) == datetime(2025, 3, 7, 16, 0, tzinfo=UTC)


def test_thirty_day_window_and_region_depth() -> None:
    data = orders([1] * 30, "other", SAIHAN)
    deep = compute_hotspots(data, today=TODAY, days=30, region_depth=3)
    assert len(deep.cells[0].daily) == 30 and deep.cells[0].region == SAIHAN
    assert region_at_depth(SAIHAN, 1) == "内蒙古"
    assert region_at_depth(None, 2) == UNKNOWN_REGION


@pytest.mark.parametrize("days", [0, 1, 14, 31])
def test_only_7_or_30_day_windows(days: int) -> None:
    with pytest.raises(InvalidInput):
        compute_hotspots([], today=TODAY, days=days)


# -- due and overdue ------------------------------------------------------------------------

NOW = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


def life(state: State, *deadlines: tuple[str, timedelta]) -> Lifecycle:
    return Lifecycle(
        state=state,
        category="complaint",
        limit_class="general",
        received_at=NOW - timedelta(days=1),
        deadlines=tuple(
            Deadline(name, NOW - timedelta(days=1), NOW + left) for name, left in deadlines
        ),
    )


def test_due_items_split_overdue_and_soon_by_the_most_urgent_running_deadline() -> None:
    inputs = [
        DueInput("A", life(State.RECEIVED, ("handling", timedelta(hours=5))), None),
        DueInput(
            "B",
            life(
                State.DISPATCHED, ("handling", timedelta(days=5)), ("sign_for", timedelta(hours=-2))
            ),
            "saihan-cdc",
        ),
        DueInput("C", life(State.RECEIVED, ("handling", timedelta(days=3))), None),  # not yet
        DueInput("D", life(State.REPLIED, ("handling", timedelta(hours=-9))), None),  # stopped
        # sign_for no longer runs once signed: the handling deadline counts.
        DueInput(
            "E",
            life(
                State.SIGNED, ("handling", timedelta(hours=1)), ("sign_for", timedelta(hours=-30))
            ),
            None,
        ),
        DueInput("F", life(State.IN_PROGRESS, ("handling", timedelta(hours=-1))), None),
    ]
    overdue, soon = due_items(inputs, NOW, timedelta(hours=24))
    assert [(i.number, i.deadline) for i in overdue] == [("B", "sign_for"), ("F", "handling")]
    assert [(i.number, i.deadline) for i in soon] == [("E", "handling"), ("A", "handling")]
    assert overdue[0].to_json(NOW)["minutes_left"] == -120
    assert overdue[0].to_json(NOW)["deadline_label"] == "签收时限"
    assert soon[1].to_json(NOW)["minutes_left"] == 300
