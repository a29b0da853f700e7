"""SQLAlchemy table definitions of the work-order store (SQLite and PostgreSQL).

The schema is created and changed by the Alembic migrations in ``workorders/store/
migrations/`` (``Store.migrate`` runs ``upgrade head``); a test checks that the migrated
schema equals this metadata on SQLite and PostgreSQL, so a change here needs a migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an "INTEGER PRIMARY KEY"; PostgreSQL gets a bigint.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware.

    SQLite has no timezone type, so values are stored there as naive UTC; PostgreSQL gets
    ``timestamptz``. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    __table_args__ = (Index("ix_work_orders_caller_received", "caller_number", "received_at"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # SHA-256 of the validated create request: a replay with another body is a conflict.
    request_sha256: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    caller_number: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str | None] = mapped_column(String(255), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    category: Mapped[str] = mapped_column(String(16))
    menu_path: Mapped[list[str]] = mapped_column(JSON)
    flags: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    transcript_status: Mapped[str] = mapped_column(String(16))
    recording: Mapped[str | None] = mapped_column(String(255))
    flow_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    group: Mapped[str] = mapped_column("group", String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The lifecycle (workorders.lifecycle.Lifecycle.to_json); ``status`` is its state, and
    # the columns below copy what queries filter on.
    lifecycle: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    unit: Mapped[str | None] = mapped_column(String(64), index=True)
    region: Mapped[str | None] = mapped_column(String(200))
    about_unit: Mapped[str | None] = mapped_column(String(64))
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    repeat_of: Mapped[str | None] = mapped_column(String(32))
    # The caller's identity beyond the calling number (masked or hidden for unit roles).
    caller_name: Mapped[str | None] = mapped_column(String(100))
    callback_number: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(500))
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # The menu's priority, and the IVR's speech classification (a suggestion with evidence).
    priority: Mapped[str | None] = mapped_column(String(16))
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LedgerRow(Base):
    """全流程台账: one row per accepted lifecycle step. Append-only (never updated)."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class SupervisionRow(Base):
    """督办 and warnings: yellow at 75 % of a limit, red when overdue or on 不满意."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    level: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    deadline: Mapped[str | None] = mapped_column(String(16))
    due: Mapped[datetime | None] = mapped_column(UtcDateTime())
    unit: Mapped[str | None] = mapped_column(String(64))


class AuditRow(Base):
    """Every read of an order with the caller's identity unmasked: who, when, which, why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    order_number: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(String(200))


class IdempotencyRow(Base):
    """Idempotency keys of lifecycle actions, per token holder, with what they produced."""

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(32))
    ledger_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OrderCounterRow(Base):
    """Last sequence number handed out per day (``YYYYMMDD`` in Asia/Shanghai)."""

    __tablename__ = "order_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxRow(Base):
    """Events waiting for the publisher. ``seq`` orders them (timestamps can tie); ``id`` is
    the event's uuid, also inside the payload, for consumers to dedupe on. A row the broker
    refused too often is quarantined: kept with the reason, no longer tried, listed for
    operators (``GET /api/v1/outbox/quarantine``)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "seq"),)

    seq: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str | None] = mapped_column(String(500))
    quarantined_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class CallRow(Base):
    """Calls the IVR answered (one row per SIP Call-ID), for the on-answer screen-pop."""

    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    caller_number: Mapped[str] = mapped_column(String(64))
    callee: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column("group", String(64))
    worker: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgentPresenceRow(Base):
    """Presence of one agent of ``config/agents.yaml`` (``routing.acd.AgentPresence``)."""

    __tablename__ = "agent_presence"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    idle_seconds: Mapped[float] = mapped_column(Float)
    call_id: Mapped[str | None] = mapped_column(String(255))


class QueuedCallRow(Base):
    """A call in (or recently out of) an ACD queue (``routing.acd.QueuedCall``)."""

    __tablename__ = "queued_calls"

    call_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    caller: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column("group", String(64))
    groups: Mapped[list[str]] = mapped_column(JSON)
    skills: Mapped[list[str]] = mapped_column(JSON)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(64))
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    group_since: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    offer_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    detail: Mapped[str] = mapped_column(String(32))
    order_number: Mapped[str | None] = mapped_column(String(32))
    menu_path: Mapped[list[str]] = mapped_column(JSON)


class ConsoleUserRow(Base):
    """A person who logs in to the agent console or the wallboard (password, not a token).

    ``login`` matches the agent's login in ``config/agents.yaml``; ``password_hash`` is the
    ``scrypt$…`` text of ``workorders.console.auth``.
    """

    __tablename__ = "console_users"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ConsoleSessionRow(Base):
    """A logged-in browser: the SHA-256 of its session cookie, its CSRF token, its expiry."""

    __tablename__ = "console_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class LoginThrottleRow(Base):
    """Failed console logins, counted per source address, per login, and per login from one
    address (``scope``: address, login, pair); ``workorders.console.auth`` decides the locks.
    Kept in the database so that a restart forgets nothing and every node sees the same."""

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


metadata = Base.metadata
