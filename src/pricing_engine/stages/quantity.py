"""Stage 3, ``quantity``: tiered (volume, graduated) and package price entries."""

from __future__ import annotations

from pricing_engine.errors import PricingEvaluationError
from pricing_engine.models import Stage
from pricing_engine.pipeline import PricingState
from pricing_engine.rounding import DECIMAL_CONTEXT
from pricing_engine.stages.common import fmt
from pricing_engine.tiers import TierMode, price_package, price_tiers

__all__ = ["QuantityStage"]

_CTX = DECIMAL_CONTEXT


class QuantityStage:
    """Tiered (volume, graduated) and package entries."""

    name = "quantity"

    def run(self, state: PricingState) -> None:
        for wl in state.lines:
            e, pl = wl.entry, wl.price_list
            if e is None or pl is None or e.unit_price is not None:
                continue
            q = wl.price_quantity
            if e.package is not None:
                p = e.package
                res = price_package(q, p.block_size, p.block_price, p.free_units)
                desc = (f"package: {res.parts[0].quantity if res.parts else 0} started block(s) "
                        f"of {fmt(p.block_size)} at {fmt(p.block_price)}"
                        + (f", {fmt(p.free_units)} free" if p.free_units else ""))
            else:
                try:
                    res = price_tiers(e.tiers, q, e.tier_mode, checked=True)
                except ValueError as exc:
                    raise PricingEvaluationError(str(exc), ("lines", wl.index, "quantity")) from None
                desc = f"{e.tier_mode} tiers: " + " + ".join(
                    f"{fmt(pt.quantity)} × {fmt(pt.unit_price)}"
                    + (f" + {fmt(pt.flat_fee)}" if pt.flat_fee else "") for pt in res.parts)
                if e.tier_mode is TierMode.VOLUME and res.parts:
                    wl.list_unit_price = _CTX.multiply(res.parts[0].unit_price, wl.rate)
            raw = _CTX.multiply(res.amount, wl.rate)
            if wl.rate != 1:
                desc += f" × rate {fmt(wl.rate)} from {pl.currency}"
            state.record(wl, Stage.QUANTITY, e.id, pl.ref, desc, raw, raw)
