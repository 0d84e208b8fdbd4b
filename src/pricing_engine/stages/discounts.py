"""Stage 6, ``discounts``: line, order and multi-line promotion rules.

The stacking semantics (stages, priorities, exclusive groups, ``stop_after``,
coupons) are those documented in :mod:`pricing_engine.discounts`, which compiles
and indexes the rules; this module applies them to one order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pricing_engine.allocation import allocate
from pricing_engine.discounts import CONDITION_ERRORS, CompiledDiscount, DiscountType, OrderMatcher, eligibility
from pricing_engine.errors import PricingEvaluationError
from pricing_engine.evaluation import evaluate
from pricing_engine.models import AppliedPromotion, Stage
from pricing_engine.money import Money
from pricing_engine.pipeline import PricingState, WorkLine
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingMode, RoundingScope, quantize
from pricing_engine.stages.common import fmt
from rule_language import EvaluationError

__all__ = ["DiscountStage"]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


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
        state.order_env["order"]["list_amount"] = sum((wl.amount for wl in state.lines), _ZERO)
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
                ok = evaluate(r.check, wl.env, f"discount {r.id}", loc, r.reads)
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
                cond = r.condition
                lines = [wl for wl in lines if evaluate(cond, wl.env, f"discount {r.id}",
                                                        ("lines", wl.index), r.reads)]
            elif not evaluate(r.condition, state.order_env, f"discount {r.id}", loc, r.reads):
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
                         f"{r.description} (share of {fmt(total)})",
                         _CTX.subtract(wl.amount, amount), -raw_share)
            given += amount
            touched.append(wl.line.id)
            if r.stop_after:
                wl.stopped = True
        if given:
            entry = applied.setdefault((r.ref, r.id), [r, _ZERO, []])
            entry[1] += given
            entry[2].extend(touched)
