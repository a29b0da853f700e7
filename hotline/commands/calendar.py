"""``hotline calendar import NOTICE`` and ``hotline calendar show YEAR``.

The State Council publishes next year's holidays each November; until they are in
``calendar.yaml`` every weekday of that year counts as a working day. ``import`` reads
the notice's text (``routing.notice``), shows the change to ``calendar.yaml`` as a diff,
asks, and replaces the file in one step only after the new file loads: nothing is ever
half-written. ``show`` prints what the calendar believes about a year.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from settings.node import load_settings

KIND_LABELS = {"holiday": "放假", "makeup_workday": "上班（调休）"}
#: ``chinesecalendar`` names its holidays in English; the notice and calendar.yaml in Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}  # fmt: skip
WEEKDAYS_ZH = "一二三四五六日"


def register(commands: Any) -> None:
    calendar = commands.add_parser("calendar", help="holidays and 调休 workdays")
    calendar_commands = calendar.add_subparsers(dest="what", required=True)
    take = calendar_commands.add_parser(
        "import",
        help="read a State Council holiday notice (text; - for stdin) into calendar.yaml",
    )
    take.add_argument("notice", help="the notice's text as a file, or - for standard input")
    take.add_argument("--year", type=int, help="the notice's year, if its title is missing")
    take.add_argument("--yes", action="store_true", help="write without asking")
    take.set_defaults(run=_import)
    show = calendar_commands.add_parser("show", help="a year's holidays and 调休 workdays")
    show.add_argument("year", type=int)
    show.set_defaults(run=_show)


def _import(args: argparse.Namespace) -> int:
    from routing.calendar_config import load_calendar
    from routing.calendar_edit import with_notice
    from routing.errors import RoutingError
    from routing.notice import NoticeError, parse_notice

    settings = load_settings(args.config)
    path: Path = settings.calendar
    name = "<stdin>" if args.notice == "-" else args.notice
    try:
        text = sys.stdin.read() if args.notice == "-" else Path(args.notice).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    try:
        notice = parse_notice(text, args.year)
    except NoticeError as exc:
        for line, message in exc.problems:
            print(f"{name}:{line}: {message}" if line else f"{name}: {message}", file=sys.stderr)
        print(f"nothing written to {path}", file=sys.stderr)
        return 1
    try:
        old = path.read_text(encoding="utf-8")
        new = with_notice(old, notice, source=str(path))
    except (OSError, RoutingError) as exc:
        print(exc, file=sys.stderr)
        return 1
    holidays, workdays = len(notice.holidays()), len(notice.workdays())
    summary = f"{notice.year}: {holidays} holiday(s), {workdays} make-up workday(s)"
    if new == old:
        print(f"{path}: already has {summary}")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), str(path), f"{path} (new)"
        )
    )
    fd, temp_name = tempfile.mkstemp(prefix=".calendar-", suffix=".yaml", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new)
        calendar = load_calendar(temp)  # the file as every other part of the hotline reads it
        if not args.yes and not _confirm(f"write {summary} to {path}? [y/N] ", args.notice == "-"):
            print(f"nothing written to {path}", file=sys.stderr)
            return 1
        os.replace(temp, path)
    except RoutingError as exc:
        print(f"{path}: the result would not load, nothing written: {exc}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    print(f"{path}: wrote {summary}; the calendar now ends on {calendar.horizon}")
    return 0


def _confirm(question: str, stdin_taken: bool) -> bool:
    """Ask on the terminal; with the notice on stdin, on /dev/tty; no terminal: no."""
    answer_from: TextIO | None = None
    try:
        answer_from = open("/dev/tty", encoding="utf-8") if stdin_taken else sys.stdin  # noqa: SIM115
    except OSError:
        answer_from = None
    if answer_from is None:
        print("no terminal to ask on: give --yes", file=sys.stderr)
        return False
    try:
        print(question, end="", flush=True)
        return answer_from.readline().strip().lower() in ("y", "yes", "是")
    finally:
        if answer_from is not sys.stdin:
            answer_from.close()


def _show(args: argparse.Namespace) -> int:
    from datetime import date

    from routing.calendar_config import load_calendar
    from routing.errors import RoutingError

    settings = load_settings(args.config)
    try:
        calendar = load_calendar(settings.calendar)
    except RoutingError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.year not in calendar.known_years:
        print(
            f"{args.year}: no official holiday data (the calendar ends on {calendar.horizon}); "
            f"import the State Council's {args.year} notice with `hotline calendar import`",
            file=sys.stderr,
        )
        return 1
    days = sorted(
        d
        for d in (*calendar.holidays, *calendar.makeup_workdays)
        if isinstance(d, date) and d.year == args.year
    )
    for day in days:
        kind = KIND_LABELS[calendar.day_kind(day).value]
        name = str(calendar.holiday_name(day))
        print(f"{day} 周{WEEKDAYS_ZH[day.weekday()]}  {kind}  {HOLIDAY_NAMES_ZH.get(name, name)}")
    print(f"{args.year}: {len(days)} day(s) differ from the plain week; all other weekdays work")
    return 0
