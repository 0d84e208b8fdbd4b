"""The ``discount_rules`` ruleset kind: promotions, coupons and their stacking.

A discount rule says *what* it discounts (``applies_to`` SKUs/categories, ``for``
segments/channels/regions, a rule-language ``condition`` or a decision ``table``
whose output is the rule's value), *how* (``type``), and *how it stacks*.

Types: ``percent`` (value % of the current amount), ``amount`` (per ``line`` or
per ``unit``; per order at order level), ``fixed_price`` (the unit price becomes
value), ``buy_x_get_y`` (for every ``buy`` + ``get`` qualifying units, the ``get``
cheapest are ``get_percent`` % off), ``cheapest_free`` (in every ``every``
qualifying units the cheapest is free), ``bundle_price`` (a complete set of
``components`` costs value). ``percent`` and ``amount`` work per line
(``level: line``) or on the eligible lines' subtotal (``level: order``, allocated
back over those lines); the last three always pool units across lines.

Stacking is explicit and deterministic:

1. Rules run by ascending ``stage``; within a stage by descending ``priority``,
   then ruleset name, then file order. Line-level rules of a stage run before its
   order-level and multi-line rules.
2. Each rule computes its discount on the amount left by the rules before it.
3. Of the rules that would apply in the same stage and ``exclusive_group``, only
   the best (largest discount) applies; ties go to the earlier rule.
4. ``stop_after: true``: once the rule applied to a line, no later rule touches it.
5. ``cap`` limits one application (per line at line level, per order otherwise);
   a discount never exceeds the amount it applies to, so nothing goes below zero.

Coupons: a rule with ``coupon`` only applies when the order carries the code
(case-insensitive), and only while the redemption counts given with the order are
under ``usage_limit`` / ``per_customer_limit``.

Matching is indexed at compile time: a rule is filed under the SKUs and categories
of its ``applies_to``, or — when it has none — under the ``line.sku``/``line.category``
equality atoms its condition requires (read from the condition's exact sympy form),
and under its coupon code; a line only evaluates the rules filed under its SKU, its
category, and the unfiled ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import Any, Literal

import sympy
from pydantic import Field

from pricing_engine.env import declared_schema, pricing_schema
from pricing_engine.models import Dec
from pricing_engine.specs import CurrencyCode, Matcher, PerCurrency, Segmentation, Spec
from rule_language import BOOLEAN, CompileContext, DecisionTableSpec, LinkContext, LoadedRuleset, RulesetHeader

__all__ = [
    "CONDITION_ERRORS",
    "CompiledDiscount",
    "DiscountIndex",
    "DiscountRulesFile",
    "DiscountType",
    "OrderMatcher",
    "compile_discount_rules",
    "eligibility",
    "link_discount_rules",
]


class DiscountType(StrEnum):
    PERCENT = "percent"
    AMOUNT = "amount"
    FIXED_PRICE = "fixed_price"
    BUY_X_GET_Y = "buy_x_get_y"
    CHEAPEST_FREE = "cheapest_free"
    BUNDLE_PRICE = "bundle_price"


GROUP_TYPES = frozenset({DiscountType.BUY_X_GET_Y, DiscountType.CHEAPEST_FREE,
                         DiscountType.BUNDLE_PRICE})
MONEY_TYPES = frozenset({DiscountType.AMOUNT, DiscountType.FIXED_PRICE, DiscountType.BUNDLE_PRICE})


class SelectorSpec(Spec):
    skus: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    exclude_skus: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()


class ComponentSpec(Spec):
    skus: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    quantity: int = Field(1, ge=1)


class CouponSpec(Spec):
    code: str = Field(min_length=1)
    usage_limit: int | None = Field(None, ge=0)
    per_customer_limit: int | None = Field(None, ge=0)


class DiscountSpec(Spec):
    id: str = Field(min_length=1)
    description: str | None = None
    type: DiscountType
    level: Literal["line", "order"] = "line"
    value: Dec | None = None
    amounts: PerCurrency | None = None
    per: Literal["line", "unit"] = "line"
    buy: int | None = Field(None, ge=1)
    get: int | None = Field(None, ge=1)
    get_percent: Dec = Field(Decimal(100), gt=0, le=100)
    every: int | None = Field(None, ge=2)
    components: tuple[ComponentSpec, ...] = ()
    max_applications: int | None = Field(None, ge=1)
    applies_to: SelectorSpec = SelectorSpec()
    for_: Segmentation = Field(Segmentation(), alias="for")
    condition: str | None = None
    table: DecisionTableSpec | None = None
    coupon: CouponSpec | None = None
    stage: int = 100
    priority: int = 0
    exclusive_group: str | None = None
    stop_after: bool = False
    cap: Dec | PerCurrency | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class DiscountRulesFile(RulesetHeader):
    kind: Literal["discount_rules"]
    currency: CurrencyCode | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    discounts: tuple[DiscountSpec, ...]


@dataclass(frozen=True, slots=True)
class CompiledDiscount:
    """One rule, ready to match; ``order_key`` is its global stacking position."""

    id: str
    ref: str
    description: str
    type: DiscountType
    level: str  # "line", "order" or "group"
    value: Decimal | None
    amounts: Mapping[str, Decimal]
    per: str
    buy: int
    get: int
    get_percent: Decimal
    components: tuple[tuple[frozenset[str] | None, frozenset[str] | None, int], ...]
    max_applications: int | None
    skus: frozenset[str] | None
    categories: frozenset[str] | None
    exclude_skus: frozenset[str]
    exclude_categories: frozenset[str]
    matcher: Matcher
    condition: Callable[[Mapping[str, Any]], Any] | None
    table: Any
    coupon: str | None
    usage_limit: int | None
    per_customer_limit: int | None
    stage: int
    priority: int
    exclusive_group: str | None
    stop_after: bool
    caps: Mapping[str, Decimal] | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    order_key: tuple[int, int, str, int]
    needs_line_env: bool
    check: Callable[[Mapping[str, Any]], Any] | None = None  # the condition's compiled callable
    excludes: bool = False  # applies_to has exclusions (the index alone does not decide)
    universal: bool = False  # eligible for every order: no dates, segmentation or money
    file_skus: frozenset[str] | None = None  # index keys: from applies_to or the condition
    file_categories: frozenset[str] | None = None
    required_segments: frozenset[str] | None = None  # the condition needs one of these
    reads: frozenset[str] = frozenset()  # the paths the condition reads (to name a missing one)

    def selects(self, sku: str, category: str | None) -> bool:
        """Does ``applies_to`` cover a line with this SKU and category?"""
        if sku in self.exclude_skus or (category is not None and category in self.exclude_categories):
            return False
        if self.skus is None and self.categories is None:
            return True
        return (self.skus is not None and sku in self.skus) or (
            self.categories is not None and category in self.categories)

    def money_value(self, currency: str) -> Decimal | None:
        """The rule's money value in ``currency`` (None: the rule has no price there)."""
        if currency in self.amounts:
            return self.amounts[currency]
        return None

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class DiscountIndex:
    """A compiled discount file: rules filed by SKU, category and coupon."""

    ref: str
    name: str
    rules: tuple[CompiledDiscount, ...]
    by_sku: Mapping[str, tuple[CompiledDiscount, ...]]
    by_category: Mapping[str, tuple[CompiledDiscount, ...]]
    unfiled_line: tuple[CompiledDiscount, ...]
    by_coupon: Mapping[str, tuple[CompiledDiscount, ...]]
    order_level: tuple[CompiledDiscount, ...]  # order + group rules without coupon
    coupons: frozenset[str]


