"""``say_number``: read a value as a Mandarin number (四十二) or a date (二〇二六年十月一日).

Built from small prompts: ``digits/0``…``digits/9`` (``digits/1`` is the
telephone 幺, so a number's 一 is ``number/1``), the units ``number/ten``,
``number/hundred``, ``number/thousand``, ``number/ten_thousand`` and, for
dates, ``date/year``, ``date/month``, ``date/day``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Literal

from ivr.engine.state import CallState, Runner, Step
from ivr.engine.verbs.base import Flag, Reference, ValueOrVariable, VerbModel
from ivr.engine.verbs.play import PlayRunner, spoken_digits

UNITS = ("", "number/ten", "number/hundred", "number/thousand")
NUMBER_PROMPTS = (
    "number/1",
    "number/ten",
    "number/hundred",
    "number/thousand",
    "number/ten_thousand",
    *(f"digits/{digit}" for digit in "0123456789"),
)
DATE_PROMPTS = ("date/year", "date/month", "date/day")
#: The largest number read as a number; longer values are read digit by digit.
MAX_NUMBER = 99_999_999
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def _digit(digit: int) -> str:
    return "number/1" if digit == 1 else f"digits/{digit}"


def _below_10000(value: int, *, leading: bool) -> list[str]:
    """``value`` < 10000; ``leading``: nothing is said before it (十二, not 一十二)."""
    words: list[str] = []
    zero_pending = False
    for position in (3, 2, 1, 0):
        digit = value // 10**position % 10
        if digit == 0:
            zero_pending = bool(words)
            continue
        if zero_pending:
            words.append("digits/0")
            zero_pending = False
        if not (position == 1 and digit == 1 and leading and not words):
            words.append(_digit(digit))
        if UNITS[position]:
            words.append(UNITS[position])
    return words


def number_prompts(value: int) -> tuple[str, ...]:
    """0 → 零, 12 → 十二, 105 → 一百零五, 20300 → 二万零三百."""
    if value == 0:
        return ("digits/0",)
    high, low = divmod(value, 10_000)
    words: list[str] = []
    if high:
        words += [*_below_10000(high, leading=True), "number/ten_thousand"]
        if low and low < 1000:
            words.append("digits/0")
    if low:
        words += _below_10000(low, leading=not words)
    return tuple(words)


def date_prompts(text: str) -> tuple[str, ...] | None:
    """``2026-10-01`` → 二〇二六年十月一日 (``None`` if ``text`` is not a date)."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    year, month, day = match.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return None
    return (
        *(_digit(int(digit)) for digit in year),
        "date/year",
        *number_prompts(int(month)),
        "date/month",
        *number_prompts(int(day)),
        "date/day",
    )


def spoken_number(text: str, style: Literal["number", "date"]) -> tuple[str, ...]:
    """The prompts for ``text``; what is not a number (or date) is read digit by digit."""
    if style == "date":
        found = date_prompts(text)
        if found is not None:
            return found
    elif text.strip().isdigit() and int(text) <= MAX_NUMBER:
        return number_prompts(int(text))
    return tuple(f"digits/{digit}" for digit in spoken_digits(text))


class SayNumberVerb(VerbModel):
    """``say_number: $count`` / ``say_number: {value: $date, style: date}``."""

    verb = "say_number"
    shorthand = "value"

    value: ValueOrVariable
    style: Literal["number", "date"] = "number"
    barge_in: Flag = False

    def references(self) -> Iterator[Reference]:
        if self.value.startswith("$"):
            yield Reference("variable", self.value[1:], ("value",))
        for key in NUMBER_PROMPTS + (DATE_PROMPTS if self.style == "date" else ()):
            yield Reference("prompt", key, ("value",))

    def runner(self) -> Runner:
        return SayNumberRunner(self)


class SayNumberRunner(PlayRunner):
    def __init__(self, verb: SayNumberVerb) -> None:
        super().__init__((), barge_in=verb.barge_in)
        self.verb = verb

    def start(self, call: CallState, now: datetime) -> Step:
        self.prompts = spoken_number(call.resolve(self.verb.value), self.verb.style)
        return super().start(call, now)
