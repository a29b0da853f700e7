"""Issue 13, item 12: hostile input at the API gives a 4xx naming the field, never a 500 or
503, and nothing is stored — on SQLite and on PostgreSQL (a NUL byte was a 503 there)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from workorders.api import create_app
from workorders.model import Page
from workorders.store import Store

pytestmark = pytest.mark.integration

ORDER = {"caller_number": "13800138000", "category": "complaint", "menu_path": ["2"]}
REGION = "内蒙古/呼和浩特/赛罕区"


@dataclass
class Api:
    client: TestClient[Any, Any]
    store: Store
    ivr: dict[str, str]
    taker: dict[str, str]

    async def post_raw(self, path: str, raw: bytes, key: str = "k") -> Any:
        headers = {**self.ivr, "Idempotency-Key": key, "Content-Type": "application/json"}
        return await self.client.post(path, data=raw, headers=headers)


@pytest.fixture
async def api(store: Store) -> AsyncIterator[Api]:
    ivr = await store.people.create_token("ivr-1", "ivr")
    taker = await store.people.create_token("taker", "call_taker")
    async with TestClient(TestServer(create_app(store))) as client:
        yield Api(
            client,
            store,
            {"Authorization": f"Bearer {ivr}"},
            {"Authorization": f"Bearer {taker}"},
        )


async def field_of(response: Any, status: int = 422) -> str | None:
    body = await response.json()
    assert response.status == status, body
    field: str | None = body["error"].get("field")
    return field


def _json(body: dict[str, Any]) -> bytes:
    # ensure_ascii keeps a lone surrogate as the JSON escape \ud800, as a hostile client sends it
    return json.dumps(body, ensure_ascii=True).encode("ascii")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"caller_number": "\ud83d"}, "caller_number"),
        ({"received_at": "9999-12-31T23:59:59-05:00"}, "received_at"),
        ({"received_at": "0001-01-01T00:00:00+08:00"}, "received_at"),
        ({"received_at": "7161-03-14T10:00:00+08:00"}, "received_at"),
        ({"flags": None}, "flags"),
        ({"call_id": "abc\x01def"}, "call_id"),
        ({"call_id": "abc\x00def"}, "call_id"),
        ({"flow_version": "v\x00"}, "flow_version"),
    ],
)
async def test_hostile_orders_are_refused_with_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = await api.post_raw("/api/v1/workorders", _json({**ORDER, **change}))
    assert await field_of(response) == field
    assert await api.store.orders.list_orders(Page()) == []


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(ORDER).encode("utf-16"),
        json.dumps(ORDER).encode("utf-32"),
        json.dumps({**ORDER, "caller_number": "张"}, ensure_ascii=False).encode("gb18030"),
    ],
)
async def test_bodies_that_are_not_utf8_are_refused(api: Api, raw: bytes) -> None:
    response = await api.post_raw("/api/v1/workorders", raw)
    assert response.status == 400
    assert "UTF-8" in (await response.json())["error"]["message"]
    assert await api.store.orders.list_orders(Page()) == []


async def test_a_call_id_with_a_control_character_is_refused(api: Api) -> None:
    body = {"call_id": "a\x01b", "caller_number": "1", "callee": "12320"}
    response = await api.post_raw("/api/v1/calls", _json(body))
    assert await field_of(response) == "call_id"
    assert await api.store.outbox.outbox() == []


async def _order(api: Api) -> str:
    response = await api.post_raw("/api/v1/workorders", _json(ORDER), key="good")
    assert response.status == 201
    number: str = (await response.json())["number"]
    return number


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"caller_name": "王\ud800"}, "caller_name"),
        ({"address": "赛罕区\udfff路"}, "address"),
        ({"caller_name": "王\x00明"}, "caller_name"),
        ({"address": "a\x00"}, "address"),
        ({"callback_number": "139\x00"}, "callback_number"),
    ],
)
async def test_hostile_caller_details_are_refused(
    api: Api, body: dict[str, Any], field: str
) -> None:
    number = await _order(api)
    response = await api.client.put(
        f"/api/v1/workorders/{number}/caller", data=_json(body), headers=api.taker
    )
    assert await field_of(response) == field
    order = await api.store.orders.get_order(number)
    assert (order.caller_name, order.address, order.callback_number) == (None, None, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"note": "已核实\ud800"}, "note"),
        ({"note": "已核实\x00"}, "note"),
        ({"region": "赛罕区\udc00"}, "region"),
        ({"region": "赛罕\x00区"}, "region"),
    ],
)
async def test_hostile_action_fields_are_refused(
    api: Api, change: dict[str, Any], field: str
) -> None:
    number = await _order(api)
    body = {"action": "classify", "mode": "dispatch", "region": REGION, **change}
    headers = {**api.taker, "Idempotency-Key": "act-1", "Content-Type": "application/json"}
    response = await api.client.post(
        f"/api/v1/workorders/{number}/actions", data=_json(body), headers=headers
    )
    assert await field_of(response) == field
    assert [entry.action for entry in await api.store.orders.ledger(number)] == ["receive"]


async def _raw_request(api: Api, head: bytes) -> int:
    """Send ``head`` (request line and headers, as bytes) and return the status code: the
    test client would refuse headers that are not Latin-1, a hostile one does not."""
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(head + b"Connection: close\r\n\r\n")
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


async def test_a_token_of_non_utf8_bytes_is_unknown_not_an_error(api: Api) -> None:
    head = b"GET /api/v1/workorders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wo_\xff\xfe\r\n"
    assert await _raw_request(api, head) == 401


@pytest.mark.parametrize("reason", [b"\xff\xfe", b"x" * 300, b"a\x01b"])
async def test_a_hostile_access_reason_is_refused_before_the_audit(api: Api, reason: bytes) -> None:
    number = await _order(api)
    token = api.taker["Authorization"].encode()
    head = (
        f"GET /api/v1/workorders/{number} HTTP/1.1\r\nHost: x\r\n".encode()
        + b"Authorization: " + token + b"\r\nX-Access-Reason: " + reason + b"\r\n"
    )  # fmt: skip
    status = await _raw_request(api, head)
    assert status in (400, 422)  # aiohttp itself refuses a control character (400)
    assert await api.store.audit.audit_log(number=number) == []


async def test_a_call_id_path_with_nul_is_refused(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/calls/a%00b/emergency", json={"line": "medical_120"}, headers=api.taker
    )
    assert await field_of(response) == "call_id"


async def test_a_queued_caller_with_a_lone_surrogate_is_refused(api: Api) -> None:
    body = {"call_id": "q-1", "caller": "138\udc00"}
    response = await api.post_raw("/api/v1/queues/intake/calls", _json(body))
    assert await field_of(response) == "caller"
