"""Writes a ``Notice`` into ``calendar.yaml`` text, keeping its comments and layout.

The only module importing ``ruamel.yaml``: PyYAML, which reads the file everywhere
else, would drop the comments that explain the file to the next person editing it.
Text in, text out; the caller shows the diff, validates the result with
``routing.calendar_config.load_calendar`` and replaces the file in one step.
"""

from __future__ import annotations

import bisect
import io
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from routing.calendar import CalendarError
from routing.notice import Notice


def with_notice(text: str, notice: Notice, *, source: str = "calendar.yaml") -> str:
    """``text`` with the notice's year listed under ``years`` and its days under ``days``.

    Entries already there for the notice's year, or for any day the notice names (a
    make-up day in the previous year), are replaced: importing a notice twice, or a
    corrected notice, gives the same file.
    """
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        data: Any = yaml.load(text) if text.strip() else CommentedMap()
    except YAMLError as exc:
        raise CalendarError(f"{source}: {exc}") from exc
    if not isinstance(data, CommentedMap):
        raise CalendarError(f"{source}: expected a mapping at the top")
    years = data.get("years")
    if not isinstance(years, CommentedSeq):
        years = CommentedSeq(years or [])
        data["years"] = years
    years.fa.set_flow_style()  # a comment after `years: [...]` stays where it was
    if notice.year not in years:
        years.insert(bisect.bisect(sorted(years), notice.year), notice.year)
    days = data.get("days")
    if not isinstance(days, CommentedMap):
        days = CommentedMap(days or {})
        data["days"] = days
    named = {d.day for d in notice.days}
    for key in list(days):
        existing = _day(key, source)
        if existing.year == notice.year or existing in named:
            del days[key]
    days.fa.set_block_style()
    for day in notice.days:  # sorted; inserted in place, so other entries keep their comments
        entry = CommentedMap({day.kind: day.name})
        entry.fa.set_flow_style()
        position = sum(1 for key in days if _day(key, source) < day.day)
        days.insert(position, day.day, entry)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _day(key: object, source: str) -> date:
    if isinstance(key, date):
        return key
    try:
        return date.fromisoformat(str(key))
    except ValueError:
        raise CalendarError(f"{source}: days: {key!r} is not a date (YYYY-MM-DD)") from None
