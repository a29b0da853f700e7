"""Figures of the security battery, their JSON and table, and the phone-number grep (pure).

A step measures what the node does today and says it against the target of issue 13;
a target not met is a finding, not an error of the battery. A step that could not
measure (a tool missing, the node gone) says so in ``error`` instead of inventing a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: An 11-digit mainland mobile number, not part of a longer digit run.
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number, e.g. ``process deaths = 0`` against the target ``== 0``."""

    name: str
    value: float | int | str | None
    target: str = ""  # "== 0", ">= 99", "<= 5"; empty: informational
    unit: str = ""

    @property
    def met(self) -> bool | None:
        """Whether ``value`` meets ``target``; None when there is no target or no number."""
        if not self.target or not isinstance(self.value, int | float):
            return None
        op, _, bound = self.target.partition(" ")
        limit = float(bound)
        return {
            "==": self.value == limit,
            "<=": self.value <= limit,
            ">=": self.value >= limit,
            "<": self.value < limit,
            ">": self.value > limit,
        }[op]


@dataclass(frozen=True, slots=True)
class StepResult:
    step: str  # "corpus"
    title: str  # "a) RFC 4475 + PROTOS c07 + pjsip seeds at the edge and a worker"
    figures: tuple[Figure, ...] = ()
    seconds: float = 0.0
    notes: tuple[str, ...] = ()
    error: str | None = None  # the step could not measure (what was missing)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.error is None and all(f.met is not False for f in self.figures)


def results_json(
    steps: Sequence[StepResult], *, started_at: str, commit: str, branch: str
) -> dict[str, Any]:
    return {
        "battery": "issue 13: hostile network and bad input",
        "started_at": started_at,
        "commit": commit,
        "branch": branch,
        "steps": {
            s.step: {
                "title": s.title,
                "passed": s.passed,
                "seconds": round(s.seconds, 1),
                "error": s.error,
                "figures": [
                    {
                        "name": f.name,
                        "value": f.value,
                        "unit": f.unit,
                        "target": f.target,
                        "met": f.met,
                    }
                    for f in s.figures
                ],
                "notes": list(s.notes),
                "details": s.details,
            }
            for s in steps
        },
    }


def _value(figure: Figure) -> str:
    value = figure.value
    if value is None:
        return "—"
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return f"{text} {figure.unit}".strip()


def table(steps: Sequence[StepResult]) -> str:
    """A Markdown table: one row per figure, ✔/✘ against its target."""
    rows = ["| step | figure | value | target | met |", "|---|---|---|---|---|"]
    for s in steps:
        if s.error is not None:
            rows.append(f"| {s.step} | (not measured) | {s.error} | | ✘ |")
        for f in s.figures:
            mark = {True: "✔", False: "✘", None: ""}[f.met]
            rows.append(f"| {s.step} | {f.name} | {_value(f)} | {f.target} | {mark} |")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class NumberHit:
    """A full phone number in a log or export: where, and the number masked."""

    source: str  # file name
    line: int
    masked: str  # 139****1234: the report itself must not leak the number


def mask(number: str) -> str:
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"


def phone_numbers_in(source: str, text: str, used: Iterable[str] = ()) -> list[NumberHit]:
    """Every full mobile number and every number of ``used`` (the battery's callers) in ``text``.

    ``used`` catches numbers that are not mobile-shaped (a landline, an extension-like
    caller id) which the battery itself sent and therefore knows.
    """
    extra = sorted({n for n in used if len(n) >= 7}, key=len, reverse=True)
    pattern = MOBILE
    if extra:
        alternatives = "|".join(re.escape(n) for n in extra)
        pattern = re.compile(rf"{MOBILE.pattern}|(?<!\d)(?:{alternatives})(?!\d)")
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        hits += [NumberHit(source, number, mask(m.group(0))) for m in pattern.finditer(line)]
    return hits
