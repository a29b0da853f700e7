"""Every event the code emits, caught on a real broker, validates against docs/events.schema.json.

The events are produced through the paths production uses: the work-order API (calls, orders,
lifecycle actions, an agent's emergency, an agent's presence and a call the IVR queues for the
ACD), the deadline sweep, the outbox publisher and the IVR's MQTT link, all against a
test-owned Mosquitto.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import jsonschema
import pytest
from aiohttp.test_utils import TestClient, TestServer

from events.payloads import EVENT_KINDS, EVENT_TYPES
from events.schema import SCHEMA_PATH, events_schema, events_schema_text
from ivr.bus import CallBus
from routing.agents import load_agents
from tests.workorders.conftest import FakeClock
from tests.workorders.peers import free_port, running_mosquitto, wait_until
from tests.workorders.test_api_workflow import USERS, Api
from workorders.api import create_app
from workorders.events.publisher import OutboxPublisher
from workorders.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_asyncio_errors")]

REPO = Path(__file__).resolve().parents[2]
# A SIP Call-ID may hold "+" and "#" (and "/", which no URL path segment carries here).
TRICKY_CALL_ID = "a+b#c%d@10.0.0.1"

VALIDATOR = jsonschema.Draft202012Validator(events_schema())


def test_the_kept_schema_is_the_generated_one() -> None:
    kept = (REPO / SCHEMA_PATH).read_text(encoding="utf-8")
    assert kept == events_schema_text(), (
        "regenerate: hotline events schema > docs/events.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(kept))


def test_every_type_and_topic_is_documented() -> None:
    doc = (REPO / "docs/events.md").read_text(encoding="utf-8")
    for kind in EVENT_KINDS:
        assert f"`{kind.type}`" in doc
        assert f"`{kind.topic}`" in doc
    assert "events.schema.json" in doc


def _topic_pattern(kind_topic: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(kind_topic)))


TOPICS = {kind.type: _topic_pattern(kind.topic) for kind in EVENT_KINDS}
VALID_ALERT: dict[str, Any] = {
    "id": "0b6f3c58-2a9e-4f3e-9a57-3f1c2d4e5f60",
    "type": "order.alert",
    "at": "2025-03-14T02:00:00.000Z",
    "payload": {
        "order_number": "12320-20250314-00001",
        "level": "red",
        "reason": "overdue",
        "deadline": "handling",
        "due": "2025-03-14T04:00:00.000Z",
        "unit": "saihan-cdc",
        "line": None,
    },
}
VALID_OFFER: dict[str, Any] = {  # the contract's sample, as the ACD sends it
    "id": "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    "type": "call.offered",
    "at": "2025-03-14T02:00:00.000Z",
    "payload": {
        "call_id": "c-1",
        "caller_number": "13800138000",
        "group": "intake",
        "menu_path": ["0"],
        "order_number": None,
        "history": [
            {
                "order_number": "12320-20250310-00007",
                "created_at": "2025-03-10T01:02:03.000Z",
                "category": "complaint",
                "status": "closed",
            }
        ],
        "repeat_caller": True,
        "priority": "normal",
        "agent": "a1001",
    },
}


def _with(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return changed


_DELETE = object()


@pytest.mark.parametrize(
    ("event", "valid"),
    [
        (VALID_ALERT, True),
        (VALID_OFFER, True),
        (_with(VALID_ALERT, "payload.reason", "bored"), False),
        (_with(VALID_ALERT, "payload.line", "medical_120"), True),  # speech_emergency names it
        (_with(VALID_ALERT, "payload.line", _DELETE), False),
        (_with(VALID_ALERT, "payload.caller_number", "13800138000"), False),  # never a number
        (_with(VALID_ALERT, "payload.due", "2025-03-14 04:00"), False),
        (_with(VALID_ALERT, "id", "not-a-uuid"), False),
        (_with(VALID_ALERT, "at", "2025-03-14T02:00:00+00:00"), False),
        (_with(VALID_ALERT, "type", "order.alarm"), False),
        (_with(VALID_ALERT, "payload", _DELETE), False),
        (_with(VALID_OFFER, "payload.agent", ""), False),
        (_with(VALID_OFFER, "payload.history", [{"order_number": "12320-20250310-00007"}]), False),
        (_with(VALID_OFFER, "payload.order_number", "12320-20250314-00002"), True),
        (_with(VALID_OFFER, "payload.order_number", "A-1"), False),
        (_with(VALID_OFFER, "payload.priority", "urgent"), False),
        (_with(VALID_OFFER, "payload.repeat_caller", _DELETE), False),
    ],
)
def test_the_schema_says_no_to_what_is_not_documented(event: dict[str, Any], valid: bool) -> None:
    assert VALIDATOR.is_valid(event) is valid


@pytest.fixture
async def api(sqlite_store: Store) -> AsyncIterator[Api]:
    sqlite_store.acd.use_agents(load_agents(REPO / "config/agents.yaml"))
    users = {**USERS, "a1001": ("call_taker", None)}  # an agent of config/agents.yaml
    tokens = {
        name: await sqlite_store.people.create_token(name, role, unit)
        for name, (role, unit) in users.items()
    }
    async with TestClient(TestServer(create_app(sqlite_store))) as client:
        yield Api(client, sqlite_store, tokens)


async def _produce_every_event(api: Api, clock: FakeClock) -> None:
    """Through the API and the sweep, as the IVR, call takers and supervisors do."""
    call = {"call_id": TRICKY_CALL_ID, "caller_number": "13800138000", "callee": "12320"}
    answered = await api.client.post("/api/v1/calls", json=call, headers=api.auth("ivr"))
    assert answered.status == 201, await answered.text()
    emergency = await api.client.post(
        "/api/v1/calls/a+b%23c%25d@10.0.0.1/emergency",
        json={"line": "medical_120"},
        headers=api.auth("taker"),
    )
    assert emergency.status == 202, await emergency.text()
    # 5 orders of one caller within 72 h: abusive repetition.
    for _ in range(5):
        await api.create(caller="13900139000")
    # An emergency order: urgent at intake, yellow at 75 % of 2 h, red when due.
    urgent = await api.create(caller="13700137000", category="emergency")
    await api.act("sup", urgent, action="supervise", reason="人工督办")  # manual
    clock.advance(minutes=90)
    assert await api.store.supervision.sweep() == 1
    clock.advance(minutes=30)
    assert await api.store.supervision.sweep() == 1
    # A dissatisfied caller reopens an order.
    n = await api.create(caller="13600136000", category="report")
    for user, body in [
        ("taker", {"action": "classify", "mode": "dispatch", "region": "内蒙古/呼和浩特/赛罕区",
                   "domain": "infectious_disease"}),
        ("cdc", {"action": "sign"}),
        ("cdc", {"action": "start"}),
        ("cdc", {"action": "feedback", "result": "已现场核查并处置"}),
        ("cdc-head", {"action": "cosign", "kind": "head"}),
        ("lead", {"action": "cosign", "kind": "leader"}),
        ("taker", {"action": "reply", "note": "已电话告知处理结果"}),
        ("taker", {"action": "callback", "reached": True, "responded": True, "resolved": False,
                   "satisfaction": "dissatisfied"}),
    ]:  # fmt: skip
        await api.act(user, n, **body)
    # The intake of an ordinary order names an emergency: speech_emergency.
    spoken = await api.create(caller="13500135000", category="complaint")
    heard = {
        "text": "我 爸 昏迷 了",
        "status": "done",
        "classification": {"category": "help", "domain": None, "emergency_line": "medical_120",
                           "evidence": [{"kind": "emergency", "label": "medical_120",
                                         "word": "昏迷", "weight": 2}]},
    }  # fmt: skip
    put = await api.client.put(
        f"/api/v1/workorders/{spoken}/transcript", json=heard, headers=api.auth("ivr")
    )
    assert put.status == 200, await put.text()
    # An agent gets ready (queue.changed), the IVR queues a repeat caller, the ACD offers the
    # call to that agent (call.offered, queue.changed).
    ready = await api.client.put(
        "/api/v1/agents/a1001/presence", json={"state": "ready"}, headers=api.auth("a1001")
    )
    assert ready.status == 200, await ready.text()
    queued = await api.client.post(
        "/api/v1/queues/intake/calls",
        json={"call_id": "queued-1", "caller": "13900139000", "menu_path": ["0"]},
        headers=api.auth("ivr"),
    )
    assert queued.status == 201, await queued.text()
    assert (await queued.json())["status"] == "offered"


async def test_every_event_the_code_emits_validates(
    api: Api, clock: FakeClock, tmp_path: Path
) -> None:
    port = free_port()
    received: list[tuple[str, dict[str, Any]]] = []
    commands: list[tuple[str, dict[str, Any]]] = []
    publisher = OutboxPublisher(api.store.outbox, "127.0.0.1", port, client_id="schema-pub")
    bus = CallBus(
        "127.0.0.1",
        port,
        client_id="schema-ivr",
        on_command=lambda call_id, command: commands.append((call_id, command)),
    )
    async with (
        running_mosquitto(port, tmp_path / "broker"),
        aiomqtt.Client("127.0.0.1", port, identifier="schema-subscriber") as subscriber,
    ):
        await subscriber.subscribe("hotline/#", qos=1)
        tasks = [asyncio.create_task(publisher.run()), asyncio.create_task(bus.run())]
        try:
            async with asyncio.timeout(10):
                await bus.connected.wait()
            await _produce_every_event(api, clock)
            await bus.publish_partial(TRICKY_CALL_ID, "intake", "我要投诉医院收费")
            expected = len(await api.store.outbox.outbox(unsent_only=False, limit=1000)) + 1
            async with asyncio.timeout(15):
                async for message in subscriber.messages:
                    assert isinstance(message.payload, bytes)
                    received.append((str(message.topic), json.loads(message.payload)))
                    if len(received) == expected:
                        break

            async def command_arrived() -> bool:
                return bool(commands)

            await wait_until(command_arrived)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    for topic, event in received:
        errors = [error.message for error in VALIDATOR.iter_errors(event)]
        assert errors == [], (topic, event)
        assert TOPICS[event["type"]].fullmatch(topic), (topic, event["type"])
    kinds = {event["type"] for _topic, event in received}
    assert kinds == set(EVENT_TYPES)
    [offer] = [e["payload"] for _t, e in received if e["type"] == "call.offered"]
    assert (offer["agent"], offer["repeat_caller"], len(offer["history"])) == ("a1001", True, 5)
    reasons = {e["payload"]["reason"] for _t, e in received if e["type"] == "order.alert"}
    assert reasons == set(events_schema()["$defs"]["order.alert"]["properties"]["payload"][
        "properties"]["reason"]["enum"])  # fmt: skip
    # The Call-ID travels encoded in the topic and arrives decoded at the IVR.
    [command_topic] = [t for t, e in received if e["type"] == "call.emergency"]
    assert command_topic == "hotline/calls/a%2Bb%23c%25d@10.0.0.1/commands"
    assert [(call_id, c["type"]) for call_id, c in commands] == [(TRICKY_CALL_ID, "call.emergency")]
