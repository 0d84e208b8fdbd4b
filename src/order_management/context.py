"""What order rules can read: the schema of symbols and the values for one order.

Rule authors write ``customer.segment``, ``order.ship_to.country`` or, in a
per-line rule, ``line.quantity``; this module declares those names once (so a
typo is a load error with a suggestion) and builds the matching values from an
order, its customer and, once priced, its totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rule_language import Schema, enum

from .model import Channel, Customer, LineKind, LineStatus, Order, OrderLine, OrderStatus, Party

__all__ = ["LINE_SCHEMA", "ORDER_SCHEMA", "Totals", "line_env", "order_env"]

_PARTY = {"name": "string", "country": "string", "region": "string", "city": "string",
          "postal_code": "string"}

ORDER_SCHEMA = Schema.of({
    "as_of": "date",
    "order.order_id": "string",
    "order.channel": enum(*Channel),
    "order.status": enum(*OrderStatus),
    "order.currency": "string",
    "order.requested_date": "date",
    "order.payment_terms": "string",
    "order.warehouse": "string",
    "order.price_list": "string",
    "order.source_system": "string",
    "order.coupons": {"type": "list", "of": "string"},
    "order.line_count": "integer",
    "order.subtotal": "money",
    "order.tax": "money",
    "order.total": "money",
    **{f"order.ship_to.{k}": v for k, v in _PARTY.items()},
    **{f"order.bill_to.{k}": v for k, v in _PARTY.items()},
    "order.lines": {"type": "list", "of": {"type": "record", "fields": {
        "sku": "string", "kind": "string", "quantity": "decimal", "product_model": "string"}}},
    "customer.id": "string",
    "customer.name": "string",
    "customer.segment": "string",
    "customer.account": "string",
    "customer.demand_class": "string",
    "customer.currency": "string",
    "customer.payment_terms": "string",
    "customer.credit_limit": "money",
    "customer.open_balance": "money",
    "customer.blocked": "boolean",
    **{f"customer.ship_to.{k}": v for k, v in _PARTY.items()},
    **{f"customer.bill_to.{k}": v for k, v in _PARTY.items()},
})

LINE_SCHEMA = ORDER_SCHEMA.extend({
    "line.line_id": "string",
    "line.kind": enum(*LineKind),
    "line.sku": "string",
    "line.quantity": "decimal",
    "line.unit": "string",
    "line.product_model": "string",
    "line.status": enum(*LineStatus),
    "line.requested_date": "date",
    "line.ship_from": "string",
    "line.net": "money",
})


class Totals(Mapping[str, Decimal]):
    """Order totals from pricing (subtotal, tax, total) as rules read them."""

    def __init__(self, subtotal: Decimal, tax: Decimal, total: Decimal,
                 line_net: Mapping[str, Decimal] | None = None) -> None:
        self._values = {"subtotal": subtotal, "tax": tax, "total": total}
        self.line_net = dict(line_net or {})

    def __getitem__(self, key: str) -> Decimal:
        return self._values[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _party(party: Party | None) -> dict[str, Any] | None:
    if party is None:
        return None
    address = party.address
    return {"name": party.name, "country": address.country, "region": address.region,
            "city": address.city, "postal_code": address.postal_code}


def order_env(order: Order, customer: Customer, as_of: dt.date, totals: Totals | None = None) -> dict[str, Any]:
    """The values of :data:`ORDER_SCHEMA` for one order (absent values are None)."""
    return {
        "as_of": as_of,
        "order": {
            "order_id": order.order_id,
            "channel": order.channel.value,
            "status": order.status.value,
            "currency": order.currency,
            "requested_date": order.requested_date,
            "payment_terms": order.payment_terms,
            "warehouse": order.warehouse,
            "price_list": order.price_list,
            "source_system": order.source_system,
            "coupons": list(order.coupons),
            "line_count": len(order.lines),
            "subtotal": totals["subtotal"] if totals else None,
            "tax": totals["tax"] if totals else None,
            "total": totals["total"] if totals else None,
            "ship_to": _party(order.ship_to),
            "bill_to": _party(order.bill_to),
            "lines": [{"sku": line.sku, "kind": line.kind.value, "quantity": line.quantity,
                       "product_model": line.product_model} for line in order.lines],
        },
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "segment": customer.segment,
            "account": customer.account,
            "demand_class": customer.demand_class,
            "currency": customer.currency,
            "payment_terms": customer.payment_terms,
            "credit_limit": customer.credit_limit,
            "open_balance": customer.open_balance,
            "blocked": customer.blocked,
            "ship_to": _party(customer.ship_to),
            "bill_to": _party(customer.bill_to),
        },
    }


def line_env(base: Mapping[str, Any], line: OrderLine, totals: Totals | None = None) -> dict[str, Any]:
    """``base`` (an :func:`order_env`) plus ``line.*`` for a per-line rule."""
    return {**base, "line": {
        "line_id": line.line_id,
        "kind": line.kind.value,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit": line.unit,
        "product_model": line.product_model,
        "status": line.status.value,
        "requested_date": line.requested_date,
        "ship_from": line.ship_from,
        "net": totals.line_net.get(line.line_id) if totals else None,
    }}
