"""The State Council's holiday notice → holidays and make-up workdays (issue 12, item 3).

The notices in ``notices/`` are written here from the published arrangements of past
years, and checked against the tables of ``chinesecalendar`` (which knows those years):
importing a past year's notice must give exactly the days the package has.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from routing import holidays_cn
from routing.notice import NoticeError, parse_notice

pytestmark = pytest.mark.unit

NOTICES = Path(__file__).parent / "notices"


def notice_text(year: int) -> str:
    return (NOTICES / f"{year}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_a_past_notice_gives_the_days_chinesecalendar_has(year: int) -> None:
    notice = parse_notice(notice_text(year))
    assert notice.year == year
    assert set(notice.holidays()) == {d for d in holidays_cn.holidays() if d.year == year}
    assert set(notice.workdays()) == {d for d in holidays_cn.makeup_workdays() if d.year == year}


def test_names_and_a_spring_festival_across_two_months() -> None:
    notice = parse_notice(notice_text(2025))
    holidays, workdays = notice.holidays(), notice.workdays()
    assert [d for d, name in holidays.items() if name == "春节"] == [
        date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30), date(2025, 1, 31),
        date(2025, 2, 1), date(2025, 2, 2), date(2025, 2, 3), date(2025, 2, 4),
    ]  # fmt: skip
    assert workdays[date(2025, 1, 26)] == workdays[date(2025, 2, 8)] == "春节调休"
    assert holidays[date(2025, 1, 1)] == "元旦"
    # 2024's 除夕 is only "encouraged" as a day off: not a holiday.
    assert date(2024, 2, 9) not in parse_notice(notice_text(2024)).holidays()


def test_new_year_across_the_year_with_a_make_up_day_in_the_year_before() -> None:
    """2019's notice: 元旦 from 2018-12-30, and 2018-12-29 (a Saturday) worked."""
    notice = parse_notice(notice_text(2019))
    first = [d for d in notice.days if d.name.startswith("元旦")]
    assert [(d.day, d.kind) for d in first] == [
        (date(2018, 12, 29), "workday"), (date(2018, 12, 30), "holiday"),
        (date(2018, 12, 31), "holiday"), (date(2019, 1, 1), "holiday"),
    ]  # fmt: skip
    library_holidays, library_workdays = holidays_cn.holidays(), holidays_cn.makeup_workdays()
    for day in notice.days:
        if day.name.startswith(("元旦", "春节")):
            table = library_holidays if day.kind == "holiday" else library_workdays
            assert day.day in table, day


def test_december_dates_of_new_year_without_a_year_are_the_year_before() -> None:
    text = (
        "国务院办公厅关于2019年部分节假日安排的通知\n"
        "一、元旦：12月30日（星期日）至1月1日（星期二）放假调休，共3天。12月29日（星期六）上班。\n"
    )
    notice = parse_notice(text)
    assert notice.holidays() == {date(2018, 12, 30): "元旦", date(2018, 12, 31): "元旦",
                                 date(2019, 1, 1): "元旦"}  # fmt: skip
    assert notice.workdays() == {date(2018, 12, 29): "元旦调休"}


def test_without_a_title_the_year_must_be_given() -> None:
    body = "一、元旦：1月1日（周三）放假1天，不调休。\n"
    with pytest.raises(NoticeError, match="give the year"):
        parse_notice(body)
    assert parse_notice(body, 2025).holidays() == {date(2025, 1, 1): "元旦"}
    with pytest.raises(NoticeError, match="the notice is for 2025, not 2026"):
        parse_notice(notice_text(2025), 2026)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("1月1日（周三）放假1天", "1月1日（周四）放假1天",
         "2025-01-01 is a 周三, the notice says 周四"),
        ("放假调休，共8天。1月26日", "放假调休，共9天。1月26日",
         "says 9 days but 2025-01-28 to 2025-02-04 is 8"),
        ("1月26日（周日）、2月8日（周六）上班", "1月26日（周日）、二月八日上班",
         "cannot read the 上班 dates"),
        ("三、清明节：4月4日（周五）至6日", "三、清明节：4月4日（周五）到6日",
         "cannot read the date "),
        ("四、劳动节：", "四、劳动节 ", "not a numbered paragraph"),
        ("五、端午节：5月31日（周六）至6月2日（周一）放假，共3天。", "五、端午节：5月1日放假。",
         "2025-05-01 also on line"),
    ],
)  # fmt: skip
def test_an_unreadable_line_is_reported_with_its_number(old: str, new: str, message: str) -> None:
    text = notice_text(2025)
    assert old in text
    line = next(n for n, t in enumerate(text.splitlines(), 1) if old in t)
    with pytest.raises(NoticeError) as raised:
        parse_notice(text.replace(old, new, 1))
    problems = raised.value.problems
    assert any(number == line and message in said for number, said in problems), problems
