"""Drop events seen before (delivery over MQTT is at least once). Pure.

A duplicate comes from the outbox publisher sending a row again after a lost PUBACK or a failed
"mark sent", from the broker redelivering an unacknowledged QoS 1 message, or from two service
instances draining one outbox; in each case the copy arrives a few events after the original,
so a bounded memory of recent ids is enough. The oldest id is forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from workorders.errors import InvalidInput

DEFAULT_CAPACITY = 10_000


class EventDeduper:
    """Answers "is this event new?" for the last ``capacity`` distinct event ids."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.duplicates = 0  # events dropped since creation
        self._seen: OrderedDict[str, None] = OrderedDict()

    def is_new(self, event_id: str) -> bool:
        """True the first time ``event_id`` is offered; False (a duplicate) while remembered."""
        if event_id in self._seen:
            self._seen.move_to_end(event_id)  # seen again: it stays longer
            self.duplicates += 1
            return False
        self._seen[event_id] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def accept(self, event: Mapping[str, object]) -> bool:
        """``is_new`` for a decoded event; an event without a string ``id`` is malformed."""
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise InvalidInput("event has no id", field="id")
        return self.is_new(event_id)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._seen

    def __len__(self) -> int:
        return len(self._seen)
