"""When each reservation was made, so reservations orphaned by a crash can be found and released.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("promise_reservations", sa.Column("created_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("promise_reservations") as batch:
        batch.drop_column("created_at")
