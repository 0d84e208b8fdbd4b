"""Stage 5, ``rounding``: round list amounts per the price list's policy (unit and line scope)."""

from __future__ import annotations

from pricing_engine.models import Stage
from pricing_engine.pipeline import PricingState
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingScope
from pricing_engine.stages.common import fmt

__all__ = ["RoundingStage"]

_CTX = DECIMAL_CONTEXT


class RoundingStage:
    """Round each line's list amount per its price list (unit and line scope)."""

    name = "rounding"

    def run(self, state: PricingState) -> None:
        for wl in state.lines:
            if wl.policy.scope is RoundingScope.DOCUMENT:
                continue
            rounded = wl.policy.round(wl.amount, state.currency)
            if rounded == wl.amount:  # numerically equal: keep the currency's exponent
                wl.amount = rounded
                wl.line_env["amount"] = rounded
            else:
                state.record(wl, Stage.ROUNDING, wl.policy.mode.value, wl.price_list.ref
                             if wl.price_list else "", f"round {wl.policy.mode}"
                             + (f" to step {fmt(wl.policy.step)}" if wl.policy.step else ""),
                             rounded, _CTX.subtract(rounded, wl.amount))
