"""The one place product code reads the wall clock.

The pure core (flow engine, ACD, SLA, lifecycle, reports) takes ``now`` as a parameter;
the composition roots (IVR worker, work-order store, CLI) get it from ``system_clock``
here, so a test can pin or inject time in one place and ``tests/test_clock_seam.py`` can
check that no other module reads the clock. Time is always aware: the hotline counts days
in Asia/Shanghai, whatever zone the machine is set to, so nothing here knows the machine's
zone (no ``date.today()``, no naive ``datetime.now()``).

Monotonic time (``time.monotonic``, ``loop.time()``) for timeouts is not "now" and stays
where it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

#: Returns the current instant as an aware datetime (any zone; callers convert).
Clock = Callable[[], datetime]

#: The zone the hotline counts days in (order numbers, reports, the calendar's default).
HOTLINE_ZONE = ZoneInfo("Asia/Shanghai")


def system_clock() -> datetime:
    """The machine's clock, as an aware UTC datetime."""
    return datetime.now(UTC)


def now_in(zone: tzinfo, clock: Clock = system_clock) -> datetime:
    """``clock()`` seen in ``zone`` (e.g. the calendar's): the local date and hour there."""
    return clock().astimezone(zone)
