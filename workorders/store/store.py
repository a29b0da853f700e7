"""The store as the service holds it: one ``Database`` and a part per aggregate.

``Store`` only holds the parts; each handler, command or task takes the part it needs
(``store.orders``, ``store.people`` …). Everything that must commit together (an order and
its ``order.created`` outbox row, a lifecycle step and its alert) is inside one part's
method, in one transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from routing.clock import Clock, system_clock
from workorders.lifecycle.machine import Rules
from workorders.store.acd import AcdStore
from workorders.store.audit import AuditLog
from workorders.store.base import Database
from workorders.store.orders import OrderStore
from workorders.store.outbox import OutboxStore
from workorders.store.people import PeopleAndUnitsStore
from workorders.store.reports import ReportStore
from workorders.store.supervision import SupervisionStore


class Store:
    """The parts of the store over one database. Create with ``Store.open(url)``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.orders = OrderStore(db)
        self.people = PeopleAndUnitsStore(db)
        self.supervision = SupervisionStore(db)
        self.audit = AuditLog(db)
        self.reports = ReportStore(db)
        self.outbox = OutboxStore(db)
        self.acd = AcdStore(db)

    @classmethod
    def open(
        cls, database_url: str, *, clock: Clock = system_clock, rules: Rules | None = None
    ) -> Self:
        """A store over ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://…`` (lazy: no
        connection is made until the first query)."""
        return cls(Database.open(database_url, clock=clock, rules=rules))

    @property
    def engine(self) -> AsyncEngine:
        return self.db.engine

    @property
    def rules(self) -> Rules:
        return self.db.rules

    @property
    def clock(self) -> Clock:
        return self.db.clock

    async def migrate(self) -> None:
        await self.db.migrate()

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


__all__ = ["Store"]
