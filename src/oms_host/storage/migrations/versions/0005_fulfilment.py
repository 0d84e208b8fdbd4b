"""Fulfilment: process instances, records by kind (holds, approvals, payments, returns, replenishments), audit trail.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulfilment_processes",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False, index=True),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "fulfilment_records",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("record_id", sa.String(80), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False, index=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("kind", "record_id", name="uq_fulfilment_records_kind_id"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("fulfilment_records")
    op.drop_table("fulfilment_processes")
