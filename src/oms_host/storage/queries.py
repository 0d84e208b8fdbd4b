"""Read models for the desk: order lists, reports and the exceptions dashboard, straight from SQL.

These read the indexed columns and ``order_lines`` only, never decode whole
records, so the list and the reports stay fast with many orders. Sums of
amounts are exact Decimals: PostgreSQL sums NUMERIC exactly; SQLite keeps
amounts as decimal strings and its SUM would add them as binary floats, so
there the rows are summed in Python with Decimal (:func:`_sums`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from babel.numbers import get_currency_precision

from .database import Database
from .schema import customers, fulfilment_processes, order_lines, orders

__all__ = ["Dimension", "OrderFilter", "OrderSummary", "ReportRow", "exceptions", "list_orders", "report"]


class Dimension(StrEnum):
    PRODUCTS = "products"
    CATEGORIES = "categories"
    CUSTOMERS = "customers"
    COUNTRIES = "countries"
    CHANNELS = "channels"
    DAYS = "days"


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    customer_id: str | None = None
    channel: str | None = None
    text: str | None = None          # order id, external reference or customer name contains
    flag: str | None = None          # hold | approval | backorder | jeopardy
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class OrderSummary:
    order_id: str
    version: int
    status: str
    customer_id: str
    customer_name: str | None
    channel: str
    currency: str
    country: str | None
    created_at: dt.datetime
    total: Decimal | None
    flags: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ReportRow:
    key: str
    label: str
    revenue: Decimal
    count: int


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _day_end(day: dt.date) -> dt.datetime:
    """The start of the day after ``day`` (the last day of the calendar has no day after: its last instant)."""
    if day == dt.date.max:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return _day_start(day + dt.timedelta(1))


def _quantize(value: Any, currency: str) -> Decimal:
    amount = Decimal(str(value or 0))
    return amount.quantize(Decimal(1).scaleb(-get_currency_precision(currency)))


def list_orders(db: Database, where: OrderFilter) -> tuple[list[OrderSummary], int]:
    """One page of order summaries (newest first) and how many orders match in all."""
    query = sa.select(orders.c.order_id, orders.c.version, orders.c.status, orders.c.customer_id,
                      customers.c.name, orders.c.channel, orders.c.currency, orders.c.country,
                      orders.c.created_at, orders.c.total, orders.c.on_hold, orders.c.requires_approval,
                      orders.c.backordered).select_from(
        orders.outerjoin(customers, customers.c.id == orders.c.customer_id))
    conditions = []
    if where.status:
        conditions.append(orders.c.status == where.status)
    if where.customer_id:
        conditions.append(orders.c.customer_id == where.customer_id)
    if where.channel:
        conditions.append(orders.c.channel == where.channel)
    if where.text:
        pattern = f"%{where.text.lower()}%"
        conditions.append(sa.or_(sa.func.lower(orders.c.order_id).like(pattern),
                                 sa.func.lower(orders.c.external_ref).like(pattern),
                                 sa.func.lower(customers.c.name).like(pattern)))
    if where.flag == "hold":
        conditions.append(orders.c.on_hold.is_(True))
    elif where.flag == "approval":
        conditions.append(orders.c.requires_approval.is_(True))
    elif where.flag == "backorder":
        conditions.append(orders.c.backordered.is_(True))
    elif where.flag == "jeopardy":  # a fulfilment alert, or a backordered line
        alerted = sa.select(fulfilment_processes.c.order_id).where(fulfilment_processes.c.has_alerts.is_(True))
        conditions.append(sa.or_(orders.c.backordered.is_(True), orders.c.order_id.in_(alerted)))
    if where.created_from:
        conditions.append(orders.c.created_at >= _day_start(where.created_from))
    if where.created_to:
        conditions.append(orders.c.created_at < _day_end(where.created_to))
    query = query.where(*conditions)
    with db.read() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = connection.execute(query.order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
                                  .limit(where.limit).offset(where.offset)).all()
    summaries = []
    for r in rows:
        flags = tuple(name for name, on in (("hold", r.on_hold), ("approval", r.requires_approval),
                                            ("backorder", r.backordered)) if on)
        summaries.append(OrderSummary(r.order_id, r.version, r.status, r.customer_id, r.name, r.channel,
                                      r.currency, r.country, _aware(r.created_at),
                                      _quantize(r.total, r.currency) if r.total is not None else None, flags))
    return summaries, total


@dataclass(frozen=True)
class _Sum:
    key: Any
    revenue: Decimal
    count: int


def _sums(db: Database, connection: Any, key: Any, amount: Any, source: Any, where: list[Any]) -> list[_Sum]:
    """``SUM(amount)`` and ``COUNT(*)`` by ``key``, exact on every database."""
    if not db.is_sqlite:
        return [_Sum(r.key, r.revenue if r.revenue is not None else Decimal(0), int(r.count))
                for r in connection.execute(
                    sa.select(key.label("key"), sa.func.sum(amount).label("revenue"), sa.func.count().label("count"))
                    .select_from(source).where(*where).group_by(key)).all()]
    totals: dict[Any, list[Any]] = {}
    for row in connection.execute(sa.select(key.label("key"), amount.label("amount")).select_from(source)
                                  .where(*where)).all():
        entry = totals.setdefault(row.key, [Decimal(0), 0])
        entry[0] += row.amount if row.amount is not None else Decimal(0)
        entry[1] += 1
    return [_Sum(k, v[0], v[1]) for k, v in totals.items()]


def report(db: Database, dimension: Dimension, start: dt.date, end: dt.date, currency: str = "EUR",
           categories: dict[str, str] | None = None, limit: int = 10) -> list[ReportRow]:
    """Revenue (net, before tax) and order count by ``dimension`` over [start, end], biggest first.

    Cancelled orders are left out. ``categories`` maps SKUs to catalogue categories.
    For products and categories, ``count`` is the number of order lines.
    """
    dimension = Dimension(dimension)
    period = [orders.c.created_at >= _day_start(start), orders.c.created_at < _day_end(end),
              orders.c.status != "cancelled", orders.c.currency == currency]
    with db.read() as connection:
        if dimension in (Dimension.PRODUCTS, Dimension.CATEGORIES):
            rows = _sums(db, connection, order_lines.c.sku, order_lines.c.net,
                         order_lines.join(orders, orders.c.order_id == order_lines.c.order_id), period)
            found = [(r.key, r.key, r.revenue, r.count) for r in rows]
            if dimension == Dimension.CATEGORIES:
                merged: dict[str, list[Any]] = {}
                for key, _, revenue, count in found:
                    cat = (categories or {}).get(key, "other")
                    entry = merged.setdefault(cat, [Decimal(0), 0])
                    entry[0] += Decimal(str(revenue or 0))
                    entry[1] += count
                found = [(k, k, v[0], v[1]) for k, v in merged.items()]
        else:
            if dimension == Dimension.CUSTOMERS:
                key = orders.c.customer_id
            elif dimension == Dimension.COUNTRIES:
                key = sa.func.coalesce(orders.c.country, "??")
            elif dimension == Dimension.CHANNELS:
                key = orders.c.channel
            else:
                key = sa.func.date(orders.c.created_at) if db.is_sqlite else sa.cast(
                    sa.func.timezone("UTC", orders.c.created_at), sa.Date)
            rows = _sums(db, connection, key, orders.c.subtotal, orders, period)
            names: dict[str, str] = {}
            if dimension == Dimension.CUSTOMERS and rows:
                names = dict(connection.execute(sa.select(customers.c.id, customers.c.name).where(
                    customers.c.id.in_([r.key for r in rows]))).all())
            found = [(str(r.key), names.get(r.key, str(r.key)), r.revenue, r.count) for r in rows]
    result = [ReportRow(k, label, _quantize(rev, currency), int(n)) for k, label, rev, n in found]
    if dimension == Dimension.DAYS:
        return sorted(result, key=lambda r: r.key)
    return sorted(result, key=lambda r: (-r.revenue, r.key))[:limit]


def exceptions(db: Database, today: dt.date, limit: int = 500) -> dict[str, Any]:
    """Open orders needing attention: on hold, awaiting approval, short of supply, in jeopardy.

    A line is in jeopardy when its promised date is after the date the customer
    asked for (the line's, else the order's); its priority is the days late.
    Summaries count orders by customer, product and supplying location.
    """
    open_statuses = ("entered", "booked", "backordered", "on_hold", "awaiting_approval", "in_fulfilment")
    with db.read() as connection:
        rows = connection.execute(
            sa.select(orders.c.order_id, orders.c.customer_id, customers.c.name, orders.c.status,
                      orders.c.total, orders.c.currency, orders.c.on_hold, orders.c.requires_approval,
                      orders.c.backordered, orders.c.record)
            .select_from(orders.outerjoin(customers, customers.c.id == orders.c.customer_id))
            .where(orders.c.status.in_(open_statuses),
                   sa.or_(orders.c.on_hold.is_(True), orders.c.requires_approval.is_(True),
                          orders.c.backordered.is_(True)))
            .order_by(orders.c.created_at).limit(limit)).all()
    jeopardy, on_hold, approval, short = [], [], [], []
    by_customer: dict[str, int] = {}
    by_product: dict[str, int] = {}
    by_supplier: dict[str, int] = {}
    for r in rows:
        order = r.record["order"]
        entry = {"order_id": r.order_id, "customer_id": r.customer_id, "customer_name": r.name,
                 "status": r.status, "total": _quantize(r.total, r.currency) if r.total is not None else None,
                 "currency": r.currency, "hold_reasons": r.record.get("hold_reasons", [])}
        if r.on_hold:
            on_hold.append(entry)
        if r.requires_approval:
            approval.append(entry)
        late = 0
        for line in order["lines"]:
            if line["status"] != "backordered":
                continue
            short.append({**entry, "line_id": line["line_id"], "sku": line["sku"], "quantity": line["quantity"],
                          "promised_date": line["promised_date"]})
            by_product[line["sku"]] = by_product.get(line["sku"], 0) + 1
            supplier = line.get("ship_from") or order.get("warehouse") or "?"
            by_supplier[supplier] = by_supplier.get(supplier, 0) + 1
            wanted = line.get("requested_date") or order.get("requested_date")
            if line["promised_date"] and wanted:
                late = max(late, (dt.date.fromisoformat(line["promised_date"]) - dt.date.fromisoformat(wanted)).days)
        if late > 0:
            jeopardy.append({**entry, "days_late": late})
        by_customer[r.name or r.customer_id] = by_customer.get(r.name or r.customer_id, 0) + 1
    jeopardy.sort(key=lambda e: -e["days_late"])

    def top(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]

    return {"jeopardy": jeopardy, "on_hold": on_hold, "awaiting_approval": approval, "short_of_supply": short,
            "by_customer": top(by_customer), "by_product": top(by_product), "by_supplier": top(by_supplier)}
