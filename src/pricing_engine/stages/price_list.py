"""Stage 1, ``price_list``: select each goods line's price list entry and price simple entries.

Also the two lookups later stages share: :func:`candidate_lists` (the lists in
force for this order, most specific first) and :func:`resolve_entry` (a list's
entry for a line, following ``based_on`` derivations).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pricing_engine.errors import NoPriceError, PricingEvaluationError
from pricing_engine.models import Stage
from pricing_engine.pipeline import PricingState, WorkLine
from pricing_engine.price_lists import PriceEntry, PriceList
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingScope
from pricing_engine.stages.common import fmt
from pricing_engine.units import convert_quantity
from rule_language import EvaluationError

__all__ = ["PriceListStage", "candidate_lists", "resolve_entry"]

_CTX = DECIMAL_CONTEXT


def candidate_lists(state: PricingState) -> list[tuple[PriceList, Decimal]]:
    """Lists for this order, most specific first (documented precedence).

    Lists in the order currency come first; lists in other currencies follow (by
    currency code) only when the order gives an exchange rate for them.
    """
    if state.candidate_lists is not None:
        return state.candidate_lists
    o = state.order
    c = o.customer
    country = o.ship_to.country if o.ship_to else None
    region = o.ship_to.region if o.ship_to else None
    own: list[PriceList] = []
    other: list[PriceList] = []
    for pl in state.rules.price_lists:
        if not pl.matcher.matches(c.account, c.segment, o.channel, country, region):
            continue
        if pl.currency == o.currency:
            own.append(pl)
        elif pl.currency in o.exchange_rates:
            other.append(pl)

    def key(pl: PriceList) -> tuple[Any, ...]:
        s = pl.matcher.specificity
        return (tuple(not x for x in s), -pl.priority, pl.name)

    own.sort(key=key)
    other.sort(key=lambda pl: (pl.currency, *key(pl)))
    out = [(pl, Decimal(1)) for pl in own]
    out += [(pl, state.rate_for(pl.currency, ("exchange_rates",))) for pl in other]
    state.candidate_lists = out
    return out


def resolve_entry(
    state: PricingState, pl: PriceList, wl: WorkLine, depth: int = 0
) -> tuple[PriceEntry, list[str]] | None:
    """The entry ``pl`` gives this line (following ``based_on``), and how it was derived."""
    if depth > 32:
        raise PricingEvaluationError(f"price list {pl.ref}: derivation too deep", ("lines", wl.index))

    def qty(unit: str | None) -> Decimal:
        return convert_quantity(wl.quantity, wl.line_env["unit"], unit)

    own = pl.own_entry(wl.sku, wl.category, qty, wl.env, ("lines", wl.index, "sku"))
    if own is not None:
        return own, [f"{pl.ref} entry {own.id}"]
    if pl.based_on is None:
        return None
    base = state.rules.lists_by_name.get(pl.based_on)
    if base is None:
        raise PricingEvaluationError(
            f"price list {pl.ref} is based on {pl.based_on!r}, which is not in force on "
            f"{state.as_of}", ("lines", wl.index))
    found = resolve_entry(state, base, wl, depth + 1)
    if found is None:
        return None
    entry, trail = found
    cost = entry.cost
    if cost is None and wl.product is not None:
        cost = wl.product.cost.get(pl.currency)
    env = dict(wl.env)
    try:
        derived = pl.derive(entry, cost, env)
    except EvaluationError as exc:
        raise PricingEvaluationError(f"{pl.ref}: {exc}", ("lines", wl.index, "sku")) from None
    formula = pl.formula.text if pl.formula is not None else "base_price"
    return derived, [*trail, f"{pl.ref} derived ({formula})"]


class PriceListStage:
    """Select the price list entry for each goods line; price simple entries."""

    name = "price_list"

    def run(self, state: PricingState) -> None:
        lists = candidate_lists(state)
        missing: list[tuple[tuple[str | int, ...], str]] = []
        for wl in state.lines:
            if wl.service is not None:
                continue
            for pl, rate in lists:
                found = resolve_entry(state, pl, wl)
                if found is None:
                    continue
                entry, trail = found
                wl.price_list, wl.entry, wl.rate = pl, entry, rate
                wl.policy = pl.policy
                wl.prices_include_tax = pl.prices_include_tax
                wl.price_quantity = convert_quantity(wl.quantity, wl.line_env["unit"], entry.unit)
                if entry.unit_price is not None:
                    self._simple(state, wl, pl, entry, rate, trail)
                break
            else:
                missing.append((("lines", wl.index, "sku"),
                                f"no price list in force prices SKU {wl.sku!r}"
                                + (f" (category {wl.category!r})" if wl.category else "")
                                + f" for this customer, channel and currency {state.currency}"))
        if missing:  # every unpriced line at once, the first one's location on the error
            raise NoPriceError.all(missing)

    @staticmethod
    def _simple(state: PricingState, wl: WorkLine, pl: PriceList, entry: PriceEntry,
                rate: Decimal, trail: list[str]) -> None:
        unit = _CTX.multiply(entry.unit_price, rate)  # type: ignore[arg-type]
        raw_unit = unit
        if wl.policy.scope is RoundingScope.UNIT:
            unit = wl.policy.round(unit, state.currency)
        wl.list_unit_price = unit
        wl.line_env["unit_price"] = unit
        amount = _CTX.multiply(unit, wl.price_quantity)
        conv = f" × rate {fmt(rate)} from {pl.currency}" if rate != 1 else ""
        uom = f" per {entry.unit}" if entry.unit else ""
        desc = (f"{fmt(raw_unit)}{uom}{conv} × {fmt(wl.price_quantity)} "
                f"({'; '.join(trail)})")
        state.record(wl, Stage.PRICE_LIST, entry.id, pl.ref, desc, amount,
                     _CTX.multiply(raw_unit, wl.price_quantity))
