"""What a simulated call gives back (``ivr.engine.simulator``): its lines, its timeline of
actions, and the measures tests check (the longest silence, the orders, the question)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ivr.engine import actions
from ivr.engine.engine import FlowEngine
from ivr.engine.script import CallerStep
from ivr.errors import IvrError


@dataclass(frozen=True, slots=True)
class OrderService:
    """How the work-order service answers ``CreateOrder``.

    ``number=None`` refuses with ``reason``; ``after=None`` never answers.
    """

    number: str | None = "12320-20260501-00042"
    after: float | None = 0.2
    reason: str = "unavailable"


@dataclass(frozen=True, slots=True)
class Line:
    at: float  # seconds since the call started
    who: Literal["engine", "caller", "session"]
    text: str


@dataclass(frozen=True)
class Simulation:
    lines: tuple[Line, ...]
    timeline: tuple[tuple[float, actions.Action], ...]  # (seconds since start, action)
    max_silence: float  # longest time the caller heard nothing and was not talking
    ended_by: Literal["engine", "caller"]
    seconds: float
    unused: tuple[CallerStep, ...]
    engine: FlowEngine

    @property
    def orders(self) -> tuple[actions.CreateOrder, ...]:
        return tuple(a for _, a in self.timeline if isinstance(a, actions.CreateOrder))

    @property
    def invalid(self) -> tuple[actions.InvalidCall, ...]:
        """无效来电 the engine counted instead of opening an order."""
        return tuple(a for _, a in self.timeline if isinstance(a, actions.InvalidCall))

    @property
    def question(self) -> actions.EmergencyQuestion | None:
        """The confirming question, if the engine asked it: its line and the caller's answer
        (``outcome``: confirmed, declined, timeout, hangup, interrupted)."""
        asked = [a for _, a in self.timeline if isinstance(a, actions.EmergencyQuestion)]
        return asked[0] if asked else None

    @property
    def prompts(self) -> tuple[str, ...]:
        """Every prompt key queued, in order (including ones stopped by barge-in)."""
        plays = (a for _, a in self.timeline if isinstance(a, actions.Play))
        return tuple(key for play in plays for key in play.prompts)

    def transcript(self) -> str:
        return "\n".join(f"{line.at:7.2f}s  {line.who:<8} {line.text}" for line in self.lines)


class SimulationError(IvrError):
    """The scripted call could not go on (e.g. the engine waits with nothing to wake it)."""


def default_prompt_seconds(key: str, language: str = "") -> float:
    """Round lengths for tests; ``hotline simulate`` passes the rendered audio's lengths
    (``ivr.prompts.durations``)."""
    return 0.5 if key.startswith("digits/") else 3.0


def longest_gap(
    intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime
) -> float:
    """Longest stretch of [start, end] not covered by any interval, in seconds."""
    longest = 0.0
    covered_until = start
    for begin, finish in sorted(intervals):
        if begin > covered_until:
            longest = max(longest, (begin - covered_until).total_seconds())
        covered_until = max(covered_until, finish)
    if end > covered_until:
        longest = max(longest, (end - covered_until).total_seconds())
    return longest
