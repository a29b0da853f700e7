"""The State Council's holiday notice (国务院办公厅关于YYYY年部分节假日安排的通知) → days.

Pure: text in, ``Notice`` out. The notice appears each November, months before the
``chinesecalendar`` package knows the year; ``hotline calendar import`` takes it in
through this parser on the day it is published. Its numbered paragraphs read like

    一、元旦：1月1日（周三）放假1天，不调休。
    二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。
    1月26日（周日）、2月8日（周六）上班。

Every numbered paragraph must parse completely, and what the notice says about itself
is checked: a stated weekday must be that date's, and "共N天" the length of the range.
A year-crossing 元旦 (``2026年12月31日至2027年1月2日``, or a December date without a
year in the 元旦 paragraph) and make-up days in the previous year land in the right
year. Anything doubtful is an error naming its line: a wrong calendar is worse than
none, since deadlines are counted on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from routing.errors import RoutingError

HOLIDAY = "holiday"
WORKDAY = "workday"
WEEKDAY_NAMES = "一二三四五六日"
_TITLE = re.compile(r"关于\s*(\d{4})\s*年部分节假日安排的通知")
_PARAGRAPH = re.compile(r"^([一二三四五六七八九十]+)、\s*([^：:]+?)\s*[：:](.*)$")
_DATE = re.compile(
    r"(?:(?P<year>\d{4})年)?(?:(?P<month>\d{1,2})月)?(?P<day>\d{1,2})日"
    r"(?:[（(](?P<note>[^）)]*)[）)])?"
)
_WEEKDAY = re.compile(r"(?:周|星期)([一二三四五六日天])")
_DAYS_STATED = re.compile(r"(?:共|放假)(\d+)天")
_SEPARATORS = re.compile(r"[、，,和及\s]*")


class NoticeError(RoutingError):
    """The notice could not be read completely; ``problems`` are (line, message)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__(
            "\n".join(f"line {line}: {message}" if line else message for line, message in problems)
        )


@dataclass(frozen=True, slots=True)
class NoticeDay:
    day: date
    kind: str  # holiday | workday
    name: str  # the paragraph's festival, e.g. 春节 (workdays: 春节调休)
    line: int


@dataclass(frozen=True, slots=True)
class Notice:
    year: int
    days: tuple[NoticeDay, ...]

    def holidays(self) -> dict[date, str]:
        return {d.day: d.name for d in self.days if d.kind == HOLIDAY}

    def workdays(self) -> dict[date, str]:
        return {d.day: d.name for d in self.days if d.kind == WORKDAY}


@dataclass(frozen=True, slots=True)
class _Date:
    year: int | None
    month: int | None
    day: int
    weekday: int | None  # 0 = Monday, as stated in the parentheses


def parse_notice(text: str, year: int | None = None) -> Notice:
    """The holidays and make-up workdays of ``text``; ``year`` when the title is missing."""
    title = _TITLE.search(text)
    if title is not None:
        if year is not None and int(title.group(1)) != year:
            raise NoticeError([(0, f"the notice is for {title.group(1)}, not {year}")])
        year = int(title.group(1))
    if year is None:
        raise NoticeError(
            [(0, "no title 国务院办公厅关于YYYY年部分节假日安排的通知: give the year")]
        )
    problems: list[tuple[int, str]] = []
    days: list[NoticeDay] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        match = _PARAGRAPH.match(line)
        if match is None:
            if _DATE.search(line) and ("放假" in line or "上班" in line):
                problems.append((number, f"not a numbered paragraph (一、名称：…): {line}"))
            continue
        try:
            days += _paragraph(match.group(2), match.group(3), year, number)
        except ValueError as exc:
            problems.append((number, f"{exc}: {line}"))
    seen: dict[date, NoticeDay] = {}
    for day in days:
        if day.day in seen:
            problems.append((day.line, f"{day.day} also on line {seen[day.day].line}"))
        seen.setdefault(day.day, day)
    if not days and not problems:
        problems.append((0, "no paragraph like 一、元旦：1月1日放假… found"))
    if problems:
        raise NoticeError(problems)
    return Notice(year, tuple(sorted(days, key=lambda d: d.day)))


