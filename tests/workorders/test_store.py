"""The store on SQLite and on the real PostgreSQL (every test runs on both)."""

from __future__ import annotations

import asyncio
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.workorders.conftest import FakeClock
from workorders.errors import Conflict, InvalidInput, NotFound, StoreConfigError
from workorders.events.screenpop import CALL_ANSWERED, ORDER_CREATED, OutboxMessage
from workorders.model import AnsweredCall, NewOrder, Page, TranscriptUpdate
from workorders.store import Store
from workorders.store.tables import OrderCounterRow, OutboxRow, WorkOrderRow
from workorders.tokens import token_digest

pytestmark = pytest.mark.integration


def new_order(caller: str = "13800138000", **changes: object) -> NewOrder:
    fields: dict[str, object] = {
        "caller_number": caller,
        "category": "complaint",
        "menu_path": ("2", "1"),
        "group": "intake",
        "call_id": "c-1",
    }
    fields.update(changes)
    return NewOrder(**fields)  # type: ignore[arg-type]


async def count(store: Store, table: type[WorkOrderRow] | type[OutboxRow]) -> int:
    async with store.engine.connect() as connection:
        result = await connection.scalar(select(func.count()).select_from(table))
    assert result is not None
    return int(result)


async def test_numbers_follow_the_day_in_shanghai(store: Store, clock: FakeClock) -> None:
    numbers = []
    for key in ("a", "b", "c"):
        numbers.append(
            (await store.orders.create_order(new_order(), idempotency_key=key)).order.number
        )
    clock.now = datetime(2025, 3, 14, 16, 0, tzinfo=UTC)  # 00:00 on the 15th in Shanghai
    numbers.append((await store.orders.create_order(new_order(), idempotency_key="d")).order.number)
    assert numbers == [
        "12320-20250314-00001",
        "12320-20250314-00002",
        "12320-20250314-00003",
        "12320-20250315-00001",
    ]


async def test_created_order_fields(store: Store, clock: FakeClock) -> None:
    received = datetime(2025, 3, 14, 1, 59, 30, tzinfo=UTC)
    result = await store.orders.create_order(
        new_order(flags=("repeat_caller",), recording="2025/03/14/c-1.wav", received_at=received),
        idempotency_key="k",
    )
    order = result.order
    assert not result.replayed
    assert (order.channel, order.status, order.transcript_status) == (
        "phone",
        "received",
        "pending",
    )
    assert order.received_at == received
    assert order.created_at == clock.now
    assert order.received_at.tzinfo is not None
    assert order.flags == ("repeat_caller",)
    assert await store.orders.get_order(order.number) == order


async def test_received_at_defaults_to_now(store: Store, clock: FakeClock) -> None:
    order = (await store.orders.create_order(new_order(), idempotency_key="k")).order
    assert order.received_at == clock.now


async def test_twenty_concurrent_creates_get_twenty_numbers(store: Store) -> None:
    results = await asyncio.gather(
        *(
            store.orders.create_order(new_order(f"1380013{n:04d}"), idempotency_key=f"key-{n}")
            for n in range(20)
        )
    )
    numbers = sorted(result.order.number for result in results)
    assert numbers == [f"12320-20250314-{n:05d}" for n in range(1, 21)]
    assert await count(store, WorkOrderRow) == 20
    assert await count(store, OutboxRow) == 20


async def test_replay_returns_the_order_and_writes_nothing(store: Store, clock: FakeClock) -> None:
    first = await store.orders.create_order(new_order(), idempotency_key="k")
    clock.advance(minutes=5)
    again = await store.orders.create_order(new_order(), idempotency_key="k")
    assert again.replayed
    assert again.order == first.order
    assert await count(store, WorkOrderRow) == 1
    assert await count(store, OutboxRow) == 1
    # The replay did not use up a number either.
    next_order = await store.orders.create_order(new_order(), idempotency_key="other")
    assert next_order.order.number == "12320-20250314-00002"


