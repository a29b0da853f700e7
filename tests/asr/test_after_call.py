from __future__ import annotations

from pathlib import Path

import pytest

from asr.after_call import AfterCallQueue, Priority

pytestmark = pytest.mark.unit

E, U, N = Priority.EMERGENCY, Priority.URGENT, Priority.NORMAL


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ([], []),
        ([("a", N)], ["a"]),
        ([("a", N), ("b", N), ("c", N)], ["a", "b", "c"]),
        ([("a", N), ("b", E)], ["b", "a"]),
        ([("a", N), ("b", U), ("c", E), ("d", U), ("e", E)], ["c", "e", "b", "d", "a"]),
    ],
)
def test_emergencies_first_then_first_come(
    submitted: list[tuple[str, Priority]], expected: list[str]
) -> None:
    queue = AfterCallQueue()
    for now, (name, priority) in enumerate(submitted):
        queue.submit(Path(name), priority, now=float(now))
    assert [str(e.path) for e in queue.pending()] == expected
    popped = []
    while (entry := queue.pop()) is not None:
        popped.append(str(entry.path))
    assert popped == expected
    assert len(queue) == 0


def test_raise_priority_moves_an_entry_up_once() -> None:
    queue = AfterCallQueue()
    a = queue.submit(Path("a"), now=0.0, call_id="c1")
    queue.submit(Path("b"), U, now=1.0)
    assert queue.raise_priority(a.sequence, E)
    assert not queue.raise_priority(a.sequence, U)  # already higher
    assert len(queue) == 2
    first = queue.pop()
    assert first is not None
    assert (first.path, first.priority, first.call_id, first.queued_at) == (Path("a"), E, "c1", 0.0)
    second = queue.pop()
    assert second is not None
    assert second.path == Path("b")
    assert queue.pop() is None
    assert not queue.raise_priority(a.sequence, E)  # gone
