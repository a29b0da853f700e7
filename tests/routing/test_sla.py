"""Time limits on the real 2026 calendar (国务院办公厅 2026 年部分节假日安排).

Expected values are written out from the published schedule: National Day 1–7 Oct 2026,
make-up workday Saturday 10 Oct; 中秋 25–27 Sep with make-up Sunday 20 Sep.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from routing.calendar import WorkCalendar
from routing.calendar_config import load_calendar
from routing.sla import Limit, SlaError, SlaPolicy, deadline_status, load_sla, parse_sla

pytestmark = pytest.mark.unit

CN = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return load_calendar(REPO / "config/calendar.yaml")


@pytest.fixture(scope="module")
def sla() -> SlaPolicy:
    return load_sla(REPO / "config/sla.yaml")


def test_shipped_defaults_follow_the_seeds(sla: SlaPolicy) -> None:
    assert sla.classes == {
        "emergency": Limit(2, "hours"),
        "basic_needs": Limit(24, "hours"),
        "covid": Limit(24, "hours"),
        "general": Limit(7, "days"),
        "complex": Limit(15, "days"),
    }
    assert sla.feedback == Limit(5, "working_days")
    assert sla.sign_for == Limit(1, "working_days")
    assert sla.warn_at == 0.75
    assert sla.class_of_category("emergency") == "emergency"
    assert sla.class_of_category("complaint") == "general"


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Wed 30 Sep 15:00; 1–7 Oct off; working days 8, 9, 10 (调休 Sat), 12, 13.
        (datetime(2026, 9, 30, 15, 0, tzinfo=CN), datetime(2026, 10, 14, 0, 0, tzinfo=CN)),
        # Received on the 调休 Saturday 10 Oct: working days 12, 13, 14, 15, 16.
        (datetime(2026, 10, 10, 9, 30, tzinfo=CN), datetime(2026, 10, 17, 0, 0, tzinfo=CN)),
    ],
)
def test_five_working_day_feedback_around_national_day(
    sla: SlaPolicy, calendar: WorkCalendar, received: datetime, due: datetime
) -> None:
    assert sla.feedback.due(received, calendar) == due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Sign-for within 1 working day: the afternoon before National Day → end of 8 Oct.
        (datetime(2026, 9, 30, 15, 0, tzinfo=CN), datetime(2026, 10, 9, 0, 0, tzinfo=CN)),
        # Friday 9 Oct → the 调休 Saturday 10 Oct counts.
        (datetime(2026, 10, 9, 16, 0, tzinfo=CN), datetime(2026, 10, 11, 0, 0, tzinfo=CN)),
    ],
)
def test_sign_for_within_one_working_day(
    sla: SlaPolicy, calendar: WorkCalendar, received: datetime, due: datetime
) -> None:
    assert sla.sign_for.due(received, calendar) == due


@pytest.mark.parametrize(
    ("limit_class", "due"),
    [
        ("emergency", datetime(2026, 10, 1, 1, 0, tzinfo=CN)),  # 2 h, holidays or not
        ("covid", datetime(2026, 10, 1, 23, 0, tzinfo=CN)),
        ("general", datetime(2026, 10, 7, 23, 0, tzinfo=CN)),  # 7 calendar days
        ("complex", datetime(2026, 10, 15, 23, 0, tzinfo=CN)),
    ],
)
def test_clock_limits_ignore_holidays(
    sla: SlaPolicy, calendar: WorkCalendar, limit_class: str, due: datetime
) -> None:
    received = datetime(2026, 9, 30, 23, 0, tzinfo=CN)
    assert sla.limit(limit_class).due(received, calendar) == due


@pytest.mark.parametrize(
    ("elapsed_minutes", "status"),
    [(0, "green"), (89, "green"), (90, "yellow"), (119, "yellow"), (120, "red"), (500, "red")],
)
def test_yellow_at_75_percent_red_when_due(elapsed_minutes: int, status: str) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=CN)
    due = start + timedelta(hours=2)
    now = start + timedelta(minutes=elapsed_minutes)
    assert deadline_status(start, due, now, 0.75) == status


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"warn_at": 1.5}, "warn_at"),
        ({"classes": {"general": {"weeks": 1}}}, "classes.general"),
        ({"category_classes": {"default": "nope"}}, "unknown class"),
        ({"sign_for": {"working_days": 0}}, "sign_for"),
        ({"extra": 1}, "unknown"),
    ],
)
def test_bad_sla_files_are_refused(change: dict[str, object], message: str) -> None:
    import yaml

    data = yaml.safe_load((REPO / "config/sla.yaml").read_text(encoding="utf-8"))
    data.update(change)
    with pytest.raises(SlaError, match=message):
        parse_sla(data)


def test_a_broken_sla_file_names_file_line_column(tmp_path: Path) -> None:
    broken = tmp_path / "sla.yaml"
    text = (REPO / "config/sla.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("general: {days: 7}", "general: {dayz: 7}"), encoding="utf-8")
    with pytest.raises(SlaError) as caught:
        load_sla(broken)
    assert str(caught.value) == (
        f"{broken}:11:13 classes.general.dayz: expected one of {{hours: N}}, {{days: N}}, "
        "{working_days: N} (did you mean 'days'?)"
    )
    broken.write_text(text.replace("warn_at:", "warn_after:"), encoding="utf-8")
    with pytest.raises(SlaError, match=r"sla\.yaml:\d+:1 warn_after: unknown key\(s\) warn_after"):
        load_sla(broken)
