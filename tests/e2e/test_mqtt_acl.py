"""docker/mosquitto's ACL on a real Mosquitto: each agent hears its groups and itself only.

The broker runs the shipped ``acl`` file verbatim and the shipped ``mosquitto.conf`` with only
its paths and listener rewritten; the accounts are made by ``mosquitto_passwd``. Events are
published by the real outbox publisher and IVR link, logged in as the shipped accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from ivr.bus import CallBus
from tests.e2e.peers import REPO, Mosquitto, Process, free_port, require, tcp_listening, wait_for
from workorders.events.publisher import OutboxPublisher
from workorders.model import AnsweredCall, NewOrder
from workorders.store import Store

pytestmark = pytest.mark.e2e

SHIPPED = REPO / "docker" / "mosquitto"
ACCOUNTS = ["workorders", "ivr", "sup1", "a1001", "a1002"]


def shipped_settings(workdir: Path) -> list[str]:
    """The shipped mosquitto.conf, its container paths pointed into ``workdir``."""
    moved = {
        "password_file": f"password_file {workdir / 'passwd'}",
        "acl_file": f"acl_file {workdir / 'acl'}",
        "persistence_location": f"persistence_location {workdir}/",
    }
    lines = []
    for line in (SHIPPED / "mosquitto.conf").read_text().splitlines():
        key = line.split(" ", 1)[0]
        if key == "listener" or not line or line.startswith("#"):
            continue  # the test's Mosquitto helper writes the listener
        lines.append(moved.get(key, line))
    return lines


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    require("mosquitto", "mosquitto_passwd")
    workdir = tmp_path / "broker"
    workdir.mkdir()
    (workdir / "acl").write_bytes((SHIPPED / "acl").read_bytes())
    passwd = workdir / "passwd"
    for n, account in enumerate(ACCOUNTS):
        create = ["-c"] if n == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", str(passwd), account, f"pw-{account}"],
            check=True,
        )
    settings = shipped_settings(workdir)
    assert "allow_anonymous false" in settings and any("acl_file" in s for s in settings)
    mosquitto = Mosquitto(workdir, settings=settings)
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


def login(port: int, account: str) -> aiomqtt.Client:
    """A connection of its own (a fresh client id) logged in as ``account``."""
    return aiomqtt.Client("127.0.0.1", port, username=account, password=f"pw-{account}")


class Listener:
    """Everything one account receives on ``hotline/#`` (plus forbidden topics named exactly)."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.changed = asyncio.Event()

    async def listen(self) -> None:
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            self.received.append((str(message.topic), json.loads(message.payload)))
            self.changed.set()

    async def wait_for(self, topic: str, event_type: str) -> None:
        async with asyncio.timeout(10):
            while not any(t == topic and e.get("type") == event_type for t, e in self.received):
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def listening(port: int, account: str, extra: list[str]) -> AsyncIterator[Listener]:
    async with login(port, account) as client:
        for topic in ["hotline/#", *extra]:
            await client.subscribe(topic, qos=1)
        listener = Listener(client)
        task = asyncio.create_task(listener.listen())
        try:
            yield listener
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def order(group: str, category: str = "complaint") -> NewOrder:
    return NewOrder(caller_number="13800138000", category=category, menu_path=("2",),
                    group=group, call_id=None)  # fmt: skip


async def test_agents_hear_their_groups_and_themselves_only(broker: Mosquitto,
                                                            tmp_path: Path) -> None:  # fmt: skip
    port = broker.port
    commands: list[str] = []
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'wo.db'}") as store:
        await store.migrate()
        publisher = OutboxPublisher(store.outbox, "127.0.0.1", port, client_id="acl-pub",
                                    username="workorders", password="pw-workorders")  # fmt: skip
        ivr = CallBus("127.0.0.1", port, client_id="acl-ivr", username="ivr", password="pw-ivr",
                      on_command=lambda call_id, _command: commands.append(call_id))  # fmt: skip
        forbidden = ["hotline/pops/complaints", "hotline/pops/emergency_agents",
                     "hotline/agents/a1001/pops", "hotline/agents/a1002/pops",
                     "hotline/alerts/supervisors"]  # fmt: skip
        async with (
            listening(port, "a1001", forbidden) as a1001,
            listening(port, "a1002", forbidden) as a1002,
            listening(port, "sup1", forbidden) as sup1,
            listening(port, "workorders", []) as console,
        ):
            tasks = [asyncio.create_task(publisher.run()), asyncio.create_task(ivr.run())]
            try:
                async with asyncio.timeout(10):
                    await ivr.connected.wait()
                # An agent may not publish, not even on its own group's topic.
                async with login(port, "a1001") as agent:
                    await agent.publish("hotline/pops/intake", b'{"forged": true}', qos=1)
                # The ACD's offers go to one agent each, over the service's account.
                async with login(port, "workorders") as service:
                    for login_name in ("a1001", "a1002"):
                        offer = {"type": "call.offered", "payload": {"agent": login_name}}
                        topic = f"hotline/agents/{login_name}/pops"
                        await service.publish(topic, json.dumps(offer), qos=1)
                await store.orders.record_call(
                    AnsweredCall("c-1", "13800138000", "12320", "intake")
                )
                await store.orders.request_emergency("c-1", "medical_120", "sup1")
                await store.orders.create_order(order("complaints"), idempotency_key="k1")
                await store.orders.create_order(order("emergency_agents"), idempotency_key="k2")
                await ivr.publish_partial("c-1", "intake", "我要投诉")
                # Last: an emergency in intake (its order.created and urgent_order alert).
                await store.orders.create_order(order("intake", "emergency"), idempotency_key="k3")
                publisher.wake()
                # Events from one publisher reach a subscriber in order: once the last ones
                # are in, anything forbidden that was let through would be in too.
                for listener in (a1001, a1002, console):
                    await listener.wait_for("hotline/pops/intake", "order.created")
                await sup1.wait_for("hotline/alerts/supervisors", "order.alert")
                async with asyncio.timeout(10):
                    while not commands:  # noqa: ASYNC110 - set by the IVR link's callback
                        await asyncio.sleep(0.05)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    def kinds(listener: Listener) -> list[tuple[str, str]]:
        return sorted((topic, event.get("type", "forged")) for topic, event in listener.received)

    assert kinds(a1001) == sorted([
        ("hotline/agents/a1001/pops", "call.offered"),
        ("hotline/pops/emergency_agents", "order.created"),
        ("hotline/pops/intake", "call.answered"),
        ("hotline/pops/intake", "call.partial_transcript"),
        ("hotline/pops/intake", "order.created"),
    ])  # fmt: skip
    assert kinds(a1002) == sorted([
        ("hotline/agents/a1002/pops", "call.offered"),
        ("hotline/pops/complaints", "order.created"),
        ("hotline/pops/intake", "call.answered"),
        ("hotline/pops/intake", "call.partial_transcript"),
        ("hotline/pops/intake", "order.created"),
    ])  # fmt: skip
    assert kinds(sup1) == [("hotline/alerts/supervisors", "order.alert")]
    # The service's hub hears the IVR's partials and every pop, but never a forged one.
    assert ("hotline/pops/intake", "forged") not in kinds(console)
    assert ("hotline/pops/intake", "call.partial_transcript") in kinds(console)
    assert commands == ["c-1"]  # the IVR reads the commands the service writes


