"""Subscribes the work-order service to MQTT topics for the agent console.

Built on the events adapter (``events.mqtt.MqttLink``). The session is persistent
(``clean_session=False`` under one client id for the life of the process), so QoS 1 events
published while the connection is down are kept by the broker and arrive after the
reconnect; the link reconnects with capped, jittered exponential backoff. Each message is
handed to ``on_message(topic, payload)``, which must not block (the console hub only queues);
one that raises is logged and the subscription stays up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from events.mqtt import BrokerSettings, MqttLink


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
        self._on_message = on_message
        self._link = MqttLink(
            BrokerSettings(
                host, port, client_id, username, password, persistent_session=True,
                timeout=mqtt_timeout,
            ),
            name="console subscriber",
            subscriptions=topics,
            on_message=self._handle,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
        )  # fmt: skip
        self.received = 0

    @property
    def connected(self) -> asyncio.Event:
        return self._link.connected

    @property
    def connections(self) -> int:
        return self._link.connections

    async def run(self) -> None:
        """Receive until cancelled; broker outages are logged and retried."""
        await self._link.run()

    def _handle(self, topic: str, payload: bytes) -> None:
        self.received += 1
        self._on_message(topic, payload)
