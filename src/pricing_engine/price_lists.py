"""The ``price_list`` ruleset kind: base prices, tiers, option prices, derived lists.

A price list is in one currency and is *for* some customers (``for:`` accounts,
segments, channels, ship-to regions; omitted = everyone), during its header's
effective dates. Entries price a SKU, a product category, or anything (an entry
with neither); within a list the first applicable entry wins, SKU entries before
category entries before catch-all entries, each group in file order. An entry
applies when the line's quantity (in the entry's unit) reaches ``min_quantity``
and its ``condition`` holds. An entry is priced per unit (``price``), by a tier
table (``tiers`` + ``tier_mode``), or per started block (``package``).

``options:`` price the chosen options of a configured product, per unit of the
parent: a fixed ``price`` for an option value, or a ``formula`` (a money
expression that may read other choices, ``line.options.*``).

A *derived* list names ``based_on: OTHER`` and a ``formula`` over ``base_price``
and ``cost`` (markup on cost, a percentage, a surcharge); ``round_to_step`` puts
the result on a price point; ``min_margin``/``max_margin`` (percent of the price,
``(price - cost) / price``) clamp it. Its own entries override the base.
A list based on itself, or a cycle of derived lists, is a load error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from pricing_engine.env import declared_schema, derived_schema, pricing_schema
from pricing_engine.evaluation import evaluate
from pricing_engine.models import Dec
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingPolicy, quantize
from pricing_engine.specs import CurrencyCode, Matcher, RoundingSpec, Segmentation, Spec
from pricing_engine.tiers import Tier, TierMode, check_tiers
from pricing_engine.units import UNITS
from rule_language import (
    CompileContext,
    CompiledExpression,
    EvaluationError,
    LinkContext,
    LoadedRuleset,
    RulesetHeader,
    money,
    suggest,
)

__all__ = [
    "OptionPrice",
    "PriceEntry",
    "PriceList",
    "PriceListFile",
    "compile_price_list",
    "link_price_lists",
    "option_key",
]

_CTX = DECIMAL_CONTEXT


class TierSpec(Spec):
    first: int = Field(alias="from", ge=0)
    to: int | None = None
    unit_price: Dec = Field(ge=0)
    flat_fee: Dec = Field(Decimal(0), ge=0)


class PackageSpec(Spec):
    block_size: Dec = Field(gt=0)
    block_price: Dec = Field(ge=0)
    free_units: Dec = Field(Decimal(0), ge=0)


class EntrySpec(Spec):
    id: str | None = None
    sku: str | None = None
    category: str | None = None
    price: Dec | None = Field(None, ge=0)
    tiers: tuple[TierSpec, ...] | None = None
    tier_mode: Literal["volume", "graduated"] = "volume"
    package: PackageSpec | None = None
    unit: str | None = None
    cost: Dec | None = Field(None, ge=0)
    min_quantity: Dec | None = Field(None, ge=0)
    condition: str | None = None
    description: str | None = None


class OptionPriceSpec(Spec):
    id: str | None = None
    option: str
    value: str | bool | int | Dec | None = None
    sku: str | None = None
    price: Dec | None = None
    formula: str | None = None
    description: str | None = None


class PriceListFile(RulesetHeader):
    kind: Literal["price_list"]
    currency: CurrencyCode
    priority: int = 0
    for_: Segmentation = Field(Segmentation(), alias="for")
    rounding: RoundingSpec = RoundingSpec()
    prices_include_tax: bool = False
    inputs: dict[str, Any] = Field(default_factory=dict)
    based_on: str | None = None
    formula: str | None = None
    round_to_step: Dec | None = Field(None, gt=0)
    min_margin: Dec | None = Field(None, ge=0, lt=100)
    max_margin: Dec | None = Field(None, ge=0, lt=100)
    entries: tuple[EntrySpec, ...] = ()
    options: tuple[OptionPriceSpec, ...] = ()


def option_key(value: object) -> str:
    """Normalise an option value so YAML ``2``, JSON ``"2"`` and ``Decimal('2.0')`` agree.

    >>> option_key(True), option_key(Decimal("2.50")), option_key(2), option_key("red")
    ('true', '2.5', '2', 'red')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        d = Decimal(value).normalize()
        return format(d, "f")
    return str(value)


