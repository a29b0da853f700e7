"""The IVR's MQTT link against a test-owned Mosquitto, including a broker restart."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import aiomqtt
import pytest

from ivr.bus import CallBus, call_id_of, command_topic
from tests.e2e.peers import Mosquitto, require

pytestmark = pytest.mark.integration


def _free_tcp() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _send_command(port: int, call_id: str, command: dict[str, str]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="agent-console") as client:
        await client.publish(command_topic(call_id), json.dumps(command), qos=1)


async def test_commands_arrive_and_partials_go_out_across_a_broker_restart(tmp_path: Path) -> None:
    require("mosquitto")
    port = _free_tcp()
    broker = Mosquitto(tmp_path / "b1", port)
    broker.start()
    received: list[tuple[str, dict[str, str]]] = []
    got = asyncio.Event()

    def on_command(call_id: str, command: dict[str, str]) -> None:
        received.append((call_id, command))
        got.set()

    bus = CallBus("127.0.0.1", port, client_id="ivr-test", on_command=on_command, max_backoff=0.5)
    task = asyncio.create_task(bus.run())
    try:
        async with asyncio.timeout(10):
            await bus.connected.wait()
        async with aiomqtt.Client("127.0.0.1", port, identifier="console") as console:
            await console.subscribe("hotline/pops/#")
            await bus.publish_partial("call-7", "intake", "我要投诉")
            async with asyncio.timeout(5):
                message = await anext(aiter(console.messages))
        event = json.loads(message.payload)  # type: ignore[arg-type]
        assert str(message.topic) == "hotline/pops/intake"
        assert event["type"] == "call.partial_transcript"
        assert event["payload"] == {"call_id": "call-7", "group": "intake", "text": "我要投诉"}

        await _send_command(port, "call-7", {"type": "transfer", "line": "120"})
        async with asyncio.timeout(5):
            await got.wait()
        assert received == [("call-7", {"type": "transfer", "line": "120"})]

        broker.stop()  # the broker goes away: publishing is a no-op, nothing raises
        async with asyncio.timeout(10):
            while bus.connected.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the bus notices the broker has gone
        await bus.publish_partial("call-7", "intake", "lost")
        broker = Mosquitto(tmp_path / "b2", port)
        broker.start()
        async with asyncio.timeout(15):
            await bus.connected.wait()
        got.clear()
        await _send_command(port, "call-8", {"type": "transfer", "line": "119"})
        async with asyncio.timeout(5):
            await got.wait()
        assert received[-1] == ("call-8", {"type": "transfer", "line": "119"})
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        broker.stop()


@pytest.mark.parametrize(
    "call_id",
    ["plain-1", "a+b@10.0.0.1", "x/y#z", "100%@host", "n\0ul", "全角/号", "a\x01b", "\ud800",
     "", "x" * 300, "号" * 255],
)  # fmt: skip
def test_command_topics_agree_with_the_service_and_keep_one_level(call_id: str) -> None:
    from workorders.events.screenpop import command_topic as service_topic

    topic = command_topic(call_id)
    assert topic == service_topic(call_id)
    assert len(topic.split("/")) == 4 and not {"+", "#", "\0", "\x01"} & set(topic)
    # The worker finds the call from the payload, also when a long id's level is cut.
    command = {"type": "call.emergency", "payload": {"call_id": call_id, "line": "120"}}
    assert call_id_of(topic.split("/")[2], command) == call_id


async def test_a_failing_command_handler_does_not_end_the_link(tmp_path: Path) -> None:
    require("mosquitto")
    port = _free_tcp()
    broker = Mosquitto(tmp_path / "b", port)
    broker.start()
    received: list[str] = []
    got = asyncio.Event()

    def on_command(call_id: str, command: dict[str, str]) -> None:
        received.append(call_id)
        got.set()
        if command["type"] == "boom":
            raise RuntimeError("handler bug")

    bus = CallBus("127.0.0.1", port, client_id="ivr-test", on_command=on_command)
    task = asyncio.create_task(bus.run())
    try:
        async with asyncio.timeout(10):
            await bus.connected.wait()
        for call_id, kind in [("a+b/c", "boom"), ("call-2", "call.emergency")]:
            got.clear()
            await _send_command(port, call_id, {"type": kind})
            async with asyncio.timeout(5):
                await got.wait()
        assert received == ["a+b/c", "call-2"]  # decoded from the topic
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        broker.stop()


@pytest.mark.parametrize("callback", ["_on_connect", "_on_subscribe"], ids=["connack", "suback"])
async def test_a_cancel_in_the_cycle_of_the_ack_stops_the_link(
    callback: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker stops the link with cancel() and waits for it. On Python 3.11 a cancel that
    # arrives in the event-loop cycle that handles the CONNACK or SUBACK is swallowed by the
    # asyncio.wait_for inside aiomqtt (CPython gh-86296); run() would then wait for commands
    # forever. The cancel is sent from aiomqtt's callback itself: exactly that cycle.
    require("mosquitto")
    port = _free_tcp()
    broker = Mosquitto(tmp_path / "b", port)
    broker.start()
    bus = CallBus("127.0.0.1", port, client_id="ivr-test", on_command=lambda _c, _m: None)
    handle_ack = getattr(aiomqtt.Client, callback)
    acks = 0

    def handle_ack_then_cancel(client: aiomqtt.Client, *args: object) -> None:
        nonlocal acks
        handle_ack(client, *args)
        acks += 1
        if acks == 1:
            task.cancel()

    monkeypatch.setattr(aiomqtt.Client, callback, handle_ack_then_cancel)
    task = asyncio.create_task(bus.run())
    try:
        done, _pending = await asyncio.wait({task}, timeout=10)
    finally:
        task.cancel()  # a second cancel ends it either way, so a failure does not hang
        await asyncio.gather(task, return_exceptions=True)
        broker.stop()
    assert acks == 1
    assert task in done, "run() carried on after cancel()"
    assert task.cancelled()
    assert not bus.connected.is_set()
