"""Plumbing of the store: engine, sessions, transactions, migrations, shielded operations.

SQLite (aiosqlite) is the default for one node; PostgreSQL (asyncpg) when several nodes share
a database. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` and, within one
process, transactions queue on an ``asyncio.Lock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from routing.clock import Clock, system_clock
from workorders.errors import StoreConfigError, StoreUnavailable
from workorders.lifecycle.machine import Rules
from workorders.rules import default_rules

log = logging.getLogger("workorders.store")

_P = ParamSpec("_P")
_T = TypeVar("_T")
_S = TypeVar("_S", bound="Tracks")

#: The async driver each supported backend needs.
_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The revision equal to the schema ``create_all`` made before migrations existed.
BASELINE_REVISION = "0001"


def shielded(
    operation: Callable[Concatenate[_S, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _T]]:
    """Run a store operation to its end even if the caller is cancelled.

    A transaction abandoned half-way by a cancelled task can keep its connection (and on
    SQLite the database write lock) busy until that connection is garbage-collected. The
    operation therefore runs in a task of its own; a cancelled caller stops waiting at once
    while the transaction still commits or rolls back. ``Database.close`` waits for such tasks.
    """

    @functools.wraps(operation)
    async def run(part: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        task = asyncio.ensure_future(operation(part, *args, **kwargs))
        part._track(task)
        return await asyncio.shield(task)

    return run


class Tracks(Protocol):
    """What ``shielded`` needs of the object whose operation it runs."""

    def _track(self, task: asyncio.Future[Any]) -> None: ...


class Database:
    """The engine, its session factory, the clock and the rules every store part shares.

    One ``Database`` per process; the parts (``workorders.store.Store`` holds them) each open
    their transactions here, so the SQLite queue and the tracking of shielded operations are
    shared by all of them.
    """

    def __init__(
        self, engine: AsyncEngine, *, clock: Clock = system_clock, rules: Rules | None = None
    ) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._rules = rules or default_rules()
        self._backend = engine.dialect.name
        self._in_flight: set[asyncio.Future[Any]] = set()
        # SQLite runs one transaction at a time anyway (BEGIN IMMEDIATE); queueing them here
        # is fair and prompt, where SQLite's busy handler would poll with growing sleeps.
        self._serialize: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if self._backend == "sqlite" else contextlib.nullcontext()
        )

    @classmethod
    def open(
        cls, database_url: str, *, clock: Clock = system_clock, rules: Rules | None = None
    ) -> Self:
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
        return cls(engine, clock=clock, rules=rules)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def rules(self) -> Rules:
        return self._rules

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def backend(self) -> str:
        """The dialect's name: ``sqlite`` or ``postgresql``."""
        return self._backend

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
        self.track(task)

    def track(self, task: asyncio.Future[Any]) -> None:
        """Keep ``task`` (a shielded operation) until it ends; ``close`` waits for it."""
        self._in_flight.add(task)
        task.add_done_callback(_forget(self._in_flight))

    @shielded
    async def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic ``upgrade head``).

        A database made by ``create_all`` before migrations existed is stamped at the
        baseline first. On PostgreSQL an advisory lock keeps starting nodes from migrating
        at the same time.
        """
        with _operational_errors():
            async with self._serialize, self._engine.begin() as connection:
                if self._backend == "postgresql":
                    await connection.execute(text("SELECT pg_advisory_xact_lock(12320)"))
                await connection.run_sync(_upgrade)

    @shielded
    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        async with self.transaction() as session:
            await session.execute(text("SELECT 1"))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session in one transaction, committed on normal exit.

        Operational database errors become ``StoreUnavailable``; ``IntegrityError`` passes
        through for the callers that resolve races with it.
        """
        with _operational_errors():
            async with self._serialize, self._sessions() as session, session.begin():
                yield session


class Part:
    """A store part: the operations on one aggregate, in transactions of the shared
    ``Database``. Its methods read ``self._clock()``, ``self._rules`` and ``self._backend``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._clock = db.clock
        self._rules = db.rules
        self._backend = db.backend

    @property
    def clock(self) -> Clock:
        """The store's clock (the one its timestamps come from)."""
        return self._clock

    def _transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        return self._db.transaction()

    def _track(self, task: asyncio.Future[Any]) -> None:
        self._db.track(task)


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "work_orders" in tables and "alembic_version" not in tables:
        command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")


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


def fingerprint(canonical: dict[str, Any]) -> str:
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
