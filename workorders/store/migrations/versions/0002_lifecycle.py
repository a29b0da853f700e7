"""Issue #4: lifecycle, ledger, 督办, audit log, caller identity, idempotency of actions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workorders.store.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("lifecycle", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("unit", sa.String(64), nullable=True))
        batch.add_column(sa.Column("region", sa.String(200), nullable=True))
        batch.add_column(sa.Column("about_unit", sa.String(64), nullable=True))
        batch.add_column(sa.Column("next_check_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("repeat_of", sa.String(32), nullable=True))
        batch.add_column(sa.Column("caller_name", sa.String(100), nullable=True))
        batch.add_column(sa.Column("callback_number", sa.String(64), nullable=True))
        batch.add_column(sa.Column("address", sa.String(500), nullable=True))
        batch.add_column(
            sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_work_orders_unit", ["unit"])
        batch.create_index("ix_work_orders_next_check_at", ["next_check_at"])
    op.create_table(
        "ledger",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("order_number", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(64), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_ledger_order_number", "ledger", ["order_number"])
    op.create_table(
        "supervisions",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("order_number", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("deadline", sa.String(16), nullable=True),
        sa.Column("due", UtcDateTime(), nullable=True),
        sa.Column("unit", sa.String(64), nullable=True),
    )
    op.create_index("ix_supervisions_order_number", "supervisions", ["order_number"])
    op.create_table(
        "audit_log",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("order_number", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("ix_audit_log_order_number", "audit_log", ["order_number"])
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("order_number", sa.String(32), nullable=False),
        sa.Column("ledger_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("idempotency_keys", "audit_log", "supervisions", "ledger"):
        op.drop_table(table)
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_index("ix_work_orders_next_check_at")
        batch.drop_index("ix_work_orders_unit")
        for column in (
            "confidential",
            "address",
            "callback_number",
            "caller_name",
            "repeat_of",
            "next_check_at",
            "about_unit",
            "region",
            "unit",
            "lifecycle",
        ):
            batch.drop_column(column)  # fmt: skip
