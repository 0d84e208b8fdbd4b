"""Stage 2, ``service_charges``: price service lines from their one-time, recurring
and usage charges; the line amount is what is due today."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pricing_engine.errors import NoPriceError
from pricing_engine.models import ChargeLine, Stage
from pricing_engine.pipeline import PricingState
from pricing_engine.recurring import ChargeKind, schedule
from pricing_engine.rounding import DECIMAL_CONTEXT, quantize
from pricing_engine.stages.common import fmt
from pricing_engine.stages.price_list import candidate_lists
from pricing_engine.tiers import price_tiers

__all__ = ["ServiceChargeStage"]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)


class ServiceChargeStage:
    """Price service lines from their charges: the line amount is what is due today."""

    name = "service_charges"

    def run(self, state: PricingState) -> None:
        cur = state.currency
        for wl in state.lines:
            svc = wl.service
            if svc is None:
                continue
            policy = candidate_lists(state)[0][0].policy if candidate_lists(state) else wl.policy
            wl.policy = policy
            terms = wl.line.service
            start = (terms.start_date if terms and terms.start_date else state.as_of)
            usage = terms.usage if terms else {}
            nothing = quantize(_ZERO, cur, policy.mode)
            due = nothing
            raw_due = nothing
            for ch in svc.charges:
                loc = ("lines", wl.index, "sku")
                price, rate = self._price(state, ch.price, loc)
                qty = wl.quantity if ch.per_unit else Decimal(1)
                if ch.kind is ChargeKind.ONE_TIME:
                    amount = policy.round(_CTX.multiply(_CTX.multiply(price, rate), qty), cur)
                    wl.charges.append(ChargeLine(
                        id=ch.id, kind=ch.kind, description=ch.description, unit_price=price,
                        quantity=qty, amount=amount, due_today=amount))
                    due += amount
                    raw_due += amount
                elif ch.kind is ChargeKind.RECURRING:
                    assert ch.period is not None
                    sch = schedule(start, ch.period, trial_days=svc.trial_days,
                                   align_to_calendar=svc.align_to_calendar,
                                   term_periods=svc.term_periods)
                    per_raw = _CTX.multiply(_CTX.multiply(price, rate), qty)
                    per = policy.round(per_raw, cur)
                    first = policy.round(_CTX.multiply(per_raw, sch.first_period_fraction), cur)
                    in_trial = svc.trial_days > 0
                    today = nothing if in_trial else first
                    term_total = None
                    if svc.term_periods is not None:
                        stub = first if sch.first_period_fraction != 1 else _ZERO
                        term_total = stub + per * svc.term_periods
                    wl.charges.append(ChargeLine(
                        id=ch.id, kind=ch.kind, description=ch.description,
                        period=ch.period.label, unit_price=price, quantity=qty,
                        amount=per, first_period_amount=first, due_today=today,
                        prorated_days=sch.prorated_days, period_days=sch.period_days,
                        trial_end=sch.trial_end, paid_start=sch.paid_start,
                        next_billing=sch.next_billing, term_end=sch.term_end,
                        term_total=term_total))
                    due += today
                    raw_due += today
                else:  # usage, billed in arrears: an estimate, not due today
                    assert ch.period is not None
                    estimate = usage.get(ch.id, _ZERO)
                    if ch.tiers:
                        tiers = ch.tiers.get(cur)
                        trate = Decimal(1)
                        if tiers is None:
                            src = sorted(ch.tiers)[0]
                            tiers, trate = ch.tiers[src], state.rate_for(src, loc)
                        raw = price_tiers(tiers, estimate, ch.tier_mode, checked=True).amount
                        amount = policy.round(_CTX.multiply(raw, trate), cur)
                        unit_price = tiers[0].unit_price
                    else:
                        amount = policy.round(_CTX.multiply(_CTX.multiply(price, rate), estimate), cur)
                        unit_price = price
                    wl.charges.append(ChargeLine(
                        id=ch.id, kind=ch.kind, description=ch.description,
                        period=ch.period.label, unit_price=unit_price, quantity=estimate,
                        amount=amount, due_today=nothing))
            state.record(wl, Stage.SERVICE, svc.sku, svc.ref,
                         "due today: " + ", ".join(f"{c.id} {fmt(c.due_today)}"
                                                   for c in wl.charges), due, raw_due)

    @staticmethod
    def _price(state: PricingState, prices: Mapping[str, Decimal],
               loc: tuple[str | int, ...]) -> tuple[Decimal, Decimal]:
        if not prices:
            return _ZERO, Decimal(1)
        if state.currency in prices:
            return prices[state.currency], Decimal(1)
        for cur in sorted(prices):
            if cur in state.order.exchange_rates:
                return prices[cur], state.rate_for(cur, loc)
        raise NoPriceError(
            f"the service has no price in {state.currency} and the order gives no exchange "
            f"rate from {', '.join(sorted(prices))}", loc)
