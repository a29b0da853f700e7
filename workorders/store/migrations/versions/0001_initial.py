"""The skeleton's schema (issue #2): orders, day counters, tokens, outbox, calls.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workorders.store.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(255), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("menu_path", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("transcript_status", sa.String(16), nullable=False),
        sa.Column("recording", sa.String(255), nullable=True),
        sa.Column("flow_version", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("group", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_work_orders_call_id", "work_orders", ["call_id"])
    op.create_index(
        "ix_work_orders_caller_received", "work_orders", ["caller_number", "received_at"]
    )
    op.create_table(
        "order_counters",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(64), nullable=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "seq"])
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(255), primary_key=True),
        sa.Column("caller_number", sa.String(64), nullable=False),
        sa.Column("callee", sa.String(64), nullable=False),
        sa.Column("group", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(100), nullable=True),
        sa.Column("answered_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("calls", "outbox", "api_tokens", "order_counters", "work_orders"):
        op.drop_table(table)
