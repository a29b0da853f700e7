"""People in the store: API tokens (with their role and unit), console users (with theirs),
their browser sessions and the console's login limits."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, or_, select

from workorders.console.auth import (
    THROTTLE_RULES,
    FailureCount,
    ThrottleRule,
    after_failure,
    locked_until,
    throttle_key,
)
from workorders.store.base import Part, shielded
from workorders.store.tables import (
    ApiTokenRow,
    ConsoleSessionRow,
    ConsoleUserRow,
    LoginThrottleRow,
)
from workorders.tokens import Principal, check_role, check_token_text, new_token, token_digest

log = logging.getLogger("workorders.store")


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


class PeopleAndUnitsStore(Part):
    """Who may use the service: API tokens and console users, each with a role and
    (for unit roles) the unit they act for; console sessions and login limits."""

    # -- API tokens ---------------------------------------------------------------------------

    async def create_token(self, name: str, role: str, unit: str | None = None) -> str:
        """Create an API token and return it in clear; only its SHA-256 is stored."""
        token = new_token()
        await self._register_token(token, name, role, unit)
        return token

    @shielded
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

    @shielded
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

    # -- console users and sessions --------------------------------------------------------

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


def _count(row: LoginThrottleRow) -> FailureCount:
    return FailureCount(row.failures, row.first_failure_at, row.last_failure_at, row.locked_until)


def _user(row: ConsoleUserRow) -> ConsoleUser:
    return ConsoleUser(row.login, row.name, row.role, row.unit, row.password_hash)


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
