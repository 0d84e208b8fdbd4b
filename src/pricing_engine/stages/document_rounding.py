"""Stage 8, ``document_rounding``: for document-scope lists, round the total and
spread the difference back onto the lines (:func:`spread_rounding`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pricing_engine.allocation import allocate
from pricing_engine.models import Stage
from pricing_engine.money import Money
from pricing_engine.pipeline import PricingState, WorkLine
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingScope, quantize
from pricing_engine.stages.common import fmt

__all__ = ["DocumentRoundingStage", "spread_rounding"]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)


class DocumentRoundingStage:
    """For document-scope lists: round the total, spread the difference back onto lines."""

    name = "document_rounding"

    def run(self, state: PricingState) -> None:
        groups: dict[Any, list[WorkLine]] = {}
        for wl in state.lines:
            if wl.policy.scope is RoundingScope.DOCUMENT:
                groups.setdefault(wl.policy, []).append(wl)
        cur = state.currency
        for policy, lines in groups.items():
            exact = sum((wl.amount for wl in lines), _ZERO)
            total = policy.round(exact, cur)
            finals = spread_rounding([wl.amount for wl in lines], policy, cur)
            listed = [wl.list_amount if wl.list_amount is not None else wl.amount for wl in lines]
            for wl, lst in zip(lines, spread_rounding(listed, policy, cur), strict=True):
                wl.list_amount = lst
            for wl, after in zip(lines, finals, strict=True):
                if after != wl.amount:
                    state.record(wl, Stage.DOCUMENT_ROUNDING, policy.mode.value,
                                 wl.price_list.ref if wl.price_list else "",
                                 f"document rounding: total {fmt(exact)} → {fmt(total)}",
                                 after, _CTX.subtract(after, wl.amount))


def spread_rounding(amounts: Sequence[Decimal], policy: Any, currency: str) -> list[Decimal]:
    """Round each amount, then spread ``round(sum) - sum(rounded)`` back by size.

    The results sum exactly to the rounded document total (largest remainder,
    via :func:`~pricing_engine.allocation.allocate`); none goes below zero.
    """
    total = policy.round(sum(amounts, _ZERO), currency)
    rounded = [quantize(a, currency, policy.mode) for a in amounts]
    diff = _CTX.subtract(total, sum(rounded, _ZERO))
    shares = allocate(Money(diff, currency), [abs(a) for a in amounts])
    return [max(_ZERO, _CTX.add(r, s.amount)) for r, s in zip(rounded, shares, strict=True)]
