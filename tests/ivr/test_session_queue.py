"""The session queueing callers for agents, with the real engine and menu; the ACD is faked at
the HTTP client seam (``FakeAcd`` hands out each status), the leg at the pyVoIP seam."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ivr.sip.leg import LegDigit, LegEnded, LegTransfer
from tests.ivr.test_session import (
    CHINA,
    FakeAcd,
    FakeLeg,
    FakeOrders,
    FakePrompts,
    _played,
    _session,
    _until,
)

pytestmark = pytest.mark.unit

HINT = "queue_callback_hint"


async def _queued(tmp_path: Path, acd: FakeAcd, clock=None):  # type: ignore[no-untyped-def]
    orders = FakeOrders(acd=acd)
    kwargs = {} if clock is None else {"clock": clock}
    session, leg, prompts, background = _session(tmp_path, orders, None, **kwargs)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "main menu")
    leg.events.put_nowait(LegDigit("0"))
    await _until(lambda: bool(acd.queued), "the call queued")
    return session, leg, prompts, background, orders, run


async def _settle(background: set[asyncio.Task[None]]) -> None:
    """Let the session's background work (reports to the ACD) finish."""
    if background:
        await asyncio.wait(background, timeout=5)


def _after(leg: FakeLeg, prompts: FakePrompts, start: int) -> list[str]:
    return _played(leg, prompts)[start:]


async def test_key_0_waits_hearing_the_position_then_goes_to_the_offered_agent(
    tmp_path: Path,
) -> None:
    acd = FakeAcd()
    session, leg, prompts, background, orders, run = await _queued(tmp_path, acd)
    group, body = acd.queued[0]
    assert group == "intake"
    assert body == {"call_id": leg.call_id, "caller": "13800138000", "skills": [],
                    "priority": "normal", "order_number": None, "menu_path": ["0"]}  # fmt: skip
    start = len(leg.played)
    acd.push("waiting", 3)
    await _until(lambda: HINT in _after(leg, prompts, start), "the first announcement")
    assert _after(leg, prompts, start) == ["queue_ahead", "digits/2", "queue_callers", HINT]
    start = len(leg.played)
    acd.push("waiting", 1)
    await _until(lambda: HINT in _after(leg, prompts, start), "the second announcement")
    assert _after(leg, prompts, start) == ["queue_next", HINT]
    assert acd.polls[-1] is not None  # long-polls pass the version they have seen
    stops = leg.stops
    acd.push("offered", extension="1002")
    await _until(lambda: bool(leg.transfers), "the REFER to the agent")
    assert leg.stops > stops  # the announcement stopped for the transfer
    target, headers = leg.transfers[0]
    assert target == "sip:1002@127.0.0.1:5060"
    assert headers == {"X-Hotline-Ring-Timeout": "20", "X-Hotline-Call": leg.call_id}
    leg.events.put_nowait(LegTransfer("accepted", 202))
    leg.events.put_nowait(LegTransfer("answered", 200))
    async with asyncio.timeout(5):
        await run
    await _settle(background)
    assert session.engine.finished
    assert acd.reports == ["answered"]
    assert acd.left == []
    assert orders.orders == []  # the agent opens the order


async def test_an_agent_who_does_not_answer_is_reported_and_the_next_offer_taken(
    tmp_path: Path,
) -> None:
    acd = FakeAcd()
    _, leg, _prompts, background, _, run = await _queued(tmp_path, acd)
    acd.push("offered", extension="1001")
    await _until(lambda: len(leg.transfers) == 1, "the first REFER")
    leg.events.put_nowait(LegTransfer("failed", 486))
    await _until(lambda: acd.reports == ["busy"], "busy reported")
    acd.push("offered", extension="1002")
    await _until(lambda: len(leg.transfers) == 2, "the second REFER")
    assert leg.transfers[1][0] == "sip:1002@127.0.0.1:5060"
    leg.events.put_nowait(LegTransfer("answered", 200))
    async with asyncio.timeout(5):
        await run
    await _settle(background)
    assert acd.reports == ["busy", "answered"]


async def test_key_1_leaves_a_callback_request_instead_of_waiting(tmp_path: Path) -> None:
    acd = FakeAcd()
    session, leg, prompts, background, orders, run = await _queued(tmp_path, acd)
    acd.push("waiting", 2)
    await _until(lambda: HINT in _played(leg, prompts), "the announcement")
    leg.events.put_nowait(LegDigit("1"))
    async with asyncio.timeout(5):
        await run
    await _settle(background)
    assert acd.left == ["callback"]
    (order,) = orders.orders
    assert (order.category, order.flags) == ("consult", ("callback", "callback_requested"))
    assert order.menu_path == ("0",)
    played = _played(leg, prompts)
    assert played.index("queue_callback_registered") < played.index("goodbye")
    assert session.engine.variables["connect_failure"] == "callback"


