"""The HTTP API over a real SQLite store, through aiohttp's TestServer/TestClient."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from aiohttp.test_utils import TestClient, TestServer

from workorders.api import ROUTES, create_app
from workorders.model import AnsweredCall
from workorders.store import Store

pytestmark = pytest.mark.integration

ORDER = {"caller_number": "13800138000", "category": "complaint", "menu_path": ["2", "1"]}


@dataclass
class Api:
    client: TestClient[Any, Any]
    store: Store
    ivr: dict[str, str]
    admin: dict[str, str]
    notified: list[str]

    def order_headers(self, key: str) -> dict[str, str]:
        return {**self.ivr, "Idempotency-Key": key}


@pytest.fixture
async def api(sqlite_store: Store) -> AsyncIterator[Api]:
    notified: list[str] = []
    app = create_app(sqlite_store, notify_outbox=lambda: notified.append("wake"))
    ivr_token = await sqlite_store.people.create_token("ivr-1", "ivr")
    admin_token = await sqlite_store.people.create_token("ops", "admin")
    async with TestClient(TestServer(app)) as client:
        yield Api(
            client=client,
            store=sqlite_store,
            ivr={"Authorization": f"Bearer {ivr_token}"},
            admin={"Authorization": f"Bearer {admin_token}"},
            notified=notified,
        )


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) <= {"code", "message", "field"}
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


async def test_health_needs_no_token(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/workorders"),
        ("GET", "/api/v1/workorders"),
        ("GET", "/api/v1/workorders/12320-20250314-00001"),
        ("PUT", "/api/v1/workorders/12320-20250314-00001/transcript"),
        ("POST", "/api/v1/calls"),
        ("GET", "/api/v1/no-such-route"),
    ],
)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer wo_not-a-real-token-but-long-enough-000000", "Basic dXNlcjpwYXNz"],
)
async def test_api_routes_need_a_valid_token(
    api: Api, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Idempotency-Key": "k"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await api.client.request(method, path, json=ORDER, headers=headers)
    error = await error_of(response, 401)
    assert error["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert await api.store.outbox.outbox() == []


async def test_create_then_replay(api: Api) -> None:
    created = await api.client.post(
        "/api/v1/workorders", json=ORDER, headers=api.order_headers("call-1")
    )
    assert created.status == 201
    order = await created.json()
    assert re.fullmatch(r"12320-20250314-00001", order["number"])
    assert created.headers["Location"] == f"/api/v1/workorders/{order['number']}"
    assert (order["category_label"], order["group"], order["status"]) == (
        "投诉",
        "intake",
        "received",
    )
    assert api.notified == ["wake"]

    replayed = await api.client.post(
        "/api/v1/workorders", json=ORDER, headers=api.order_headers("call-1")
    )
    assert replayed.status == 200
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert await replayed.json() == order
    assert api.notified == ["wake"]
    [event] = await api.store.outbox.outbox()
    assert event.topic == "hotline/pops/intake"
    assert event.event["payload"]["order_number"] == order["number"]


async def test_replay_with_another_body_is_409(api: Api) -> None:
    await api.client.post("/api/v1/workorders", json=ORDER, headers=api.order_headers("k"))
    response = await api.client.post(
        "/api/v1/workorders", json={**ORDER, "category": "report"}, headers=api.order_headers("k")
    )
    error = await error_of(response, 409)
    assert (error["code"], error["field"]) == ("conflict", "Idempotency-Key")


async def test_admin_may_create_too(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/workorders", json=ORDER, headers={**api.admin, "Idempotency-Key": "k"}
    )
    assert response.status == 201


async def test_group_goes_into_the_topic(api: Api) -> None:
    body = {**ORDER, "group": "complaints", "call_id": "c-7", "flags": ["confidential"]}
    response = await api.client.post(
        "/api/v1/workorders", json=body, headers=api.order_headers("k")
    )
    assert response.status == 201
    [event] = await api.store.outbox.outbox()
    assert event.topic == "hotline/pops/complaints"
    assert event.event["payload"]["flags"] == ["confidential"]
    assert event.event["payload"]["call_id"] == "c-7"


async def test_missing_idempotency_key_is_400(api: Api) -> None:
    response = await api.client.post("/api/v1/workorders", json=ORDER, headers=api.ivr)
    error = await error_of(response, 400)
    assert error["field"] == "Idempotency-Key"
    assert await api.store.outbox.outbox() == []


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"\xff\xfe{}", b"[1, 2]", b'"text"', b"null", b"[" * 100_000],
)
async def test_malformed_json_is_400(api: Api, body: bytes) -> None:
    response = await api.client.post(
        "/api/v1/workorders",
        data=body,
        headers={**api.order_headers("k"), "Content-Type": "application/json"},
    )
    error = await error_of(response, 400)
    assert error["code"] == "bad_request"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "praise"}, "category"),
        ({"category": 3}, "category"),
        ({"caller_number": "138 0013 8000"}, "caller_number"),
        ({"menu_path": "21"}, "menu_path"),
        ({"received_at": "2025-03-14T10:00:00"}, "received_at"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = await api.client.post(
        "/api/v1/workorders", json={**ORDER, **change}, headers=api.order_headers("k")
    )
    error = await error_of(response, 422)
    assert (error["code"], error["field"]) == ("invalid", field)


async def test_body_too_large_is_413(api: Api) -> None:
    body = {**ORDER, "flow_version": "x" * 300_000}
    response = await api.client.post(
        "/api/v1/workorders", json=body, headers=api.order_headers("k")
    )
    error = await error_of(response, 413)
    assert error["code"] == "too_large"


async def test_get_and_list_by_caller(api: Api) -> None:
    numbers = []
    for n, caller in enumerate(["13800138000", "13900139000", "13800138000"]):
        response = await api.client.post(
            "/api/v1/workorders",
            json={**ORDER, "caller_number": caller},
            headers=api.order_headers(f"k{n}"),
        )
        numbers.append((await response.json())["number"])
    mine = await api.client.get(
        "/api/v1/workorders", params={"caller": "13800138000"}, headers=api.ivr
    )
    assert mine.status == 200
    body = await mine.json()
    assert {order["number"] for order in body["items"]} == {numbers[0], numbers[2]}
    assert (body["limit"], body["offset"]) == (50, 0)
    one = await api.client.get(f"/api/v1/workorders/{numbers[1]}", headers=api.admin)
    assert (await one.json())["caller_number"] == "13900139000"
    page = await api.client.get("/api/v1/workorders", params={"limit": "1"}, headers=api.ivr)
    assert len((await page.json())["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": "0"}, "limit"), ({"offset": "x"}, "offset")]
)
async def test_bad_list_query_is_422(api: Api, params: dict[str, str], field: str) -> None:
    response = await api.client.get("/api/v1/workorders", params=params, headers=api.ivr)
    assert (await error_of(response, 422))["field"] == field


@pytest.mark.parametrize("number", ["12320-20250314-00042", "not-a-number", "..%2F..%2Fetc"])
async def test_unknown_order_is_404(api: Api, number: str) -> None:
    response = await api.client.get(f"/api/v1/workorders/{number}", headers=api.ivr)
    assert (await error_of(response, 404))["code"] == "not_found"


async def test_transcript_update(api: Api) -> None:
    created = await api.client.post(
        "/api/v1/workorders", json=ORDER, headers=api.order_headers("k")
    )
    number = (await created.json())["number"]
    response = await api.client.put(
        f"/api/v1/workorders/{number}/transcript",
        json={"text": "我要投诉医院乱收费", "status": "done"},
        headers=api.ivr,
    )
    assert response.status == 200
    order = await response.json()
    assert (order["description"], order["transcript_status"]) == ("我要投诉医院乱收费", "done")
    fetched = await api.client.get(f"/api/v1/workorders/{number}", headers=api.ivr)
    assert (await fetched.json())["description"] == "我要投诉医院乱收费"


CLASSIFIED = {
    "category": "help",
    "domain": "medical_service",
    "emergency_line": "medical_120",
    "evidence": [
        {"kind": "emergency", "label": "medical_120", "word": "昏迷", "weight": 2},
        {"kind": "domain", "label": "medical_service", "word": "医院", "weight": 1},
    ],
}


def openapi_validator(document: dict[str, Any], schema: str) -> jsonschema.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    return jsonschema.Draft202012Validator(root)


async def test_transcript_with_classification_is_kept_and_shown(api: Api) -> None:
    """The IVR's body and the order it gets back both match the OpenAPI document."""
    document = await (await api.client.get("/api/v1/openapi.json")).json()
    body = {**ORDER, "domain": "medical_fees", "priority": "high"}
    openapi_validator(document, "CreateWorkOrder").validate(body)
    created = await api.client.post("/api/v1/workorders", json=body, headers=api.order_headers("k"))
    assert created.status == 201
    number = (await created.json())["number"]
    update = {"text": "我 爸 在 医院 昏迷 了", "status": "done", "classification": CLASSIFIED}
    openapi_validator(document, "TranscriptUpdate").validate(update)
    response = await api.client.put(
        f"/api/v1/workorders/{number}/transcript", json=update, headers=api.ivr
    )
    assert response.status == 200
    fetched = await (await api.client.get(f"/api/v1/workorders/{number}", headers=api.admin)).json()
    openapi_validator(document, "WorkOrder").validate(fetched)
    stored = {**CLASSIFIED, "confirm_line": None}  # a classification without one has none
    assert (fetched["classification"], fetched["priority"]) == (stored, "high")
    assert fetched["category"] == "complaint"  # the menu choice stays
    assert fetched["lifecycle"]["domain"] == "medical_fees"  # the menu's domain stays
    alerts = [
        m.event["payload"]
        for m in await api.store.outbox.outbox()
        if m.event["type"] == "order.alert"
    ]
    assert [(a["reason"], a["line"]) for a in alerts] == [("speech_emergency", "medical_120")]
    assert api.notified.count("wake") == 2  # the create, then the alert


