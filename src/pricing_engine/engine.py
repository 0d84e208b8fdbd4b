"""``price_order``: the one pure entry point of the pricing engine.

Validates nothing twice: it takes a validated :class:`~pricing_engine.models.Order`
(or a mapping, validated here once), the pricing rulesets (a loaded
``RulesetBundle`` or a prebuilt :class:`~pricing_engine.pipeline.PricingRules`)
and the pricing date, runs the pipeline, and returns a
:class:`~pricing_engine.models.PricedOrder`. No I/O, no clock, no globals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pricing_engine.errors import InvalidAmountError
from pricing_engine.models import (
    Order,
    PricedLine,
    PricedOrder,
    RecurringTotal,
    Stage,
    TaxDetail,
    TaxSummary,
    Totals,
    WaterfallStep,
)
from pricing_engine.pipeline import PricingRules, PricingStage, PricingState, check_pipeline, new_state
from pricing_engine.recurring import ChargeKind
from pricing_engine.rounding import (
    DECIMAL_CONTEXT,
    RoundingMode,
    RoundingScope,
    in_decimal_context,
    minor_unit,
    quantize,
)
from pricing_engine.stages import DEFAULT_PIPELINE
from pricing_engine.tax import TaxKind, TaxPolicy, tax_line
from rule_language import RulesetBundle

__all__ = ["price_order"]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)


@in_decimal_context
def price_order(
    order: Order | Mapping[str, Any],
    pricing_rulesets: Any,
    as_of: dt.date,
    *,
    pipeline: Sequence[PricingStage] = DEFAULT_PIPELINE,
) -> PricedOrder:
    """Price ``order`` with the rulesets in force on ``as_of``.

    ``pricing_rulesets`` is a ``RulesetBundle`` (or a sequence of its loaded
    rulesets), or a :class:`~pricing_engine.pipeline.PricingRules` built once from
    one for many orders.

    Every amount in the result is rounded to the order currency's precision;
    line nets sum exactly to the order net, line taxes to the order tax.
    Raises :class:`~pricing_engine.errors.PricingEvaluationError` (``loc`` points
    into the order) when the order cannot be priced.

    Runs under :data:`~pricing_engine.rounding.DECIMAL_CONTEXT` (60 digits,
    ``ROUND_HALF_EVEN``), never the caller's ambient ``decimal`` context.
    """
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise TypeError("as_of must be a datetime.date (the pricing day), not "
                        f"{type(as_of).__name__}")
    if not isinstance(order, Order):
        order = Order.model_validate(order)
    if isinstance(pricing_rulesets, PricingRules):
        rules = pricing_rulesets
    else:
        if not hasattr(pricing_rulesets, "of_kind"):  # a plain sequence of loaded rulesets
            pricing_rulesets = RulesetBundle(tuple(pricing_rulesets))
        rules = PricingRules.from_bundle(pricing_rulesets, as_of)
    if pipeline is not DEFAULT_PIPELINE:
        check_pipeline(pipeline)
    state = new_state(order, rules, as_of)
    for stage in pipeline:
        stage.run(state)
    return build_result(state)


def build_result(state: PricingState) -> PricedOrder:
    """Assemble the frozen result from the final state.

    Every line, tax and total amount is checked to be exact at the currency's
    precision and expressed with its exponent (``96.250`` becomes ``96.25``); an
    amount with digits below the minor unit here is a bug in a stage, so it raises.
    """
    cur = state.currency
    unit = minor_unit(cur)

    def at(d: Decimal, what: str) -> Decimal:
        q = d.quantize(unit, context=_CTX)
        if q != d:
            raise InvalidAmountError(f"{what} {d} is not rounded to {cur}'s minor unit")
        return q

    zero = at(_ZERO, "zero")
    lines: list[PricedLine] = []
    tax_sums: dict[str, list[Any]] = {}
    recurring: dict[str, list[Decimal]] = {}
    one_time = _ZERO
    usage = _ZERO
    for wl in state.lines:
        where = f"line {wl.line.id}"
        amount = at(wl.amount, f"{where} amount")
        lt = wl.tax
        tax_total = at(lt.tax_total, f"{where} tax") if lt else at(_ZERO, "tax")
        if wl.prices_include_tax:
            gross, net = amount, _CTX.subtract(amount, tax_total)
        else:
            net, gross = amount, _CTX.add(amount, tax_total)
        taxes = []
        steps = list(wl.steps)
        if lt is not None:
            for t in lt.taxes:
                rate = t.rate
                taxes.append(TaxDetail(
                    tax_id=rate.id, name=rate.name, ruleset=rate.source,
                    base=quantize(t.base, cur, RoundingMode.HALF_UP),
                    rate=rate.rate if rate.kind is TaxKind.PERCENT else None,
                    amount_per_unit=(rate.amount_per_unit
                                     if rate.kind is TaxKind.FIXED_PER_UNIT else None),
                    amount=at(t.amount, f"{where} {rate.id}"), group=rate.group))
                s = tax_sums.setdefault(rate.id, [rate, _ZERO, _ZERO])
                s[1] += quantize(t.base, cur, RoundingMode.HALF_UP)
                s[2] += at(t.amount, f"{where} {rate.id}")
            running = amount
            for t in lt.taxes:
                after = running if wl.prices_include_tax else _CTX.add(running, t.amount)
                label = "included" if wl.prices_include_tax else "added"
                steps.append(WaterfallStep(
                    stage=Stage.TAX, rule=t.rate.id, ruleset=t.rate.source,
                    description=f"{t.rate.name} on {t.base} ({label})",
                    before=running, after=after, raw=t.raw, rounded=t.amount))
                running = after
        list_amount = at(wl.list_amount, f"{where} list amount") \
            if wl.list_amount is not None else amount
        for ch in wl.charges:
            if ch.kind is ChargeKind.ONE_TIME:
                one_time += ch.amount
            elif ch.kind is ChargeKind.RECURRING and ch.period:
                r = recurring.setdefault(ch.period, [zero, zero])
                r[0] += ch.amount
                if wl.tax_rates and wl.tax_policy is not None:
                    pol = wl.tax_policy
                    if pol.scope is RoundingScope.DOCUMENT:
                        pol = TaxPolicy(pol.mode, RoundingScope.LINE, pol.prices_include_tax)
                    r[1] += tax_line(ch.amount, wl.quantity, wl.tax_rates, pol, cur).tax_total
            elif ch.kind is ChargeKind.USAGE:
                usage += ch.amount
        lines.append(PricedLine(
            line_id=wl.line.id, sku=wl.sku, quantity=wl.quantity, unit=wl.line_env["unit"],
            category=wl.category, price_list=wl.price_list.ref if wl.price_list else None,
            entry=wl.entry.id if wl.entry else None, list_unit_price=wl.list_unit_price,
            list_amount=list_amount, discount_total=_CTX.subtract(list_amount, amount),
            net=net, tax_total=tax_total, gross=gross, prices_include_tax=wl.prices_include_tax,
            taxes=tuple(taxes), waterfall=tuple(steps), components=tuple(wl.components),
            charges=tuple(wl.charges), requires_approval=bool(wl.approval_reasons),
            approval_reasons=tuple(wl.approval_reasons),
        ))
    reasons = [r for wl in state.lines for r in wl.approval_reasons] + state.approval_reasons

    def total(field: str) -> Decimal:
        return sum((getattr(pl, field) for pl in lines), zero)

    gross = total("gross")
    totals = Totals(
        list_amount=total("list_amount"), discounts=total("discount_total"), net=total("net"),
        tax=total("tax_total"), gross=gross, one_time=one_time + zero, due_today=gross,
        recurring=tuple(
            RecurringTotal(period=p, net=v[0], tax=v[1],
                           gross=v[0] if _prices_included(state) else _CTX.add(v[0], v[1]))
            for p, v in sorted(recurring.items())),
        usage_estimate=usage + zero,
    )
    return PricedOrder(
        order_id=state.order.id, currency=cur, as_of=state.as_of, lines=tuple(lines),
        taxes=tuple(TaxSummary(tax_id=k, name=v[0].name,
                               rate=v[0].rate if v[0].kind is TaxKind.PERCENT else None,
                               base=v[1], amount=v[2], group=v[0].group)
                    for k, v in sorted(tax_sums.items())),
        promotions=tuple(state.promotions), totals=totals,
        requires_approval=bool(reasons), approval_reasons=tuple(reasons),
        warnings=tuple(dict.fromkeys(state.warnings)), rulesets=state.rules.refs,
    )


def _prices_included(state: PricingState) -> bool:
    return any(wl.prices_include_tax for wl in state.lines if wl.service is not None)
