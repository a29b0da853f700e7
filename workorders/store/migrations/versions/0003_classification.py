"""Issue #5: the menu's priority and the IVR's speech classification on orders.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("priority", sa.String(16), nullable=True))
        batch.add_column(sa.Column("classification", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("classification")
        batch.drop_column("priority")
