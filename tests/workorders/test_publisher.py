"""The outbox publisher against a test-owned Mosquitto (started and stopped by each test)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.workorders.peers import free_port, running_mosquitto, wait_until
from workorders.events.publisher import OutboxPublisher, encode_event
from workorders.events.screenpop import OutboxMessage
from workorders.model import AnsweredCall, NewOrder
from workorders.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_asyncio_errors")]

POPS = "hotline/pops/#"
CREATED_AT = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
SENT_AT = datetime(2025, 3, 14, 2, 0, 1, tzinfo=UTC)
ORDER = NewOrder(  # not an emergency: those add a supervisor alert, tested elsewhere
    caller_number="13800138000",
    category="complaint",
    menu_path=("1", "3"),
    group="intake",
    flags=("infectious_disease",),
    call_id="c-1",
)
CALL = AnsweredCall(call_id="c-1", caller_number="13800138000", callee="12320", group="intake")


@contextlib.asynccontextmanager
async def publishing(publisher: OutboxPublisher) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(publisher.run())
    try:
        yield task
    finally:
        task.cancel()
        results = await asyncio.gather(task, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError)  # run() never ended by itself


async def receive(client: aiomqtt.Client, count: int) -> list[tuple[str, dict[str, Any]]]:
    received = []
    async with asyncio.timeout(10):
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            received.append((str(message.topic), json.loads(message.payload.decode("utf-8"))))
            if len(received) == count:
                return received
    raise AssertionError("subscription ended early")


async def all_sent(store: Store) -> bool:
    return await store.outbox.outbox() == []


def assert_documented_events(
    events: list[tuple[str, dict[str, Any]]], order_number: str, ids: list[str]
) -> None:
    by_type = {event["type"]: (topic, event) for topic, event in events}
    assert set(by_type) == {"call.answered", "order.created"}
    for topic, event in by_type.values():
        assert topic == "hotline/pops/intake"
        assert set(event) == {"id", "type", "at", "payload"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["at"])
    assert sorted(event["id"] for _topic, event in events) == sorted(ids)
    assert by_type["call.answered"][1]["payload"] == {
        "call_id": "c-1",
        "caller_number": "13800138000",
        "callee": "12320",
        "group": "intake",
    }
    assert by_type["order.created"][1]["payload"] == {
        "call_id": "c-1",
        "caller_number": "13800138000",
        "menu_choice": "3",
        "menu_path": ["1", "3"],
        "category": "complaint",
        "category_label": "投诉",
        "order_number": order_number,
        "flags": ["infectious_disease"],
    }


def test_payload_is_utf8_json() -> None:
    assert encode_event({"label": "紧急"}) == '{"label":"紧急"}'.encode()


async def test_events_reach_a_subscriber(sqlite_store: Store, tmp_path: Path) -> None:
    port = free_port()
    publisher = OutboxPublisher(sqlite_store.outbox, "127.0.0.1", port, client_id="test-pub")
    async with (
        running_mosquitto(port, tmp_path / "broker"),
        aiomqtt.Client("127.0.0.1", port, identifier="test-subscriber") as subscriber,
    ):
        await subscriber.subscribe(POPS, qos=1)
        await sqlite_store.orders.record_call(CALL)
        created = await sqlite_store.orders.create_order(ORDER, idempotency_key="k")
        ids = [message.id for message in await sqlite_store.outbox.outbox()]
        async with publishing(publisher):
            events = await receive(subscriber, 2)
            await wait_until(lambda: all_sent(sqlite_store))
            # Oldest first: the call was answered before the order was opened.
            assert [event["type"] for _topic, event in events] == [
                "call.answered",
                "order.created",
            ]
            # An event queued later goes out on wake() (or at the next poll).
            await sqlite_store.orders.create_order(ORDER, idempotency_key="k2")
            publisher.wake()
            [(_topic, third)] = await receive(subscriber, 1)
            assert third["payload"]["order_number"].endswith("-00002")
            await wait_until(lambda: all_sent(sqlite_store))
    assert_documented_events(events, created.order.number, ids)
    sent = await sqlite_store.outbox.outbox(unsent_only=False)
    assert all(message.sent_at is not None and message.attempts == 1 for message in sent)
    assert publisher.published == 3


async def test_events_wait_for_a_broker_that_is_away(sqlite_store: Store, tmp_path: Path) -> None:
    port = free_port()
    broker_dir = tmp_path / "broker"
    # A persistent session, so the subscriber is known to the broker before the publisher
    # can reach it: the broker queues the events for it (QoS 1) while it is offline.
    async with (
        running_mosquitto(port, broker_dir, persistence=True),
        aiomqtt.Client(
            "127.0.0.1", port, identifier="test-subscriber", clean_session=False
        ) as subscriber,
    ):
        await subscriber.subscribe(POPS, qos=1)

    publisher = OutboxPublisher(
        sqlite_store.outbox, "127.0.0.1", port, client_id="test-pub", max_backoff=0.5
    )
    async with publishing(publisher) as task:
        await sqlite_store.orders.record_call(CALL)
        created = await sqlite_store.orders.create_order(ORDER, idempotency_key="k")
        publisher.wake()
        ids = [message.id for message in await sqlite_store.outbox.outbox()]

        async def failed_twice() -> bool:
            return publisher.failures >= 2

        await wait_until(failed_twice)
        assert not task.done()
        assert len(await sqlite_store.outbox.outbox()) == 2  # nothing was marked sent

        async with running_mosquitto(port, broker_dir, persistence=True):
            await wait_until(lambda: all_sent(sqlite_store))
            async with aiomqtt.Client(
                "127.0.0.1", port, identifier="test-subscriber", clean_session=False
            ) as subscriber:
                events = await receive(subscriber, 2)
    assert_documented_events(events, created.order.number, ids)
    assert publisher.published == 2


async def test_publisher_survives_a_broker_restart(sqlite_store: Store, tmp_path: Path) -> None:
    port = free_port()
    publisher = OutboxPublisher(
        sqlite_store.outbox, "127.0.0.1", port, client_id="test-pub", max_backoff=0.5
    )
    async with publishing(publisher):
        async with running_mosquitto(port, tmp_path / "first"):
            await sqlite_store.orders.record_call(CALL)
            await wait_until(lambda: all_sent(sqlite_store))
        await sqlite_store.orders.create_order(ORDER, idempotency_key="k")
        publisher.wake()
        async with running_mosquitto(port, tmp_path / "second"):
            await wait_until(lambda: all_sent(sqlite_store))
    assert publisher.published == 2
    assert publisher.failures >= 1


class ListOutbox:
    """The publisher's store seam, in memory: the rows are made here, not by the store."""

    def __init__(self, messages: list[OutboxMessage]) -> None:
        self.messages = {message.id: message for message in messages}
        self.failed: list[str] = []
        self.quarantined: dict[str, str] = {}

    async def outbox(self, *, unsent_only: bool = True, limit: int = 100) -> list[OutboxMessage]:
        rows = [
            m
            for m in self.messages.values()
            if not unsent_only or (m.sent_at is None and m.id not in self.quarantined)
        ]
        return rows[:limit]

    async def mark_sent(self, message_id: str) -> None:
        self.messages[message_id] = replace(self.messages[message_id], sent_at=SENT_AT)

    async def record_failed_attempt(self, message_id: str, reason: str = "") -> int:
        self.failed.append(message_id)
        return self.failed.count(message_id)

    async def quarantine(self, message_id: str, reason: str) -> None:
        self.quarantined[message_id] = reason


