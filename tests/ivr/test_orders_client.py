"""The IVR's work-order client against the real service (aiohttp app, SQLite store) on
loopback: the menu's domain and priority reach the order, the transcript carries its
classification, and the spool is replayed without one refused entry blocking the rest."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from ivr.engine.actions import CreateOrder
from ivr.orders_client import OrderRefused, OrdersClient, OrdersUnavailable
from tests.e2e.peers import free_port
from workorders.api import create_app
from workorders.model import Page
from workorders.store import Store

pytestmark = pytest.mark.integration

RECEIVED = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


@dataclass
class Service:
    url: str
    token: str
    store: Store


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    async with Store.open(
        f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}", clock=lambda: RECEIVED
    ) as store:
        await store.migrate()
        token = await store.people.create_token("ivr-1", "ivr")
        server = TestServer(create_app(store), host="127.0.0.1")
        await server.start_server()
        try:
            yield Service(str(server.make_url("")), token, store)
        finally:
            await server.close()


def client(url: str, token: str, spool: Path) -> OrdersClient:
    return OrdersClient(
        url, token, group="intake", worker="test", spool_dir=spool, attempts=2, first_backoff=0.01
    )


def order(key: str, **changes: Any) -> CreateOrder:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "caller": "13800138000",
        "category": "complaint",
        "menu_path": ("2",),
        **changes,
    }
    return CreateOrder(**fields)


def spool_entry(spool: Path, name: str, key: str, **body: Any) -> None:
    spool.mkdir(parents=True, exist_ok=True)
    full = {"caller_number": "13800138000", "category": "consult", "menu_path": ["1"], **body}
    full["call_id"] = key
    (spool / f"{name}.json").write_text(json.dumps({"key": key, "body": full}), encoding="utf-8")


async def test_the_menus_domain_and_priority_reach_the_order(
    service: Service, tmp_path: Path
) -> None:
    orders = client(service.url, service.token, tmp_path / "spool")
    try:
        number = await orders.create_order(
            order("call-1", domain="medical_fees", priority="high"), RECEIVED
        )
        classification = {
            "category": "complaint",
            "domain": "medical_fees",
            "emergency_line": None,
            "evidence": [{"kind": "domain", "label": "medical_fees", "word": "收费", "weight": 2}],
        }
        await orders.put_transcript(number, "医院 乱 收费", "done", classification)
    finally:
        await orders.close()
    stored = await service.store.orders.get_order(number)
    assert stored.priority == "high"
    assert stored.lifecycle is not None and stored.lifecycle["domain"] == "medical_fees"
    kept = {**classification, "confirm_line": None}  # the API writes every key of the form
    assert (stored.description, stored.classification) == ("医院 乱 收费", kept)


async def test_a_refused_spool_entry_moves_aside_and_the_rest_go_through(
    service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    orders = client(service.url, service.token, spool)
    try:
        taken = await orders.create_order(order("call-0"), RECEIVED)
        spool_entry(spool, "a", "call-a")
        spool_entry(spool, "b", "call-b", category="praise")  # 422: no such category
        spool_entry(spool, "c", "call-0")  # 409: the key made another order already
        spool_entry(spool, "d", "call-d", domain="infectious_disease")
        (spool / "e.json").write_text("{not json", encoding="utf-8")
        with caplog.at_level(logging.ERROR, logger="ivr.orders"):
            assert await orders.replay_spool() == 2
        assert sorted(p.name for p in spool.glob("*.json")) == []  # nothing waits, nothing lost
        rejected = spool / "rejected"
        assert sorted(p.name for p in rejected.iterdir()) == [
            "b.error.json", "b.json", "c.error.json", "c.json", "e.error.json", "e.json",
        ]  # fmt: skip
        why_b = json.loads((rejected / "b.error.json").read_text(encoding="utf-8"))
        assert (why_b["status"], why_b["error"]["field"]) == (422, "category")
        why_c = json.loads((rejected / "c.error.json").read_text(encoding="utf-8"))
        assert (why_c["status"], why_c["error"]["field"]) == (409, "Idempotency-Key")
        assert json.loads((rejected / "b.json").read_text(encoding="utf-8"))["key"] == "call-b"
        assert sum("SPOOLED INTAKE SET ASIDE" in r.getMessage() for r in caplog.records) == 3
        assert await orders.replay_spool() == 0  # the rejected ones are not tried again
    finally:
        await orders.close()
    listed = await service.store.orders.list_orders(Page(limit=50))
    assert sorted(o.call_id or "" for o in listed) == ["call-0", "call-a", "call-d"]
    assert taken in {o.number for o in listed}


async def test_a_create_the_service_refuses_is_kept_in_rejected(
    service: Service, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    orders = client(service.url, service.token, spool)
    try:
        with pytest.raises(OrderRefused):
            await orders.create_order(order("call-x", category="praise"), RECEIVED)
    finally:
        await orders.close()
    assert list(spool.glob("*.json")) == []
    kept = json.loads((spool / "rejected" / "call_x.json").read_text(encoding="utf-8"))
    assert kept["body"]["category"] == "praise"


async def test_while_the_service_is_down_the_spool_waits_in_order(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    orders = client(f"http://127.0.0.1:{free_port(socket.SOCK_STREAM)}", "no-token", spool)
    spool_entry(spool, "a", "call-a")
    try:
        with pytest.raises(OrdersUnavailable) as caught:
            await orders.create_order(order("call-b"), RECEIVED)
        assert not isinstance(caught.value, OrderRefused)
        assert await orders.replay_spool() == 0
    finally:
        await orders.close()
    assert sorted(p.name for p in spool.glob("*.json")) == ["a.json", "call_b.json"]
    assert not (spool / "rejected").exists()
