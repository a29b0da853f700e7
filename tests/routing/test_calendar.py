"""The working-day calendar on the real 2026 schedule (国务院办公厅 2026 年部分节假日安排).

Expected values are written out from the published schedule, not computed by
the code under test: Mid-Autumn Festival 25–27 Sep, National Day 1–7 Oct 2026
with make-up workdays Sunday 20 Sep and Saturday 10 Oct.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from routing.calendar import BusinessHours, CalendarError, DayKind, Span, WorkCalendar
from routing.calendar_config import load_calendar

pytestmark = pytest.mark.unit

CN = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return load_calendar(REPO / "config/calendar.yaml")


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2026, 9, 30), DayKind.WORKDAY),  # the Wednesday before National Day
        (date(2026, 10, 1), DayKind.HOLIDAY),
        (date(2026, 10, 3), DayKind.HOLIDAY),  # a Saturday inside the holiday
        (date(2026, 10, 7), DayKind.HOLIDAY),
        (date(2026, 10, 8), DayKind.WORKDAY),
        (date(2026, 10, 10), DayKind.MAKEUP_WORKDAY),  # 调休 Saturday
        (date(2026, 9, 20), DayKind.MAKEUP_WORKDAY),  # 调休 Sunday
        (date(2026, 10, 11), DayKind.WEEKEND),
        (date(2026, 9, 25), DayKind.HOLIDAY),  # 中秋, a Friday
        (date(2026, 1, 1), DayKind.HOLIDAY),  # 元旦
        (date(2026, 1, 4), DayKind.MAKEUP_WORKDAY),  # Sunday worked for 元旦
        (date(2026, 11, 23), DayKind.WORKDAY),
        (date(2026, 11, 22), DayKind.WEEKEND),
    ],
)
def test_day_kinds_of_2026(calendar: WorkCalendar, day: date, kind: DayKind) -> None:
    assert calendar.day_kind(day) is kind
    assert calendar.is_working_day(day) is (kind in (DayKind.WORKDAY, DayKind.MAKEUP_WORKDAY))


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # Afternoon before National Day: Oct 8, 9, 10 (调休 Sat), 12, 13 → end of Oct 13.
        (datetime(2026, 9, 30, 15, 0, tzinfo=CN), 5, datetime(2026, 10, 14, tzinfo=CN)),
        # Received on the 调休 Saturday: Oct 12, 13, 14, 15, 16 → end of Oct 16.
        (datetime(2026, 10, 10, 10, 0, tzinfo=CN), 5, datetime(2026, 10, 17, tzinfo=CN)),
        # Received on the 调休 Sunday 20 Sep: Sep 21–24, then 中秋 25–27 Sep, then Sep 28.
        (datetime(2026, 9, 20, 9, 0, tzinfo=CN), 5, datetime(2026, 9, 29, tzinfo=CN)),
        # Received during the holiday: Oct 8 is day one.
        (datetime(2026, 10, 4, 12, 0, tzinfo=CN), 1, datetime(2026, 10, 9, tzinfo=CN)),
        # An ordinary Friday evening: Mon–Fri of the next week.
        (datetime(2026, 11, 20, 23, 0, tzinfo=CN), 5, datetime(2026, 11, 28, tzinfo=CN)),
        # Time zones: 17:00 UTC on 30 Sep is already 1 Oct (a holiday) in Beijing.
        (datetime(2026, 9, 30, 17, 0, tzinfo=ZoneInfo("UTC")), 1, datetime(2026, 10, 9, tzinfo=CN)),
    ],
)
def test_working_day_deadlines(
    calendar: WorkCalendar, received: datetime, days: int, due: datetime
) -> None:
    assert calendar.working_days_deadline(received, days) == due


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (datetime(2026, 11, 23, 9, 0, tzinfo=CN), True),  # Monday morning
        (datetime(2026, 11, 23, 12, 30, tzinfo=CN), False),  # lunch break
        (datetime(2026, 11, 23, 17, 30, tzinfo=CN), False),  # closing time is exclusive
        (datetime(2026, 11, 22, 10, 0, tzinfo=CN), False),  # Sunday
        (datetime(2026, 10, 2, 10, 0, tzinfo=CN), False),  # National Day, a Friday
        (datetime(2026, 10, 10, 10, 0, tzinfo=CN), True),  # 调休 Saturday: Monday's hours
        (datetime(2026, 11, 23, 1, 30, tzinfo=ZoneInfo("UTC")), True),  # 09:30 in Beijing
    ],
)
def test_business_hours(calendar: WorkCalendar, moment: datetime, open_: bool) -> None:
    assert calendar.is_open(moment) is open_


def test_overrides_add_a_year_the_package_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "timezone: Asia/Shanghai\nyears: [2031]\n"
        "days:\n  2031-01-01: {holiday: 元旦}\n  2031-01-04: {workday: 元旦调休}\n"
        "  2026-10-08: {holiday: 测试}\n"
    )
    calendar = load_calendar(path)
    assert calendar.knows(date(2031, 6, 1))
    assert not calendar.knows(date(2032, 6, 1))
    assert calendar.day_kind(date(2031, 1, 1)) is DayKind.HOLIDAY
    assert calendar.day_kind(date(2031, 1, 4)) is DayKind.MAKEUP_WORKDAY
    assert calendar.day_kind(date(2026, 10, 8)) is DayKind.HOLIDAY  # overrides the package


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wrong: 1\n", "unknown key(s) wrong"),
        ("business_hours: {mon: ['9-17']}\n", "bad opening hours '9-17'"),
        ("business_hours: {mon: ['17:00-09:00']}\n", "ends before it starts"),
        ("business_hours: {monday: []}\n", "unknown day(s) monday"),
        ("days: {2027-01-01: {vacation: x}}\n", "neither holiday nor workday"),
        ("timezone: Mars/Olympus\n", "timezone"),
    ],
)
def test_bad_calendar_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text)
    with pytest.raises(CalendarError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_calendar(path)


def test_naive_times_are_refused(calendar: WorkCalendar) -> None:
    with pytest.raises(CalendarError, match="naive"):
        calendar.is_open(datetime(2026, 11, 23, 9, 0))


def test_span_covering_midnight_end() -> None:
    hours = BusinessHours({"mon": (Span.parse("20:00-24:00"),)})
    calendar = WorkCalendar({}, {}, frozenset(), hours)
    assert calendar.is_open(datetime(2026, 11, 23, 23, 59, 59, tzinfo=CN))
    assert not calendar.is_open(datetime(2026, 11, 23, 19, 59, tzinfo=CN))


def test_the_calendar_knows_where_its_data_ends(calendar: WorkCalendar) -> None:
    assert calendar.horizon == date(2026, 12, 31)
    status = calendar.horizon_status(date(2026, 12, 7))
    assert (status.days_left, status.margin_days, status.warn, status.next_year) == (
        24, 60, True, 2027
    )  # fmt: skip
    assert not calendar.horizon_status(date(2026, 11, 1)).warn  # 60 days left
    assert calendar.horizon_status(date(2026, 11, 2)).warn
    assert WorkCalendar({}, {}, frozenset()).horizon_status(date(2026, 1, 1)).warn


def test_a_working_day_deadline_past_the_horizon_is_an_estimate(calendar: WorkCalendar) -> None:
    """5 working days from Thu 2026-12-24: Dec 25, 28, 29, 30, 31 → due 2027-01-01 00:00,
    every day counted within 2026: exact. From Dec 28: the count reaches into 2027."""
    due = calendar.working_days_deadline(datetime(2026, 12, 24, 10, tzinfo=CN), 5)
    assert due == datetime(2027, 1, 1, tzinfo=CN)
    assert not calendar.deadline_is_estimate(due)
    later = calendar.working_days_deadline(datetime(2026, 12, 28, 10, tzinfo=CN), 5)
    assert later == datetime(2027, 1, 5, tzinfo=CN)
    assert calendar.deadline_is_estimate(later)


def test_a_broken_calendar_file_names_file_line_column(tmp_path: Path) -> None:
    broken = tmp_path / "calendar.yaml"
    text = (REPO / "config/calendar.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace('wed: ["08:00-12:00"', 'wed: ["8h-12:00"'), encoding="utf-8")
    with pytest.raises(CalendarError) as caught:
        load_calendar(broken)
    assert str(caught.value) == (
        f"{broken}:13:9 business_hours.wed[0]: bad opening hours '8h-12:00': expected HH:MM-HH:MM"
    )
    broken.write_text(text.replace("  thu:", "  thur:"), encoding="utf-8")
    with pytest.raises(CalendarError) as caught:
        load_calendar(broken)
    assert str(caught.value) == (
        f"{broken}:14:3 business_hours.thur: unknown day(s) thur (did you mean 'thu'?)"
    )
    broken.write_text("days:\n  2031-01-01: {holiday: 元旦}\n  2031-01-04: {werkday: x}\n")
    with pytest.raises(CalendarError, match=r"calendar\.yaml:3:16 days\.2031-01-04\.werkday: "):
        load_calendar(broken)
