"""The facts event rules see for an order and its open lines: pure functions of the record.

Field names are the rule paths of :data:`event_rules.FACT_SCHEMAS` — the event
rules' names of the one order vocabulary (``order.total``, ``line.days_late``);
:func:`event_rules.encode_fact` turns them into what the engine gets (minor
units, thousandths, ISO dates).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ..model import Customer
from ..ports import OrderRecord
from .event_rules import FactType, encode_fact
from .jeopardy import LineProjection

__all__ = ["line_fact", "order_fact", "order_values", "stock_fact"]


def order_values(record: OrderRecord, customer: Customer, as_of: dt.date) -> dict[str, Any]:
    """``as_of``, ``order.*`` and ``customer.*`` of one order (absent values are left out when encoded)."""
    order, pricing = record.order, record.pricing
    return {
        "as_of": as_of, "order.id": order.order_id, "order.requested_date": order.requested_date,
        "order.total": pricing.total if pricing else None,
        "order.subtotal": pricing.subtotal if pricing else None,
        "order.channel": order.channel.value, "order.line_count": len(order.lines),
        "order.currency": order.currency,
        "order.manual_discounts": len(order.manual_discounts) + sum(len(x.manual_discounts) for x in order.lines),
        "customer.id": customer.id, "customer.segment": customer.segment,
        "customer.open_balance": customer.open_balance,
    }


def order_fact(record: OrderRecord, customer: Customer, as_of: dt.date) -> dict[str, Any]:
    """The one ``order`` fact (holds and approvals)."""
    return encode_fact(FactType.ORDER, order_values(record, customer, as_of), record.order.currency)


def line_fact(record: OrderRecord, customer: Customer, as_of: dt.date, projection: LineProjection) -> dict[str, Any]:
    """A ``line`` fact (jeopardy): the order's values plus the line and its projection."""
    line = record.order.line(projection.line_id)
    net = record.pricing.line_net.get(line.line_id) if record.pricing else None
    values = {**order_values(record, customer, as_of), "line.id": line.line_id, "line.sku": line.sku,
              "line.kind": line.kind.value, "line.quantity": line.quantity, "line.net": net,
              "line.step": projection.step, "line.days_late": projection.days_late,
              "line.days_to_promise": -projection.days_late, "line.promised_date": projection.promised,
              "line.projected_date": projection.projected}
    return encode_fact(FactType.LINE, values, record.order.currency)


def stock_fact(sku: str, location: str, available: Decimal | int) -> dict[str, Any]:
    """A ``stock`` fact (reorder points): whole units available, rounded down, and the exact amount.

    >>> stock_fact("LOCK-U", "FR-LY", Decimal("9.5"))
    {'type': 'stock', 'sku': 'LOCK-U', 'location': 'FR-LY', 'available': 9, '_available': '9.5'}
    """
    exact = Decimal(available)
    return {"type": FactType.STOCK.value, "sku": sku, "location": location,
            "available": int(exact.to_integral_value(rounding=ROUND_FLOOR)), "_available": str(exact)}
