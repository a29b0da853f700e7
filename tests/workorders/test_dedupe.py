"""EventDeduper: each id once, in bounded memory."""

from __future__ import annotations

import pytest

from workorders.errors import InvalidInput
from workorders.events.dedupe import EventDeduper

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("capacity", "offered", "expected"),
    [
        (3, ["a", "b", "a", "c", "b"], [True, True, False, True, False]),
        # The oldest id is forgotten once capacity is exceeded ...
        (2, ["a", "b", "c", "a"], [True, True, True, True]),
        # ... but one seen again is remembered afresh (b is older than a by then).
        (2, ["a", "b", "a", "c", "a", "b"], [True, True, False, True, False, True]),
        (1, ["a", "a", "b", "a"], [True, False, True, True]),
    ],
)
def test_is_new(capacity: int, offered: list[str], expected: list[bool]) -> None:
    deduper = EventDeduper(capacity)
    assert [deduper.is_new(event_id) for event_id in offered] == expected
    assert len(deduper) <= capacity
    assert deduper.duplicates == expected.count(False)


def test_accept_reads_the_event_id() -> None:
    deduper = EventDeduper()
    event = {"id": "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", "type": "order.created"}
    assert deduper.accept(event) is True
    assert deduper.accept(dict(event)) is False
    assert event["id"] in deduper


@pytest.mark.parametrize("event", [{}, {"id": ""}, {"id": 7}, {"type": "order.created"}])
def test_an_event_without_an_id_is_refused(event: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="no id"):
        EventDeduper().accept(event)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EventDeduper(0)
