"""The console's MQTT subscription against a test-owned Mosquitto."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.workorders.peers import free_port, running_mosquitto
from workorders.events.subscriber import EventSubscriber

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("callback", ["_on_connect", "_on_subscribe"], ids=["connack", "suback"])
async def test_a_cancel_in_the_cycle_of_the_ack_stops_the_subscriber(
    callback: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service stops the subscriber with cancel() and waits for it. On Python 3.11 a cancel
    # that arrives in the event-loop cycle that handles the CONNACK or SUBACK is swallowed by
    # the asyncio.wait_for inside aiomqtt (CPython gh-86296), and run() would then wait for
    # messages forever. The cancel is sent from aiomqtt's callback itself: exactly that cycle.
    port = free_port()
    subscriber = EventSubscriber(
        "127.0.0.1",
        port,
        client_id="test-console",
        topics=["hotline/pops/#", "hotline/agents/#"],
        on_message=lambda _topic, _payload: None,
    )
    handle_ack = getattr(aiomqtt.Client, callback)
    acks = 0

    def handle_ack_then_cancel(client: aiomqtt.Client, *args: Any) -> None:
        nonlocal acks
        handle_ack(client, *args)
        acks += 1
        if acks == 1:
            task.cancel()

    monkeypatch.setattr(aiomqtt.Client, callback, handle_ack_then_cancel)
    async with running_mosquitto(port, tmp_path / "broker"):
        task = asyncio.create_task(subscriber.run())
        try:
            done, _pending = await asyncio.wait({task}, timeout=10)
        finally:
            task.cancel()  # a second cancel ends it either way, so a failure does not hang
            await asyncio.gather(task, return_exceptions=True)
    assert acks == 1
    assert task in done, "run() carried on after cancel()"
    assert task.cancelled()
    assert subscriber.connections == 0
