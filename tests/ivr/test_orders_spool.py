"""The spool of intakes the work-order service did not take, shared by a node's workers.

A real aiohttp server on loopback stands in for the service (the client is the
adapter under test); it answers creates as the real one does, by idempotency key.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from ivr.engine.actions import CreateOrder
from ivr.orders_client import OrdersClient, OrdersUnavailable

pytestmark = pytest.mark.integration


def _free_tcp() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def service() -> AsyncIterator[tuple[str, list[str]]]:
    keys: list[str] = []

    async def create(request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        keys.append(key)
        await asyncio.sleep(0.05)  # long enough for the other worker to read the same file
        return web.json_response({"number": f"N-{key}"}, status=201)

    app = web.Application()
    app.router.add_post("/api/v1/workorders", create)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_tcp()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", keys
    await runner.cleanup()


def _client(base_url: str, spool: Path) -> OrdersClient:
    return OrdersClient(base_url, "t", group="intake", worker="w", spool_dir=spool,
                        attempts=1, first_backoff=0.01, timeout=2)  # fmt: skip


async def test_two_workers_replay_one_spool_without_failing(
    tmp_path: Path, service: tuple[str, list[str]]
) -> None:
    spool = tmp_path / "spool"
    down = _client(f"http://127.0.0.1:{_free_tcp()}", spool)  # nothing listens there
    for n in range(3):
        order = CreateOrder(f"call-{n}", "13800138000", "complaint", ("2",))
        with pytest.raises(OrdersUnavailable):
            await down.create_order(order, datetime(2026, 5, 1, tzinfo=UTC))
    await down.close()
    assert sorted(p.name for p in spool.iterdir()) == [f"call_{n}.json" for n in range(3)]

    base_url, keys = service
    first, second = _client(base_url, spool), _client(base_url, spool)
    sent = await asyncio.gather(first.replay_spool(), second.replay_spool())
    await first.close()
    await second.close()
    assert list(spool.iterdir()) == []
    assert 3 <= sum(sent) <= 6  # some files may go twice: the same key, the same order
    assert sorted(set(keys)) == ["call-0", "call-1", "call-2"]