@pytest.mark.parametrize(
    ("number", "body", "status", "field"),
    [
        ("12320-20250314-00099", {"text": "", "status": "unavailable"}, 404, "number"),
        (
            None,
            {"text": "x", "status": "done", "classification": {**CLASSIFIED, "domain": "x"}},
            422,
            "classification.domain",
        ),
        (None, {"text": "x", "status": "pending"}, 422, "status"),
        (None, {"status": "done"}, 422, "text"),
    ],
)
async def test_transcript_errors(
    api: Api, number: str | None, body: dict[str, Any], status: int, field: str
) -> None:
    if number is None:
        created = await api.client.post(
            "/api/v1/workorders", json=ORDER, headers=api.order_headers("k")
        )
        number = (await created.json())["number"]
    response = await api.client.put(
        f"/api/v1/workorders/{number}/transcript", json=body, headers=api.ivr
    )
    assert (await error_of(response, status))["field"] == field


async def test_answered_call_pops_once(api: Api) -> None:
    body = {"call_id": "c-1", "caller_number": "13800138000", "callee": "12320", "worker": "ivr-1"}
    first = await api.client.post("/api/v1/calls", json=body, headers=api.ivr)
    assert first.status == 201
    call = await first.json()
    assert (call["group"], call["worker"]) == ("intake", "ivr-1")
    again = await api.client.post("/api/v1/calls", json=body, headers=api.ivr)
    assert again.status == 200
    assert await again.json() == call
    [event] = await api.store.outbox.outbox()
    assert event.event["type"] == "call.answered"
    assert api.notified == ["wake"]


