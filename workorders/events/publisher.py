"""Publishes the outbox to MQTT (aiomqtt): the only module that imports aiomqtt.

Delivery is at least once. A row is marked sent only after the broker acknowledged the
publish (QoS 1: aiomqtt's ``publish`` returns once the PUBACK arrived); if the connection
breaks between PUBACK and the database update, the event goes out again later under the same
``id``. aiomqtt does not reconnect by itself, so ``run()`` wraps the client in a retry loop
with capped exponential backoff (0.2 s doubling to 5 s, with jitter) and keeps going until it
is cancelled. On Python 3.11 aiomqtt's waits for CONNACK and PUBACK can lose a cancellation
(see ``workorders.events.cancellation``); the publisher checks for one after each of them, so
a service shutdown that cancels it and waits for it does not wait forever.

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
import json
import logging
import random
from collections.abc import Mapping
from typing import Any, Protocol

import aiomqtt

from workorders.errors import WorkOrderError
from workorders.events.cancellation import raise_lost_cancellation
from workorders.events.delivery import MAX_ATTEMPTS, delivery_order, should_quarantine
from workorders.events.screenpop import OutboxMessage

log = logging.getLogger(__name__)


class OutboxStore(Protocol):
    """What the publisher needs from ``workorders.store.Store``."""

    async def outbox(
        self, *, unsent_only: bool = True, limit: int = 100
    ) -> list[OutboxMessage]: ...

    async def mark_sent(self, message_id: str) -> None: ...

    async def record_failed_attempt(self, message_id: str, reason: str = "") -> int: ...

    async def quarantine(self, message_id: str, reason: str) -> None: ...


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The MQTT payload: compact UTF-8 JSON (Chinese labels stay readable)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
        self._host = host
        self._port = port
        self._client_id = client_id
        self._username = username
        self._password = password
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._mqtt_timeout = mqtt_timeout
        self._max_attempts = max_attempts
        self._wake = asyncio.Event()
        self.published = 0  # acknowledged publishes since start
        self.failures = 0  # broker or database failures since start
        self.quarantined = 0  # rows given up on since start (kept in the outbox, with why)

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll (call after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled. Broker and database outages are logged and retried."""
        backoff = self._initial_backoff
        streak = 0  # failures since the last successful connection
        while True:
            try:
                async with aiomqtt.Client(
                    self._host,
                    self._port,
                    identifier=self._client_id,
                    username=self._username,
                    password=self._password,
                    timeout=self._mqtt_timeout,
                ) as client:
                    log.info(
                        "connected to MQTT broker %s:%d%s",
                        self._host,
                        self._port,
                        f" after {streak} failed attempts" if streak else "",
                    )
                    backoff, streak = self._initial_backoff, 0
                    try:
                        await self._drain_forever(client)
                    finally:
                        _collect_disconnect_error(client)
            except aiomqtt.MqttError as error:
                self._log_failure(streak, "MQTT broker %s:%d: %s", self._host, self._port, error)
            except WorkOrderError as error:
                self._log_failure(streak, "outbox not readable: %s", error.message)
            except Exception:
                log.exception("outbox publisher failed; retrying")
                self.failures += 1
            streak += 1
            raise_lost_cancellation()  # a failed wait for CONNACK may have lost it
            # Jitter keeps several nodes from reconnecting in lockstep.
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, self._max_backoff)

    def _log_failure(self, streak: int, message: str, *args: object) -> None:
        """The first failure of a streak is a warning; the retries that follow are debug."""
        self.failures += 1
        log.log(logging.WARNING if streak == 0 else logging.DEBUG, message, *args)

    async def _drain_forever(self, client: aiomqtt.Client) -> None:
        raise_lost_cancellation()  # the wait for CONNACK may have lost it
        while True:
            # Cleared before reading, so a wake() during the read is not lost.
            self._wake.clear()
            rows = await self._store.outbox(limit=self._batch_size)
            batch = delivery_order(rows)
            for message in batch:
                await self._publish(client, message)
                raise_lost_cancellation()  # the wait for PUBACK may have lost it
            if len(rows) < self._batch_size or len(batch) < len(rows):
                # Rows queued behind a suspect wait for it; new work or the poll retries.
                await self._wait_for_work()

    async def _publish(self, client: aiomqtt.Client, message: OutboxMessage) -> None:
        try:
            await _publish_unless_disconnected(client, message.topic, encode_event(message.event))
        except ValueError as error:  # paho refuses the topic or payload before sending
            await self._give_up(message, f"the MQTT client refused it: {error}")
            return
        except aiomqtt.MqttError as error:
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


async def _publish_unless_disconnected(client: aiomqtt.Client, topic: str, payload: bytes) -> None:
    """``client.publish`` with QoS 1, ended as soon as the connection is lost.

    aiomqtt's publish waits for the PUBACK until its timeout even when the broker has already
    dropped the connection (what Mosquitto does with a topic it refuses), so each try of a
    refused row cost the whole timeout. Racing it against the client's disconnection (a
    private future, looked up softly) makes the failure immediate.
    """
    disconnected = getattr(client, "_disconnected", None)
    if not isinstance(disconnected, asyncio.Future):
        await client.publish(topic, payload, qos=1)
        return
    publishing = asyncio.ensure_future(client.publish(topic, payload, qos=1))
    try:
        await asyncio.wait({publishing, disconnected}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not publishing.done():
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
    if not publishing.cancelled():
        publishing.result()  # its own error, or success
        return
    raise aiomqtt.MqttError("the broker closed the connection during the publish")


def _collect_disconnect_error(client: aiomqtt.Client) -> None:
    """Mark aiomqtt's "unexpected disconnection" error as seen.

    When the broker drops the connection while we wait for work and we are then cancelled,
    ``Client.__aexit__`` returns without looking at that error and asyncio later logs
    "Future exception was never retrieved". The attribute is private, so look it up softly.
    """
    disconnected = getattr(client, "_disconnected", None)
    if (
        isinstance(disconnected, asyncio.Future)
        and disconnected.done()
        and not disconnected.cancelled()
    ):
        disconnected.exception()
