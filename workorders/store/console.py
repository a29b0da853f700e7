"""Console users and browser sessions, and the wallboard's report queries, in the store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from workorders.console.auth import (
    THROTTLE_RULES,
    FailureCount,
    ThrottleRule,
    after_failure,
    locked_until,
    throttle_key,
)
from workorders.due import DueInput
from workorders.hotspots import HotspotInput
from workorders.lifecycle.model import Lifecycle, State
from workorders.store.base import StoreCore, shielded
from workorders.store.tables import (
    ConsoleSessionRow,
    ConsoleUserRow,
    LoginThrottleRow,
    WorkOrderRow,
)
from workorders.tokens import Principal, check_role

log = logging.getLogger("workorders.store")

#: Open states whose deadlines the wallboard shows (replied/closed orders run none).
_OPEN_STATES = tuple(s.value for s in State if s not in (State.REPLIED, State.CLOSED))


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    login: str
    name: str
    role: str
    unit: str | None
    password_hash: str

    @property
    def principal(self) -> Principal:
        return Principal(name=self.login, role=self.role, unit=self.unit)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    user: ConsoleUser
    csrf_token: str
    expires_at: datetime


class ConsoleStore(StoreCore):
    @shielded
    async def set_console_user(
        self,
        login: str,
        password_hash: str,
        *,
        name: str | None = None,
        role: str | None = None,
        unit: str | None = None,
    ) -> bool:
        """Create the user or change its password (and name/role/unit when given); True if
        created. A changed password ends the user's sessions."""
        if role is not None:
            check_role(role)
        now = self._clock()
        async with self._transaction() as session:
            row = await session.get(ConsoleUserRow, login)
            created = row is None
            if row is None:
                row = ConsoleUserRow(
                    login=login,
                    name=name or login,
                    role=role or "call_taker",
                    unit=unit,
                    password_hash=password_hash,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
            else:
                row.password_hash = password_hash
                row.updated_at = now
                if name is not None:
                    row.name = name
                if role is not None:
                    row.role = role
                if unit is not None:
                    row.unit = unit
                await session.execute(
                    delete(ConsoleSessionRow).where(ConsoleSessionRow.login == login)
                )
        log.info("console user %s %s", login, "created" if created else "updated")
        return created

    @shielded
    async def console_user(self, login: str) -> ConsoleUser | None:
        async with self._transaction() as session:
            row = await session.get(ConsoleUserRow, login)
        return None if row is None else _user(row)

    @shielded
    async def start_console_session(
        self, login: str, token_sha256: str, csrf_token: str, lifetime: timedelta
    ) -> datetime:
        """Store a new session of ``login``; its expiry. Expired sessions are cleared here."""
        now = self._clock()
        async with self._transaction() as session:
            await session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now)
            )
            session.add(
                ConsoleSessionRow(
                    token_sha256=token_sha256,
                    login=login,
                    csrf_token=csrf_token,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return now + lifetime

    @shielded
    async def console_session(self, token_sha256: str) -> ConsoleSession | None:
        """The live session with this digest and its user, or ``None`` (unknown or expired)."""
        async with self._transaction() as session:
            found = (
                await session.execute(
                    select(ConsoleSessionRow, ConsoleUserRow)
                    .join(ConsoleUserRow, ConsoleUserRow.login == ConsoleSessionRow.login)
                    .where(ConsoleSessionRow.token_sha256 == token_sha256)
                )
            ).first()
        if found is None:
            return None
        row, user = found
        if row.expires_at <= self._clock():
            return None
        return ConsoleSession(_user(user), row.csrf_token, row.expires_at)

    @shielded
    async def end_console_session(self, token_sha256: str) -> None:
        async with self._transaction() as session:
            await session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.token_sha256 == token_sha256)
            )

    # -- login limits (workorders.console.auth.THROTTLE_RULES) ----------------------------

    @shielded
    async def login_locked_until(self, login: str, address: str) -> datetime | None:
        """When the lock on logging in as ``login`` from ``address`` ends (None: not locked)."""
        keys = [throttle_key(rule.scope, login, address) for rule in THROTTLE_RULES]
        async with self._transaction() as session:
            rows = [await session.get(LoginThrottleRow, key) for key in keys]
        return locked_until((_count(row) for row in rows if row is not None), self._clock())

    @shielded
    async def record_login_failure(
        self, login: str, address: str, rules: tuple[ThrottleRule, ...] = THROTTLE_RULES
    ) -> datetime | None:
        """Count a failed login in every scope; when the lock it starts (if any) ends."""
        now = self._clock()
        counts = []
        async with self._transaction() as session:
            # Keys idle for a day are forgotten, so sprayed logins do not pile up.
            await session.execute(
                delete(LoginThrottleRow).where(
                    LoginThrottleRow.last_failure_at < now - timedelta(days=1),
                    or_(
                        LoginThrottleRow.locked_until.is_(None),
                        LoginThrottleRow.locked_until < now,
                    ),
                )
            )
            for rule in rules:
                scope, key_login, key_address = throttle_key(rule.scope, login, address)
                row = await session.get(LoginThrottleRow, (scope, key_login, key_address))
                count = after_failure(rule, None if row is None else _count(row), now)
                counts.append(count)
                if row is None:
                    row = LoginThrottleRow(scope=scope, login=key_login, address=key_address)
                    session.add(row)
                row.failures = count.failures
                row.first_failure_at = count.first_failure_at
                row.last_failure_at = count.last_failure_at
                row.locked_until = count.locked_until
        until = locked_until(counts, now)
        if until is not None:
            log.warning("console login locked until %s (failures from one source)", until)
        return until

    @shielded
    async def clear_login_failures(self, login: str, address: str) -> None:
        """A successful login forgets the failures of its login from its address (not those
        from elsewhere, nor its address's with other logins)."""
        scope, key_login, key_address = throttle_key("pair", login, address)
        async with self._transaction() as session:
            await session.execute(
                delete(LoginThrottleRow).where(
                    LoginThrottleRow.scope == scope,
                    LoginThrottleRow.login == key_login,
                    LoginThrottleRow.address == key_address,
                )
            )

    @shielded
    async def unlock_login(self, login: str | None = None, address: str | None = None) -> int:
        """An admin lifts the limits on ``login`` and/or ``address``; how many keys were cleared."""
        conditions = []
        if login is not None:
            conditions.append(LoginThrottleRow.login == login)
        if address is not None:
            conditions.append(LoginThrottleRow.address == address)
        if not conditions:
            return 0
        async with self._transaction() as session:
            rows = (await session.scalars(select(LoginThrottleRow).where(or_(*conditions)))).all()
            for row in rows:
                await session.delete(row)
        log.warning("console login limits lifted: %d keys", len(rows))
        return len(rows)

    # -- wallboard reports ----------------------------------------------------------------

    @shielded
    async def hotspot_inputs(
        self, *, start: datetime, units: frozenset[str] | None = None
    ) -> list[HotspotInput]:
        """Orders received since ``start`` (domain and region as classified)."""
        query = select(WorkOrderRow.received_at, WorkOrderRow.lifecycle, WorkOrderRow.region)
        query = query.where(WorkOrderRow.received_at >= start)
        if units is not None:
            query = query.where(WorkOrderRow.unit.in_(sorted(units)))
        async with self._transaction() as session:
            rows = (await session.execute(query)).all()
        return [
            HotspotInput(received, (life or {}).get("domain"), region)
            for received, life, region in rows
        ]

    @shielded
    async def due_inputs(
        self, *, units: frozenset[str] | None = None, limit: int = 2000
    ) -> list[DueInput]:
        """Open orders, oldest first (at most ``limit``). Not by ``next_check_at``: an order
        whose every deadline is already overdue has none."""
        query = select(WorkOrderRow.number, WorkOrderRow.lifecycle, WorkOrderRow.unit).where(
            WorkOrderRow.status.in_(_OPEN_STATES)
        )
        if units is not None:
            query = query.where(WorkOrderRow.unit.in_(sorted(units)))
        query = query.order_by(WorkOrderRow.received_at, WorkOrderRow.id).limit(limit)
        async with self._transaction() as session:
            rows = (await session.execute(query)).all()
        return [
            DueInput(number, Lifecycle.from_json(life), unit)
            for number, life, unit in rows
            if life is not None
        ]


def _count(row: LoginThrottleRow) -> FailureCount:
    return FailureCount(row.failures, row.first_failure_at, row.last_failure_at, row.locked_until)


def _user(row: ConsoleUserRow) -> ConsoleUser:
    return ConsoleUser(row.login, row.name, row.role, row.unit, row.password_hash)
