"""Issue #6 acceptance: no screen-pop is lost while the broker is killed for 60 s.

A whole node (Kamailio, the work-order service, an IVR worker) runs against a test-owned
Mosquitto with persistence. A subscriber with a persistent session (clean_session=False, QoS 1)
listens on the pop topics. 200 pops are produced — 98 calls announced and turned into orders
through the IVR's own HTTP client, and two real SIP calls placed with baresip while the broker
is down — before, during and after a SIGKILL of the broker, which stays dead for 60 s.

All 200 must arrive, each exactly once after dropping duplicates by event id; the SIP calls
must be answered and end as orders. The subscriber stays away until the service has published
the whole backlog, so what it receives then is what the broker kept for its session. How long
the backlog took to drain after the restart is measured and printed (not asserted: speed
belongs to bench/).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from ivr.engine.actions import CreateOrder
from ivr.orders_client import OrdersClient
from tests.e2e.conftest import Node, make_wav, running_node, wait_until
from tests.e2e.peers import Baresip, Mosquitto
from workorders.events.dedupe import EventDeduper

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 60.0
API_CALLS = 98  # 2 pops each (call.answered, order.created), plus 2 SIP calls: 200 pops
SIP_CALLERS = ("13700137001", "13700137002")
POPS = "hotline/pops/#"
SCREEN_POPS = {"call.answered", "order.created"}  # the outbox's; live partials are QoS 0


@dataclass
class PersistentSubscriber:
    """A console-like consumer: persistent session, QoS 1, duplicates dropped by id."""

    port: int
    deduper: EventDeduper = field(default_factory=EventDeduper)
    pops: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (arrival, event)
    duplicates: list[str] = field(default_factory=list)
    sessions_present: list[bool] = field(default_factory=list)  # one per (re)connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = self._connected_client()

    def _connected_client(self) -> mqtt.Client:
        """A client of the console's session, connected, its network thread running."""
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="outage-console", clean_session=False
        )
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        return client

    def _on_connect(self, client: Any, _userdata: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            return
        with self.lock:
            self.sessions_present.append(bool(flags.session_present))
        if not flags.session_present:
            client.subscribe(POPS, qos=1)

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        event = json.loads(message.payload)
        if event["type"] not in SCREEN_POPS:
            return
        with self.lock:
            if self.deduper.accept(event):
                self.pops.append((time.monotonic(), event))
            else:
                self.duplicates.append(event["id"])

    def count(self) -> int:
        with self.lock:
            return len(self.pops)

    def go_offline(self) -> None:
        """The console is closed: no reconnect attempts until ``come_back()``."""
        self.client.loop_stop()

    def come_back(self) -> None:
        """The console starts again under the same client id."""
        self.client = self._connected_client()

    @contextlib.contextmanager
    def running(self) -> Iterator[PersistentSubscriber]:
        try:
            wait_until(lambda: self.sessions_present, 10, "the subscriber's first connection")
            yield self
        finally:
            self.client.loop_stop()
            self.client.disconnect()


class Producer:
    """Announces calls and opens their orders exactly as the IVR session does."""

    def __init__(self, node: Node) -> None:
        token = Path(node.config["paths"]["ivr_token"]).read_text().strip()
        self.client = OrdersClient(
            node.api, token, group="intake", worker="outage-test",
            spool_dir=node.workdir / "producer-spool",
        )  # fmt: skip
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.calls: list[str] = []

    def produce(self, count: int, pace: float) -> None:
        """``count`` calls, one every ``pace`` seconds; returns when all are stored."""
        future = asyncio.run_coroutine_threadsafe(self._produce(count, pace), self.loop)
        future.result(timeout=count * pace + 60)

    async def _produce(self, count: int, pace: float) -> None:
        for _ in range(count):
            n = len(self.calls)
            call_id, caller = f"outage-{n:03d}", f"1390000{n:04d}"
            await self.client.call_answered(call_id, caller, "12320")
            order = CreateOrder(call_id, caller, "consult", ("1",), recording=None)
            await self.client.create_order(order, datetime.now(UTC))
            self.calls.append(call_id)
            await asyncio.sleep(pace)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.client.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def place_calls(node: Node, tmp: Path, silence: Path) -> list[Baresip]:
    """Both callers dial, choose 2 (complaint), and end the recording with #."""
    callers = [
        Baresip(tmp / f"baresip-{number}", user=number, proxy_port=node.edge_port,
                audio_source=silence)
        for number in SIP_CALLERS
    ]  # fmt: skip
    for caller in callers:
        caller.start()
        caller.command("dial", f"sip:12320@127.0.0.1:{node.edge_port}")
    for caller in callers:
        caller.wait_event("CALL_ESTABLISHED", 15)
    time.sleep(node.prompt_seconds("welcome") + 1.0)
    for caller in callers:
        caller.command("sndcode", "2")
    time.sleep(node.prompt_seconds("record_instructions") + 1.5)
    for caller in callers:
        caller.command("sndcode", "#")
    return callers


def outbox_pops(node: Node) -> dict[str, bool]:
    """The pops the service committed, read from its database: id → sent (PUBACK received)."""
    path = node.config["api"]["database"].removeprefix("sqlite+aiosqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT id, sent_at FROM outbox WHERE topic LIKE 'hotline/pops/%'")
        return {event_id: sent_at is not None for event_id, sent_at in rows.fetchall()}


def test_no_pop_is_lost_while_the_broker_is_killed_for_a_minute(
    tmp_path: Path, prompt_audio: Path, test_model: Path
) -> None:
    # The callers speak (a tone above the silence gate): a silent intake is a 无效来电.
    silence = make_wav(
        tmp_path / "voice.wav", ["-n"], ["synth", "150", "sine", "300", "vol", "0.3"]
    )
    broker = Mosquitto(tmp_path / "mosquitto", persistence=True, autosave_interval=1)
    with running_node(tmp_path / "node", prompt_audio, test_model, broker=broker) as node:
        subscriber = PersistentSubscriber(broker.port)
        producer = Producer(node)
        with subscriber.running():
            time.sleep(2.5)  # the broker has saved the new session and its subscription
            producer.produce(14, 0.1)  # before: delivered live
            wait_until(lambda: subscriber.count() == 28, 15, "the pops before the outage")

            broker.kill()
            killed = time.monotonic()
            # The console is away too and comes back only once the service has published
            # everything: what it gets then, the broker kept for its persistent session.
            subscriber.go_offline()
            during = threading.Thread(target=producer.produce, args=(64, 0.5), daemon=True)
            during.start()
            callers = place_calls(node, tmp_path, silence)
            for caller in callers:
                caller.wait_event("CALL_CLOSED", 60)  # the number was read back
                caller.stop()
            during.join(timeout=OUTAGE_SECONDS)
            assert not during.is_alive()
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - killed)))
            assert subscriber.count() == 28  # nothing can arrive without a broker

            broker.start()
            restarted = time.monotonic()
            producer.produce(API_CALLS - 14 - 64, 0.05)  # after: mixed with the backlog

            def all_published() -> bool:
                sent = outbox_pops(node)
                return len(sent) == 200 and all(sent.values())

            wait_until(all_published, 90, "the outbox to drain")
            published = time.monotonic()
            subscriber.come_back()
            wait_until(lambda: subscriber.count() >= 200, 30, "all 200 pops")
            delivered = time.monotonic()
            time.sleep(1.0)  # room for stray duplicates (they are dropped)
        producer.close()
        orders = {number: node.orders(number) for number in SIP_CALLERS}
        committed = outbox_pops(node)

    pops = [event for _arrival, event in subscriber.pops]
    print(
        f"\nbroker down {restarted - killed:.1f} s; outbox drained {published - restarted:.2f} s "
        f"after the restart; the returning console had all 200 {delivered - published:.2f} s "
        f"after reconnecting; {len(subscriber.duplicates)} duplicates dropped; "
        f"session present on (re)connect: {subscriber.sessions_present}"
    )
    assert len(pops) == 200 and len(committed) == 200
    assert {event["id"] for event in pops} == set(committed)
    # Each call's two pops, once each.
    per_call = sorted((e["payload"]["call_id"], e["type"]) for e in pops)
    api_calls = [(c, t) for c in producer.calls for t in sorted(SCREEN_POPS)]
    assert len(producer.calls) == API_CALLS and set(api_calls) <= set(per_call)
    # The SIP calls placed during the outage were answered and became orders with pops.
    for number, found in orders.items():
        assert len(found) == 1 and found[0]["category"] == "complaint", (number, found)
        kinds = sorted(e["type"] for e in pops if e["payload"]["caller_number"] == number)
        assert kinds == sorted(SCREEN_POPS)
    # The subscriber's session outlived the SIGKILL (it was not subscribed afresh).
    assert subscriber.sessions_present[0] is False
    assert subscriber.sessions_present[1:] and all(subscriber.sessions_present[1:])
