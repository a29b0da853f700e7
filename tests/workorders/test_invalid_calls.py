"""无效来电 at the service (issue 13, item 8): counted per reason, never an order; a number
with repeated junk is flagged by the malicious-caller rule. The API over a real SQLite store;
the counting queries on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.workorders.conftest import FakeClock
from workorders.api import create_app
from workorders.invalid_calls import InvalidCall
from workorders.model import Page
from workorders.store import Store

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(sqlite_store: Store) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, str]]]:
    token = await sqlite_store.people.create_token("ops", "admin")
    async with TestClient(TestServer(create_app(sqlite_store))) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _body(call_id: str, reason: str = "no_input", caller: str = "13800138000") -> dict[str, Any]:
    return {"call_id": call_id, "caller_number": caller, "reason": reason, "worker": "w:5070",
            "category": "complaint", "menu_path": ["2"], "seconds": 12.5,
            "received_at": "2026-12-07T10:00:00+08:00"}  # fmt: skip


async def test_invalid_calls_are_counted_by_reason_and_make_no_order(
    api: tuple[TestClient[Any, Any], dict[str, str]], sqlite_store: Store, clock: FakeClock
) -> None:
    client, auth = api
    for n, reason in enumerate(["no_input", "silent_intake", "silent_intake", "too_short"]):
        response = await client.post("/api/v1/invalid-calls", json=_body(f"c{n}", reason),
                                     headers=auth)  # fmt: skip
        assert response.status == 201, await response.text()
    again = await client.post("/api/v1/invalid-calls", json=_body("c1", "silent_intake"),
                              headers=auth)  # fmt: skip
    assert again.status == 200  # the same call, reported twice: counted once
    day = clock().astimezone(ZoneInfo("Asia/Shanghai")).date()
    report = await client.get(
        "/api/v1/reports/invalid-calls", params={"from": str(day), "to": str(day)}, headers=auth
    )
    assert report.status == 200
    body = await report.json()
    assert body["total"] == 4
    assert body["by_reason"] == {"no_input": 1, "silent_intake": 2, "too_short": 1,
                                 "cut_silent": 0}  # fmt: skip
    assert await sqlite_store.orders.list_orders(Page(limit=10)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("reason", "bored"), ("call_id", "a\x01b"), ("call_id", "x" * 256), ("seconds", -1),
     ("colour", "red")],
)  # fmt: skip
async def test_a_bad_report_is_refused_with_the_field_named(
    api: tuple[TestClient[Any, Any], dict[str, str]], field: str, value: object
) -> None:
    client, auth = api
    response = await client.post(
        "/api/v1/invalid-calls", json={**_body("c"), field: value}, headers=auth
    )
    assert response.status == 422
    assert (await response.json())["error"]["field"] == field


async def test_repeated_junk_from_one_number_is_flagged_abusive(
    store: Store, clock: FakeClock
) -> None:
    """The malicious-caller rule (hotline-rules.md: detect and flag, never drop): the
    abusive count of the repeat policy, inside its window; anonymous callers are never."""
    policy = store.rules.sla.repeats
    verdicts = []
    for n in range(policy.abusive_count):
        call = InvalidCall(f"j{n}", "13900139000", "no_input", "intake", None)
        verdicts.append(await store.orders.record_invalid_call(call))
        clock.advance(minutes=10)
    assert [v.abusive for v in verdicts] == [False] * (policy.abusive_count - 1) + [True]
    assert verdicts[-1].in_window == policy.abusive_count
    clock.advance(seconds=policy.window.total_seconds() + 60)
    later = await store.orders.record_invalid_call(InvalidCall("j-late", "13900139000", "no_input",
                                                        "intake", None))  # fmt: skip
    assert (later.in_window, later.abusive) == (1, False)
    anonymous = [
        await store.orders.record_invalid_call(
            InvalidCall(f"a{n}", "anonymous", "no_input", "i", None)
        )
        for n in range(policy.abusive_count)
    ]
    assert not any(v.abusive for v in anonymous)
    start = clock() - timedelta(days=30)
    by_reason, repeated = await store.reports.invalid_call_counts(
        start, clock() + timedelta(hours=1)
    )
    assert by_reason == {"no_input": 2 * policy.abusive_count + 1}
    assert repeated == [("139****9000", policy.abusive_count + 1)]  # masked; not anonymous