async def test_a_queue_timeout_becomes_a_callback_order(tmp_path: Path) -> None:
    acd = FakeAcd()
    session, leg, prompts, _background, orders, run = await _queued(tmp_path, acd)
    acd.push("waiting", 1)
    acd.push("overflowed", 1)
    acd.push("timeout", detail="max_wait")
    async with asyncio.timeout(5):
        await run
    (order,) = orders.orders
    assert order.flags == ("callback", "agent_requested")
    assert "agent_registered" in _played(leg, prompts)
    assert session.engine.variables["connect_failure"] == "max_wait"
    assert acd.left == []


async def test_hanging_up_in_the_queue_leaves_it(tmp_path: Path) -> None:
    acd = FakeAcd()
    _, leg, prompts, background, orders, run = await _queued(tmp_path, acd)
    acd.push("waiting", 5)
    await _until(lambda: HINT in _played(leg, prompts), "the announcement")
    leg.events.put_nowait(LegEnded("remote"))
    async with asyncio.timeout(5):
        await run
    await _settle(background)
    assert acd.left == ["hangup"]
    assert orders.orders == []


async def test_the_engine_giving_up_leaves_the_queue(tmp_path: Path) -> None:
    now = [datetime(2026, 11, 23, 10, 0, tzinfo=CHINA)]
    acd = FakeAcd()
    _, leg, prompts, background, orders, run = await _queued(tmp_path, acd, clock=lambda: now[0])
    acd.push("waiting", 5)
    await _until(lambda: HINT in _played(leg, prompts), "the announcement")
    now[0] += timedelta(seconds=331)  # the menu's queue timeout
    leg.events.put_nowait(object())  # wakes the session to look at the clock
    async with asyncio.timeout(5):
        await run
    await _settle(background)
    assert acd.left == ["timeout"]
    assert orders.orders[0].flags == ("callback", "agent_requested")


async def test_an_emergency_line_falls_back_to_its_agent_group_at_the_head_of_the_queue(
    tmp_path: Path,
) -> None:
    acd = FakeAcd()
    orders = FakeOrders(acd=acd)
    session, leg, prompts, background = _session(tmp_path, orders, None)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "main menu")
    leg.events.put_nowait(LegDigit("9"))
    await _until(lambda: "emergency_menu" in _played(leg, prompts), "emergency menu")
    leg.events.put_nowait(LegDigit("1"))
    for expected in (1, 2):  # 120 and its backup are unreachable
        await _until(lambda n=expected: len(leg.transfers) == n, f"attempt {expected}")
        leg.events.put_nowait(LegTransfer("failed", 404))
    await _until(lambda: bool(acd.queued), "queued for the emergency agents")
    group, body = acd.queued[0]
    assert (group, body["priority"], body["order_number"]) == (
        "emergency_agents", "emergency", "12320-20261123-00042",
    )  # fmt: skip
    acd.push("offered", extension="1001")
    await _until(lambda: len(leg.transfers) == 3, "REFER to the agent")
    target, headers = leg.transfers[2]
    assert target == "sip:1001@127.0.0.1:5060"
    assert headers["X-Hotline-Order"] == "12320-20261123-00042"
    assert headers["X-Hotline-Category"] == "emergency"
    leg.events.put_nowait(LegTransfer("answered", 200))
    async with asyncio.timeout(5):
        await run
    await _settle(background)
    outcomes = [(a["target"], a["outcome"], a["fallback"]) for _, _, a in orders.attempts]
    assert outcomes == [
        ("sip:120@127.0.0.1:5060", "refused", False),
        ("sip:120-backup@127.0.0.1:5060", "refused", False),
        ("sip:1001@127.0.0.1:5060", "answered", True),
    ]
    assert acd.reports == ["answered"]


async def test_with_no_agent_signed_in_the_line_rings_its_group_directly(tmp_path: Path) -> None:
    acd = FakeAcd()
    orders = FakeOrders(acd=acd)
    session, leg, prompts, _background = _session(tmp_path, orders, None)
    run = asyncio.create_task(session.run())
    await _until(lambda: "main_menu" in _played(leg, prompts), "main menu")
    leg.events.put_nowait(LegDigit("9"))
    await _until(lambda: "emergency_menu" in _played(leg, prompts), "emergency menu")
    leg.events.put_nowait(LegDigit("1"))
    for expected in (1, 2):
        await _until(lambda n=expected: len(leg.transfers) == n, f"attempt {expected}")
        leg.events.put_nowait(LegTransfer("failed", 404))
    acd.push("timeout", detail="no_agents")
    await _until(lambda: len(leg.transfers) == 3, "the group's first member rung")
    assert leg.transfers[2][0] == "sip:1901@127.0.0.1:5060"  # routing.yaml's members
    leg.events.put_nowait(LegTransfer("answered", 200))
    async with asyncio.timeout(5):
        await run
    assert session.engine.finished
