"""The default pipeline stages, registered by stable name.

Order (:data:`DEFAULT_PIPELINE`): ``price_list`` → ``service_charges`` →
``quantity`` → ``roll_up`` → ``rounding`` → ``discounts`` →
``manual_adjustments`` → ``document_rounding`` → ``tax``. Each is a small class
with a ``name`` and ``run(state)``; see :mod:`pricing_engine.pipeline` for the
Protocol and the invariants they keep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from pricing_engine.allocation import allocate
from pricing_engine.discounts import CONDITION_ERRORS, CompiledDiscount, DiscountType, OrderMatcher, eligibility
from pricing_engine.errors import NoPriceError, PricingEvaluationError
from pricing_engine.models import (
    AppliedPromotion,
    ChargeLine,
    ManualAdjustmentType,
    PricedComponent,
    Stage,
)
from pricing_engine.money import Money
from pricing_engine.pipeline import PricingStage, PricingState, WorkLine
from pricing_engine.price_lists import PriceEntry, PriceList, option_key
from pricing_engine.recurring import ChargeKind, schedule
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingMode, RoundingScope, quantize
from pricing_engine.tax import TaxKind, TaxPolicy, TaxRate, settle_document_taxes, tax_line
from pricing_engine.tiers import TierMode, price_package, price_tiers
from pricing_engine.units import convert_quantity
from rule_language import EvaluationError

__all__ = [
    "DEFAULT_PIPELINE",
    "STAGES",
    "DiscountStage",
    "DocumentRoundingStage",
    "ManualAdjustmentStage",
    "PriceListStage",
    "QuantityStage",
    "RollUpStage",
    "RoundingStage",
    "ServiceChargeStage",
    "TaxStage",
]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def _fmt(d: Decimal) -> str:
    return format(d, "f")


def _evaluate(fn: Any, env: Mapping[str, Any], what: str, loc: tuple[str | int, ...]) -> Any:
    try:
        return fn(env)
    except EvaluationError as exc:
        raise PricingEvaluationError(f"{what}: {exc}", loc) from None


# --- 1. price list selection and base price ------------------------------------------


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

    own = pl.own_entry(wl.sku, wl.category, qty, wl.env)
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
        conv = f" × rate {_fmt(rate)} from {pl.currency}" if rate != 1 else ""
        uom = f" per {entry.unit}" if entry.unit else ""
        desc = (f"{_fmt(raw_unit)}{uom}{conv} × {_fmt(wl.price_quantity)} "
                f"({'; '.join(trail)})")
        state.record(wl, Stage.PRICE_LIST, entry.id, pl.ref, desc, amount,
                     _CTX.multiply(raw_unit, wl.price_quantity))


# --- 2. services ---------------------------------------------------------------------


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
                         "due today: " + ", ".join(f"{c.id} {_fmt(c.due_today)}"
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


# --- 3. quantity pricing ----------------------------------------------------------------


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
                        f"of {_fmt(p.block_size)} at {_fmt(p.block_price)}"
                        + (f", {_fmt(p.free_units)} free" if p.free_units else ""))
            else:
                try:
                    res = price_tiers(e.tiers, q, e.tier_mode, checked=True)
                except ValueError as exc:
                    raise PricingEvaluationError(str(exc), ("lines", wl.index, "quantity")) from None
                desc = f"{e.tier_mode} tiers: " + " + ".join(
                    f"{_fmt(pt.quantity)} × {_fmt(pt.unit_price)}"
                    + (f" + {_fmt(pt.flat_fee)}" if pt.flat_fee else "") for pt in res.parts)
                if e.tier_mode is TierMode.VOLUME and res.parts:
                    wl.list_unit_price = _CTX.multiply(res.parts[0].unit_price, wl.rate)
            raw = _CTX.multiply(res.amount, wl.rate)
            if wl.rate != 1:
                desc += f" × rate {_fmt(wl.rate)} from {pl.currency}"
            state.record(wl, Stage.QUANTITY, e.id, pl.ref, desc, raw, raw)


# --- 4. configured products and bundles ------------------------------------------------------


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
                unit = _evaluate(op.formula.fn, wl.env, f"option price {op.id}",
                                 ("lines", wl.index, "options", name))
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
                         f"{op.description}: {_fmt(unit)} × {_fmt(wl.quantity)}",
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
                             f"component {comp.sku}: {_fmt(unit)} × {_fmt(qty)}",
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


# --- 5. rounding of list amounts -----------------------------------------------------------


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
                             + (f" to step {_fmt(wl.policy.step)}" if wl.policy.step else ""),
                             rounded, _CTX.subtract(rounded, wl.amount))


# --- 6. discounts and promotions ------------------------------------------------------------


class DiscountStage:
    """Apply discount rules with the stacking semantics of :mod:`pricing_engine.discounts`."""

    name = "discounts"

    def run(self, state: PricingState) -> None:
        for wl in state.lines:
            wl.list_amount = wl.amount
            wl.line_env["list_amount"] = wl.amount
        indexes = state.rules.discounts
        if not indexes:
            return
        o = state.order
        subtotal = sum((wl.amount for wl in state.lines), _ZERO)
        state.order_env["order"]["subtotal"] = subtotal
        customer = o.customer
        country = o.ship_to.country if o.ship_to else None
        region = o.ship_to.region if o.ship_to else None

        eligible = eligibility(state.as_of, customer.account, customer.segment, o.channel,
                               country, region, state.currency, o.exchange_rates)

        coupon_rules, valid_coupons = self._coupon_rules(state, indexes, eligible)
        order_rules = [r for idx in indexes for r in idx.order_level if eligible(r)]
        order_rules += [r for r in coupon_rules if r.level != "line"]
        order_rules.sort(key=lambda r: r.order_key)  # the stacking order (see discounts)
        line_coupon = [r for r in coupon_rules if r.level == "line"]
        per_line: list[list[CompiledDiscount]] = []
        stages: set[int] = {r.stage for r in order_rules}
        matcher = OrderMatcher(indexes, eligible, line_coupon)
        for wl in state.lines:
            cands = matcher.candidates(wl.sku, wl.category)
            per_line.append(cands)
            stages.update(r.stage for r in cands)
        applied: dict[tuple[str, str], list[Any]] = {}
        for stage in sorted(stages):
            for wl, cands in zip(state.lines, per_line, strict=True):
                rs = [r for r in cands if r.stage == stage]
                if rs and not wl.stopped:
                    self._line_rules(state, wl, rs, applied)
            for r in self._best_of(state, [r for r in order_rules if r.stage == stage]):
                self._order_rule(state, r, applied)
        for (ref, rid), (rule, amount, lines) in applied.items():
            state.promotions.append(AppliedPromotion(
                rule=rid, ruleset=ref, description=rule.description,
                level="line" if rule.level == "line" else "order", coupon=rule.coupon,
                amount=amount, lines=tuple(lines)))
        used_coupons = {r.coupon for (_, _), (r, _, _) in applied.items() if r.coupon}
        for code in sorted({c.upper() for c in o.coupons}):
            if code in valid_coupons and code not in used_coupons and not any(
                    w.startswith(f"coupon {code} ") for w in state.warnings):
                state.warnings.append(f"coupon {code} does not apply to this order")

    # helpers -------------------------------------------------------------------------------

    @staticmethod
    def _money(state: PricingState, r: CompiledDiscount) -> Decimal | None:
        cur = state.currency
        if cur in r.amounts:
            return r.amounts[cur]
        for c in sorted(r.amounts):
            if c in state.order.exchange_rates:
                return _CTX.multiply(r.amounts[c], state.rate_for(c, ("exchange_rates",)))
        return None

    @staticmethod
    def _cap(state: PricingState, r: CompiledDiscount) -> Decimal | None:
        caps = r.caps or {}
        if state.currency in caps:
            return caps[state.currency]
        for c in sorted(caps):
            if c in state.order.exchange_rates:
                return _CTX.multiply(caps[c], state.rate_for(c, ("exchange_rates",)))
        return None

    def _coupon_rules(self, state: PricingState, indexes: Sequence[Any], eligible: Any
                      ) -> tuple[list[CompiledDiscount], set[str]]:
        o = state.order
        usage = {k.upper(): v for k, v in o.coupon_usage.items()}
        valid: set[str] = set()
        out: list[CompiledDiscount] = []
        for code in sorted({c.upper() for c in o.coupons}):
            rules = [r for idx in indexes for r in idx.by_coupon.get(code, ())]
            if not rules:
                state.warnings.append(f"coupon {code} is not valid")
                continue
            used = usage.get(code)
            ok = []
            for r in rules:
                if used is not None and r.usage_limit is not None and used.total >= r.usage_limit:
                    state.warnings.append(f"coupon {code} has reached its usage limit "
                                          f"({r.usage_limit})")
                    continue
                if used is not None and r.per_customer_limit is not None and (
                        used.by_customer >= r.per_customer_limit):
                    state.warnings.append(f"coupon {code} was already used "
                                          f"{used.by_customer} time(s) by this customer")
                    continue
                if eligible(r):
                    ok.append(r)
            if ok:
                valid.add(code)
            elif not any("coupon " + code in w for w in state.warnings):
                state.warnings.append(f"coupon {code} does not apply to this order")
            out.extend(ok)
        return out, valid

    def _value(self, state: PricingState, r: CompiledDiscount, env: Mapping[str, Any],
               loc: tuple[str | int, ...]) -> Decimal | None:
        """The rule's value on ``env`` (percent, or money in the order currency)."""
        if r.table is not None:
            try:
                res = r.table.evaluate(env).value
            except EvaluationError as exc:
                raise PricingEvaluationError(f"discount {r.id} table: {exc}", loc) from None
            if res is None:
                return None
            if isinstance(res, Mapping):
                res = res.get("value")
            if not isinstance(res, Decimal | int) or isinstance(res, bool):
                raise PricingEvaluationError(f"discount {r.id}: the table gave {res!r}, "
                                             "not a number", loc)
            return Decimal(res)
        if r.type is DiscountType.PERCENT:
            return r.value
        return self._money(state, r)

    def _line_amount(self, state: PricingState, r: CompiledDiscount, wl: WorkLine
                     ) -> tuple[Decimal, Decimal] | None:
        """(raw, rounded) discount of a line rule on the line's current amount, or None."""
        loc = ("lines", wl.index)
        if r.check is not None:
            try:
                ok = r.check(wl.env)  # the bare compiled callable: the hot path
            except CONDITION_ERRORS:  # re-evaluate guarded, for a located error
                ok = _evaluate(r.condition, wl.env, f"discount {r.id}", loc)
            if not ok:
                return None
        value = self._value(state, r, wl.env, loc)
        if value is None:
            return None
        base = wl.amount
        q = wl.quantity
        pol = wl.policy
        cur = state.currency
        if r.type is DiscountType.PERCENT:
            if pol.scope is RoundingScope.UNIT and q:
                per_unit = _CTX.divide(_CTX.multiply(_CTX.divide(base, q), value), _HUNDRED)
                raw = _CTX.multiply(per_unit, q)
                rounded = _CTX.multiply(pol.round(per_unit, cur), q)
            else:
                raw = _CTX.divide(_CTX.multiply(base, value), _HUNDRED)
                rounded = raw if pol.scope is RoundingScope.DOCUMENT else pol.round(raw, cur)
        elif r.type is DiscountType.AMOUNT:
            raw = _CTX.multiply(value, q) if r.per == "unit" else value
            rounded = raw if pol.scope is RoundingScope.DOCUMENT else pol.round(raw, cur)
        elif r.type is DiscountType.FIXED_PRICE:
            target = _CTX.multiply(value, wl.price_quantity if wl.entry else q)
            raw = _CTX.subtract(base, target)
            if raw <= 0:
                return None
            rounded = raw if pol.scope is RoundingScope.DOCUMENT else pol.round(raw, cur)
        else:
            return None
        cap = self._cap(state, r) if r.caps is not None else None
        if cap is not None:
            raw, rounded = min(raw, cap), min(rounded, cap)
        raw, rounded = min(raw, base), min(rounded, base)
        if rounded <= 0:
            return None
        return raw, rounded

    def _line_rules(self, state: PricingState, wl: WorkLine, rs: list[CompiledDiscount],
                    applied: dict[tuple[str, str], list[Any]]) -> None:
        winners: dict[str, CompiledDiscount] = {}
        best: dict[str, Decimal] = {}
        for r in rs:
            if r.exclusive_group is None:
                continue
            got = self._line_amount(state, r, wl)
            if got is not None and (r.exclusive_group not in best or got[1] > best[r.exclusive_group]):
                best[r.exclusive_group] = got[1]
                winners[r.exclusive_group] = r
        for r in rs:
            if r.exclusive_group is not None and winners.get(r.exclusive_group) is not r:
                continue
            got = self._line_amount(state, r, wl)
            if got is None:
                continue
            raw, rounded = got
            state.record(wl, Stage.DISCOUNT, r.id, r.ref, r.description,
                         _CTX.subtract(wl.amount, rounded), -raw)
            entry = applied.setdefault((r.ref, r.id), [r, _ZERO, []])
            entry[1] += rounded
            entry[2].append(wl.line.id)
            if r.stop_after:
                wl.stopped = True
                return

    def _order_plan(self, state: PricingState, r: CompiledDiscount
                    ) -> tuple[list[WorkLine], list[Decimal], Decimal] | None:
        """Lines, exact per-line weights and the exact total of an order/group rule."""
        loc: tuple[str | int, ...] = ("discounts", r.id)
        lines = [wl for wl in state.lines
                 if not wl.stopped and wl.amount > 0 and r.selects(wl.sku, wl.category)]
        if r.condition is not None:
            if r.needs_line_env:
                lines = [wl for wl in lines
                         if _evaluate(r.condition, wl.env, f"discount {r.id}", loc)]
            elif not _evaluate(r.condition, state.order_env, f"discount {r.id}", loc):
                return None
        if not lines:
            return None
        env = lines[0].env if r.needs_line_env else state.order_env
        if r.type in (DiscountType.PERCENT, DiscountType.AMOUNT):
            value = self._value(state, r, env, loc)
            if value is None:
                return None
            base = sum((wl.amount for wl in lines), _ZERO)
            if r.type is DiscountType.PERCENT:
                total = _CTX.divide(_CTX.multiply(base, value), _HUNDRED)
            else:
                total = value
            return lines, [wl.amount for wl in lines], min(total, base)
        if r.type in (DiscountType.BUY_X_GET_Y, DiscountType.CHEAPEST_FREE):
            return self._buy_get(r, lines)
        if r.type is DiscountType.BUNDLE_PRICE:
            price = self._value(state, r, env, loc)
            if price is None:
                return None
            return self._bundle(r, lines, price)
        return None

    @staticmethod
    def _buy_get(r: CompiledDiscount, lines: list[WorkLine]
                 ) -> tuple[list[WorkLine], list[Decimal], Decimal] | None:
        units = [(wl, int(wl.quantity)) for wl in lines if wl.quantity == int(wl.quantity)]
        total_units = sum(n for _, n in units)
        group = r.buy + r.get
        groups = total_units // group if group else 0
        if r.max_applications is not None:
            groups = min(groups, r.max_applications)
        free = groups * r.get
        if free <= 0:
            return None
        by_value = sorted(units, key=lambda t: (_CTX.divide(t[0].amount, t[0].quantity), t[0].index))
        weights: dict[int, Decimal] = {}
        for wl, n in by_value:
            if free <= 0:
                break
            take = min(free, n)
            unit_value = _CTX.divide(wl.amount, wl.quantity)
            weights[wl.index] = _CTX.divide(
                _CTX.multiply(_CTX.multiply(unit_value, take), r.get_percent), _HUNDRED)
            free -= take
        chosen = [wl for wl in lines if wl.index in weights]
        ws = [weights[wl.index] for wl in chosen]
        return chosen, ws, sum(ws, _ZERO)

    @staticmethod
    def _bundle(r: CompiledDiscount, lines: list[WorkLine], price: Decimal
                ) -> tuple[list[WorkLine], list[Decimal], Decimal] | None:
        avail = {wl.index: int(wl.quantity) for wl in lines if wl.quantity == int(wl.quantity)}

        def members(skus: Any, cats: Any) -> list[WorkLine]:
            return [wl for wl in lines if wl.index in avail and (
                (skus is not None and wl.sku in skus) or (cats is not None and wl.category in cats))]

        counts = []
        for skus, cats, q in r.components:
            counts.append(sum(avail[wl.index] for wl in members(skus, cats)) // q)
        n = min(counts) if counts else 0
        if r.max_applications is not None:
            n = min(n, r.max_applications)
        if n <= 0:
            return None
        used: dict[int, Decimal] = {}
        for skus, cats, q in r.components:
            need = n * q
            for wl in members(skus, cats):
                if need <= 0:
                    break
                take = min(need, avail[wl.index])
                avail[wl.index] -= take
                need -= take
                value = _CTX.multiply(_CTX.divide(wl.amount, wl.quantity), take)
                used[wl.index] = used.get(wl.index, _ZERO) + value
        bundle_value = sum(used.values(), _ZERO)
        discount = _CTX.subtract(bundle_value, _CTX.multiply(price, n))
        if discount <= 0:
            return None
        chosen = [wl for wl in lines if wl.index in used]
        return chosen, [used[wl.index] for wl in chosen], discount

    def _best_of(self, state: PricingState, rules: list[CompiledDiscount]) -> list[CompiledDiscount]:
        """Order rules of one stage with exclusive groups reduced to their best rule."""
        best: dict[str, tuple[Decimal, CompiledDiscount]] = {}
        for r in rules:
            if r.exclusive_group is None:
                continue
            plan = self._order_plan(state, r)
            amount = self._capped(state, r, plan[2]) if plan else _ZERO
            if plan and (r.exclusive_group not in best or amount > best[r.exclusive_group][0]):
                best[r.exclusive_group] = (amount, r)
        kept = [r for r in rules
                if r.exclusive_group is None or (r.exclusive_group in best
                                                 and best[r.exclusive_group][1] is r)]
        for r in rules:
            if r.coupon and r not in kept and r.exclusive_group in best:
                winner = best[r.exclusive_group][1]
                state.warnings.append(
                    f"coupon {r.coupon} was not applied: {winner.id} is a better offer in "
                    f"exclusive group {r.exclusive_group}")
        return kept

    def _capped(self, state: PricingState, r: CompiledDiscount, amount: Decimal) -> Decimal:
        cap = self._cap(state, r) if r.caps is not None else None
        return amount if cap is None else min(amount, cap)

    def _order_rule(self, state: PricingState, r: CompiledDiscount,
                    applied: dict[tuple[str, str], list[Any]]) -> None:
        plan = self._order_plan(state, r)
        if plan is None:
            return
        lines, weights, raw_total = plan
        raw_total = self._capped(state, r, raw_total)
        cur = state.currency
        total = min(quantize(raw_total, cur, state.order_policy.mode),
                    quantize(sum((wl.amount for wl in lines), _ZERO), cur, RoundingMode.DOWN))
        if total <= 0:
            return
        shares = allocate(Money(total, cur), weights)
        given = _ZERO
        touched = []
        for wl, share, w in zip(lines, shares, weights, strict=True):
            amount = min(share.amount, wl.amount)
            if amount <= 0:
                continue
            raw_share = _CTX.divide(_CTX.multiply(raw_total, w), sum(weights, _ZERO)) \
                if sum(weights, _ZERO) else _ZERO
            state.record(wl, Stage.ORDER_DISCOUNT, r.id, r.ref,
                         f"{r.description} (share of {_fmt(total)})",
                         _CTX.subtract(wl.amount, amount), -raw_share)
            given += amount
            touched.append(wl.line.id)
            if r.stop_after:
                wl.stopped = True
        if given:
            entry = applied.setdefault((r.ref, r.id), [r, _ZERO, []])
            entry[1] += given
            entry[2].extend(touched)


# --- 7. manual adjustments --------------------------------------------------------------------


class ManualAdjustmentStage:
    """Apply a person's overrides and discounts; flag those beyond the role's limit."""

    name = "manual_adjustments"

    def run(self, state: PricingState) -> None:
        limits = state.rules.limits
        cur = state.currency
        for wl in state.lines:
            for k, adj in enumerate(wl.line.manual_adjustments):
                loc = ("lines", wl.index, "manual_adjustments", k)
                before = wl.amount
                if adj.type is ManualAdjustmentType.OVERRIDE:
                    after = wl.policy.round(_CTX.multiply(adj.value, wl.quantity), cur)
                    raw = _CTX.subtract(_CTX.multiply(adj.value, wl.quantity), before)
                    desc = f"price override to {_fmt(adj.value)} per unit: {adj.reason}"
                elif adj.type is ManualAdjustmentType.PERCENT:
                    if not 0 <= adj.value <= 100:
                        raise PricingEvaluationError("a percentage must be within 0–100", loc)
                    raw = -_CTX.divide(_CTX.multiply(before, adj.value), _HUNDRED)
                    after = _CTX.subtract(before, min(before, wl.policy.round(-raw, cur)))
                    desc = f"manual discount {_fmt(adj.value)}%: {adj.reason}"
                else:
                    if adj.value < 0:
                        raise PricingEvaluationError("a discount amount must not be negative", loc)
                    raw = -adj.value
                    after = _CTX.subtract(before, min(before, adj.value))
                    desc = f"manual discount {_fmt(adj.value)}: {adj.reason}"
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
                                 f"share of manual order discount {_fmt(total)}: {adj.reason}",
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
                    f"{_fmt(role.max_discount_percent)}% limit of role {adj.role!r}")
        return None


# --- 8. document rounding -----------------------------------------------------------------------


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
                                 f"document rounding: total {_fmt(exact)} → {_fmt(total)}",
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


# --- 9. tax ---------------------------------------------------------------------------------------


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
                    if t.condition is not None and not _evaluate(
                            t.condition, wl.env, f"tax {t.rate.id}", ("lines", wl.index)):
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


_STAGE_LIST: tuple[PricingStage, ...] = (
    PriceListStage(),
    ServiceChargeStage(),
    QuantityStage(),
    RollUpStage(),
    RoundingStage(),
    DiscountStage(),
    ManualAdjustmentStage(),
    DocumentRoundingStage(),
    TaxStage(),
)

#: Every registered stage by its stable name (read-only).
STAGES: Mapping[str, PricingStage] = MappingProxyType({s.name: s for s in _STAGE_LIST})
#: The default order of the pipeline.
DEFAULT_PIPELINE: tuple[PricingStage, ...] = _STAGE_LIST
