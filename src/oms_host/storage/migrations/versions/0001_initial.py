"""Initial schema: customers, orders with revisions, lines and events, users and API tokens, stock.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from oms_host.storage.schema import Exact

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("segment", sa.String(40), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("source_system", sa.String(64)),
        sa.Column("external_ref", sa.String(128)),
        sa.Column("created_at", _TS, nullable=False, index=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("subtotal", Exact()),
        sa.Column("tax", Exact()),
        sa.Column("total", Exact()),
        sa.Column("requires_approval", sa.Boolean, nullable=False),
        sa.Column("on_hold", sa.Boolean, nullable=False),
        sa.Column("backordered", sa.Boolean, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.UniqueConstraint("source_system", "external_ref", name="uq_orders_import_key"),
    )
    op.create_table(
        "order_revisions",
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("line_id", sa.String(40), primary_key=True),
        sa.Column("sku", sa.String(80), nullable=False, index=True),
        sa.Column("quantity", Exact(), nullable=False),
        sa.Column("net", Exact()),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("promised_date", sa.Date),
        sa.Column("ship_from", sa.String(64)),
    )
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=False, index=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "order", "value": 0}])
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
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
        sa.Column("at", _TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("reservations", "stock", "api_tokens", "users", "counters", "order_events", "order_lines",
                  "order_revisions", "orders", "customers"):
        op.drop_table(table)