async def test_concurrent_creates_with_one_key_make_one_order(store: Store) -> None:
    results = await asyncio.gather(
        *(store.orders.create_order(new_order(), idempotency_key="same") for _ in range(10))
    )
    assert len({result.order.number for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert await count(store, WorkOrderRow) == 1
    assert await count(store, OutboxRow) == 1
    async with store.engine.connect() as connection:
        last_seq = await connection.scalar(select(OrderCounterRow.last_seq))
    assert last_seq == 1  # the losers' increments were rolled back


async def test_same_key_with_another_body_is_a_conflict(store: Store) -> None:
    await store.orders.create_order(new_order(), idempotency_key="k")
    with pytest.raises(Conflict) as caught:
        await store.orders.create_order(new_order(category="report"), idempotency_key="k")
    assert caught.value.field == "Idempotency-Key"


async def test_order_and_outbox_event_commit_together(store: Store) -> None:
    result = await store.orders.create_order(new_order(menu_path=("3", "2")), idempotency_key="k")
    [message] = await store.outbox.outbox()
    assert message.topic == "hotline/pops/intake"
    assert message.sent_at is None
    assert message.attempts == 0
    assert message.event == {
        "id": message.id,
        "type": ORDER_CREATED,
        "at": "2025-03-14T02:00:00.000Z",
        "payload": {
            "call_id": "c-1",
            "caller_number": "13800138000",
            "menu_choice": "2",
            "menu_path": ["3", "2"],
            "category": "complaint",
            "category_label": "投诉",
            "order_number": result.order.number,
            "flags": [],
        },
    }


async def test_failed_outbox_write_leaves_no_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox insert fails inside the create (its id is taken): the order goes too."""
    taken = uuid.UUID("00000000-0000-4000-8000-000000000001")
    await store.orders.record_call(AnsweredCall("c-0", "13800138000", "12320", "intake"))
    async with store.engine.begin() as connection:
        await connection.execute(update(OutboxRow).values(id=str(taken)))
    monkeypatch.setattr("workorders.store.orders.uuid.uuid4", lambda: taken)
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the backend reports
        await store.orders.create_order(new_order(), idempotency_key="k")
    monkeypatch.undo()
    assert await count(store, WorkOrderRow) == 0
    assert await count(store, OutboxRow) == 1
    retry = await store.orders.create_order(new_order(), idempotency_key="k")
    assert retry.order.number == "12320-20250314-00001"  # the counter rolled back as well


async def test_list_newest_first_by_caller(store: Store, clock: FakeClock) -> None:
    for n in range(3):
        await store.orders.create_order(new_order(), idempotency_key=f"mine-{n}")
        clock.advance(minutes=1)
    await store.orders.create_order(new_order(caller="13900139000"), idempotency_key="theirs")
    mine = await store.orders.list_orders(Page(caller="13800138000"))
    assert [order.number[-5:] for order in mine] == ["00003", "00002", "00001"]
    assert [o.number[-5:] for o in await store.orders.list_orders(Page(limit=2, offset=1))] == [
        "00003",
        "00002",
    ]
    assert await store.orders.list_orders(Page(caller="10000")) == []


async def test_transcript_update(store: Store, clock: FakeClock) -> None:
    order = (await store.orders.create_order(new_order(), idempotency_key="k")).order
    clock.advance(seconds=40)
    updated = await store.orders.set_transcript(
        order.number, TranscriptUpdate("医院乱收费", "done")
    )
    assert (updated.description, updated.transcript_status) == ("医院乱收费", "done")
    assert updated.updated_at == clock.now
    assert updated.created_at == order.created_at
    assert await store.orders.get_order(order.number) == updated
    with pytest.raises(NotFound):
        await store.orders.set_transcript(
            "12320-20250314-09999", TranscriptUpdate("", "unavailable")
        )


async def test_unknown_order(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.orders.get_order("12320-20250314-00001")


async def test_answered_call_is_recorded_once(store: Store, clock: FakeClock) -> None:
    call = AnsweredCall("c-9", "13800138000", "12320", "intake", worker="ivr-1")
    first = await store.orders.record_call(call)
    clock.advance(seconds=3)
    again = await store.orders.record_call(call)
    concurrent = await asyncio.gather(*(store.orders.record_call(call) for _ in range(5)))
    assert not first.replayed
    assert again.replayed
    assert all(result.replayed for result in concurrent)
    assert again.answered_at == first.answered_at == datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
    [message] = await store.outbox.outbox()
    assert message.event["type"] == CALL_ANSWERED
    assert message.event["payload"] == {
        "call_id": "c-9",
        "caller_number": "13800138000",
        "callee": "12320",
        "group": "intake",
    }


async def test_outbox_oldest_first_and_mark_sent(store: Store, clock: FakeClock) -> None:
    await store.orders.record_call(AnsweredCall("c-1", "13800138000", "12320", "intake"))
    clock.advance(seconds=30)
    await store.orders.create_order(new_order(group="complaints"), idempotency_key="k")
    pending = await store.outbox.outbox()
    assert [m.event["type"] for m in pending] == [CALL_ANSWERED, ORDER_CREATED]
    assert [m.topic for m in pending] == ["hotline/pops/intake", "hotline/pops/complaints"]
    await store.outbox.record_failed_attempt(pending[0].id)
    clock.advance(seconds=1)
    await store.outbox.mark_sent(pending[0].id)
    await store.outbox.mark_sent(pending[0].id)  # a second ack changes nothing
    assert [m.id for m in await store.outbox.outbox()] == [pending[1].id]
    everything = {m.id: m for m in await store.outbox.outbox(unsent_only=False)}
    sent: OutboxMessage = everything[pending[0].id]
    assert (sent.sent_at, sent.attempts) == (clock.now, 2)


async def test_tokens_are_stored_hashed(store: Store) -> None:
    token = await store.people.create_token("ivr-node-1", "ivr")
    principal = await store.people.authenticate(token)
    assert principal is not None
    assert (principal.name, principal.role, principal.unit) == ("ivr-node-1", "ivr", None)
    assert await store.people.authenticate(token + "x") is None
    async with store.engine.connect() as connection:
        rows = (await connection.exec_driver_sql("SELECT * FROM api_tokens")).all()
    assert token not in str(rows)
    assert token_digest(token) in str(rows)
    with pytest.raises(InvalidInput):
        await store.people.create_token("x", "superuser")


async def test_token_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "admin-token"
    token = await store.people.ensure_token_file(path, "admin", "admin")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == token
    assert await store.people.ensure_token_file(path, "admin", "admin") == token
    principal = await store.people.authenticate(token)
    assert principal is not None
    assert principal.role == "admin"


async def test_token_file_survives_a_fresh_database(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "admin-token"
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", clock=clock) as one:
        await one.migrate()
        token = await one.people.ensure_token_file(path, "admin", "admin")
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'two.db'}", clock=clock) as two:
        await two.migrate()
        assert await two.people.authenticate(token) is None
        assert await two.people.ensure_token_file(path, "admin", "admin") == token
        assert await two.people.authenticate(token) is not None


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite://",
        "sqlite:///var/hotline.db",
        "postgresql://postgres@127.0.0.1/test",
        "mysql+aiomysql://localhost/db",
    ],
)
def test_unusable_database_urls(url: str) -> None:
    with pytest.raises(StoreConfigError):
        Store.open(url)


async def test_outbox_quarantine_keeps_the_row_and_its_reason(
    store: Store, clock: FakeClock
) -> None:
    # Issue 13, item 11, on both backends: failed attempts are counted with the reason; a
    # quarantined row leaves the publisher's queue, is listed for operators, and can go back.
    await store.orders.record_call(AnsweredCall("c-1", "13800138000", "12320", "intake"))
    await store.orders.record_call(AnsweredCall("c-2", "13800138001", "12320", "intake"))
    first, second = await store.outbox.outbox()
    assert await store.outbox.record_failed_attempt(first.id, "dropped") == 1
    assert await store.outbox.record_failed_attempt(first.id, "dropped again") == 2
    clock.advance(seconds=5)
    await store.outbox.quarantine(first.id, "dropped again (2 attempts)")
    assert [m.id for m in await store.outbox.outbox()] == [second.id]
    [held] = await store.outbox.quarantined()
    assert (held.id, held.attempts, held.failure) == (first.id, 2, "dropped again (2 attempts)")
    assert held.quarantined_at == clock.now
    await store.outbox.release_quarantined(first.id)
    assert [m.id for m in await store.outbox.outbox()] == [first.id, second.id]
    assert (await store.outbox.outbox())[0].attempts == 0
    with pytest.raises(NotFound):
        await store.outbox.release_quarantined(first.id)
