"""Publishes the outbox to MQTT through the events adapter (``events.mqtt``).

Delivery is at least once. A row is marked sent only after the broker acknowledged the
publish (QoS 1: ``Connection.publish`` returns once the PUBACK arrived); if the connection
breaks between PUBACK and the database update, the event goes out again later under the same
``id``. The link (``events.mqtt.MqttLink``) reconnects with capped exponential backoff (0.2 s
doubling to 5 s, with jitter) and keeps going until it is cancelled; a database outage ends
the connection the same way and is retried with the same backoff.

It never blocks the API: the API only commits rows and calls ``wake()``; whether the broker is
there or not is this task's business alone. One bad row never blocks the others
(``workorders.events.delivery``): a row the MQTT client refuses outright (a topic it cannot
publish to) is quarantined at once; a row during whose publish the connection broke (what
Mosquitto does with a topic it refuses) is tried after the other topics' rows, and quarantined
after ``max_attempts`` failures. Order is kept per topic. ``quarantined`` counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from events.mqtt import BrokerSettings, BrokerUnavailable, Connection, MqttLink, PublishRefused
from events.payloads import encode_event
from workorders.errors import WorkOrderError
from workorders.events.delivery import MAX_ATTEMPTS, delivery_order, should_quarantine
from workorders.events.screenpop import OutboxMessage

__all__ = ["OutboxPublisher", "OutboxStore", "encode_event"]

log = logging.getLogger(__name__)


class OutboxStore(Protocol):
    """What the publisher needs from ``workorders.store.Store``."""

    async def outbox(
        self, *, unsent_only: bool = True, limit: int = 100
    ) -> list[OutboxMessage]: ...

    async def mark_sent(self, message_id: str) -> None: ...

    async def record_failed_attempt(self, message_id: str, reason: str = "") -> int: ...

    async def quarantine(self, message_id: str, reason: str) -> None: ...


class OutboxPublisher:
    """Drains unsent outbox rows, oldest first, to the broker at ``host:port``."""

    def __init__(
        self,
        store: OutboxStore,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        poll_interval: float = 0.2,
        batch_size: int = 100,
        initial_backoff: float = 0.2,
        max_backoff: float = 5.0,
        mqtt_timeout: float = 10.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._store = store
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._link = MqttLink(
            BrokerSettings(
                host, port, client_id, username, password, persistent_session=False,
                timeout=mqtt_timeout,
            ),
            name="outbox publisher",
            session=self._drain_forever,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            expected_errors=(WorkOrderError,),  # the outbox is not readable: retried
        )  # fmt: skip
        self.published = 0  # acknowledged publishes since start
        self.quarantined = 0  # rows given up on since start (kept in the outbox, with why)

    @property
    def failures(self) -> int:
        """Broker or database failures since start."""
        return self._link.failures

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll (call after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled. Broker and database outages are logged and retried."""
        await self._link.run()

    async def _drain_forever(self, connection: Connection) -> None:
        while True:
            # Cleared before reading, so a wake() during the read is not lost.
            self._wake.clear()
            rows = await self._store.outbox(limit=self._batch_size)
            batch = delivery_order(rows)
            for message in batch:
                await self._publish(connection, message)
            if len(rows) < self._batch_size or len(batch) < len(rows):
                # Rows queued behind a suspect wait for it; new work or the poll retries.
                await self._wait_for_work()

    async def _publish(self, connection: Connection, message: OutboxMessage) -> None:
        try:
            await connection.publish(message.topic, encode_event(message.event), qos=1)
        except PublishRefused as error:
            await self._give_up(message, f"the MQTT client refused it: {error}")
            return
        except BrokerUnavailable as error:
            # The link broke while this row was in flight: maybe the broker refused it.
            with contextlib.suppress(WorkOrderError):
                reason = f"the broker dropped the connection on it: {error}"
                attempts = await self._store.record_failed_attempt(message.id, reason)
                if should_quarantine(attempts, self._max_attempts):
                    await self._give_up(message, f"{reason} ({attempts} attempts)")
            raise
        await self._store.mark_sent(message.id)
        self.published += 1
        log.debug("published %s %s to %s", message.event.get("type"), message.id, message.topic)

    async def _give_up(self, message: OutboxMessage, reason: str) -> None:
        """Quarantine ``message``: kept with ``reason``, no longer holding its topic."""
        log.error(
            "outbox row %s (%s to %s) quarantined: %s",
            message.id,
            message.event.get("type"),
            message.topic,
            reason,
        )
        self.quarantined += 1
        await self._store.quarantine(message.id, reason)

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll_interval):
                await self._wake.wait()
