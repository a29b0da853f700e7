"""Lifecycle in the store, on SQLite and on the real PostgreSQL: actions, ledger, repeat
callers, idempotent actions, and deadline sweeps by several instances after downtime."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from tests.workorders.conftest import FakeClock
from workorders.errors import Conflict
from workorders.events.alerts import SUPERVISOR_TOPIC
from workorders.lifecycle.model import Actor, Classify, Sign, State
from workorders.model import NewOrder
from workorders.store import Store
from workorders.store.tables import SupervisionRow

TAKER = Actor("taker", "call_taker")
CDC = Actor("cdc", "handler", "saihan-cdc")
DISPATCH = Classify("dispatch", region="内蒙古/呼和浩特/赛罕区", domain="infectious_disease")


def order(caller: str = "13800138000", category: str = "report") -> NewOrder:
    return NewOrder(caller_number=caller, category=category, menu_path=("3",), group="intake")


async def create(store: Store, key: str, caller: str = "13800138000") -> str:
    return (await store.create_order(order(caller), idempotency_key=key)).order.number


async def test_actions_append_to_the_ledger(store: Store) -> None:
    number = await create(store, "k1")
    await store.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 1})
    result = await store.act(number, Sign(), CDC, idempotency_key="a2", request={"a": 2})
    assert (result.order.status, result.order.unit) == ("signed", "saihan-cdc")
    ledger = await store.ledger(number)
    assert [(e.action, e.state, e.actor) for e in ledger] == [
        ("receive", State.RECEIVED, "intake"),
        ("classify", State.DISPATCHED, "taker"),
        ("sign", State.SIGNED, "cdc"),
    ]


async def test_an_action_key_replays_and_refuses_another_body(store: Store) -> None:
    number = await create(store, "k1")
    first = await store.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 1})
    again = await store.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 1})
    assert (first.replayed, again.replayed) == (False, True)
    assert again.entry == first.entry
    assert len(await store.ledger(number)) == 2
    with pytest.raises(Conflict):
        await store.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 2})


async def test_repeat_callers_are_linked_and_abuse_flagged_never_dropped(
    store: Store, clock: FakeClock
) -> None:
    numbers = []
    for n in range(6):
        numbers.append(await create(store, f"k{n}"))
        clock.advance(hours=1)
    orders = [await store.get_order(number) for number in numbers]
    assert len(orders) == 6  # none dropped
    assert orders[0].flags == () and orders[0].repeat_of is None
    assert all(o.repeat_of == numbers[0] and "repeat_caller" in o.flags for o in orders[1:])
    # abusive_count 5 in config/sla.yaml: the 5th and later are flagged, one alert.
    assert ["abusive_repetition" in o.flags for o in orders] == [False] * 4 + [True] * 2
    alerts = [m for m in await store.outbox() if m.topic == SUPERVISOR_TOPIC]
    assert [m.event["payload"]["reason"] for m in alerts] == ["abusive_repetition"]
    assert "13800138000" not in str(alerts[0].event)
    # Outside the 72 h window the caller is new again; another caller is never linked.
    clock.advance(hours=80)
    assert (await store.get_order(await create(store, "late"))).repeat_of is None
    assert (await store.get_order(await create(store, "o", "13900139000"))).repeat_of is None


async def test_sweeps_catch_up_after_downtime_once_across_instances(
    store: Store, database_url: str, clock: FakeClock
) -> None:
    numbers = [await create(store, f"k{n}", f"1380000{n:04d}") for n in range(12)]
    for n, number in enumerate(numbers):
        await store.act(number, DISPATCH, TAKER, idempotency_key=f"d{n}", request={"n": n})
    assert await store.sweep() == 0  # nothing due yet
    clock.advance(days=30)  # every instance was down for a month
    async with Store.open(database_url, clock=clock) as other:
        counts = await asyncio.gather(store.sweep(batch=5), other.sweep(batch=5))
    assert sum(counts) == 12
    async with store.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(SupervisionRow.order_number, SupervisionRow.deadline, func.count()).group_by(
                    SupervisionRow.order_number, SupervisionRow.deadline
                )
            )
        ).all()
    # One red 督办 per order and deadline (handling, sign-for, feedback), never twice.
    assert len(rows) == 12 * 3 and {row[2] for row in rows} == {1}
    assert await store.sweep() == 0
    alerts = [m for m in await store.outbox(limit=1000) if m.topic == SUPERVISOR_TOPIC]
    assert len(alerts) == 36 and {m.event["payload"]["level"] for m in alerts} == {"red"}


async def test_yellow_then_red_for_an_emergency(store: Store, clock: FakeClock) -> None:
    number = (
        await store.create_order(order(category="emergency"), idempotency_key="e")
    ).order.number
    clock.advance(minutes=89)
    assert await store.sweep() == 0
    clock.advance(minutes=1)  # 75 % of 2 h
    assert await store.sweep() == 1
    clock.advance(minutes=30)
    assert await store.sweep() == 1
    supervisions = await store.supervisions(number=number)
    assert [(s.level, s.reason, s.deadline) for s in supervisions] == [
        ("red", "overdue", "handling"),
        ("yellow", "warning", "handling"),
        ("red", "urgent_order", None),  # supervisors hear of an emergency at intake
    ]
    assert supervisions[0].due == clock.now  # received + 2 h