def _paragraph(name: str, body: str, year: int, line: int) -> list[NoticeDay]:
    new_year = "元旦" in name
    holidays: list[date] = []
    workdays: list[date] = []
    for sentence in filter(None, (s.strip() for s in re.split(r"[。；;]", body))):
        if "放假" in sentence:
            if holidays:
                raise ValueError("two 放假 sentences in one paragraph")
            holidays = _holiday_range(sentence, year, new_year)
        elif "上班" in sentence:
            workdays += _workdays(sentence.split("上班")[0], year, new_year)
    if not holidays:
        raise ValueError(f"no 放假 dates for {name}")
    work_name = f"{name}调休"
    return [NoticeDay(d, HOLIDAY, name, line) for d in holidays] + [
        NoticeDay(d, WORKDAY, work_name, line) for d in workdays
    ]


def _holiday_range(sentence: str, year: int, new_year: bool) -> list[date]:
    head = sentence.partition("放假")[0]
    parts = [p.strip() for p in head.split("至")]
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"cannot read the dates {head!r}")
    parsed = [_one_date(p) for p in parts]
    first = _resolve(parsed[0], year, None, new_year)
    last = first
    if len(parsed) == 2:
        end = parsed[1]
        last = _resolve(end, year, first, new_year)
        if end.year is None and end.month is not None and end.month < first.month:
            # 12月31日至1月2日: the end is in the next year (notices give the year; be sure).
            last = last.replace(year=first.year + 1)
        if last < first:
            raise ValueError(f"{last} is before {first}")
    count = (last - first).days + 1
    stated = _DAYS_STATED.search(sentence)
    if stated is not None and int(stated.group(1)) != count:
        raise ValueError(f"says {stated.group(1)} days but {first} to {last} is {count}")
    if count > 14:
        raise ValueError(f"a {count}-day holiday is not plausible")
    return [first + timedelta(days=k) for k in range(count)]


def _workdays(text: str, year: int, new_year: bool) -> list[date]:
    matches = list(_DATE.finditer(text))
    leftover = _DATE.sub("", text)
    if not matches or not _SEPARATORS.fullmatch(leftover):
        raise ValueError(f"cannot read the 上班 dates {text!r}")
    days = []
    previous: date | None = None
    for match in matches:
        days.append(_resolve(_from_match(match), year, previous, new_year))
        previous = days[-1]
    return days


def _one_date(text: str) -> _Date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"cannot read the date {text!r}")
    return _from_match(match)


def _from_match(match: re.Match[str]) -> _Date:
    weekday = None
    if match.group("note"):
        stated = _WEEKDAY.search(match.group("note"))
        if stated is not None:
            weekday = WEEKDAY_NAMES.index(stated.group(1).replace("天", "日"))
    return _Date(
        year=int(match.group("year")) if match.group("year") else None,
        month=int(match.group("month")) if match.group("month") else None,
        day=int(match.group("day")),
        weekday=weekday,
    )


def _resolve(d: _Date, year: int, previous: date | None, new_year: bool) -> date:
    """The date ``d`` means in the notice for ``year``.

    No month: the previous date's (``4月4日至6日``). No year: the notice's, except a
    December date in the 元旦 paragraph, which is the year before.
    """
    month = d.month if d.month is not None else (previous.month if previous else None)
    if month is None:
        raise ValueError(f"{d.day}日 without a month")
    if d.year is not None:
        the_year = d.year
    elif d.month is None and previous is not None:
        the_year = previous.year
    else:
        the_year = year - 1 if new_year and month == 12 else year
    try:
        result = date(the_year, month, d.day)
    except ValueError as exc:
        raise ValueError(f"{the_year}-{month}-{d.day}: {exc}") from None
    if d.weekday is not None and result.weekday() != d.weekday:
        actual = WEEKDAY_NAMES[result.weekday()]
        raise ValueError(f"{result} is a 周{actual}, the notice says 周{WEEKDAY_NAMES[d.weekday]}")
    if abs(result.year - year) > 1:
        raise ValueError(f"{result} is not near {year}")
    return result
