"""Issue #6: agents' presence and the calls in the ACD queues.

Revision ID: 0004
Revises: 0002 (another branch adds 0003; the lead rechains at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workorders.store.tables import UtcDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_presence",
        sa.Column("login", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=True),
        sa.Column("idle_seconds", sa.Float(), nullable=False),
        sa.Column("call_id", sa.String(255), nullable=True),
    )
    op.create_table(
        "queued_calls",
        sa.Column("call_id", sa.String(255), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("group", sa.String(64), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("enqueued_at", UtcDateTime(), nullable=False),
        sa.Column("group_since", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.Column("offer_deadline", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("detail", sa.String(32), nullable=False),
        sa.Column("order_number", sa.String(32), nullable=True),
        sa.Column("menu_path", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("queued_calls")
    op.drop_table("agent_presence")