@dataclass(frozen=True, slots=True)
class PriceEntry:
    id: str
    sku: str | None
    category: str | None
    unit_price: Decimal | None
    tiers: tuple[Tier, ...]
    tier_mode: TierMode
    package: PackageSpec | None
    unit: str | None
    cost: Decimal | None
    min_quantity: Decimal | None
    condition: Callable[[Mapping[str, Any]], Any] | None
    description: str | None
    reads: frozenset[str] = frozenset()  # the paths the condition reads (to name a missing one)

    def map_prices(self, fn: Callable[[Decimal], Decimal]) -> PriceEntry:
        """This entry with every price passed through ``fn`` (for derived lists)."""
        package = self.package
        if package is not None:
            package = package.model_copy(update={"block_price": fn(package.block_price)})
        return PriceEntry(
            self.id, self.sku, self.category,
            None if self.unit_price is None else fn(self.unit_price),
            tuple(Tier(t.first, t.last, fn(t.unit_price), fn(t.flat_fee) if t.flat_fee else t.flat_fee)
                  for t in self.tiers),
            self.tier_mode, package, self.unit, self.cost, self.min_quantity, self.condition,
            self.description, self.reads,
        )


@dataclass(frozen=True, slots=True)
class OptionPrice:
    id: str
    option: str
    value: str | None  # option_key of the value; None = any value (formula)
    sku: str | None
    price: Decimal | None
    formula: CompiledExpression | None
    description: str


@dataclass(frozen=True)
class PriceList:
    """A compiled price list (one file); see the module docstring for semantics."""

    ref: str
    name: str
    currency: str
    priority: int
    matcher: Matcher
    policy: RoundingPolicy
    prices_include_tax: bool
    header: Any
    by_sku: Mapping[str, tuple[PriceEntry, ...]]
    by_category: Mapping[str, tuple[PriceEntry, ...]]
    catch_all: tuple[PriceEntry, ...]
    options: Mapping[tuple[str, str | None], tuple[OptionPrice, ...]]
    based_on: str | None = None
    formula: CompiledExpression | None = None
    round_to_step: Decimal | None = None
    min_margin: Decimal | None = None
    max_margin: Decimal | None = None
    option_names: frozenset[str] = field(default_factory=frozenset)

    def own_entry(
        self, sku: str, category: str | None, quantity_of: Callable[[str | None], Decimal],
        env: Mapping[str, Any] | Callable[[], Mapping[str, Any]], loc: tuple[str | int, ...] = (),
    ) -> PriceEntry | None:
        """The first applicable entry of this file (not looking at a base list).

        An entry condition that cannot be evaluated raises
        :class:`~pricing_engine.errors.PricingEvaluationError` at ``loc`` (the line),
        naming a value the order lacks (see :func:`pricing_engine.evaluation.evaluate`).
        """
        groups = [self.by_sku.get(sku, ())]
        if category is not None:
            groups.append(self.by_category.get(category, ()))
        groups.append(self.catch_all)
        for group in groups:
            for e in group:
                if e.min_quantity is not None and quantity_of(e.unit) < e.min_quantity:
                    continue
                if e.condition is not None:
                    values = env() if callable(env) else env
                    if not evaluate(e.condition, values, f"price list {self.ref} entry {e.id}",
                                    loc, e.reads):
                        continue
                return e
        return None

    def derive(
        self, base: PriceEntry, cost: Decimal | None, env: Mapping[str, Any]
    ) -> PriceEntry:
        """Apply this derived list's formula, margins and price point to a base entry."""
        formula = self.formula
        currency = self.currency
        mode = self.policy.mode
        step = self.round_to_step

        def one(price: Decimal) -> Decimal:
            value = price
            if formula is not None:
                scope = dict(env)
                scope["base_price"] = price
                scope["cost"] = cost
                try:
                    value = formula.evaluate(scope)
                except EvaluationError as exc:
                    if cost is None and "cost" in formula.symbols:
                        raise EvaluationError(
                            f"{self.ref}: the formula reads `cost`, but SKU {base.sku or '?'} "
                            "has no cost in this currency"
                        ) from exc
                    raise
            if cost is not None and cost > 0:
                if self.min_margin is not None:
                    floor = _CTX.divide(cost, 1 - _CTX.divide(self.min_margin, Decimal(100)))
                    value = max(value, floor)
                if self.max_margin is not None:
                    ceiling = _CTX.divide(cost, 1 - _CTX.divide(self.max_margin, Decimal(100)))
                    value = min(value, ceiling)
            if step is not None:
                value = quantize(value, currency, mode, step)
            return max(value, Decimal(0))

        return base.map_prices(one)