#: What a bare compiled condition raises on bad input (the guarded form turns them
#: into a located EvaluationError; see rule_language.codegen).
CONDITION_ERRORS = (LookupError, TypeError, AttributeError, ValueError, ArithmeticError)


def eligibility(
    as_of: dt.date, account: str | None, segment: str | None, channel: str | None,
    country: str | None, region: str | None, currency: str, rates: Mapping[str, Decimal],
) -> Callable[[CompiledDiscount], bool]:
    """What makes a rule eligible for an order, whatever the line: validity dates,
    segmentation, and a money value (and cap) in the order currency or one the
    order gives an exchange rate for."""

    def priced(values: Mapping[str, Decimal]) -> bool:
        return currency in values or any(c in rates for c in values)

    def eligible(r: CompiledDiscount) -> bool:
        if not r.valid_on(as_of):
            return False
        if not r.matcher.matches(account, segment, channel, country, region):
            return False
        if r.required_segments is not None and segment not in r.required_segments:
            return False
        if r.amounts and r.type is not DiscountType.PERCENT and not priced(r.amounts):
            return False
        return r.caps is None or priced(r.caps)

    return eligible


_ORDER_KEY = attrgetter("order_key")


class OrderMatcher:
    """Line-level rule matching for one order: the indexed candidates, filtered.

    ``eligible`` decides what depends only on the order (validity dates,
    segmentation, a price in the order currency); it is asked once per rule and
    order and cached. ``extra`` are rules unlocked by the order's coupons.
    """

    __slots__ = ("_cache", "_eligible", "_unfiled", "extra", "indexes")

    def __init__(self, indexes: Sequence[DiscountIndex],
                 eligible: Callable[[CompiledDiscount], bool],
                 extra: Sequence[CompiledDiscount] = ()) -> None:
        self.indexes = indexes
        self._eligible = eligible
        self._cache: dict[int, bool] = {}
        self.extra = tuple(extra)
        # rules filed under no SKU or category are checked for the order once, not per line
        self._unfiled = tuple(r for idx in indexes for r in idx.unfiled_line if eligible(r))

    def candidates(self, sku: str, category: str | None) -> list[CompiledDiscount]:
        """Rules that may apply to a line, in stacking order (conditions not yet evaluated)."""
        cache = self._cache
        eligible = self._eligible
        out: list[CompiledDiscount] = []
        for idx in self.indexes:
            for group in (idx.by_sku.get(sku), idx.by_category.get(category) if category else None):
                if not group:
                    continue
                for r in group:
                    if not r.universal:
                        ok = cache.get(id(r))
                        if ok is None:
                            ok = cache[id(r)] = eligible(r)
                        if not ok:
                            continue
                    if not r.excludes or r.selects(sku, category):
                        out.append(r)
        for r in self._unfiled:
            if not r.excludes or r.selects(sku, category):
                out.append(r)
        for r in self.extra:
            if r.selects(sku, category) and eligible(r):
                out.append(r)
        if len(out) > 1:
            out.sort(key=_ORDER_KEY)
        return out

    def matching(self, sku: str, category: str | None, env: Mapping[str, Any]) -> list[CompiledDiscount]:
        """Candidates whose condition holds on ``env`` (and whose table gives a value)."""
        out = []
        for r in self.candidates(sku, category):
            check = r.check
            if check is not None:
                try:
                    ok = check(env)
                except CONDITION_ERRORS:  # the guarded form raises the located EvaluationError
                    ok = r.condition(env)  # type: ignore[misc]
                if not ok:
                    continue
            if r.table is not None and r.table.evaluate(env).value is None:
                continue
            out.append(r)
        return out


