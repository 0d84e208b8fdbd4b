"""Promising's reservation ledger: versioned supply per item and location, reservations, commitments.

Replaces the simple ``stock`` / ``reservations`` tables of 0001, which served
before the promising package had its ``ReservationStore``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms_host.storage.schema import Exact

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("reservations")
    op.drop_table("stock")
    op.create_table(
        "supply",
        sa.Column("item", sa.String(80), primary_key=True),
        sa.Column("location", sa.String(80), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("total_supply", sa.Integer, nullable=False),
        sa.Column("position", sa.JSON, nullable=False),
    )
    op.create_table(
        "promise_reservations",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("planned", sa.JSON, nullable=False),
    )
    op.create_table(
        "supply_commitments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reservation_id", sa.String(100),
                  sa.ForeignKey("promise_reservations.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("line_id", sa.String(40), nullable=False),
        sa.Column("item", sa.String(80), nullable=False),
        sa.Column("location", sa.String(80), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("ship_on", sa.Date, nullable=False),
        sa.Column("demand_class", sa.String(80), nullable=False),
        sa.Column("pool", sa.String(80), nullable=False),
        sa.Column("supply_by", sa.Date),
    )
    op.create_index("ix_supply_commitments_key", "supply_commitments", ["item", "location"])


def downgrade() -> None:
    op.drop_index("ix_supply_commitments_key", table_name="supply_commitments")
    op.drop_table("supply_commitments")
    op.drop_table("promise_reservations")
    op.drop_table("supply")
    op.create_table(
        "stock",
        sa.Column("sku", sa.String(80), primary_key=True),
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("on_hand", Exact(), nullable=False),
        sa.Column("reserved", Exact(), nullable=False),
        sa.Column("lead_days", sa.Integer, nullable=False),
    )
    op.create_table(
        "reservations",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("line_id", sa.String(40), primary_key=True),
        sa.Column("sku", sa.String(80), nullable=False),
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("quantity", Exact(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
