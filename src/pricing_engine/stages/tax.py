"""Stage 9, ``tax``: select taxes by jurisdiction, tax class and exemption; compute them."""

from __future__ import annotations

from dataclasses import replace

from pricing_engine.evaluation import evaluate
from pricing_engine.pipeline import PricingState, WorkLine
from pricing_engine.rounding import DECIMAL_CONTEXT
from pricing_engine.tax import TaxKind, TaxPolicy, TaxRate, settle_document_taxes, tax_line

__all__ = ["TaxStage"]

_CTX = DECIMAL_CONTEXT


class TaxStage:
    """Select taxes by jurisdiction, tax class and exemption; compute them."""

    name = "tax"

    def run(self, state: PricingState) -> None:
        o = state.order
        cur = state.currency
        ship = o.ship_to
        if ship is None:
            if state.rules.taxes:
                state.warnings.append("no ship_to address: no tax was computed")
            return
        exemptions = frozenset(o.customer.tax_exemptions)
        pending: dict[TaxPolicy, list[WorkLine]] = {}
        for wl in state.lines:
            rates: list[TaxRate] = []
            first = None
            for ts in state.rules.taxes:
                for t in ts.by_country.get(ship.country.upper(), ()):
                    if not t.applies(ship.country.upper(), ship.region, ship.postal_code,
                                     wl.tax_class, exemptions):
                        continue
                    if t.condition is not None and not evaluate(
                            t.condition, wl.env, f"tax {t.rate.id}", ("lines", wl.index), t.reads):
                        continue
                    rate = t.rate
                    if rate.kind is TaxKind.FIXED_PER_UNIT and t.currency != cur:
                        conv = state.rate_for(t.currency or cur, ("lines", wl.index))
                        rate = replace(rate, amount_per_unit=_CTX.multiply(rate.amount_per_unit, conv))
                    rates.append(rate)
                    first = first or ts
            if first is None:
                wl.tax_policy = TaxPolicy(prices_include_tax=wl.prices_include_tax)
                continue
            policy = TaxPolicy(first.mode, first.scope, wl.prices_include_tax)
            wl.tax_rates, wl.tax_policy = tuple(rates), policy
            wl.tax = tax_line(wl.amount, wl.quantity, rates, policy, cur)
            if not wl.tax.settled:
                pending.setdefault(policy, []).append(wl)
        for policy, lines in pending.items():
            settled = settle_document_taxes([wl.tax for wl in lines], policy, cur)  # type: ignore[misc]
            for wl, lt in zip(lines, settled, strict=True):
                wl.tax = lt
