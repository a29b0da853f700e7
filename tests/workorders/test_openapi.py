"""The generated OpenAPI document against the app: the same routes, and the request models
agree with the handlers on bodies they accept and refuse (SQLite store, aiohttp test client)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
from aiohttp.test_utils import TestClient, TestServer

from events.payloads import ORDER_NUMBER_PATTERN
from routing.agents import load_agents
from workorders.api import create_app, schemas, schemas_acd, schemas_workflow
from workorders.store import Store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
REQUEST_MODELS = {
    **schemas.REQUEST_MODELS,
    **schemas_workflow.REQUEST_MODELS,
    **schemas_acd.REQUEST_MODELS,
}

ORDER = {"caller_number": "13800138000", "category": "complaint", "menu_path": ["2", "1"]}
FULL_ORDER = {
    **ORDER,
    "caller_number": "",
    "flags": ["repeat_caller"],
    "recording": "2025/03/14/c-1.wav",
    "flow_version": "v7",
    "call_id": "c-7",
    "group": "intake.day",
    "received_at": "2025-03-14T01:59:00Z",
    "domain": "medical_fees",
    "priority": "high",
}
CLASSIFIED = {
    "category": "complaint",
    "domain": "medical_service",
    "emergency_line": None,
    "confirm_line": "medical_120",
    "evidence": [{"kind": "emergency", "label": "medical_120", "word": "昏迷", "weight": 2}],
}
#: Bodies each handler accepts (2xx), by route name.
ACCEPTED: dict[str, list[dict[str, Any]]] = {
    "create_order": [ORDER, FULL_ORDER],
    "put_transcript": [
        {"text": "", "status": "unavailable"},
        {"text": "我 爸 在 医院\n昏迷 了", "status": "done", "classification": CLASSIFIED},
    ],
    "record_call": [
        {"call_id": "c-1", "caller_number": "13800138000", "callee": "12320"},
        {
            "call_id": "c-2",
            "caller_number": "anonymous",
            "callee": "12320",
            "group": "intake",
            "worker": None,
        },
    ],
    "request_emergency": [{"line": "medical_120"}],
    "put_caller": [
        {},
        {"caller_name": "张三", "callback_number": "138", "address": "x", "confidential": True},
    ],
    "post_action": [
        {"action": "mark_validity", "invalid_reason": None, "note": ""},
        {"action": "supervise", "reason": "催办"},
        {"action": "classify", "mode": "immediate", "note": "已答复", "region": None},
    ],
    "post_invalid_call": [
        {"call_id": "v-1", "reason": "no_input"},
        {
            "call_id": "v-2",
            "caller_number": "13800138000",
            "reason": "too_short",
            "group": "intake",
            "worker": None,
            "category": "complaint",
            "menu_path": ["2"],
            "seconds": 1.5,
            "received_at": "2025-03-14T01:59:00Z",
            "recording": "2025/03/14/v-2.wav",
        },
    ],
    "put_presence": [{"state": "ready"}, {"state": "away"}],
    "queue_call": [
        {"call_id": "q-1", "caller": "13800138000"},
        {
            "call_id": "q-2",
            "caller": "",
            "skills": ["mandarin"],
            "priority": "emergency",
            "order_number": "12320-20250314-100000",
            "menu_path": ["1", "*"],
        },
    ],
    "post_offer_result": [{"outcome": "answered"}],
}
#: Bodies each handler refuses with a 422, and the field its error names.
REFUSED: dict[str, list[tuple[dict[str, Any], str]]] = {
    "create_order": [
        ({**ORDER, "colour": "red"}, "colour"),
        ({**ORDER, "category": "gossip"}, "category"),
        ({**ORDER, "group": "a/b"}, "group"),
        ({**ORDER, "priority": "now"}, "priority"),
        ({**ORDER, "flags": ["Upper"]}, "flags"),
        ({"category": "complaint", "menu_path": []}, "caller_number"),
    ],
    "put_transcript": [
        ({"text": "x", "status": "pending"}, "status"),
        (
            {"text": "x", "status": "done", "classification": {**CLASSIFIED, "domain": "x"}},
            "classification.domain",
        ),
    ],
    "record_call": [({"call_id": "c-3", "caller_number": "1", "callee": ""}, "callee")],
    "request_emergency": [({"line": "120"}, "line"), ({"line": "medical_120", "x": 1}, "x")],
    "put_caller": [
        ({"nick": "x"}, "nick"),
        ({"confidential": "yes"}, "confidential"),
        ({"caller_name": "x" * 101}, "caller_name"),
    ],
    "post_action": [
        ({"action": "fly"}, "action"),
        ({"note": "x"}, "action"),
        ({"action": "sign", "colour": 1}, "colour"),
        ({"action": "reply"}, "note"),
        ({"action": "decide_extension", "approved": "yes"}, "approved"),
        ({"action": "request_extension", "reason": "x"}, "until"),
        ({"action": "sign", "note": None}, "note"),
    ],
    "post_invalid_call": [
        ({"call_id": "v-3", "reason": "bored"}, "reason"),
        ({"call_id": "v 3", "reason": "no_input"}, "call_id"),
        ({"call_id": "v-3", "reason": "no_input", "group": None}, "group"),
        ({"call_id": "v-3", "reason": "no_input", "seconds": -1}, "seconds"),
        ({"call_id": "v-3", "reason": "no_input", "why": 1}, "why"),
    ],
    "put_presence": [({"state": "busy"}, "state"), ({"state": "ready", "x": 1}, "x")],
    "queue_call": [
        ({"call_id": "q-3", "caller": "1", "priority": "vip"}, "priority"),
        ({"call_id": "q-3", "caller": "1", "menu_path": ["12"]}, "menu_path"),
        ({"call_id": "q-3", "caller": "1", "order_number": "12320-1"}, "order_number"),
        ({"call_id": "q-3", "caller": "1", "skills": None}, "skills"),
    ],
    "post_offer_result": [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "answered", "x": 1}, "x"),
    ],
}


@dataclass
class Api:
    client: TestClient[Any, Any]
    admin: dict[str, str]
    document: dict[str, Any]

    async def send(self, route: str, body: dict[str, Any], key: str) -> Any:
        """Send ``body`` to the route; the answer."""
        if route == "create_order":
            headers = {**self.admin, "Idempotency-Key": key}
            return await self.client.post("/api/v1/workorders", json=body, headers=headers)
        if route == "put_transcript":
            headers = {**self.admin, "Idempotency-Key": f"o-{key}"}
            made = await self.client.post("/api/v1/workorders", json=ORDER, headers=headers)
            number = (await made.json())["number"]
            path = f"/api/v1/workorders/{number}/transcript"
            return await self.client.put(path, json=body, headers=self.admin)
        if route == "record_call":
            return await self.client.post("/api/v1/calls", json=body, headers=self.admin)
        if route == "request_emergency":
            call = {"call_id": f"e-{key}", "caller_number": "13800138000", "callee": "12320"}
            await self.client.post("/api/v1/calls", json=call, headers=self.admin)
            path = f"/api/v1/calls/e-{key}/emergency"
            return await self.client.post(path, json=body, headers=self.admin)
        return await self.send_workflow(route, body, key)

    async def send_workflow(self, route: str, body: dict[str, Any], key: str) -> Any:
        """Send ``body`` to a lifecycle, invalid-call or ACD route; the answer."""
        if route in ("put_caller", "post_action"):
            headers = {**self.admin, "Idempotency-Key": f"o-{key}"}
            made = await self.client.post("/api/v1/workorders", json=ORDER, headers=headers)
            order = f"/api/v1/workorders/{(await made.json())['number']}"
            if route == "put_caller":
                return await self.client.put(f"{order}/caller", json=body, headers=self.admin)
            return await self.client.post(f"{order}/actions", json=body, headers=headers)
        if route == "post_invalid_call":
            return await self.client.post("/api/v1/invalid-calls", json=body, headers=self.admin)
        if route == "put_presence":
            path = "/api/v1/agents/a1001/presence"
            return await self.client.put(path, json=body, headers=self.admin)
        if route == "queue_call":
            path = "/api/v1/queues/intake/calls"
            return await self.client.post(path, json=body, headers=self.admin)
        ready = {"state": "ready"}
        await self.client.put("/api/v1/agents/a1001/presence", json=ready, headers=self.admin)
        call = {"call_id": f"r-{key}", "caller": "13800138000"}
        await self.client.post("/api/v1/queues/intake/calls", json=call, headers=self.admin)
        path = f"/api/v1/queues/calls/r-{key}/result"
        return await self.client.post(path, json=body, headers=self.admin)

    def schema_validator(self, route: str) -> jsonschema.Draft202012Validator:
        """The served document's schema of the route's request body."""
        [(path, method)] = [
            (path, method)
            for path, operations in self.document["paths"].items()
            for method, operation in operations.items()
            if operation["operationId"] == OPERATION_IDS[route]
        ]
        body = self.document["paths"][path][method]["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{REQUEST_MODELS[route].__name__}"}
        root = {**schema, "components": self.document["components"]}
        return jsonschema.Draft202012Validator(root)


OPERATION_IDS = {
    "create_order": "createWorkOrder",
    "put_transcript": "putTranscript",
    "record_call": "recordAnsweredCall",
    "request_emergency": "requestEmergency",
    "put_caller": "putCallerDetails",
    "post_action": "postAction",
    "post_invalid_call": "postInvalidCall",
    "put_presence": "setPresence",
    "queue_call": "queueCall",
    "post_offer_result": "reportOffer",
}


@pytest.fixture
async def api(sqlite_store: Store) -> AsyncIterator[Api]:
    sqlite_store.acd.use_agents(load_agents(REPO / "config/agents.yaml"))
    app = create_app(sqlite_store)
    admin = {"Authorization": f"Bearer {await sqlite_store.people.create_token('ops', 'admin')}"}
    async with TestClient(TestServer(app)) as client:
        document = await (await client.get("/api/v1/openapi.json")).json()
        yield Api(client, admin, document)


async def test_the_document_lists_exactly_the_apps_routes(api: Api) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in api.document["paths"].items()
        for method in operations
    }
    served = {
        (route.method, route.resource.canonical)
        for route in api.client.app.router.routes()
        if route.resource is not None
    }
    assert served == documented
    jsonschema.Draft202012Validator.check_schema({"$defs": api.document["components"]["schemas"]})


def test_every_described_body_has_samples() -> None:
    assert set(ACCEPTED) == set(REFUSED) == set(REQUEST_MODELS) == set(OPERATION_IDS)


async def test_every_route_with_a_body_has_a_model(api: Api) -> None:
    with_body = {
        operation["operationId"]
        for operations in api.document["paths"].values()
        for operation in operations.values()
        if "requestBody" in operation
    }
    assert with_body == set(OPERATION_IDS.values())


async def test_order_numbers_agree_with_the_events_contract(api: Api) -> None:
    """A day's 100,000th order has 6 digits ({sequence:05d}); every order-number schema of
    the document takes the events contract's pattern."""
    text = json.dumps(api.document)
    assert r"\\d{5}$" not in text
    parameters = [
        parameter
        for operations in api.document["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "number" and parameter["in"] == "path"
    ]
    assert len(parameters) >= 5
    for parameter in parameters:
        pattern = parameter["schema"].get("pattern")
        if pattern is not None:
            assert re.search(pattern, "12320-20250314-100000")
            assert re.search(pattern, "12320-20250314-00001")
            assert not re.search(pattern, "12320-20250314-0001")
    assert re.search(ORDER_NUMBER_PATTERN, "12320-20250314-100000")


@pytest.mark.parametrize("route", sorted(REQUEST_MODELS))
async def test_bodies_the_handler_accepts_validate_against_its_model(api: Api, route: str) -> None:
    model = REQUEST_MODELS[route]
    validator = api.schema_validator(route)
    for n, body in enumerate(ACCEPTED[route]):
        model.model_validate_json(json.dumps(body))
        validator.validate(body)
        response = await api.send(route, body, f"{route}-{n}")
        assert response.status in (200, 201, 202), await response.text()


@pytest.mark.parametrize("route", sorted(REQUEST_MODELS))
async def test_bodies_the_handler_refuses_the_model_refuses(api: Api, route: str) -> None:
    model = REQUEST_MODELS[route]
    validator = api.schema_validator(route)
    for n, (body, field) in enumerate(REFUSED[route]):
        with pytest.raises(pydantic.ValidationError):
            model.model_validate_json(json.dumps(body))
        assert not validator.is_valid(body)
        response = await api.send(route, body, f"{route}-bad-{n}")
        assert response.status == 422, await response.text()
        assert (await response.json())["error"]["field"] == field
