"""Fixtures: a store on SQLite (temp file) and on the real PostgreSQL, and a fake clock."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from workorders.store import Store
from workorders.store.tables import metadata

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


class FakeClock:
    """A settable UTC clock for the store."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own on the local PostgreSQL for this test session, dropped after."""
    name = f"wo_test_{secrets.token_hex(6)}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def no_asyncio_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test after which asyncio reported an error (e.g. "Future exception was never
    retrieved", "Task was destroyed but it is pending"): those are not Python warnings.
    (Not autouse: the ``gc.collect()`` costs ~0.1 s a test.)"""
    yield
    gc.collect()
    errors = [
        record.getMessage()
        for record in caplog.get_records("call") + caplog.get_records("teardown")
        if record.name == "asyncio" and record.levelno >= logging.ERROR
    ]
    assert errors == []


@pytest.fixture
def clock() -> FakeClock:
    # 2025-03-14 10:00 in Shanghai.
    return FakeClock(datetime(2025, 3, 14, 2, 0, tzinfo=UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'workorders.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(database_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    """An empty store (tables dropped, then migrated afresh) on each backend."""
    async with Store.open(database_url, clock=clock) as opened:
        async with opened.engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await opened.migrate()
        yield opened


@pytest.fixture
async def sqlite_store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Store]:
    """A store on SQLite only, for tests about the API and the publisher, not the database."""
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'api.db'}", clock=clock) as opened:
        await opened.migrate()
        yield opened
