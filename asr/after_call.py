"""The after-call transcription queue: recordings of calls that found the streaming pool full.

Pure and single-threaded (the event loop owns it). Order: lower ``Priority`` first (emergencies
before everything), then first come, first served. A call that turns out to be an emergency
after its recording was queued can be moved up with ``raise_priority``.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class Priority(IntEnum):
    EMERGENCY = 0
    """The call was routed to, or classified for, a dedicated emergency line."""
    URGENT = 1
    """A 2-hour order (risk to life or property, instability) that is not an emergency call."""
    NORMAL = 2


@dataclass(frozen=True)
class QueuedRecording:
    path: Path
    priority: Priority
    queued_at: float
    sequence: int
    call_id: str = ""


class AfterCallQueue:
    """Recordings waiting for transcription, emergencies first."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, QueuedRecording]] = []
        self._live: dict[int, QueuedRecording] = {}
        self._counter = itertools.count()

    def submit(
        self,
        path: Path,
        priority: Priority = Priority.NORMAL,
        *,
        now: float,
        call_id: str = "",
    ) -> QueuedRecording:
        """Queue ``path``; returns the queue entry (its ``sequence`` identifies it)."""
        entry = QueuedRecording(Path(path), Priority(priority), now, next(self._counter), call_id)
        self._push(entry)
        return entry

    def raise_priority(self, sequence: int, priority: Priority) -> bool:
        """Move a waiting entry up to ``priority``; False if it is gone or already higher."""
        entry = self._live.get(sequence)
        if entry is None or entry.priority <= priority:
            return False
        self._push(
            QueuedRecording(
                entry.path, Priority(priority), entry.queued_at, sequence, entry.call_id
            )
        )
        return True

    def pop(self) -> QueuedRecording | None:
        """The next recording to transcribe, or ``None`` when nothing waits."""
        while self._heap:
            _, sequence, entry = heapq.heappop(self._heap)
            if self._live.get(sequence) is entry:
                del self._live[sequence]
                return entry
        return None

    def pending(self) -> list[QueuedRecording]:
        """Waiting entries in the order ``pop`` would return them."""
        return sorted(self._live.values(), key=lambda e: (e.priority, e.sequence))

    def __len__(self) -> int:
        return len(self._live)

    def _push(self, entry: QueuedRecording) -> None:
        # Superseded heap items stay in the heap and are skipped by ``pop``.
        self._live[entry.sequence] = entry
        heapq.heappush(self._heap, (int(entry.priority), entry.sequence, entry))
