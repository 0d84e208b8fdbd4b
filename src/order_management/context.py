"""What order rules can read: the schema of symbols and the values for one order.

Rule authors write ``customer.segment``, ``ship_to.country`` or, in a per-line
rule, ``line.quantity``: names of the one order vocabulary
(:mod:`rule_language.vocabulary`, shared with pricing and event rules, so a
typo or a name only another rule kind reads is a load error that says so).
This module builds the matching values from an order, its customer and, once
priced, its totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rule_language import RuleKind, schema_for

from .model import Customer, Order, OrderLine, Party

__all__ = ["LINE_SCHEMA", "ORDER_SCHEMA", "Totals", "line_env", "order_env"]

#: What an order-level rule reads: the order rules' names of the one order vocabulary.
ORDER_SCHEMA = schema_for(RuleKind.ORDER, per_line=False)
#: What a per-line rule (``for_each: line``, line constraints) reads: the same plus ``line.*``.
LINE_SCHEMA = schema_for(RuleKind.ORDER)


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
            "id": order.order_id,
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
            "lines": [{"sku": line.sku, "kind": line.kind.value, "quantity": line.quantity,
                       "product_model": line.product_model} for line in order.lines],
        },
        "ship_to": _party(order.ship_to),
        "bill_to": _party(order.bill_to),
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
        "id": line.line_id,
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