def _required_values(expr: Any, atoms: Mapping[Any, Any], path: str) -> frozenset[str] | None:
    """Values of ``path`` one of which the condition requires (from its sympy form)."""

    def of(term: Any) -> frozenset[str] | None:
        if isinstance(term, sympy.Symbol):
            atom = atoms.get(term)
            if atom is not None and atom.path == path and isinstance(atom.value, str):
                return frozenset((atom.value,))
            return None
        if isinstance(term, sympy.Or):
            values: set[str] = set()
            for arg in term.args:
                got = of(arg)
                if got is None:
                    return None
                values |= got
            return frozenset(values)
        return None

    terms = expr.args if isinstance(expr, sympy.And) else (expr,)
    for term in terms:
        found = of(term)
        if found is not None:
            return found
    return None


def compile_discount_rules(model: DiscountRulesFile, ctx: CompileContext) -> DiscountIndex:
    ref = f"{model.name}@{model.version}"
    schema = declared_schema(pricing_schema(), model.inputs, ctx.error, ("inputs",))
    rules: list[Any] = []
    seen: dict[str, int] = {}
    for i, d in enumerate(model.discounts):
        path = ("discounts", i)
        if d.id in seen:
            first = ctx.location(("discounts", seen[d.id])).line
            ctx.error((*path, "id"), f"duplicate discount id {d.id!r} (first on line {first})")
        seen.setdefault(d.id, i)
        level = "group" if d.type in GROUP_TYPES else d.level
        if d.type is DiscountType.FIXED_PRICE and d.level == "order":
            ctx.error((*path, "level"), "a fixed_price discount works per line")
        if d.table is not None and d.type in GROUP_TYPES - {DiscountType.BUNDLE_PRICE}:
            ctx.error((*path, "table"), f"a {d.type} rule takes no value table")
        amounts: dict[str, Decimal] = dict(d.amounts or {})
        needs_value = d.type in (DiscountType.PERCENT, *MONEY_TYPES)
        if needs_value and d.table is None:
            if d.type is DiscountType.PERCENT:
                if d.value is None:
                    ctx.error(path, "a percent discount needs a `value` (or a `table`)")
                elif not 0 <= d.value <= 100:
                    ctx.error((*path, "value"), f"a percentage must be within 0–100, got {d.value}")
            else:
                if d.value is not None and d.amounts is not None:
                    ctx.error((*path, "amounts"), "give `value` or `amounts`, not both")
                if d.value is not None:
                    if model.currency is None:
                        ctx.error((*path, "value"), "a money value needs the file's `currency`",
                                  "add `currency: EUR` to the file, or use `amounts: {EUR: ...}`")
                    else:
                        amounts[model.currency] = d.value
                elif not amounts:
                    ctx.error(path, f"a {d.type} discount needs a `value` or `amounts`")
                if any(v < 0 for v in amounts.values()):
                    ctx.error(path, "discount amounts must not be negative")
        if d.type is DiscountType.BUY_X_GET_Y and (d.buy is None or d.get is None):
            ctx.error(path, "a buy_x_get_y discount needs `buy` and `get`")
        if d.type is DiscountType.CHEAPEST_FREE and d.every is None:
            ctx.error(path, "a cheapest_free discount needs `every` (e.g. 3 for 3-for-2)")
        if d.type is DiscountType.BUNDLE_PRICE and not d.components:
            ctx.error(path, "a bundle_price discount needs `components`")
        caps: dict[str, Decimal] | None = None
        if isinstance(d.cap, Decimal):
            if model.currency is None:
                ctx.error((*path, "cap"), "a cap needs the file's `currency`",
                          "add `currency: EUR` to the file, or write `cap: {EUR: 50}`")
            else:
                caps = {model.currency: d.cap}
        elif d.cap is not None:
            caps = dict(d.cap)
        if caps is not None and any(v < 0 for v in caps.values()):
            ctx.error((*path, "cap"), "a cap must not be negative")
        if d.valid_from and d.valid_to and d.valid_to < d.valid_from:
            ctx.error((*path, "valid_to"), "valid_to is before valid_from")
        cond_fn = None
        compiled = None
        if d.condition is not None:
            compiled = ctx.expression(d.condition, (*path, "condition"), schema, BOOLEAN)
            cond_fn = compiled.fn if compiled is not None else None
        table = None
        if d.table is not None:
            table = ctx.decision_table(d.table, (*path, "table"), schema)
        skus = frozenset(d.applies_to.skus) if d.applies_to.skus is not None else None
        cats = (frozenset(d.applies_to.categories)
                if d.applies_to.categories is not None else None)
        symbols = set(compiled.symbols) if compiled is not None else set()
        if table is not None:
            symbols |= {"line."}  # tables may read anything: evaluate per line
        if buy_get := (d.type is DiscountType.CHEAPEST_FREE and d.every):
            buy, get, pct = buy_get - 1, 1, Decimal(100)
        else:
            buy, get, pct = d.buy or 0, d.get or 0, d.get_percent
        # file the rule under what its condition requires (exact: read from the sympy form)
        file_skus, file_cats, req_segs = skus, cats, None
        if compiled is not None:
            try:
                expr, atoms = compiled.sympy, compiled.atoms
            except (ArithmeticError, TypeError, ValueError, AttributeError, RecursionError):
                # indexing is an optimisation; the condition itself decides
                expr, atoms = None, {}
            if expr is not None:
                req_segs = _required_values(expr, atoms, "customer.segment")
                if skus is None and cats is None and level == "line":
                    file_skus = _required_values(expr, atoms, "line.sku")
                    if file_skus is None:
                        file_cats = _required_values(expr, atoms, "line.category")
        rules.append(CompiledDiscount(
            id=d.id, ref=ref, description=d.description or d.id, type=d.type, level=level,
            value=d.value if d.type is DiscountType.PERCENT else None, amounts=amounts,
            per=d.per, buy=buy, get=get, get_percent=pct,
            components=tuple(
                (None if c.skus is None else frozenset(c.skus),
                 None if c.categories is None else frozenset(c.categories), c.quantity)
                for c in d.components),
            max_applications=d.max_applications, skus=skus, categories=cats,
            exclude_skus=frozenset(d.applies_to.exclude_skus),
            exclude_categories=frozenset(d.applies_to.exclude_categories),
            matcher=Matcher.of(d.for_), condition=cond_fn, table=table,
            coupon=d.coupon.code.upper() if d.coupon else None,
            usage_limit=d.coupon.usage_limit if d.coupon else None,
            per_customer_limit=d.coupon.per_customer_limit if d.coupon else None,
            stage=d.stage, priority=d.priority, exclusive_group=d.exclusive_group,
            stop_after=d.stop_after, caps=caps, valid_from=d.valid_from, valid_to=d.valid_to,
            order_key=(d.stage, -d.priority, model.name, i),
            needs_line_env=any(s.startswith("line.") for s in symbols),
            file_skus=file_skus, file_categories=file_cats, required_segments=req_segs,
            check=cond_fn, reads=compiled.symbols if compiled is not None else frozenset(),
            universal=(d.valid_from is None and d.valid_to is None and req_segs is None
                       and not any(Matcher.of(d.for_).specificity)
                       and (d.type is DiscountType.PERCENT or not amounts) and caps is None),
            excludes=bool(d.applies_to.exclude_skus or d.applies_to.exclude_categories),
        ))
    return _index(ref, model.name, rules)


