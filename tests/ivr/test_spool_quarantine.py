"""Issue 13, item 10: a spooled intake the service can never take was retried forever and
held back every entry after it. Now: bounded retries with backoff, then quarantine with the
reason, listed for the operator; the rest keeps flowing.

A real aiohttp server on loopback plays the service (the client and the spool are under
test); one idempotency key always gets 500. Time is a fake clock.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from ivr.orders_client import OrdersClient
from ivr.spool import Spool, retry_delay
from tests.ivr.test_orders_client import spool_entry

pytestmark = pytest.mark.integration

POISON = "call-poison"


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
        if key == POISON:
            return web.json_response({"error": {"code": "internal"}}, status=500)
        return web.json_response({"number": f"N-{key}"}, status=201)

    app = web.Application()
    app.router.add_post("/api/v1/workorders", create)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_tcp()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", keys
    await runner.cleanup()


def test_the_retry_delay_doubles_and_is_capped() -> None:
    assert [retry_delay(n, 30) for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(20, 30) == 3600


async def test_a_poison_entry_is_retried_with_backoff_then_quarantined_and_never_blocks(
    tmp_path: Path, service: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    url, keys = service
    spool = tmp_path / "spool"
    now = [1_000_000.0]
    orders = OrdersClient(url, "t", group="intake", worker="w", spool_dir=spool, attempts=1,
                          first_backoff=0.01, spool_attempts=3, clock=lambda: now[0])  # fmt: skip
    spool_entry(spool, "a", POISON)  # first by name: it used to stop the replay for good
    spool_entry(spool, "b", "call-b")
    spool_entry(spool, "c", "call-c")
    try:
        assert await orders.replay_spool() == 2  # b and c go through despite a
        waiting = json.loads((spool / "a.json").read_text(encoding="utf-8"))
        assert (waiting["attempts"], waiting["next_at"]) == (1, now[0] + 30)
        assert "HTTP 500" in waiting["last_error"]
        keys.clear()
        now[0] += 29
        assert await orders.replay_spool() == 0
        assert keys == []  # not due yet: not tried
        now[0] += 1
        await orders.replay_spool()  # attempt 2, next in 60 s
        now[0] += 60
        with caplog.at_level(logging.ERROR):
            await orders.replay_spool()  # attempt 3 of 3: quarantined
        assert keys == [POISON, POISON]
    finally:
        await orders.close()
    assert list(spool.glob("*.json")) == []
    quarantined = spool / "quarantine"
    assert sorted(p.name for p in quarantined.iterdir()) == ["a.error.json", "a.json"]
    why = json.loads((quarantined / "a.error.json").read_text(encoding="utf-8"))
    assert why["attempts"] == 3 and "HTTP 500" in why["error"]
    assert any("SPOOLED INTAKE SET ASIDE" in r.getMessage() for r in caplog.records)
    listed = Spool(spool).listing()
    assert [(row.state, row.name) for row in listed] == [("quarantine", "a")]
    assert "HTTP 500" in listed[0].reason
    assert Spool(spool).retry("a") == ["a"]  # the operator puts it back
    assert json.loads((spool / "a.json").read_text(encoding="utf-8"))["attempts"] == 0


async def test_an_unreachable_service_counts_no_attempt(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    orders = OrdersClient(f"http://127.0.0.1:{_free_tcp()}", "t", group="intake", worker="w",
                          spool_dir=spool, attempts=1, first_backoff=0.01, spool_attempts=2,
                          clock=lambda: 5.0)  # fmt: skip
    spool_entry(spool, "a", "call-a")
    try:
        for _ in range(3):
            assert await orders.replay_spool() == 0
    finally:
        await orders.close()
    assert json.loads((spool / "a.json").read_text(encoding="utf-8")).get("attempts", 0) == 0
    assert not (spool / "quarantine").exists()
