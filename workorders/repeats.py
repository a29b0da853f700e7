"""重复来电: orders from the same number within a window are linked and flagged. Pure.

Abusive repetition (恶意反复拨打) is flagged for supervisors; an order is never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.sla import RepeatPolicy

FLAG_REPEAT = "repeat_caller"
FLAG_ABUSIVE = "abusive_repetition"
#: Caller ids that do not identify anyone: never linked.
ANONYMOUS = frozenset({"", "anonymous", "unknown", "unavailable", "restricted"})


@dataclass(frozen=True, slots=True)
class RepeatVerdict:
    repeat_of: str | None
    flags: tuple[str, ...]

    #: True only for the order that reaches the threshold: supervisors hear once per window.
    alert: bool = False

    @property
    def abusive(self) -> bool:
        return FLAG_ABUSIVE in self.flags


def judge_repeat(
    caller_number: str, earlier_in_window: list[str], policy: RepeatPolicy
) -> RepeatVerdict:
    """``earlier_in_window``: numbers of the caller's orders inside the window, oldest first."""
    if caller_number.lower() in ANONYMOUS or not earlier_in_window:
        return RepeatVerdict(None, ())
    flags: tuple[str, ...] = (FLAG_REPEAT,)
    count = len(earlier_in_window) + 1
    if count >= policy.abusive_count:
        flags += (FLAG_ABUSIVE,)
    return RepeatVerdict(earlier_in_window[0], flags, alert=count == policy.abusive_count)