def _index(ref: str, name: str, items: Sequence[Any]) -> DiscountIndex:
    by_sku: dict[str, list[CompiledDiscount]] = {}
    by_cat: dict[str, list[CompiledDiscount]] = {}
    unfiled: list[CompiledDiscount] = []
    by_coupon: dict[str, list[CompiledDiscount]] = {}
    order_level: list[CompiledDiscount] = []
    rules: list[CompiledDiscount] = []
    for rule in items:
        skus, cats = rule.file_skus, rule.file_categories
        rules.append(rule)
        if rule.coupon is not None:
            by_coupon.setdefault(rule.coupon, []).append(rule)
        elif rule.level != "line":
            order_level.append(rule)
        elif skus is not None or cats is not None:
            for s in sorted(skus or ()):
                by_sku.setdefault(s, []).append(rule)
            for c in sorted(cats or ()):
                by_cat.setdefault(c, []).append(rule)
        else:
            unfiled.append(rule)
    return DiscountIndex(
        ref=ref, name=name, rules=tuple(rules),
        by_sku={k: tuple(v) for k, v in by_sku.items()},
        by_category={k: tuple(v) for k, v in by_cat.items()},
        unfiled_line=tuple(unfiled),
        by_coupon={k: tuple(v) for k, v in by_coupon.items()},
        order_level=tuple(order_level),
        coupons=frozenset(by_coupon),
    )


