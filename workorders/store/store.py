"""The work-order store: the only code that talks to the database (SQLAlchemy 2, async).

SQLite (aiosqlite) is the default for one node; PostgreSQL (asyncpg) when several nodes share
a database. What must hold on both:

* Order numbers are drawn from ``order_counters`` with one atomic upsert
  (``INSERT … ON CONFLICT DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq``). On
  PostgreSQL the upsert row-locks the day's counter until commit; on SQLite every transaction
  starts with ``BEGIN IMMEDIATE``, so writers queue on the database lock instead of failing
  with "database is locked" when a read transaction tries to turn into a write (within one
  process they queue on an ``asyncio.Lock`` first).
* An order and its ``order.created`` outbox row commit in one transaction, and so do a call
  and its ``call.answered`` row.
* A repeated idempotency key (or call id) returns what exists and writes nothing; when two
  creates race, the loser hits the unique constraint, rolls back (its counter increment too)
  and re-reads the winner's row.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from sqlalchemy import event, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from workorders.errors import Conflict, NotFound, StoreConfigError, StoreUnavailable
from workorders.events.screenpop import (
    OutboxMessage,
    call_answered_event,
    order_created_event,
    pop_topic,
)
from workorders.model import (
    AnsweredCall,
    CallResult,
    CreateResult,
    NewOrder,
    Page,
    TranscriptUpdate,
    WorkOrder,
    format_order_number,
    mask_phone,
    order_day,
)
from workorders.store.rows import (
    call_result,
    message_from_row,
    new_order_row,
    order_from_row,
    outbox_row,
)
from workorders.store.tables import (
    ApiTokenRow,
    CallRow,
    OrderCounterRow,
    OutboxRow,
    WorkOrderRow,
    metadata,
)
from workorders.tokens import Principal, check_role, check_token_text, new_token, token_digest

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_P = ParamSpec("_P")
_T = TypeVar("_T")

#: The async driver each supported backend needs.
_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _shielded(
    operation: Callable[Concatenate[Store, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[Store, _P], Coroutine[Any, Any, _T]]:
    """Run a store operation to its end even if the caller is cancelled.

    A transaction abandoned half-way by a cancelled task can keep its connection (and on
    SQLite the database write lock) busy until that connection is garbage-collected. The
    operation therefore runs in a task of its own; a cancelled caller stops waiting at once
    while the transaction still commits or rolls back. ``Store.close`` waits for such tasks.
    """

    @functools.wraps(operation)
    async def run(store: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        task = asyncio.ensure_future(operation(store, *args, **kwargs))
        store._track(task)
        return await asyncio.shield(task)

    return run


class Store:
    """Async access to orders, calls, tokens and the outbox. Create with ``Store.open(url)``."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._backend = engine.dialect.name
        self._in_flight: set[asyncio.Future[Any]] = set()
        # SQLite runs one transaction at a time anyway (BEGIN IMMEDIATE); queueing them here
        # is fair and prompt, where SQLite's busy handler would poll with growing sleeps.
        self._serialize: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if self._backend == "sqlite" else contextlib.nullcontext()
        )

    @classmethod
    def open(cls, database_url: str, *, clock: Clock = utc_now) -> Store:
        """An engine for ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://…`` (lazy: no
        connection is made until the first query)."""
        url = make_url(database_url)
        backend = url.get_backend_name()
        if backend not in _DRIVERS:
            raise StoreConfigError(f"unsupported database backend {backend!r}")
        if url.get_driver_name() != _DRIVERS[backend]:
            raise StoreConfigError(f"use {backend}+{_DRIVERS[backend]}:// in the database URL")
        if backend == "sqlite":
            database = url.database or ""
            if database in ("", ":memory:") or url.query.get("mode") == "memory":
                raise StoreConfigError("an in-memory SQLite database cannot be shared; use a file")
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(url, connect_args={"timeout": 30})
            _take_over_sqlite_transactions(engine)
        else:
            engine = create_async_engine(url, pool_pre_ping=True)
        return cls(engine, clock=clock)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Wait for operations whose callers were cancelled, then close all connections."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._engine.dispose()

    def _track(self, task: asyncio.Future[Any]) -> None:
        self._in_flight.add(task)
        task.add_done_callback(_forget(self._in_flight))

    @_shielded
    async def create_tables(self) -> None:
        """Create missing tables (``metadata.create_all``; Alembic replaces this later)."""
        with _operational_errors():
            async with self._serialize, self._engine.begin() as connection:
                await connection.run_sync(metadata.create_all)

    @_shielded
    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        async with self._transaction() as session:
            await session.execute(text("SELECT 1"))

    # -- orders ---------------------------------------------------------------------------

    @_shielded
    async def create_order(self, new: NewOrder, *, idempotency_key: str) -> CreateResult:
        """Create an order and its ``order.created`` event, or return the order that
        ``idempotency_key`` already created (``replayed=True``; nothing is written)."""
        fingerprint = _fingerprint(new.canonical())
        try:
            async with self._transaction() as session:
                existing = await _order_by_key(session, idempotency_key)
                if existing is not None:
                    return _replay(existing, fingerprint)
                now = self._clock()
                day = order_day(now)
                number = format_order_number(day, await self._next_sequence(session, day))
                row = new_order_row(new, number, idempotency_key, fingerprint, now)
                session.add(row)
                await session.flush()
                order = order_from_row(row)
                event_id = str(uuid.uuid4())
                event = order_created_event(event_id, order, now)
                session.add(outbox_row(event_id, pop_topic(order.group), now, event))
        except IntegrityError as exc:
            # Lost a race for the same idempotency key: the other create committed first.
            async with self._transaction() as session:
                existing = await _order_by_key(session, idempotency_key)
            if existing is None:
                raise StoreUnavailable("the order could not be stored") from exc
            return _replay(existing, fingerprint)
        log.info(
            "order %s created: caller %s category %s group %s",
            order.number,
            mask_phone(order.caller_number),
            order.category,
            order.group,
        )
        return CreateResult(order=order, replayed=False)

    @_shielded
    async def get_order(self, number: str) -> WorkOrder:
        async with self._transaction() as session:
            row = await session.scalar(select(WorkOrderRow).where(WorkOrderRow.number == number))
        if row is None:
            raise NotFound(f"no work order {number}", field="number")
        return order_from_row(row)

    @_shielded
    async def list_orders(self, page: Page) -> list[WorkOrder]:
        """Orders newest first (by the time the call was received), optionally of one caller."""
        query = select(WorkOrderRow)
        if page.caller is not None:
            query = query.where(WorkOrderRow.caller_number == page.caller)
        query = (
            query.order_by(WorkOrderRow.received_at.desc(), WorkOrderRow.id.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        async with self._transaction() as session:
            rows = (await session.scalars(query)).all()
        return [order_from_row(row) for row in rows]

    @_shielded
    async def set_transcript(self, number: str, update_: TranscriptUpdate) -> WorkOrder:
        async with self._transaction() as session:
            row = await session.scalar(select(WorkOrderRow).where(WorkOrderRow.number == number))
            if row is None:
                raise NotFound(f"no work order {number}", field="number")
            row.description = update_.text
            row.transcript_status = update_.status
            row.updated_at = self._clock()
            await session.flush()
            order = order_from_row(row)
        log.info("order %s transcript %s", number, update_.status)
        return order

    async def _next_sequence(self, session: AsyncSession, day: str) -> int:
        insert = postgresql.insert if self._backend == "postgresql" else sqlite.insert
        statement = (
            insert(OrderCounterRow)
            .values(day=day, last_seq=1)
            .on_conflict_do_update(
                index_elements=[OrderCounterRow.day],
                set_={"last_seq": OrderCounterRow.last_seq + 1},
            )
            .returning(OrderCounterRow.last_seq)
        )
        sequence: int = (await session.execute(statement)).scalar_one()
        return sequence

    # -- calls ----------------------------------------------------------------------------

    @_shielded
    async def record_call(self, call: AnsweredCall) -> CallResult:
        """Record an answered call and its ``call.answered`` event; a repeated ``call_id``
        returns the stored call (``replayed=True``) and publishes nothing new."""
        try:
            async with self._transaction() as session:
                existing = await session.get(CallRow, call.call_id)
                if existing is not None:
                    return call_result(existing, replayed=True)
                now = self._clock()
                row = CallRow(
                    call_id=call.call_id,
                    caller_number=call.caller_number,
                    callee=call.callee,
                    group=call.group,
                    worker=call.worker,
                    answered_at=now,
                )
                session.add(row)
                await session.flush()
                event_id = str(uuid.uuid4())
                event = call_answered_event(event_id, call, now)
                session.add(outbox_row(event_id, pop_topic(call.group), now, event))
        except IntegrityError as exc:
            async with self._transaction() as session:
                existing = await session.get(CallRow, call.call_id)
            if existing is None:
                raise StoreUnavailable("the call could not be stored") from exc
            return call_result(existing, replayed=True)
        log.info("call answered: caller %s group %s", mask_phone(call.caller_number), call.group)
        return call_result(row, replayed=False)

    # -- tokens ---------------------------------------------------------------------------

    async def create_token(self, name: str, role: str, unit: str | None = None) -> str:
        """Create an API token and return it in clear; only its SHA-256 is stored."""
        token = new_token()
        await self._register_token(token, name, role, unit)
        return token

    @_shielded
    async def authenticate(self, token: str) -> Principal | None:
        digest = token_digest(token)
        async with self._transaction() as session:
            row = await session.scalar(
                select(ApiTokenRow).where(ApiTokenRow.token_sha256 == digest)
            )
        return None if row is None else Principal(name=row.name, role=row.role, unit=row.unit)

    async def ensure_token_file(self, path: str | os.PathLike[str], name: str, role: str) -> str:
        """The token kept in ``path``; created (file mode 0600) when the file is missing.

        A token found in the file but unknown to the database (e.g. a fresh database) is
        registered again under ``name``/``role``, so the file stays the source of truth.
        """
        check_role(role)
        token, created = await asyncio.to_thread(_claim_token_file, Path(path), new_token())
        if created or await self.authenticate(token) is None:
            await self._register_token(token, name, role, None)
        if created:
            log.info("created %s token %r in %s", role, name, path)
        return token

    @_shielded
    async def _register_token(self, token: str, name: str, role: str, unit: str | None) -> None:
        check_role(role)
        async with self._transaction() as session:
            session.add(
                ApiTokenRow(
                    name=name,
                    role=role,
                    unit=unit,
                    token_sha256=token_digest(token),
                    created_at=self._clock(),
                )
            )

    # -- outbox ---------------------------------------------------------------------------

    @_shielded
    async def outbox(self, *, unsent_only: bool = True, limit: int = 100) -> list[OutboxMessage]:
        """Outbox rows oldest first; by default only those not yet published."""
        query = select(OutboxRow)
        if unsent_only:
            query = query.where(OutboxRow.sent_at.is_(None))
        query = query.order_by(OutboxRow.seq).limit(limit)
        async with self._transaction() as session:
            rows = (await session.scalars(query)).all()
        return [message_from_row(row) for row in rows]

    @_shielded
    async def mark_sent(self, message_id: str) -> None:
        """Record a publish the broker acknowledged."""
        async with self._transaction() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id, OutboxRow.sent_at.is_(None))
                .values(sent_at=self._clock(), attempts=OutboxRow.attempts + 1)
            )

    @_shielded
    async def record_failed_attempt(self, message_id: str) -> None:
        async with self._transaction() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message_id)
                .values(attempts=OutboxRow.attempts + 1)
            )

    # -- plumbing -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """One session in one transaction, committed on normal exit.

        Operational database errors become ``StoreUnavailable``; ``IntegrityError`` passes
        through for the callers that resolve races with it.
        """
        with _operational_errors():
            async with self._serialize, self._sessions() as session, session.begin():
                yield session


def _forget(in_flight: set[asyncio.Future[Any]]) -> Callable[[asyncio.Future[Any]], None]:
    def done(task: asyncio.Future[Any]) -> None:
        in_flight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that was cancelled will never look at it

    return done


@contextlib.contextmanager
def _operational_errors() -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        log.warning("database error: %s", type(exc).__name__)
        raise StoreUnavailable("the database is not available") from exc


def _take_over_sqlite_transactions(engine: AsyncEngine) -> None:
    """Make every SQLite transaction ``BEGIN IMMEDIATE`` and use WAL journaling.

    The driver's own implicit BEGIN is switched off (SQLAlchemy's documented recipe).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _claim_token_file(file: Path, candidate: str) -> tuple[str, bool]:
    """Write ``candidate`` to a new 0600 ``file``, or read the token already there.

    ``O_EXCL`` makes two processes starting at once agree on one token.
    """
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return check_token_text(file.read_text(encoding="ascii").strip()), False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(candidate + "\n")
    return candidate, True


def _fingerprint(canonical: dict[str, Any]) -> str:
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


async def _order_by_key(session: AsyncSession, key: str) -> WorkOrderRow | None:
    return await session.scalar(select(WorkOrderRow).where(WorkOrderRow.idempotency_key == key))


def _replay(row: WorkOrderRow, fingerprint: str) -> CreateResult:
    if row.request_sha256 != fingerprint:
        raise Conflict(
            f"Idempotency-Key already created order {row.number} from a different request",
            field="Idempotency-Key",
        )
    return CreateResult(order=order_from_row(row), replayed=True)


__all__ = ["Clock", "Store", "utc_now"]
