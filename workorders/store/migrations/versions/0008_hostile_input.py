"""Issue #13: outbox quarantine (a row the broker refuses no longer holds the others back) and
persisted console login throttling (per address, per login, per login and address).

Revision ID: 0008
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workorders.store.tables import UtcDateTime

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("failure", sa.String(500), nullable=True))
        batch.add_column(sa.Column("quarantined_at", UtcDateTime(), nullable=True))
    op.create_index("ix_outbox_quarantined_at", "outbox", ["quarantined_at"])
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(8), primary_key=True),
        sa.Column("login", sa.String(64), primary_key=True),
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", UtcDateTime(), nullable=False),
        sa.Column("last_failure_at", UtcDateTime(), nullable=False),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_index("ix_outbox_quarantined_at", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("quarantined_at")
        batch.drop_column("failure")