def link_discount_rules(rulesets: Sequence[LoadedRuleset], ctx: LinkContext) -> None:
    """A coupon code belongs to one rule per period; exclusive groups stay within a stage."""
    owners: dict[str, tuple[Any, int]] = {}
    groups: dict[str, tuple[int, Any, int]] = {}
    for rs in rulesets:
        for i, d in enumerate(rs.model.discounts):
            if d.coupon is not None:
                code = d.coupon.code.upper()
                if code in owners:
                    other, j = owners[code]
                    if (other is not rs or j != i) and _overlap(other.model, rs.model):
                        ctx.warning(rs, ("discounts", i, "coupon", "code"),
                                    f"coupon {code} also unlocks {other.model.discounts[j].id} "
                                    f"in {other.file}; both rules will apply")
                else:
                    owners[code] = (rs, i)
            if d.exclusive_group is not None:
                known = groups.get(d.exclusive_group)
                if known is not None and known[0] != d.stage:
                    ctx.error(rs, ("discounts", i, "exclusive_group"),
                              f"exclusive group {d.exclusive_group!r} is used in stage {known[0]} "
                              f"and stage {d.stage}; best-of works within one stage",
                              "move the rules into one stage, or use two group names")
                groups.setdefault(d.exclusive_group, (d.stage, rs, i))


def _overlap(a: Any, b: Any) -> bool:
    lo = max(a.effective_from or dt.date.min, b.effective_from or dt.date.min)
    hi = min(a.effective_to or dt.date.max, b.effective_to or dt.date.max)
    return lo <= hi
