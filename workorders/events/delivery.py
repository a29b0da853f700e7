"""Which outbox rows the publisher tries next, and when a row is given up on. Pure.

Order is kept per topic (one call's commands, one group's pops, one agent's pops), not across
the whole outbox: a row the broker refused (Mosquitto drops the connection on a topic it will
not take, so the publisher only sees the link break) must not hold back the events of every
other call. A row that failed before is a *suspect*: the rows of other topics go first, the
rows behind it on its own topic wait, and the suspect is tried last, once per connection.
After ``max_attempts`` failures it is quarantined with the reason and its topic flows again.

A broker that goes away in the middle of a publish also makes a suspect of the row it was
publishing; that costs the row its place among other topics' rows (never within its own
topic), and only ``max_attempts`` such coincidences in a row quarantine it — released by an
operator (``POST /api/v1/outbox/quarantine/{id}/release``).
"""

from __future__ import annotations

from collections.abc import Sequence

from workorders.events.screenpop import OutboxMessage

#: Failed publishes of one row before it is quarantined.
MAX_ATTEMPTS = 5


def is_suspect(message: OutboxMessage) -> bool:
    """A row whose publish failed before (sent rows are never offered again)."""
    return message.sent_at is None and message.attempts > 0


def delivery_order(rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """``rows`` (oldest first) in the order to try them now: the rows not queued behind a
    suspect of their topic, oldest first, then each topic's oldest suspect."""
    held: set[str] = set()
    fresh: list[OutboxMessage] = []
    suspects: list[OutboxMessage] = []
    for row in rows:
        if row.topic in held:
            continue
        if is_suspect(row):
            held.add(row.topic)
            suspects.append(row)
        else:
            fresh.append(row)
    return fresh + suspects


def should_quarantine(attempts: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    return attempts >= max_attempts
