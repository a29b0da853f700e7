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
from workorders.model import Classification, Evidence, NewOrder, TranscriptUpdate
from workorders.store import Store
from workorders.store.tables import SupervisionRow

pytestmark = pytest.mark.integration

TAKER = Actor("taker", "call_taker")
CDC = Actor("cdc", "handler", "saihan-cdc")
DISPATCH = Classify("dispatch", region="内蒙古/呼和浩特/赛罕区", domain="infectious_disease")


def order(caller: str = "13800138000", category: str = "report") -> NewOrder:
    return NewOrder(caller_number=caller, category=category, menu_path=("3",), group="intake")


async def create(store: Store, key: str, caller: str = "13800138000") -> str:
    return (await store.orders.create_order(order(caller), idempotency_key=key)).order.number


async def test_actions_append_to_the_ledger(store: Store) -> None:
    number = await create(store, "k1")
    await store.orders.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 1})
    result = await store.orders.act(number, Sign(), CDC, idempotency_key="a2", request={"a": 2})
    assert (result.order.status, result.order.unit) == ("signed", "saihan-cdc")
    ledger = await store.orders.ledger(number)
    assert [(e.action, e.state, e.actor) for e in ledger] == [
        ("receive", State.RECEIVED, "intake"),
        ("classify", State.DISPATCHED, "taker"),
        ("sign", State.SIGNED, "cdc"),
    ]


async def test_an_action_key_replays_and_refuses_another_body(store: Store) -> None:
    number = await create(store, "k1")
    first = await store.orders.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 1})
    again = await store.orders.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 1})
    assert (first.replayed, again.replayed) == (False, True)
    assert again.entry == first.entry
    assert len(await store.orders.ledger(number)) == 2
    with pytest.raises(Conflict):
        await store.orders.act(number, DISPATCH, TAKER, idempotency_key="a1", request={"a": 2})


async def test_repeat_callers_are_linked_and_abuse_flagged_never_dropped(
    store: Store, clock: FakeClock
) -> None:
    numbers = []
    for n in range(6):
        numbers.append(await create(store, f"k{n}"))
        clock.advance(hours=1)
    orders = [await store.orders.get_order(number) for number in numbers]
    assert len(orders) == 6  # none dropped
    assert orders[0].flags == () and orders[0].repeat_of is None
    assert all(o.repeat_of == numbers[0] and "repeat_caller" in o.flags for o in orders[1:])
    # abusive_count 5 in config/sla.yaml: the 5th and later are flagged, one alert.
    assert ["abusive_repetition" in o.flags for o in orders] == [False] * 4 + [True] * 2
    alerts = [m for m in await store.outbox.outbox() if m.topic == SUPERVISOR_TOPIC]
    assert [m.event["payload"]["reason"] for m in alerts] == ["abusive_repetition"]
    assert "13800138000" not in str(alerts[0].event)
    # Outside the 72 h window the caller is new again; another caller is never linked.
    clock.advance(hours=80)
    assert (await store.orders.get_order(await create(store, "late"))).repeat_of is None
    assert (await store.orders.get_order(await create(store, "o", "13900139000"))).repeat_of is None


async def test_sweeps_catch_up_after_downtime_once_across_instances(
    store: Store, database_url: str, clock: FakeClock
) -> None:
    numbers = [await create(store, f"k{n}", f"1380000{n:04d}") for n in range(12)]
    for n, number in enumerate(numbers):
        await store.orders.act(number, DISPATCH, TAKER, idempotency_key=f"d{n}", request={"n": n})
    assert await store.supervision.sweep() == 0  # nothing due yet
    clock.advance(days=30)  # every instance was down for a month
    async with Store.open(database_url, clock=clock) as other:
        counts = await asyncio.gather(
            store.supervision.sweep(batch=5), other.supervision.sweep(batch=5)
        )
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
    assert await store.supervision.sweep() == 0
    alerts = [m for m in await store.outbox.outbox(limit=1000) if m.topic == SUPERVISOR_TOPIC]
    assert len(alerts) == 36 and {m.event["payload"]["level"] for m in alerts} == {"red"}


async def test_yellow_then_red_for_an_emergency(store: Store, clock: FakeClock) -> None:
    number = (
        await store.orders.create_order(order(category="emergency"), idempotency_key="e")
    ).order.number
    clock.advance(minutes=89)
    assert await store.supervision.sweep() == 0
    clock.advance(minutes=1)  # 75 % of 2 h
    assert await store.supervision.sweep() == 1
    clock.advance(minutes=30)
    assert await store.supervision.sweep() == 1
    supervisions = await store.supervision.supervisions(number=number)
    assert [(s.level, s.reason, s.deadline) for s in supervisions] == [
        ("red", "overdue", "handling"),
        ("yellow", "warning", "handling"),
        ("red", "urgent_order", None),  # supervisors hear of an emergency at intake
    ]
    assert supervisions[0].due == clock.now  # received + 2 h