def _entry_id(i: int, e: EntrySpec) -> str:
    if e.id:
        return e.id
    if e.sku:
        return f"sku:{e.sku}"
    if e.category:
        return f"category:{e.category}"
    return f"entry{i + 1}"


def compile_price_list(model: PriceListFile, ctx: CompileContext) -> PriceList:
    ref = f"{model.name}@{model.version}"
    schema = declared_schema(pricing_schema(), model.inputs, ctx.error, ("inputs",))
    derived = model.based_on is not None
    if derived and model.based_on == model.name:
        ctx.error(("based_on",), f"price list `{model.name}` is based on itself",
                  "name another price list, or remove `based_on`")
    if not derived:
        for fld in ("formula", "round_to_step", "min_margin", "max_margin"):
            if getattr(model, fld) is not None:
                ctx.error((fld,), f"`{fld}` only applies to a derived list (one with `based_on`)")
    if model.min_margin is not None and model.max_margin is not None and (
            model.min_margin > model.max_margin):
        ctx.error(("max_margin",), "max_margin is below min_margin")
    formula = None
    if derived and model.formula is not None:
        formula = ctx.expression(model.formula, ("formula",), derived_schema(schema), money(None))
    by_sku: dict[str, list[PriceEntry]] = {}
    by_cat: dict[str, list[PriceEntry]] = {}
    catch_all: list[PriceEntry] = []
    unconditional: dict[tuple[str, str | None], int] = {}
    ids: dict[str, int] = {}
    for i, e in enumerate(model.entries):
        path = ("entries", i)
        eid = _entry_id(i, e)
        if not e.id and eid in ids:  # a second entry for the same SKU/category
            n = 2
            while f"{eid}#{n}" in ids:
                n += 1
            eid = f"{eid}#{n}"
        if eid in ids:
            first_line = ctx.location(("entries", ids[eid])).line
            ctx.error((*path, "id") if e.id else path,
                      f"duplicate entry id {eid!r} (first on line {first_line})")
        ids.setdefault(eid, i)
        if e.sku and e.category:
            ctx.error((*path, "category"), "an entry prices a SKU or a category, not both")
        ways = [w for w in ("price", "tiers", "package") if getattr(e, w) is not None]
        if len(ways) != 1:
            ctx.error(path, "an entry needs exactly one of `price`, `tiers` or `package`"
                      + (f" (found {', '.join(ways)})" if ways else ""))
            continue
        if e.unit is not None and e.unit not in UNITS:
            ctx.error((*path, "unit"), f"unknown unit {e.unit!r}",
                      suggest(e.unit, list(UNITS)) or "units: " + ", ".join(sorted(UNITS)))
        tiers: tuple[Tier, ...] = ()
        if e.tiers is not None:
            tiers = tuple(Tier(Decimal(t.first), None if t.to is None else Decimal(t.to),
                               t.unit_price, t.flat_fee) for t in e.tiers)
            for k, msg in check_tiers(tiers):
                ctx.error((*path, "tiers", k), f"tier table: {msg}")
        cond = None
        reads: frozenset[str] = frozenset()
        if e.condition is not None:
            compiled = ctx.expression(e.condition, (*path, "condition"), schema)
            if compiled is not None:
                cond, reads = compiled.fn, compiled.symbols
        entry = PriceEntry(
            eid, e.sku, e.category, e.price, tiers, TierMode(e.tier_mode), e.package, e.unit,
            e.cost, e.min_quantity, cond, e.description, reads,
        )
        key = ("sku", e.sku) if e.sku else ("category", e.category) if e.category else ("*", None)
        if key in unconditional:
            first = ctx.location(("entries", unconditional[key])).line
            ctx.error(path, f"unreachable entry: the entry on line {first} for the same "
                            f"{key[0]} has no condition or min_quantity, so it always applies first",
                      "put entries with conditions or a min_quantity before the unconditional one")
        if e.condition is None and e.min_quantity is None:
            unconditional.setdefault(key, i)
        if e.sku:
            by_sku.setdefault(e.sku, []).append(entry)
        elif e.category:
            by_cat.setdefault(e.category, []).append(entry)
        else:
            catch_all.append(entry)
    options: dict[tuple[str, str | None], list[OptionPrice]] = {}
    for i, o in enumerate(model.options):
        path = ("options", i)
        if (o.price is None) == (o.formula is None):
            ctx.error(path, "an option price needs exactly one of `price` or `formula`")
            continue
        if o.formula is None and o.value is None:
            ctx.error(path, "a fixed option price needs the option `value` it prices")
            continue
        compiled = None
        if o.formula is not None:
            compiled = ctx.expression(o.formula, (*path, "formula"), schema, money(None))
            if compiled is None:
                continue
        value = None if o.value is None else option_key(o.value)
        oid = o.id or f"option:{o.option}" + (f"={value}" if value is not None else "")
        desc = o.description or (f"option {o.option} = {value}" if value is not None
                                 else f"option {o.option}")
        options.setdefault((o.option, value), []).append(
            OptionPrice(oid, o.option, value, o.sku, o.price, compiled, desc))
    return PriceList(
        ref=ref, name=model.name, currency=model.currency, priority=model.priority,
        matcher=Matcher.of(model.for_), policy=model.rounding.policy(),
        prices_include_tax=model.prices_include_tax, header=model,
        by_sku={k: tuple(v) for k, v in by_sku.items()},
        by_category={k: tuple(v) for k, v in by_cat.items()},
        catch_all=tuple(catch_all),
        options={k: tuple(v) for k, v in options.items()},
        based_on=model.based_on, formula=formula, round_to_step=model.round_to_step,
        min_margin=model.min_margin, max_margin=model.max_margin,
        option_names=frozenset(o.option for o in model.options),
    )