def _message(event_id: str, topic: str) -> OutboxMessage:
    event = {"id": event_id, "type": "call.emergency", "at": "2025-03-14T02:00:00.000Z",
             "payload": {"call_id": "c", "line": "medical_120", "by": "taker"}}  # fmt: skip
    return OutboxMessage(event_id, topic, event, CREATED_AT, None, 0)


async def test_a_row_the_client_refuses_does_not_hold_back_the_others(tmp_path: Path) -> None:
    port = free_port()
    # A topic with a wildcard cannot be published (paho refuses it before sending); the rows
    # behind it must still go out, also when the refused ones outnumber a batch.
    bad = [_message(f"bad-{n}", "hotline/calls/a+b/commands") for n in range(3)]
    good = [_message(f"good-{n}", f"hotline/calls/c{n}/commands") for n in range(3)]
    outbox = ListOutbox([*bad, *good])
    publisher = OutboxPublisher(outbox, "127.0.0.1", port, client_id="test-pub", batch_size=2)
    async with (
        running_mosquitto(port, tmp_path / "broker"),
        aiomqtt.Client("127.0.0.1", port, identifier="test-subscriber") as subscriber,
    ):
        await subscriber.subscribe("hotline/calls/#", qos=1)
        async with publishing(publisher):
            events = await receive(subscriber, 3)
    assert [event["id"] for _topic, event in events] == ["good-0", "good-1", "good-2"]
    # Tried once each, then quarantined with the reason (kept, never published).
    assert sorted(outbox.quarantined) == ["bad-0", "bad-1", "bad-2"]
    assert all("refused" in reason for reason in outbox.quarantined.values())
    assert await outbox.outbox() == []
    assert publisher.published == 3
    assert publisher.quarantined == 3


