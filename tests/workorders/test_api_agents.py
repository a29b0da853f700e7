"""The ACD routes over a real SQLite store: presence, queues, the IVR's side, pops, roles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from routing.agents import load_agents
from tests.workorders.conftest import FakeClock
from tests.workorders.test_api import error_of
from workorders.api import create_app
from workorders.store import Store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CALLER = "13800138000"


@dataclass
class Desk:
    client: TestClient[Any, Any]
    store: Store
    clock: FakeClock
    headers: dict[str, dict[str, str]]
    notified: list[str]

    async def presence(self, login: str, state: str, *, who: str | None = None) -> Any:
        return await self.client.put(
            f"/api/v1/agents/{login}/presence", json={"state": state},
            headers=self.headers[who or login],
        )  # fmt: skip

    async def queue(self, call_id: str, group: str = "intake", **body: Any) -> Any:
        return await self.client.post(
            f"/api/v1/queues/{group}/calls",
            json={"call_id": call_id, "caller": CALLER, **body},
            headers=self.headers["ivr"],
        )

    async def status(self, call_id: str, **query: str) -> dict[str, Any]:
        response = await self.client.get(
            f"/api/v1/queues/calls/{call_id}", params=query, headers=self.headers["ivr"]
        )
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def result(self, call_id: str, outcome: str) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/v1/queues/calls/{call_id}/result",
            json={"outcome": outcome},
            headers=self.headers["ivr"],
        )
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def events(self, topic_prefix: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (m.topic, dict(m.event))
            for m in await self.store.outbox.outbox(unsent_only=False, limit=1000)
            if m.topic.startswith(topic_prefix)
        ]


@pytest.fixture
async def desk(sqlite_store: Store, clock: FakeClock) -> AsyncIterator[Desk]:
    sqlite_store.acd.use_agents(load_agents(REPO / "config/agents.yaml"))
    notified: list[str] = []
    app = create_app(sqlite_store, notify_outbox=lambda: notified.append("wake"))
    headers = {}
    for name, role in [("ivr-1", "ivr"), ("ops", "admin"), ("boss", "supervisor"),
                       ("a1001", "call_taker"), ("a1002", "call_taker"),
                       ("clerk", "handler")]:  # fmt: skip
        unit = "saihan-cdc" if role == "handler" else None
        token = await sqlite_store.people.create_token(name, role, unit)
        headers[name.split("-")[0]] = {"Authorization": f"Bearer {token}"}
    async with TestClient(TestServer(app)) as client:
        yield Desk(client, sqlite_store, clock, headers, notified)


async def test_agents_set_their_own_presence(desk: Desk) -> None:
    response = await desk.presence("a1001", "ready")
    assert response.status == 200
    agent = await response.json()
    assert agent == {
        "login": "a1001", "name": "张敏", "extension": "1001",
        "groups": ["intake", "emergency_agents"], "skills": ["cantonese", "mandarin"],
        "state": "ready", "since": "2025-03-14T02:00:00.000Z", "call_id": None,
        "idle_seconds": 0.0,
    }  # fmt: skip
    forbidden = await desk.presence("a1002", "ready", who="a1001")
    assert (await error_of(forbidden, 403))["code"] == "forbidden"
    assert (await desk.presence("a1002", "away", who="boss")).status == 200
    assert (await desk.presence("a1002", "offline", who="ops")).status == 200
    assert (await error_of(await desk.presence("a1002", "busy", who="boss"), 422))[
        "field"
    ] == "state"
    assert (await error_of(await desk.presence("nobody", "ready", who="boss"), 404))[
        "field"
    ] == "login"
    assert (await desk.presence("a1001", "ready", who="ivr")).status == 403


async def test_agent_list_and_who_may_see_it(desk: Desk) -> None:
    await desk.presence("a1002", "ready")
    desk.clock.advance(seconds=30)
    response = await desk.client.get("/api/v1/agents", headers=desk.headers["a1001"])
    assert response.status == 200
    items = (await response.json())["items"]
    assert [(a["login"], a["state"], a["idle_seconds"]) for a in items] == [
        ("a1001", "offline", 0.0),
        ("a1002", "ready", 30.0),
    ]
    for who in ("ivr", "clerk"):
        assert (await desk.client.get("/api/v1/agents", headers=desk.headers[who])).status == 403


async def test_a_queued_call_is_offered_to_the_longest_idle_agent_with_a_pop(desk: Desk) -> None:
    for key in ("earlier-1", "earlier-2"):
        response = await desk.client.post(
            "/api/v1/workorders",
            json={"caller_number": CALLER, "category": "consult", "menu_path": ["1"]},
            headers={**desk.headers["ivr"], "Idempotency-Key": key},
        )
        assert response.status == 201
    await desk.presence("a1002", "ready")
    desk.clock.advance(seconds=10)
    await desk.presence("a1001", "ready")
    desk.notified.clear()
    desk.clock.advance(seconds=5)
    response = await desk.queue("call-1", menu_path=["0"])
    assert response.status == 201
    call = await response.json()
    assert call["status"] == "offered"
    assert call["offer"] == {"agent": "a1002", "extension": "1002", "ring_seconds": 20.0}
    assert call["position"] is None
    assert desk.notified  # the publisher was woken
    [(topic, pop)] = await desk.events("hotline/agents/")
    assert topic == "hotline/agents/a1002/pops"
    assert pop["type"] == "call.offered"
    payload = pop["payload"]
    assert (payload["call_id"], payload["caller_number"], payload["group"]) == (
        "call-1", CALLER, "intake",
    )  # fmt: skip
    assert payload["menu_path"] == ["0"]
    assert payload["order_number"] is None
    assert payload["repeat_caller"] is True
    assert [h["order_number"] for h in payload["history"]] == [
        "12320-20250314-00002",
        "12320-20250314-00001",
    ]
    assert payload["history"][0]["category"] == "consult"
    assert payload["history"][0]["status"] == "received"
    again = await desk.queue("call-1", menu_path=["0"])
    assert again.status == 200
    assert (await again.json())["offer"]["agent"] == "a1002"
    assert len(await desk.events("hotline/agents/")) == 1  # no second offer


async def test_queue_events_for_the_wallboard(desk: Desk) -> None:
    await desk.presence("a1001", "away")
    await desk.queue("call-1")
    changes = [e["payload"] for _, e in await desk.events("hotline/queues/intake")]
    assert changes == [{"group": "intake", "label": "受理组", "waiting": 1, "agents_ready": 0}]
    response = await desk.client.get("/api/v1/queues", headers=desk.headers["boss"])
    queues = {q["group"]: q for q in (await response.json())["items"]}
    assert list(queues) == ["intake", "complaints", "emergency_agents"]
    intake = queues["intake"]
    assert intake["waiting"] == [
        {"call_id": "call-1", "caller_masked": "138****8000", "since": "2025-03-14T02:00:00.000Z",
         "position": 1, "priority": "normal", "status": "waiting"}
    ]  # fmt: skip
    assert (intake["agents_ready"], intake["agents_signed_in"]) == (0, 1)


async def test_no_answer_sets_the_agent_away_and_offers_the_next(desk: Desk) -> None:
    await desk.presence("a1001", "ready")
    desk.clock.advance(seconds=1)
    await desk.presence("a1002", "ready")
    offered = await (await desk.queue("call-1")).json()
    assert offered["offer"]["agent"] == "a1001"
    after = await desk.result("call-1", "no_answer")
    assert after["offer"]["agent"] == "a1002"
    agents = await (await desk.client.get("/api/v1/agents", headers=desk.headers["boss"])).json()
    assert [a["state"] for a in agents["items"]] == ["away", "busy"]
    connected = await desk.result("call-1", "answered")
    assert (connected["status"], connected["offer"]) == ("connected", None)
    assert [t for t, _ in await desk.events("hotline/agents/")] == [
        "hotline/agents/a1001/pops",
        "hotline/agents/a1002/pops",
    ]


async def test_long_poll_answers_when_the_call_changes(desk: Desk) -> None:
    await desk.presence("a1001", "away")
    first = await (await desk.queue("call-1", skills=["cantonese"])).json()
    assert (first["status"], first["position"]) == ("waiting", 1)
    unchanged = await desk.status("call-1", seen=first["version"], wait="0.3")
    assert unchanged == first
    poll = asyncio.ensure_future(desk.status("call-1", seen=first["version"], wait="20"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await desk.presence("a1001", "ready")
    offered = await asyncio.wait_for(poll, 10)
    assert offered["status"] == "offered"
    assert offered["offer"]["extension"] == "1001"
    assert offered["version"] != first["version"]


async def test_leaving_for_a_callback_frees_the_ringing_agent(desk: Desk) -> None:
    await desk.presence("a1001", "ready")
    await desk.queue("call-1")
    response = await desk.client.delete(
        "/api/v1/queues/calls/call-1", params={"reason": "callback"}, headers=desk.headers["ivr"]
    )
    assert response.status == 200
    left = await response.json()
    assert (left["status"], left["detail"]) == ("left", "callback")
    agents = await (await desk.client.get("/api/v1/agents", headers=desk.headers["boss"])).json()
    assert agents["items"][0]["state"] == "ready"
    assert agents["items"][0]["call_id"] is None


async def test_overflow_and_timeout_come_with_the_clock(desk: Desk) -> None:
    await desk.presence("a1001", "away")  # intake is staffed, nobody ready
    await desk.queue("call-1")
    for _ in range(6):  # the IVR keeps polling while the clock runs
        desk.clock.advance(seconds=25)
        await desk.status("call-1")
        await desk.store.acd.acd_tick()
    status = await desk.status("call-1")
    assert (status["status"], status["group"]) == ("overflowed", "complaints")
    for _ in range(8):
        desk.clock.advance(seconds=25)
        await desk.status("call-1")
        await desk.store.acd.acd_tick()
    status = await desk.status("call-1")
    assert (status["status"], status["detail"]) == ("timeout", "max_wait")


async def test_nobody_signed_in_times_out_at_once_and_the_call_may_be_queued_again(
    desk: Desk,
) -> None:
    call = await (await desk.queue("call-1", "emergency_agents", priority="emergency")).json()
    assert (call["status"], call["detail"]) == ("timeout", "no_agents")
    await desk.presence("a1001", "ready")
    again = await desk.queue("call-1", "emergency_agents", priority="emergency")
    assert again.status == 201  # a new queueing of the same call, not a replay
    assert (await again.json())["offer"]["agent"] == "a1001"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"caller": CALLER}, "call_id"),
        ({"call_id": "c", "caller": "has space"}, "caller"),
        ({"call_id": "c", "caller": CALLER, "skills": ["Bad"]}, "skills"),
        ({"call_id": "c", "caller": CALLER, "priority": "urgent"}, "priority"),
        ({"call_id": "c", "caller": CALLER, "order_number": "42"}, "order_number"),
        ({"call_id": "c", "caller": CALLER, "menu_path": ["x"]}, "menu_path"),
        ({"call_id": "c", "caller": CALLER, "colour": "red"}, "colour"),
    ],
)
async def test_bad_queue_requests(desk: Desk, body: dict[str, Any], field: str) -> None:
    response = await desk.client.post(
        "/api/v1/queues/intake/calls", json=body, headers=desk.headers["ivr"]
    )
    assert (await error_of(response, 422))["field"] == field


async def test_unknown_things_are_404_and_roles_are_checked(desk: Desk) -> None:
    ivr = desk.headers["ivr"]
    response = await desk.client.post(
        "/api/v1/queues/sales/calls", json={"call_id": "c", "caller": CALLER}, headers=ivr
    )
    assert (await error_of(response, 404))["code"] == "not_found"
    for method, path in [
        ("GET", "/api/v1/queues/calls/nope"),
        ("DELETE", "/api/v1/queues/calls/nope"),
    ]:
        await error_of(await desk.client.request(method, path, headers=ivr), 404)
    response = await desk.client.post(
        "/api/v1/queues/calls/nope/result", json={"outcome": "answered"}, headers=ivr
    )
    await error_of(response, 404)
    response = await desk.client.get(
        "/api/v1/queues/calls/nope", params={"wait": "99"}, headers=ivr
    )
    assert (await error_of(response, 422))["field"] == "wait"
    response = await desk.client.post(
        "/api/v1/queues/intake/calls",
        json={"call_id": "c", "caller": CALLER},
        headers=desk.headers["a1001"],
    )
    await error_of(response, 403)
    await error_of(await desk.client.get("/api/v1/queues", headers=ivr), 403)
