"""Stage 4, ``roll_up``: configured products' option prices and priced bundle components."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pricing_engine.errors import NoPriceError, PricingEvaluationError
from pricing_engine.evaluation import evaluate
from pricing_engine.models import PricedComponent, Stage
from pricing_engine.pipeline import PricingState, WorkLine
from pricing_engine.price_lists import PriceEntry, PriceList, option_key
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingScope, quantize
from pricing_engine.stages.common import fmt
from pricing_engine.stages.price_list import candidate_lists, resolve_entry
from pricing_engine.tiers import TierMode

__all__ = ["RollUpStage"]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)


class RollUpStage:
    """Add chosen options' prices and priced bundle components, per unit of the parent."""

    name = "roll_up"

    def run(self, state: PricingState) -> None:
        for wl in state.lines:
            pl = wl.price_list
            if pl is None:
                continue
            self._options(state, wl, pl)
            self._components(state, wl)

    @staticmethod
    def _option_prices(state: PricingState, pl: PriceList, opt: str, val: str | None,
                       sku: str) -> tuple[Any, PriceList] | None:
        seen = 0
        current: PriceList | None = pl
        while current is not None and seen < 33:
            for op in current.options.get((opt, val), ()):
                if op.sku is None or op.sku == sku:
                    return op, current
            current = state.rules.lists_by_name.get(current.based_on) if current.based_on else None
            seen += 1
        return None

    def _options(self, state: PricingState, wl: WorkLine, pl: PriceList) -> None:
        cur = state.currency
        for name in sorted(wl.line.options):
            value = wl.line.options[name]
            found = (self._option_prices(state, pl, name, option_key(value), wl.sku)
                     or self._option_prices(state, pl, name, None, wl.sku))
            if found is None:
                continue
            op, owner = found
            if op.formula is not None:
                unit = evaluate(op.formula.fn, wl.env, f"option price {op.id}",
                                ("lines", wl.index, "options", name), op.formula.symbols)
            else:
                unit = op.price
            if owner is not pl and pl.based_on is not None:  # derived lists transform options too
                entry = PriceEntry(op.id, wl.sku, None, unit, (), TierMode.VOLUME, None, None,
                                   None, None, None, None)
                unit = pl.derive(entry, None, wl.env).unit_price
            unit = _CTX.multiply(unit, wl.rate)
            if wl.policy.scope is RoundingScope.UNIT:
                unit = wl.policy.round(unit, cur)
            add = _CTX.multiply(unit, wl.quantity)
            state.record(wl, Stage.ROLL_UP, op.id, owner.ref,
                         f"{op.description}: {fmt(unit)} × {fmt(wl.quantity)}",
                         _CTX.add(wl.amount, add), add)

    def _components(self, state: PricingState, wl: WorkLine) -> None:
        product = wl.product
        if product is None or not product.components:
            return
        chosen = set(wl.line.components)
        for comp in product.components:
            qty = _CTX.multiply(comp.quantity, wl.quantity)
            if comp.included:
                nothing = quantize(_ZERO, state.currency, wl.policy.mode)
                wl.components.append(PricedComponent(
                    sku=comp.sku, quantity=qty, included=True, unit_price=nothing, amount=nothing))
                continue
            if comp.sku not in chosen:
                continue
            sub = WorkLine(index=wl.index, line=wl.line.model_copy(update={"sku": comp.sku,
                                                                        "quantity": qty}),
                           sku=comp.sku, category=None, tax_class=wl.tax_class, product=None,
                           service=None, env=wl.env, line_env=wl.line_env)
            for pl, rate in candidate_lists(state):
                found = resolve_entry(state, pl, sub)
                if found is None or found[0].unit_price is None:
                    continue
                entry = found[0]
                unit = _CTX.multiply(entry.unit_price, rate)  # type: ignore[arg-type]
                amount = _CTX.multiply(unit, qty)
                wl.components.append(PricedComponent(
                    sku=comp.sku, quantity=qty, included=False, unit_price=unit, amount=amount))
                state.record(wl, Stage.ROLL_UP, entry.id, pl.ref,
                             f"component {comp.sku}: {fmt(unit)} × {fmt(qty)}",
                             _CTX.add(wl.amount, amount), amount)
                break
            else:
                raise NoPriceError(f"no price for bundle component {comp.sku!r}",
                                   ("lines", wl.index, "components"))
        unknown = chosen - {c.sku for c in product.components}
        if unknown:
            raise PricingEvaluationError(
                f"{', '.join(sorted(unknown))} is not a component of {wl.sku}",
                ("lines", wl.index, "components"))
