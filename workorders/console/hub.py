"""The browsers connected to the console's WebSocket, and what the MQTT subscriber hands them.

``deliver`` is called for every MQTT message (from the subscriber's task); it never waits:
each browser has a bounded queue, and a browser too slow to empty it is disconnected
(``slow``) rather than holding the others up. Who gets what is ``fanout``'s pure decision.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from workorders.console.fanout import Fanout, Viewer

log = logging.getLogger(__name__)


@dataclass
class Subscription:
    key: int
    viewer: Viewer
    queue: asyncio.Queue[dict[str, Any]]
    slow: asyncio.Event = field(default_factory=asyncio.Event)


class ConsoleHub:
    def __init__(self, fanout: Fanout | None = None, *, queue_size: int = 256) -> None:
        self._fanout = fanout or Fanout()
        self._queue_size = queue_size
        self._keys = itertools.count(1)
        self._subscriptions: dict[int, Subscription] = {}
        self._viewers: dict[int, Viewer] = {}
        self.delivered = 0

    @property
    def fanout(self) -> Fanout:
        return self._fanout

    def attach(self, viewer: Viewer) -> Subscription:
        subscription = Subscription(next(self._keys), viewer, asyncio.Queue(self._queue_size))
        self._subscriptions[subscription.key] = subscription
        self._viewers[subscription.key] = viewer
        return subscription

    def detach(self, subscription: Subscription) -> None:
        self._subscriptions.pop(subscription.key, None)
        self._viewers.pop(subscription.key, None)

    def connected(self) -> list[Viewer]:
        return list(self._viewers.values())

    def deliver(self, topic: str, payload: bytes) -> int:
        """Queue the event in ``payload`` for the browsers it is for; how many."""
        delivery = self._fanout.route(topic, payload, self._viewers)
        if delivery is None:
            return 0
        queued = 0
        for key in delivery.keys:
            subscription = self._subscriptions.get(key)
            if subscription is None:
                continue
            try:
                subscription.queue.put_nowait(delivery.message)
                queued += 1
            except asyncio.QueueFull:
                log.warning(
                    "console browser of %s is too slow; closing it", subscription.viewer.login
                )
                subscription.slow.set()
        self.delivered += queued
        return queued
