"""Stage 7, ``manual_adjustments``: a person's overrides and discounts, checked
against the role's limits (beyond them, the line or order needs approval)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pricing_engine.allocation import allocate
from pricing_engine.errors import PricingEvaluationError
from pricing_engine.models import ManualAdjustmentType, Stage
from pricing_engine.money import Money
from pricing_engine.pipeline import PricingState
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingMode, quantize
from pricing_engine.stages.common import fmt

__all__ = ["ManualAdjustmentStage"]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class ManualAdjustmentStage:
    """Apply a person's overrides and discounts; flag those beyond the role's limit."""

    name = "manual_adjustments"

    def run(self, state: PricingState) -> None:
        limits = state.rules.limits
        cur = state.currency
        for wl in state.lines:
            for k, adj in enumerate(wl.line.manual_adjustments):
                loc: tuple[str | int, ...] = ("lines", wl.index, "manual_adjustments", k)
                before = wl.amount
                if adj.type is ManualAdjustmentType.OVERRIDE:
                    after = wl.policy.round(_CTX.multiply(adj.value, wl.quantity), cur)
                    raw = _CTX.subtract(_CTX.multiply(adj.value, wl.quantity), before)
                    desc = f"price override to {fmt(adj.value)} per unit: {adj.reason}"
                elif adj.type is ManualAdjustmentType.PERCENT:
                    if not 0 <= adj.value <= 100:
                        raise PricingEvaluationError("a percentage must be within 0–100", loc)
                    raw = -_CTX.divide(_CTX.multiply(before, adj.value), _HUNDRED)
                    after = _CTX.subtract(before, min(before, wl.policy.round(-raw, cur)))
                    desc = f"manual discount {fmt(adj.value)}%: {adj.reason}"
                else:
                    if adj.value < 0:
                        raise PricingEvaluationError("a discount amount must not be negative", loc)
                    raw = -adj.value
                    after = _CTX.subtract(before, min(before, adj.value))
                    desc = f"manual discount {fmt(adj.value)}: {adj.reason}"
                if adj.value < 0:
                    raise PricingEvaluationError("a manual value must not be negative", loc)
                by = f" by {adj.entered_by}" if adj.entered_by else ""
                state.record(wl, Stage.MANUAL, f"manual:{k + 1}", limits.ref if limits else "",
                             desc + by + f" ({adj.role})", after, raw)
                reason = self._check(limits, adj, before, after, wl.line.id)
                if reason:
                    wl.approval_reasons.append(reason)
        order_adj = state.order.manual_adjustments
        for k, adj in enumerate(order_adj):
            loc = ("manual_adjustments", k)
            lines = [wl for wl in state.lines if wl.amount > 0]
            base = sum((wl.amount for wl in lines), _ZERO)
            if adj.type is ManualAdjustmentType.OVERRIDE:
                raise PricingEvaluationError("an order-level adjustment is a percent or an amount",
                                             loc)
            if adj.type is ManualAdjustmentType.PERCENT:
                raw = _CTX.divide(_CTX.multiply(base, adj.value), _HUNDRED)
            else:
                raw = adj.value
            total = min(quantize(raw, cur, state.order_policy.mode),
                        quantize(base, cur, RoundingMode.DOWN))
            if total <= 0 or not lines:
                continue
            shares = allocate(Money(total, cur), [wl.amount for wl in lines])
            for wl, share in zip(lines, shares, strict=True):
                amount = min(share.amount, wl.amount)
                if amount:
                    state.record(wl, Stage.MANUAL, f"order-manual:{k + 1}",
                                 limits.ref if limits else "",
                                 f"share of manual order discount {fmt(total)}: {adj.reason}",
                                 _CTX.subtract(wl.amount, amount), -amount)
            reason = self._check(limits, adj, base, _CTX.subtract(base, total), "order")
            if reason:
                state.approval_reasons.append(reason)

    @staticmethod
    def _check(limits: Any, adj: Any, before: Decimal, after: Decimal, where: str) -> str | None:
        if limits is None:
            return f"{where}: manual adjustment needs approval (no adjustment limits are in force)"
        role = limits.roles.get(adj.role)
        if role is None:
            return f"{where}: role {adj.role!r} has no manual adjustment rights"
        if adj.type is ManualAdjustmentType.OVERRIDE and not role.may_override:
            return f"{where}: role {adj.role!r} may not override prices"
        if adj.type is ManualAdjustmentType.PERCENT:
            # judged by what the person entered: rounding the discount to the cent can move
            # the effective rate a hair above it (10 % of 7.56 is 0.756, rounded 0.76 = 10.05 %)
            pct = adj.value
        elif before > 0 and after < before:
            pct = _CTX.divide(_CTX.multiply(_CTX.subtract(before, after), _HUNDRED), before)
        else:
            pct = Decimal(0)
        if pct > role.max_discount_percent:
            return (f"{where}: discount of {pct.quantize(Decimal('0.01'))}% exceeds the "
                    f"{fmt(role.max_discount_percent)}% limit of role {adj.role!r}")
        return None
