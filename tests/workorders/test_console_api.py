"""The console's server side over a real SQLite store: login, session cookie, CSRF, pages,
the WebSocket fan-out, recording playback and the wallboard reports."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.workorders.conftest import FakeClock
from tests.workorders.peers import free_port, running_mosquitto, wait_until
from workorders.api import create_app
from workorders.console.auth import hash_password
from workorders.console.directory import AgentDirectory, AgentInfo
from workorders.console.fanout import SUBSCRIPTIONS
from workorders.console.hub import ConsoleHub
from workorders.console.routes import ConsoleRoutes
from workorders.console.session import COOKIE
from workorders.events.publisher import OutboxPublisher
from workorders.events.subscriber import EventSubscriber
from workorders.lifecycle.model import Actor, Classify
from workorders.model import NewOrder
from workorders.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_asyncio_errors")]

PASSWORD = "坐席密码-2025"
REGION = "内蒙古/呼和浩特/赛罕区"
AGENTS = AgentDirectory(
    {
        "a1001": AgentInfo("a1001", "张敏", "1001", frozenset({"intake", "emergency_agents"})),
        "a1002": AgentInfo("a1002", "李强", "1002", frozenset({"complaints"})),
    }
)


@dataclass
class Console:
    client: TestClient[Any, Any]
    store: Store
    hub: ConsoleHub
    recordings: Path
    clock: FakeClock

    async def login(self, login: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.client.post(
            "/console/login", json={"login": login, "password": password}
        )
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


@pytest.fixture
async def console(sqlite_store: Store, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Console]:
    recordings = tmp_path / "recordings"
    app = create_app(sqlite_store, recordings=recordings)
    hub = ConsoleHub()
    ConsoleRoutes(sqlite_store, hub, AGENTS).install(app)
    for login, name, role, unit in [
        ("a1001", "张敏", "call_taker", None),
        ("a1002", "李强", "call_taker", None),
        ("s1", "王督办", "supervisor", None),
        ("h1", "联络员", "handler", "saihan-cdc"),
    ]:
        await sqlite_store.people.set_console_user(
            login, hash_password(PASSWORD), name=name, role=role, unit=unit
        )
    async with TestClient(TestServer(app)) as client:
        yield Console(client, sqlite_store, hub, recordings, clock)


async def new_order(store: Store, key: str, **fields: Any) -> str:
    values: dict[str, Any] = {
        "caller_number": "13800138000", "category": "complaint", "menu_path": ("2",),
        "group": "intake", "call_id": f"call-{key}", **fields,
    }  # fmt: skip
    return (await store.orders.create_order(NewOrder(**values), idempotency_key=key)).order.number


# -- login and the session cookie -----------------------------------------------------------


async def test_login_sets_a_strict_httponly_cookie_and_says_who(console: Console) -> None:
    response = await console.client.post(
        "/console/login", json={"login": "a1001", "password": PASSWORD}
    )
    assert response.status == 200
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    me = await response.json()
    assert me["login"] == "a1001" and me["name"] == "张敏" and me["role"] == "call_taker"
    assert me["groups"] == ["emergency_agents", "intake"] and me["extension"] == "1001"
    assert len(me["csrf_token"]) >= 24
    assert me["domains"]["infectious_disease"] == "传染病" and me["modes"]["dispatch"] == "交办"
    again = await console.client.get("/console/me")
    assert again.status == 200 and (await again.json())["csrf_token"] == me["csrf_token"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"login": "a1001", "password": "wrong-password"}, 401, None),
        ({"login": "nobody", "password": PASSWORD}, 401, None),
        ({"login": "", "password": PASSWORD}, 422, "login"),
        ({"login": "a1001"}, 422, "password"),
        ({"login": 5, "password": PASSWORD}, 422, "login"),
    ],
)
async def test_bad_logins_are_refused_without_a_cookie(
    console: Console, body: dict[str, Any], status: int, field: str | None
) -> None:
    response = await console.client.post("/console/login", json=body)
    assert response.status == status
    assert "Set-Cookie" not in response.headers
    error = (await response.json())["error"]
    assert error.get("field") == field
    if status == 401:
        assert error["message"] == "工号或密码错误"  # the same for unknown logins


async def test_login_needs_json_and_the_same_origin(console: Console) -> None:
    form = await console.client.post("/console/login", data={"login": "a1001", "password": "x"})
    assert form.status == 400
    foreign = await console.client.post(
        "/console/login",
        json={"login": "a1001", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status == 403


async def test_repeated_failures_lock_the_login_for_a_while(console: Console) -> None:
    for _ in range(5):
        response = await console.client.post(
            "/console/login", json={"login": "a1001", "password": "wrong-password"}
        )
        assert response.status == 401
    locked = await console.client.post(
        "/console/login", json={"login": "a1001", "password": PASSWORD}
    )
    assert locked.status == 429
    other = await console.client.post(
        "/console/login", json={"login": "a1002", "password": PASSWORD}
    )
    assert other.status == 200


async def test_logout_needs_the_csrf_token_and_ends_the_session(console: Console) -> None:
    me = await console.login("a1001")
    refused = await console.client.post("/console/logout")
    assert refused.status == 403
    assert (await console.client.get("/console/me")).status == 200
    done = await console.client.post("/console/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    assert done.status == 200
    console.client.session.cookie_jar.update_cookies({COOKIE: "stale"})  # whatever remains
    assert (await console.client.get("/console/me")).status == 401


async def test_a_session_expires_and_a_new_password_ends_it(console: Console) -> None:
    await console.login("a1001")
    console.clock.advance(hours=13)
    assert (await console.client.get("/console/me")).status == 401
    await console.login("a1001")
    await console.store.people.set_console_user("a1001", hash_password("另一个密码-2025"))
    assert (await console.client.get("/console/me")).status == 401


# -- the API with the cookie ----------------------------------------------------------------


async def test_the_api_accepts_the_cookie_and_requires_csrf_to_change_things(
    console: Console,
) -> None:
    number = await new_order(console.store, "k1")
    me = await console.login("a1001")
    listed = await console.client.get("/api/v1/workorders?caller=13800138000")
    assert listed.status == 200
    assert [o["number"] for o in (await listed.json())["items"]] == [number]
    action = {"action": "classify", "mode": "direct", "region": REGION, "domain": "other"}
    path = f"/api/v1/workorders/{number}/actions"
    missing = await console.client.post(path, json=action, headers={"Idempotency-Key": "a"})
    assert missing.status == 403
    assert (await missing.json())["error"]["field"] == "X-CSRF-Token"
    wrong = await console.client.post(
        path, json=action, headers={"Idempotency-Key": "a", "X-CSRF-Token": "nope"}
    )
    assert wrong.status == 403
    foreign = await console.client.post(
        path,
        json=action,
        headers={"Idempotency-Key": "a", "X-CSRF-Token": me["csrf_token"],
                 "Origin": "http://elsewhere.example"},
    )  # fmt: skip
    assert foreign.status == 403
    done = await console.client.post(
        path, json=action, headers={"Idempotency-Key": "a", "X-CSRF-Token": me["csrf_token"]}
    )
    assert done.status == 201, await done.text()
    entry = (await done.json())["entry"]
    assert entry["actor"] == "a1001" and entry["role"] == "call_taker"
    audit = await console.store.audit.audit_log(number=number)
    assert {record.actor for record in audit} == {"a1001"}  # the unmasked reads, audited


async def test_the_cookie_role_limits_routes_like_a_token(console: Console) -> None:
    await console.login("a1001")
    assert (await console.client.get("/api/v1/audit")).status == 403
    assert (await console.client.get("/api/v1/reports/hotspots")).status == 403


async def test_no_cookie_no_api(console: Console) -> None:
    assert (await console.client.get("/api/v1/workorders")).status == 401
    console.client.session.cookie_jar.update_cookies({COOKIE: "x" * 43})
    assert (await console.client.get("/api/v1/workorders")).status == 401


# -- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "text"),
    [
        ("/console/", "text/html", "12320 坐席工作台"),
        ("/console/wallboard", "text/html", "12320 监控大屏"),
        ("/console/static/console.js", "javascript", "call.offered"),
        ("/console/static/charts.js", "javascript", "heatMap"),
        ("/console/static/style.css", "text/css", ":focus-visible"),
    ],
)
async def test_pages_are_served_with_a_strict_policy(
    console: Console, path: str, kind: str, text: str
) -> None:
    response = await console.client.get(path)
    assert response.status == 200
    assert kind in response.headers["Content-Type"]
    assert text in await response.text()
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_static_files_stay_inside_their_directory(console: Console) -> None:
    response = await console.client.get("/console/static/../routes.py")
    assert response.status in (403, 404)
    response = await console.client.get("/console/static/%2e%2e/routes.py")
    assert response.status in (403, 404)


async def test_root_redirects_to_the_console(console: Console) -> None:
    response = await console.client.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/console/"


# -- WebSocket fan-out ----------------------------------------------------------------------


def _event(event_id: str, kind: str, **payload: Any) -> bytes:
    import json

    body = {"id": event_id, "type": kind, "at": "2025-03-14T02:00:00.000Z", "payload": payload}
    return json.dumps(body, ensure_ascii=False).encode()


async def _receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(5):
        message: dict[str, Any] = await socket.receive_json()
    return message


async def test_each_browser_gets_its_groups_and_own_pops_once(
    console: Console, tmp_path: Path
) -> None:
    await console.login("a1001")
    agent_1 = await console.client.ws_connect("/console/ws")
    other = TestClient(console.client.server)  # a second browser with its own cookie jar
    await other.start_server()
    try:
        response = await other.post("/console/login", json={"login": "a1002", "password": PASSWORD})
        assert response.status == 200
        agent_2 = await other.ws_connect("/console/ws")
        hello = await _receive(agent_1)
        assert hello == {"kind": "hello", "login": "a1001",
                         "groups": ["emergency_agents", "intake"]}  # fmt: skip
        assert (await _receive(agent_2))["groups"] == ["complaints"]
        pop = _event("e1", "call.answered", call_id="c1", caller_number="13800138000")
        assert console.hub.deliver("hotline/pops/intake", pop) == 1
        assert console.hub.deliver("hotline/pops/intake", pop) == 0  # duplicate id
        offered = _event("e2", "call.offered", call_id="c2", caller_number="13900139000")
        assert console.hub.deliver("hotline/agents/a1002/pops", offered) == 1
        first = await _receive(agent_1)
        assert first["topic"] == "hotline/pops/intake" and first["event"]["id"] == "e1"
        second = await _receive(agent_2)
        assert second["event"]["type"] == "call.offered"
        assert second["event"]["payload"]["caller_number"] == "13900139000"
        await agent_1.send_str("ping")
        assert (await _receive(agent_1)) == {"kind": "pong"}  # nothing else was queued
        await agent_2.close()
        await agent_1.close()
        await wait_until(lambda: _no_one(console.hub))
    finally:
        await other.close()


async def _no_one(hub: ConsoleHub) -> bool:
    return hub.connected() == []


async def test_the_websocket_needs_a_session_and_the_same_origin(console: Console) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await console.client.ws_connect("/console/ws")
    assert refused.value.status == 401
    await console.login("a1001")
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await console.client.ws_connect("/console/ws", origin="http://evil.example")
    assert foreign.value.status == 403


async def test_logout_elsewhere_closes_the_live_feed(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ConsoleRoutes, "session_check_seconds", 0.05)
    me = await console.login("a1001")
    socket = await console.client.ws_connect("/console/ws")
    await _receive(socket)  # hello
    await console.client.post("/console/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    async with asyncio.timeout(5):
        closed = await socket.receive()
    assert closed.type is aiohttp.WSMsgType.CLOSE and socket.close_code == 4401
    await wait_until(lambda: _no_one(console.hub))


async def test_a_slow_browser_is_disconnected_not_waited_for(console: Console) -> None:
    from workorders.console.fanout import Viewer

    slow = console.hub.attach(Viewer("a1001", "call_taker", frozenset({"intake"})))
    for index in range(300):
        console.hub.deliver("hotline/pops/intake", _event(f"e{index}", "call.answered"))
    assert slow.queue.full() and slow.slow.is_set()
    console.hub.detach(slow)


async def test_mqtt_events_reach_the_browser_through_the_subscriber(
    console: Console, tmp_path: Path
) -> None:
    """Real path: the store's outbox → publisher → Mosquitto → subscriber → hub → WebSocket;
    then the broker restarts and the subscriber reconnects by itself."""
    port = free_port()
    publisher = OutboxPublisher(console.store.outbox, "127.0.0.1", port, client_id="t-pub",
                                max_backoff=0.5)  # fmt: skip
    subscriber = EventSubscriber(
        "127.0.0.1", port, client_id="t-console", topics=SUBSCRIPTIONS,
        on_message=console.hub.deliver, max_backoff=0.5,
    )  # fmt: skip
    await console.login("a1001")
    socket = await console.client.ws_connect("/console/ws")
    await _receive(socket)  # hello
    tasks = [asyncio.create_task(publisher.run()), asyncio.create_task(subscriber.run())]
    try:
        async with running_mosquitto(port, tmp_path / "broker-1"):
            await asyncio.wait_for(subscriber.connected.wait(), 10)
            number = await new_order(console.store, "m1")
            publisher.wake()
            message = await _receive(socket)
            assert message["event"]["type"] == "order.created"
            assert message["event"]["payload"]["order_number"] == number
        async with running_mosquitto(port, tmp_path / "broker-2"):
            await wait_until(lambda: _connections(subscriber, 2), seconds=15)
            await asyncio.wait_for(subscriber.connected.wait(), 10)
            second = await new_order(console.store, "m2", caller_number="13700137000")
            publisher.wake()
            message = await _receive(socket)
            assert message["event"]["payload"]["order_number"] == second
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await socket.close()


async def _connections(subscriber: EventSubscriber, count: int) -> bool:
    return subscriber.connections >= count


# -- recording playback ---------------------------------------------------------------------


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x01\x00" * 800)


async def test_the_centre_plays_a_recording_and_each_playback_is_audited(
    console: Console,
) -> None:
    ref = "2025/03/14/call-r1.wav"
    _wav(console.recordings / ref)
    number = await new_order(console.store, "r1", recording=ref)
    await console.login("a1001")
    response = await console.client.get(f"/api/v1/workorders/{number}/recording")
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/wav"
    assert "no-store" in response.headers["Cache-Control"]
    body = await response.read()
    assert body[:4] == b"RIFF" and len(body) == 44 + 1600
    partial = await console.client.get(
        f"/api/v1/workorders/{number}/recording", headers={"Range": "bytes=0-3"}
    )
    assert partial.status == 206 and await partial.read() == b"RIFF"
    audit = await console.store.audit.audit_log(number=number)
    assert [(r.actor, r.reason) for r in audit] == [("a1001", "recording")] * 2


async def test_recordings_stay_with_the_centre(console: Console) -> None:
    ref = "2025/03/14/call-r2.wav"
    _wav(console.recordings / ref)
    number = await new_order(console.store, "r2", recording=ref, menu_path=("3",))
    await console.store.orders.act(
        number, Classify("dispatch", region=REGION, domain="infectious_disease"),
        Actor("t", "call_taker"), idempotency_key="c", request={"c": 1},
    )  # fmt: skip
    await console.login("h1")  # the unit's handler sees the order, masked
    assert (await console.client.get(f"/api/v1/workorders/{number}")).status == 200
    response = await console.client.get(f"/api/v1/workorders/{number}/recording")
    assert response.status == 403
    assert await console.store.audit.audit_log(number=number) == []


@pytest.mark.parametrize("ref", [None, "2025/03/14/missing.wav", "../../etc/passwd"])
async def test_a_missing_recording_is_a_404(console: Console, ref: str | None) -> None:
    number = await new_order(console.store, "r3", recording=ref)
    await console.login("a1001")
    response = await console.client.get(f"/api/v1/workorders/{number}/recording")
    assert response.status == 404


# -- wallboard reports ----------------------------------------------------------------------


async def test_hotspots_count_classified_orders_and_flag_a_spike(console: Console) -> None:
    taker = Actor("t", "call_taker")
    for index in range(4):  # four today on one cell: a spike over an empty week
        number = await new_order(console.store, f"h{index}", caller_number=f"1390000000{index}")
        await console.store.orders.act(
            number, Classify("direct", region=REGION, domain="infectious_disease"), taker,
            idempotency_key=f"h{index}", request={"h": index},
        )  # fmt: skip
    await new_order(console.store, "h-unclassified", caller_number="13911110000")
    await console.login("s1")
    response = await console.client.get("/api/v1/reports/hotspots?days=7")
    assert response.status == 200
    body = await response.json()
    assert body["days"] == 7 and body["today"] == "2025-03-14"
    cells = {(c["domain"], c["region"]): c for c in body["cells"]}
    disease = cells["infectious_disease", "内蒙古/呼和浩特"]
    assert disease["today"] == 4 and disease["daily"] == [0, 0, 0, 0, 0, 0, 4]
    assert disease["spike"] is True
    assert cells["unclassified", "unknown"]["total"] == 1
    wide = await (await console.client.get("/api/v1/reports/hotspots?days=30")).json()
    assert len(wide["cells"][0]["daily"]) == 30
    bad = await console.client.get("/api/v1/reports/hotspots?days=14")
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "days"


async def test_due_report_lists_overdue_and_soon_orders(console: Console) -> None:
    emergency = await new_order(console.store, "d1", category="emergency", caller_number="1")
    general = await new_order(console.store, "d2", caller_number="13911112222")
    await console.login("s1")
    first = await (await console.client.get("/api/v1/reports/due")).json()
    assert [i["number"] for i in first["soon"]] == [emergency]  # 2 h limit; general: 7 days
    assert first["overdue"] == []
    console.clock.advance(hours=3)
    later = await (await console.client.get("/api/v1/reports/due?within_hours=168")).json()
    assert [i["number"] for i in later["overdue"]] == [emergency]
    assert later["overdue"][0]["minutes_left"] == -60
    assert [i["number"] for i in later["soon"]] == [general]
    bad = await console.client.get("/api/v1/reports/due?within_hours=0")
    assert bad.status == 422