async def test_bad_call_is_422(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/calls", json={"call_id": "c-1", "callee": "12320"}, headers=api.ivr
    )
    assert (await error_of(response, 422))["field"] == "caller_number"


async def test_wrong_method_is_a_json_405(api: Api) -> None:
    response = await api.client.delete("/api/v1/workorders", headers=api.ivr)
    assert (await error_of(response, 405))["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


async def test_openapi_describes_exactly_the_routes(api: Api) -> None:
    response = await api.client.get("/api/v1/openapi.json")  # no token needed
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = set()
    for route in api.client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        served.add((route.method, info.get("path") or info.get("formatter")))
    assert served == documented
    assert {(route.method, route.path) for route in ROUTES} == documented
    # Every reference points somewhere.
    text = await response.text()
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for operation in operations.values():
            public = operation.get("security") == []
            assert public == (path in ("/healthz", "/api/v1/openapi.json"))


async def test_operators_see_and_release_quarantined_events(api: Api) -> None:
    # Issue 13, item 11: a quarantined event is visible to operators with its reason.
    await api.store.orders.record_call(
        AnsweredCall(call_id="c-1", caller_number="1", callee="12320", group="intake")
    )
    [row] = await api.store.outbox.outbox()
    await api.store.outbox.record_failed_attempt(row.id, "the broker dropped the connection on it")
    await api.store.outbox.quarantine(
        row.id, "the broker dropped the connection on it (5 attempts)"
    )
    assert await api.store.outbox.outbox() == []
    listed = await (await api.client.get("/api/v1/outbox/quarantine", headers=api.admin)).json()
    [item] = listed["items"]
    assert (item["id"], item["type"], item["attempts"]) == (row.id, "call.answered", 1)
    assert "5 attempts" in item["reason"]
    refused = await api.client.post(f"/api/v1/outbox/quarantine/{row.id}/release", headers=api.ivr)
    assert refused.status == 403
    released = await api.client.post(
        f"/api/v1/outbox/quarantine/{row.id}/release", headers=api.admin
    )
    assert released.status == 200
    assert [message.id for message in await api.store.outbox.outbox()] == [row.id]
    again = await api.client.post(f"/api/v1/outbox/quarantine/{row.id}/release", headers=api.admin)
    await error_of(again, 404)


async def test_an_admin_unlocks_a_console_login(api: Api) -> None:
    for _ in range(5):
        await api.store.people.record_login_failure("a1001", "127.0.0.5")
    assert await api.store.people.login_locked_until("a1001", "127.0.0.5") is not None
    response = await api.client.post("/api/v1/console/logins/a1001/unlock", headers=api.admin)
    assert response.status == 200
    assert (await response.json())["cleared"] == 2
    assert await api.store.people.login_locked_until("a1001", "127.0.0.5") is None