async def test_a_cancel_in_the_cycle_of_the_puback_stops_the_publisher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service stops the publisher with cancel() and waits for it. On Python 3.11 a cancel
    # that arrives in the event-loop cycle that handles the PUBACK was swallowed by the
    # asyncio.wait_for inside aiomqtt's publish (CPython gh-86296), and run() polled on
    # forever. The cancel is sent from aiomqtt's PUBACK callback itself: exactly that cycle.
    port = free_port()
    outbox = ListOutbox([_message("e-1", "hotline/calls/c1/commands")])
    publisher = OutboxPublisher(outbox, "127.0.0.1", port, client_id="test-pub")
    handle_puback = aiomqtt.Client._on_publish
    pubacks = 0

    def handle_puback_then_cancel(client: aiomqtt.Client, *args: Any) -> None:
        nonlocal pubacks
        handle_puback(client, *args)
        pubacks += 1
        task.cancel()

    monkeypatch.setattr(aiomqtt.Client, "_on_publish", handle_puback_then_cancel)
    async with running_mosquitto(port, tmp_path / "broker"):
        task = asyncio.create_task(publisher.run())
        try:
            done, _pending = await asyncio.wait({task}, timeout=10)
        finally:
            task.cancel()  # a second cancel ends it either way, so a failure does not hang
            await asyncio.gather(task, return_exceptions=True)
    assert pubacks == 1
    assert task in done, "run() carried on after cancel()"
    assert task.cancelled()


async def _raw_outbox_row(store: Store, event_id: str, topic: str) -> None:
    """A row as the store wrote it before topics were sanitised (a raw SIP Call-ID)."""
    from workorders.store.rows import outbox_row

    event = {"id": event_id, "type": "call.emergency", "at": "2025-03-14T02:00:00.000Z",
             "payload": {"call_id": "c\x01d", "line": "medical_120", "by": "taker"}}  # fmt: skip
    async with store.db.transaction() as session:
        session.add(outbox_row(event_id, topic, store.clock(), event))


async def test_a_row_the_broker_refuses_is_quarantined_and_holds_nothing_back(
    sqlite_store: Store, tmp_path: Path
) -> None:
    # Issue 13, item 11: Mosquitto drops the connection on a topic with a control character;
    # the publisher used to retry that row forever, holding every later event (pops included).
    port = free_port()
    await _raw_outbox_row(sqlite_store, "bad-1", "hotline/calls/c\x01d/commands")
    await sqlite_store.orders.record_call(CALL)
    await sqlite_store.orders.create_order(ORDER, idempotency_key="k")
    await sqlite_store.orders.record_call(
        replace(CALL, call_id="c\x01d")
    )  # its command is sanitised
    command_id = await sqlite_store.orders.request_emergency("c\x01d", "medical_120", "taker")
    publisher = OutboxPublisher(
        sqlite_store.outbox,
        "127.0.0.1",
        port,
        client_id="test-pub",
        max_attempts=3,
        max_backoff=0.2,
    )
    async with (
        running_mosquitto(port, tmp_path / "broker"),
        aiomqtt.Client("127.0.0.1", port, identifier="test-subscriber") as subscriber,
    ):
        await subscriber.subscribe("hotline/#", qos=1)
        async with publishing(publisher):
            events = await receive(subscriber, 4)

            async def quarantined() -> bool:
                return len(await sqlite_store.outbox.quarantined()) == 1

            await wait_until(quarantined)
            await wait_until(lambda: all_sent(sqlite_store))
    types = sorted(event["type"] for _topic, event in events)
    assert types == ["call.answered", "call.answered", "call.emergency", "order.created"]
    [command_topic] = [topic for topic, event in events if event["id"] == command_id]
    assert command_topic == "hotline/calls/c%01d/commands"
    [held] = await sqlite_store.outbox.quarantined()
    assert (held.id, held.attempts) == ("bad-1", 3)
    assert held.failure is not None and "dropped the connection" in held.failure
    assert publisher.quarantined == 1
    # An operator may release it (e.g. after fixing the topic); it is then tried again.
    await sqlite_store.outbox.release_quarantined("bad-1")
    assert [m.id for m in await sqlite_store.outbox.outbox()] == ["bad-1"]
