"""无效来电: calls the IVR ended without an order, counted by reason and by number. Pure.

The IVR decides (``ivr/engine``: no key and no speech, a silent intake, too short, an
intake cut by a crash before any speech); the service keeps the statistics and applies the
malicious-caller rule of ``hotline-rules.md`` (恶意反复拨打: detect and flag, never drop) —
a number with ``abusive_count`` invalid calls inside the repeat window is flagged, like
repeated orders are (``repeats.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.sla import RepeatPolicy
from workorders.fields import INVALID_CALL_REASONS
from workorders.repeats import ANONYMOUS

#: Why a call was invalid (``ivr.engine.actions.InvalidCall`` and ``ivr/journal.py``).
REASONS = INVALID_CALL_REASONS


@dataclass(frozen=True, slots=True)
class InvalidCall:
    call_id: str
    caller_number: str
    reason: str
    group: str
    worker: str | None


@dataclass(frozen=True, slots=True)
class InvalidVerdict:
    """The number's invalid calls inside the repeat window, this one included."""

    in_window: int
    abusive: bool
    replayed: bool = False

    def to_json(self) -> dict[str, object]:
        return {"in_window": self.in_window, "abusive": self.abusive}


def judge_invalid(caller_number: str, in_window: int, policy: RepeatPolicy) -> InvalidVerdict:
    if caller_number.lower() in ANONYMOUS:
        return InvalidVerdict(in_window, False)
    return InvalidVerdict(in_window, in_window >= policy.abusive_count)
