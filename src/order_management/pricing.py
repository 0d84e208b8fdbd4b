"""The order layer's bridge to the pricing engine.

An order as captured carries parties, channel and lines; the pricing engine
wants its own order model. :func:`to_pricing_order` maps one to the other, and
:class:`RulesetPricer` prices with a ruleset bundle, turning a pricing failure
into a field-path problem on the order (``lines[2].sku: no price``).
"""

from __future__ import annotations

import datetime as dt

import pricing_engine as pe
from rule_language import RulesetBundle

from .errors import FieldProblem, OrderValidationError
from .limits import MAX_ORDER_TOTAL
from .model import Customer, LineKind, Order
from .ports import PricingOutcome

__all__ = ["RulesetPricer", "to_pricing_order"]


def to_pricing_order(order: Order, customer: Customer) -> pe.Order:
    """The pricing engine's view of ``order``."""
    ship_to = order.ship_to.address if order.ship_to else None
    return pe.Order(
        id=order.order_id,
        currency=order.currency,
        customer=pe.Customer(id=customer.id, account=customer.account, segment=customer.segment,
                             tax_exemptions=customer.tax_exemptions),
        channel=order.channel.value,
        ship_to=pe.Address(country=ship_to.country, region=ship_to.region,
                           postal_code=ship_to.postal_code) if ship_to else None,
        lines=tuple(
            pe.OrderLine(
                id=line.line_id, sku=line.sku, quantity=line.quantity, unit=line.unit,
                options=dict(line.options) if line.kind == LineKind.CONFIGURED else {},
                service=pe.ServiceTerms(start_date=line.service.start_date, usage=line.service.usage)
                if line.service else None,
                manual_adjustments=tuple(
                    pe.ManualAdjustment(type=d.type, value=d.value, reason=d.reason, role=d.role,
                                        entered_by=d.entered_by) for d in line.manual_discounts),
            )
            for line in order.lines
        ),
        coupons=order.coupons,
        manual_adjustments=tuple(
            pe.ManualAdjustment(type=d.type, value=d.value, reason=d.reason, role=d.role,
                                entered_by=d.entered_by) for d in order.manual_discounts),
    )


class RulesetPricer:
    """Prices orders with the pricing rulesets of a bundle."""

    def __init__(self, bundle: RulesetBundle) -> None:
        self.bundle = bundle

    def price(self, order: Order, customer: Customer, as_of: dt.date) -> PricingOutcome:
        try:
            priced = pe.price_order(to_pricing_order(order, customer), self.bundle, as_of)
        except pe.PricingEvaluationError as exc:
            raise OrderValidationError([FieldProblem(_order_path(exc.loc, order), str(exc), "pricing")]) from None
        except pe.PricingError as exc:
            raise OrderValidationError([FieldProblem("order", str(exc), "pricing")]) from None
        totals = priced.totals
        too_big = [FieldProblem(f"lines[{i}].quantity", f"the line comes to {line.net}, more than the "
                                f"{MAX_ORDER_TOTAL:,} a line or an order may total", "limits")
                   for i, line in enumerate(priced.lines) if abs(line.net) > MAX_ORDER_TOTAL]
        if too_big or abs(totals.gross) > MAX_ORDER_TOTAL:
            raise OrderValidationError(too_big or [FieldProblem(
                "lines", f"the order comes to {totals.gross}, more than the {MAX_ORDER_TOTAL:,} an order may total",
                "limits")])
        return PricingOutcome(
            subtotal=totals.net, tax=totals.tax, total=totals.gross,
            line_net={line.line_id: line.net for line in priced.lines},
            requires_approval=priced.requires_approval,
            approval_reasons=priced.approval_reasons,
            priced=priced,
        )


def _order_path(loc: tuple[str | int, ...], order: Order) -> str:
    """The pricing engine's ``loc`` (into its order) as a path into ours."""
    renames = {"id": "line_id", "options": "options", "manual_adjustments": "manual_discounts"}
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        else:
            parts.append(renames.get(part, part) if parts else part)
    return ".".join(parts) or "order"