@pytest.mark.parametrize(
    ("account", "password"),
    [("a1001", "wrong"), ("nobody", "pw-nobody"), (None, None)],
)
async def test_unknown_accounts_are_refused(broker: Mosquitto, account: str | None,
                                            password: str | None) -> None:  # fmt: skip
    client = aiomqtt.Client("127.0.0.1", broker.port, username=account, password=password)
    with pytest.raises(aiomqtt.MqttCodeError, match=r"[Nn]ot authori[sz]ed"):
        async with client:
            pass


async def test_the_service_logs_in_with_its_account(broker: Mosquitto, tmp_path: Path) -> None:
    """``python -m workorders.service --mqtt-username … --mqtt-password-file …``"""
    (tmp_path / "wo.pw").write_text("pw-workorders\n")
    http = free_port(socket.SOCK_STREAM)
    service = Process(
        [sys.executable, "-m", "workorders.service",
         "--db", f"sqlite+aiosqlite:///{tmp_path / 'wo.db'}", "--port", str(http),
         "--mqtt-port", str(broker.port), "--mqtt-username", "workorders",
         "--mqtt-password-file", str(tmp_path / "wo.pw"),
         "--token-file", str(tmp_path / "admin-token")],
        tmp_path, "workorders",
    )  # fmt: skip
    async with listening(broker.port, "a1001", []) as agent:
        service.start()
        try:
            await asyncio.to_thread(wait_for, lambda: tcp_listening(http), 30, "the API")
            token = (tmp_path / "ivr-token").read_text().strip()
            async with aiohttp.ClientSession() as session:
                response = await session.post(
                    f"http://127.0.0.1:{http}/api/v1/workorders",
                    json={"caller_number": "13800138000", "category": "consult",
                          "menu_path": ["1"]},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k"},
                )  # fmt: skip
                assert response.status == 201
            await agent.wait_for("hotline/pops/intake", "order.created")
        finally:
            service.stop()
    assert "not authorised" not in service.log().lower()


async def test_the_console_subscription_is_allowed_to_the_service_account(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """The service's console subscriber, logged in as ``workorders``, gets the pops and the
    alerts through the shipped ACL and hands them to the right browsers."""
    from workorders.console.fanout import SUBSCRIPTIONS, Viewer
    from workorders.console.hub import ConsoleHub
    from workorders.events.subscriber import EventSubscriber

    hub = ConsoleHub()
    agent = hub.attach(Viewer("a1001", "call_taker", frozenset({"intake"})))
    supervisor = hub.attach(Viewer("sup1", "supervisor"))
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'wo.db'}") as store:
        await store.migrate()
        publisher = OutboxPublisher(store.outbox, "127.0.0.1", broker.port, client_id="acl-pub",
                                    username="workorders", password="pw-workorders")  # fmt: skip
        subscriber = EventSubscriber(
            "127.0.0.1", broker.port, client_id="acl-console", topics=SUBSCRIPTIONS,
            on_message=hub.deliver, username="workorders", password="pw-workorders",
        )  # fmt: skip
        tasks = [asyncio.create_task(subscriber.run())]
        try:
            async with asyncio.timeout(10):
                await subscriber.connected.wait()
            tasks.append(asyncio.create_task(publisher.run()))
            await store.orders.record_call(AnsweredCall("c-9", "13800138000", "12320", "intake"))
            await store.orders.create_order(order("intake", "emergency"), idempotency_key="e")
            publisher.wake()
            async with asyncio.timeout(10):
                pops = [(await agent.queue.get())["event"]["type"] for _ in range(2)]
                alert = await supervisor.queue.get()
            assert pops == ["call.answered", "order.created"]
            assert alert["event"]["type"] == "order.alert"
            assert agent.queue.empty() and supervisor.queue.empty()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
