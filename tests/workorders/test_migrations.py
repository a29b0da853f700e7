"""Alembic: the migrated schema equals the models' metadata, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from workorders.store import Store
from workorders.store.base import BASELINE_REVISION, alembic_config
from workorders.store.tables import metadata

pytestmark = pytest.mark.integration


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_equals_the_models(store: Store) -> None:
    async with store.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == "0008"  # … 0005_console, 0007_invalid_calls, 0008_hostile_input


async def test_migrating_twice_changes_nothing(store: Store) -> None:
    await store.migrate()
    async with store.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_a_pre_migration_database_is_stamped_and_upgraded(store: Store) -> None:
    """A database ``create_all`` made for the skeleton (no alembic_version) is adopted."""

    def skeleton(sync: Connection) -> None:
        metadata.drop_all(sync)
        sync.execute(text("DROP TABLE alembic_version"))
        command.upgrade(alembic_config(sync), BASELINE_REVISION)  # the skeleton's tables
        sync.execute(text("DROP TABLE alembic_version"))  # ... as create_all left them

    async with store.engine.begin() as connection:
        await connection.run_sync(skeleton)
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert "ledger" not in tables and "alembic_version" not in tables
    await store.migrate()
    async with store.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
