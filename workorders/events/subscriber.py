"""Subscribes the work-order service to MQTT topics (aiomqtt) for the agent console.

The second module allowed to import aiomqtt (next to ``publisher.py``). The session is
persistent (``clean_session=False`` under one client id for the life of the process), so
QoS 1 events published while the connection is down are kept by the broker and arrive after
the reconnect. aiomqtt does not reconnect by itself: ``run()`` is the loop, with capped,
jittered exponential backoff. On Python 3.11 aiomqtt's waits for CONNACK and SUBACK can lose
a cancellation (see ``workorders.events.cancellation``); ``run()`` checks for one after each,
so a service shutdown that cancels it and waits for it does not wait forever. Each message
is handed to ``on_message(topic, payload)``, which must not block (the console hub only
queues).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence

import aiomqtt

from workorders.events.cancellation import raise_lost_cancellation

log = logging.getLogger(__name__)


class EventSubscriber:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        topics: Sequence[str],
        on_message: Callable[[str, bytes], object],
        username: str | None = None,
        password: str | None = None,
        initial_backoff: float = 0.2,
        max_backoff: float = 30.0,
        mqtt_timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._client_id = client_id
        self._topics = tuple(topics)
        self._on_message = on_message
        self._username = username
        self._password = password
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._mqtt_timeout = mqtt_timeout
        self.connected = asyncio.Event()
        self.received = 0
        self.connections = 0

    async def run(self) -> None:
        """Receive until cancelled; broker outages are logged and retried."""
        backoff = self._initial_backoff
        streak = 0
        while True:
            try:
                async with aiomqtt.Client(
                    self._host,
                    self._port,
                    identifier=self._client_id,
                    username=self._username,
                    password=self._password,
                    clean_session=False,
                    timeout=self._mqtt_timeout,
                ) as client:
                    raise_lost_cancellation()  # the wait for CONNACK may have lost it
                    for topic in self._topics:
                        await client.subscribe(topic, qos=1)
                        raise_lost_cancellation()  # the wait for SUBACK may have lost it
                    self.connections += 1
                    self.connected.set()
                    log.info("console subscribed to MQTT %s:%d", self._host, self._port)
                    backoff, streak = self._initial_backoff, 0
                    async for message in client.messages:
                        self._handle(str(message.topic), message.payload)
            except aiomqtt.MqttError as error:
                level = logging.WARNING if streak == 0 else logging.DEBUG
                log.log(level, "console MQTT %s:%d: %s", self._host, self._port, error)
            finally:
                self.connected.clear()
            streak += 1
            raise_lost_cancellation()  # a failed wait for CONNACK or SUBACK may have lost it
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, self._max_backoff)

    def _handle(self, topic: str, payload: object) -> None:
        self.received += 1
        if isinstance(payload, str):
            data = payload.encode("utf-8")
        elif isinstance(payload, bytes | bytearray):
            data = bytes(payload)
        else:
            return
        try:
            self._on_message(topic, data)
        except Exception:  # a bad message must not end the subscription
            log.exception("console could not handle a message on %s", topic)
