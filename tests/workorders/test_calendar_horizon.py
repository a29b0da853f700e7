"""Deadlines past the calendar's horizon are marked as estimates (issue 12, item 3).

The shipped calendar knows holidays through 2026-12-31 (``chinesecalendar``). A working-day
deadline counted into 2027 treats every weekday as a working day: the order says so, the
due report says so, and it names where the data ends for the wallboard's banner. The
store's clock is a ``FakeClock``; nothing reads the wall clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.workorders.conftest import FakeClock
from workorders.api import create_app
from workorders.lifecycle.deadlines import new_lifecycle
from workorders.rules import default_rules
from workorders.service import HORIZON_CHECK_SECONDS, log_horizon, run_horizon_checks
from workorders.store import Store

pytestmark = pytest.mark.integration

REGION = "内蒙古/呼和浩特/赛罕区"
KEYS = itertools.count()
SHANGHAI_10AM_DEC_7 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SHANGHAI_10AM_DEC_28 = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
SHANGHAI_10AM_DEC_31 = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)


@dataclass
class Api:
    client: TestClient[Any, Any]
    tokens: dict[str, str]

    async def call(self, user: str, method: str, path: str, **body: Any) -> Any:
        headers = {
            "Authorization": f"Bearer {self.tokens[user]}",
            "Idempotency-Key": f"key-{next(KEYS)}",
        }
        response = await self.client.request(method, path, json=body or None, headers=headers)
        assert response.status < 300, await response.text()
        return await response.json()


@pytest.fixture
async def api(sqlite_store: Store) -> AsyncIterator[Api]:
    tokens = {
        "ivr": await sqlite_store.people.create_token("ivr", "ivr", None),
        "taker": await sqlite_store.people.create_token("taker", "call_taker", None),
        "sup": await sqlite_store.people.create_token("sup", "supervisor", None),
    }
    async with TestClient(TestServer(create_app(sqlite_store))) as client:
        yield Api(client, tokens)


async def dispatched_order(api: Api) -> str:
    body = {"caller_number": "13800138000", "category": "complaint", "menu_path": ["2"]}
    number: str = (await api.call("ivr", "POST", "/api/v1/workorders", **body))["number"]
    await api.call("taker", "POST", f"/api/v1/workorders/{number}/actions", action="classify",
                   mode="dispatch", region=REGION, domain="medical_fees",
                   about_unit="saihan-hospital")  # fmt: skip
    return number


async def test_a_deadline_counted_into_2027_is_an_estimate_on_the_order(
    api: Api, clock: FakeClock
) -> None:
    """Dispatched on 2026-12-31: signed for within 1 working day, counted on 2027-01-01 (in
    fact 元旦, but the data does not know it yet). The feedback limit (5 working days) is
    capped by the 7-calendar-day handling limit, which needs no holiday data: exact."""
    clock.now = SHANGHAI_10AM_DEC_31
    number = await dispatched_order(api)
    order = await api.call("taker", "GET", f"/api/v1/workorders/{number}")
    deadlines = {d["name"]: d for d in order["lifecycle"]["deadlines"]}
    assert deadlines["sign_for"]["due"] == "2027-01-01T16:00:00.000Z"
    assert deadlines["sign_for"]["estimate"] is True
    assert deadlines["feedback"]["estimate"] is False
    assert deadlines["handling"]["estimate"] is False
    assert order["due_is_estimate"] is True
    due = await api.call("sup", "GET", "/api/v1/reports/due?within_hours=168")
    assert due["calendar"] == {
        "horizon": "2026-12-31", "today": "2026-12-31", "days_left": 0, "margin_days": 60,
        "warn": True, "next_year": 2027,
    }  # fmt: skip
    (item,) = due["soon"]
    assert (item["deadline"], item["estimate"]) == ("sign_for", True)


async def test_within_the_data_nothing_is_an_estimate(api: Api, clock: FakeClock) -> None:
    clock.now = SHANGHAI_10AM_DEC_7  # feedback due 2026-12-15
    number = await dispatched_order(api)
    order = await api.call("taker", "GET", f"/api/v1/workorders/{number}")
    assert order["due_is_estimate"] is False
    assert not any(d["estimate"] for d in order["lifecycle"]["deadlines"])
    due = await api.call("sup", "GET", "/api/v1/reports/due")
    assert due["calendar"]["warn"] is True and due["calendar"]["days_left"] == 24


def test_a_working_day_handling_limit_past_the_horizon_is_an_estimate() -> None:
    rules = default_rules()
    limit = rules.sla.feedback  # 5 working days
    assert limit.due_is_estimate(limit.due(SHANGHAI_10AM_DEC_28, rules.calendar), rules.calendar)
    life = new_lifecycle("complaint", SHANGHAI_10AM_DEC_28, rules)
    assert life.deadlines[0].estimate is False  # general: 7 calendar days


async def test_the_service_logs_the_horizon_at_start_and_daily(
    sqlite_store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.now = SHANGHAI_10AM_DEC_7
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(days=1)
        if len(slept) == 2:
            raise asyncio.CancelledError

    with (
        caplog.at_level(logging.INFO, logger="workorders.service"),
        pytest.raises(asyncio.CancelledError),
    ):
        await run_horizon_checks(sqlite_store, sleep=sleep)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert slept == [HORIZON_CHECK_SECONDS] * 2
    assert warnings == [
        "calendar: holiday data ends on 2026-12-31 (24 days from 2026-12-07), under the "
        "60-day margin: import the State Council's 2027 notice with `hotline calendar "
        "import`; until then deadlines past it are estimates",
        "calendar: holiday data ends on 2026-12-31 (23 days from 2026-12-08), under the "
        "60-day margin: import the State Council's 2027 notice with `hotline calendar "
        "import`; until then deadlines past it are estimates",
    ]


def test_far_from_the_horizon_it_is_only_information(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="workorders.service"):
        log_horizon(default_rules().calendar, datetime(2026, 6, 1, tzinfo=UTC))
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert (
        record.getMessage()
        == "calendar: holiday data ends on 2026-12-31 (213 days from 2026-06-01)"
    )
