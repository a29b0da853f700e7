"""Two hotline nodes sharing one PostgreSQL database and one MQTT broker (issue #7).

Each node is ``hotline up`` with its own Kamailio edge, work-order service and IVR
worker, as local process groups on loopback; the database is a fresh one on the
local PostgreSQL. Calls through either edge produce orders in the one database,
and a 督办 deadline that runs out while both services sweep every second is
handled exactly once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import paho.mqtt.client as mqtt
import pytest

from tests.e2e.hotline_up import UpNode, hotline_up, node_config
from tests.e2e.peers import REPO, Mosquitto, require, wait_for
from tests.e2e.sipp import Sipp, answered_calls

pytestmark = pytest.mark.e2e

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
ALERTS = "hotline/alerts/supervisors"
ORDERS_DUE = 8


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    name = f"hotline_nodes_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 ({exc})")
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Alerts:
    """Every supervisor alert the broker delivers, as (event id, order number, reason)."""

    def __init__(self, port: int) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-alerts")
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(ALERTS, qos=1)
        self._client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        event = json.loads(message.payload)
        with self._lock:
            payload = event["payload"]
            self.seen.append((event["id"], payload["order_number"], payload["reason"]))

    def ids(self, number: str, reason: str) -> set[str]:
        with self._lock:
            return {i for i, n, r in self.seen if n == number and r == reason}

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path, database: str
          ) -> Iterator[tuple[UpNode, UpNode, Alerts]]:  # fmt: skip
    require("kamailio", "sipp", "mosquitto")
    work = tmp_path_factory.mktemp("two-nodes")
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    alerts = Alerts(broker.port)
    try:
        configs = []
        for name in ("a", "b"):
            config = node_config(
                work / name, workers=1, mqtt_port=broker.port, prompt_audio=prompt_audio,
                database=database, drain_seconds=5,
            )  # fmt: skip
            config["api"]["sweep_seconds"] = 1
            configs.append(config)
        with hotline_up(work / "a", configs[0]) as a, hotline_up(work / "b", configs[1]) as b:
            yield a, b, alerts
    finally:
        alerts.close()
        broker.stop()


def caller_scenario() -> str:
    return (
        (REPO / "bench/capacity/caller.xml")
        .read_text()
        .replace("WELCOME_MS", "11500")
        .replace("INTAKE_MS", "8000")  # the record instructions and the beep, then speech
    )


def test_calls_through_either_edge_become_orders_in_the_one_database(
    nodes: tuple[UpNode, UpNode, Alerts], tmp_path: Path
) -> None:
    from bench.capacity.media import make as make_media

    a, b, _ = nodes
    runs = []
    for node, name in ((a, "a"), (b, "b")):
        make_media(tmp_path / name)
        sipp = Sipp(tmp_path / name, edge_port=node.edge_port, scenario=caller_scenario(),
                    calls=3, rate=1, name=f"callers-{name}")  # fmt: skip
        sipp.start()
        runs.append(sipp)
    try:
        for sipp in runs:
            assert sipp.wait_done(120) == (3, 0)
    finally:
        for sipp in runs:
            sipp.stop()
    sip_of = answered_calls(a.worker_log(0) + b.worker_log(0))  # orders carry our own ids
    for node in (a, b):  # each node's own API sees every order
        calls = {sip_of.get(o["call_id"], "") for o in node.all_orders()}
        for sipp in runs:
            assert len(sipp.call_ids_in(" ".join(calls))) == 3
    # and each node's worker answered its own edge's calls
    assert runs[0].call_ids_in(a.worker_log(0)) and not runs[0].call_ids_in(b.worker_log(0))
    assert runs[1].call_ids_in(b.worker_log(0)) and not runs[1].call_ids_in(a.worker_log(0))


def _create_order(node: UpNode, key: str, caller: str, received_at: datetime) -> str:
    body = {
        "call_id": key, "caller_number": caller, "category": "consult",
        "menu_path": ["1"], "flags": [], "recording": None, "flow_version": "test",
        "group": "intake", "received_at": received_at.isoformat(),
    }  # fmt: skip
    request = urllib.request.Request(
        f"{node.api}/api/v1/workorders",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {node.token}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["number"])


def test_a_supervision_deadline_fires_once_across_both_nodes(
    nodes: tuple[UpNode, UpNode, Alerts],
) -> None:
    """A 7-day handling limit that runs out 8 s from now: one 督办 per order, not two."""
    a, b, alerts = nodes
    due_in = timedelta(seconds=8)
    received = datetime.now(UTC) - timedelta(days=7) + due_in  # general class: 7 days
    numbers = [
        _create_order((a, b)[n % 2], f"due-{secrets.token_hex(4)}-{n}", f"1380013{n:04d}", received)
        for n in range(ORDERS_DUE)
    ]

    def supervisions(number: str, reason: str) -> list[dict[str, Any]]:
        items = a.get(f"/api/v1/supervisions?number={number}")["items"]
        return [item for item in items if item["reason"] == reason]

    wait_for(lambda: all(supervisions(n, "overdue") for n in numbers), 60,
             "every order to be supervised as overdue", interval=0.5)  # fmt: skip
    time.sleep(4)  # several more sweeps on both nodes
    for number in numbers:
        assert len(supervisions(number, "overdue")) == 1, number  # one 督办
        assert len(supervisions(number, "warning")) == 1, number  # the 75 % warning, once too
        assert len(alerts.ids(number, "overdue")) == 1, number  # one alert event of each
        assert len(alerts.ids(number, "warning")) == 1, number
