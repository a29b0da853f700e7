"""The generated OpenAPI document against the app: the same routes, and the request models
agree with the handlers on bodies they accept and refuse (SQLite store, aiohttp test client)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pydantic
import pytest
from aiohttp.test_utils import TestClient, TestServer

from workorders.api import create_app
from workorders.api.schemas import REQUEST_MODELS
from workorders.store import Store

pytestmark = pytest.mark.integration

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
        call = {"call_id": f"e-{key}", "caller_number": "13800138000", "callee": "12320"}
        await self.client.post("/api/v1/calls", json=call, headers=self.admin)
        path = f"/api/v1/calls/e-{key}/emergency"
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
}


@pytest.fixture
async def api(sqlite_store: Store) -> AsyncIterator[Api]:
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
