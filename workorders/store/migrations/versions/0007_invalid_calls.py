"""Issue #13: 无效来电 — calls the IVR judged invalid (no order), with why, per caller.

Revision ID: 0007
Revises: 0005 (the lead re-chains it after 0006 when branches merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workorders.store.tables import UtcDateTime

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("invalid_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("invalid_at", UtcDateTime(), nullable=True))
    op.create_index("ix_calls_caller_answered", "calls", ["caller_number", "answered_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_caller_answered", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("invalid_at")
        batch.drop_column("invalid_reason")