def link_price_lists(rulesets: Sequence[LoadedRuleset], ctx: LinkContext) -> None:
    """Derived lists must name an existing list, in the same currency, without cycles."""
    by_name: dict[str, list] = {}
    for rs in rulesets:
        by_name.setdefault(rs.name, []).append(rs)
    for rs in rulesets:
        base = rs.model.based_on
        if base is None or base == rs.name:
            continue
        if base not in by_name:
            ctx.error(rs, ("based_on",), f"unknown price list `{base}`",
                      suggest(base, sorted(by_name)))
            continue
        for other in by_name[base]:
            if other.model.currency != rs.model.currency:
                ctx.error(rs, ("currency",),
                          f"a derived list must be in its base's currency: `{base}` is in "
                          f"{other.model.currency}, this list in {rs.model.currency}")
                break
    edges = {name: sorted({rs.model.based_on for rs in group
                           if rs.model.based_on and rs.model.based_on != name})
             for name, group in by_name.items()}
    for cycle in _cycles(edges):
        text = " → ".join([*cycle, cycle[0]])
        for member in cycle:
            for rs in by_name[member]:
                if rs.model.based_on in cycle:
                    ctx.error(rs, ("based_on",), "derived price lists form a cycle: " + text,
                              "break the cycle: one of these lists must not be derived")


def _cycles(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every elementary cycle reachable in ``edges``, once each, deterministically.

    >>> _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]})
    [['a', 'b', 'c']]
    """
    found: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()
    done: set[str] = set()

    def visit(node: str, trail: list[str], on_trail: set[str]) -> None:
        for nxt in edges.get(node, ()):
            if nxt in on_trail:
                cycle = trail[trail.index(nxt):]
                key = frozenset(cycle)
                if key not in seen_sets:
                    seen_sets.add(key)
                    k = cycle.index(min(cycle))
                    found.append(cycle[k:] + cycle[:k])
            elif nxt not in done and nxt in edges:
                trail.append(nxt)
                on_trail.add(nxt)
                visit(nxt, trail, on_trail)
                on_trail.discard(nxt)
                trail.pop()
        done.add(node)

    for start in sorted(edges):
        if start not in done:
            visit(start, [start], {start})
    return found