# -- speech classification (PUT …/transcript with a classification) ---------------------------
def heard(
    domain: str | None = "infectious_disease",
    line: str | None = None,
    *,
    backed: bool = True,
    category: str = "report",
) -> TranscriptUpdate:
    evidence = [Evidence("category", category, "举报", 2)]
    if backed and domain is not None:
        evidence.append(Evidence("domain", domain, "发烧", 1))
    if line is not None:
        evidence.append(Evidence("emergency", line, "昏迷", 2))
    return TranscriptUpdate(
        "好多人 发烧", "done", Classification(category, domain, line, tuple(evidence))
    )


async def speech_alerts(store: Store) -> list[dict[str, object]]:
    return [
        m.event["payload"]
        for m in await store.outbox.outbox(limit=1000)
        if m.topic == SUPERVISOR_TOPIC and m.event["payload"]["reason"] == "speech_emergency"
    ]


async def test_a_classified_domain_fills_an_order_without_one_and_drives_dispatch(
    store: Store,
) -> None:
    number = await create(store, "k1")
    update = heard()
    order_ = await store.orders.set_transcript(number, update)
    assert order_.description == "好多人 发烧"
    assert update.classification is not None
    assert order_.classification == update.classification.to_json()
    assert order_.category == "report"  # the caller's menu choice stays
    assert order_.lifecycle is not None and order_.lifecycle["domain"] == "infectious_disease"
    # The call taker dispatches by region only: the classified domain picks the CDC.
    result = await store.orders.act(
        number,
        Classify("dispatch", region="内蒙古/呼和浩特/赛罕区"),
        TAKER,
        idempotency_key="a1",
        request={"a": 1},
    )
    assert result.order.unit == "saihan-cdc"
    ledger = await store.orders.ledger(number)
    assert [e.action for e in ledger] == ["receive", "speech_classified", "classify"]
    assert ledger[1].data == {
        "category": "report",
        "domain": "infectious_disease",
        "emergency_line": None,
        "domain_filled": True,
    }
    assert await speech_alerts(store) == []


async def test_the_menu_domain_wins_and_an_unbacked_domain_fills_nothing(store: Store) -> None:
    menu_domain = NewOrder(
        caller_number="13800138000",
        category="complaint",
        menu_path=("2",),
        group="intake",
        domain="medical_fees",
        priority="high",
    )
    number = (await store.orders.create_order(menu_domain, idempotency_key="m")).order.number
    order_ = await store.orders.set_transcript(number, heard("medical_service"))
    assert order_.lifecycle is not None and order_.lifecycle["domain"] == "medical_fees"
    assert order_.priority == "high"
    assert order_.classification is not None
    assert order_.classification["domain"] == "medical_service"  # kept as a suggestion
    bare = await create(store, "k2", "13900139000")
    order_ = await store.orders.set_transcript(bare, heard("other", backed=False))
    assert order_.lifecycle is not None and order_.lifecycle["domain"] is None
    ledger = await store.orders.ledger(number)
    assert ledger[0].data["domain"] == "medical_fees" and ledger[0].data["priority"] == "high"


async def test_speech_emergency_on_an_ordinary_order_alerts_supervisors_once(
    store: Store,
) -> None:
    number = await create(store, "k1")
    update = heard("medical_service", "medical_120", category="help")
    await store.orders.set_transcript(number, update)
    await store.orders.set_transcript(number, update)  # the IVR retried: no second alert or row
    alerts = await speech_alerts(store)
    assert alerts == [
        {
            "order_number": number,
            "level": "red",
            "reason": "speech_emergency",
            "deadline": None,
            "due": None,
            "unit": None,
            "line": "medical_120",
        }
    ]
    assert [e.action for e in await store.orders.ledger(number)] == ["receive", "speech_classified"]
    assert [(s.level, s.reason) for s in await store.supervision.supervisions(number=number)] == [
        ("red", "speech_emergency")
    ]
    # An emergency order (already transferred, supervisors told at intake) is not re-alerted.
    emergency = (
        await store.orders.create_order(order(category="emergency"), idempotency_key="e")
    ).order.number
    await store.orders.set_transcript(emergency, update)
    assert len(await speech_alerts(store)) == 1
