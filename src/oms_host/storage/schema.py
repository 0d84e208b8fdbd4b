"""The host app's tables, as SQLAlchemy Core metadata.

An order is stored whole as JSON (its canonical pydantic form) beside the
columns the desk searches and reports on; lines are copied to ``order_lines``
for reports by product. The migrations in :mod:`oms_host.storage.migrations`
create exactly this schema (a test compares the two).

Amounts and quantities use :class:`Exact`: ``NUMERIC`` on PostgreSQL, and on
SQLite (which would store a Decimal as a binary float) a decimal string.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["Exact", "metadata"]


class Exact(sa.types.TypeDecorator[Decimal]):
    """An exact decimal on every database: NUMERIC(20, 6), or a string on SQLite."""

    impl = sa.Numeric(20, 6)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(20, 6, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("a float is not an exact amount")
        value = Decimal(value)
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)) if not isinstance(value, Decimal) else value


metadata = sa.MetaData()
_TS = sa.DateTime(timezone=True)

customers = sa.Table(
    "customers", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, index=True),
    sa.Column("segment", sa.String(40), nullable=False),
    sa.Column("country", sa.String(2)),
    sa.Column("data", sa.JSON, nullable=False),
)

orders = sa.Table(
    "orders", metadata,
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

order_revisions = sa.Table(
    "order_revisions", metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)

order_lines = sa.Table(
    "order_lines", metadata,
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("line_id", sa.String(40), primary_key=True),
    sa.Column("sku", sa.String(80), nullable=False, index=True),
    sa.Column("quantity", Exact(), nullable=False),
    sa.Column("net", Exact()),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("promised_date", sa.Date),
    sa.Column("ship_from", sa.String(64)),
)

order_events = sa.Table(
    "order_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

counters = sa.Table(
    "counters", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
)

# -- promising's reservation ledger (migration 0003; replaces the simple stock tables of 0001) --------------
supply = sa.Table(
    "supply", metadata,
    sa.Column("item", sa.String(80), primary_key=True),
    sa.Column("location", sa.String(80), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("total_supply", sa.Integer, nullable=False),
    sa.Column("position", sa.JSON, nullable=False),
)

promise_reservations = sa.Table(
    "promise_reservations", metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("reference", sa.String(100), nullable=False),
    sa.Column("planned", sa.JSON, nullable=False),
    sa.Column("created_at", _TS),  # migration 0004: finds reservations orphaned by a crash
)

supply_commitments = sa.Table(
    "supply_commitments", metadata,
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
    sa.Index("ix_supply_commitments_key", "item", "location"),
)

# -- fulfilment (migration 0005) -------------------------------------------------------------------------
fulfilment_processes = sa.Table(
    "fulfilment_processes", metadata,
    sa.Column("order_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("stage", sa.String(32), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("has_alerts", sa.Boolean, nullable=False, server_default=sa.false()),  # migration 0006
)

fulfilment_records = sa.Table(
    "fulfilment_records", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("record_id", sa.String(80), nullable=False),
    sa.Column("order_id", sa.String(64), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("kind", "record_id", name="uq_fulfilment_records_kind_id"),
)

audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(64), index=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)
