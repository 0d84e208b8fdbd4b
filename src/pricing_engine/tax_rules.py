"""The ``tax_rules`` ruleset kind: which taxes apply where, to what, at what rate.

A tax applies to a line when its jurisdiction matches the order's ship-to
(``country``, optionally ``region`` and ``postal_prefixes``), its ``tax_classes``
include the line's tax class (omitted: every class), its optional ``condition``
holds, and the customer is not exempt. A customer is exempt from a tax when one
of its ``tax_exemptions`` is ``*``, the tax id, the tax's ``group``, or one of the
tax's ``exemption_codes`` (e.g. ``resale``). Each tax has either a ``rate``
(percent) or an ``amount_per_unit`` (in ``currency``); ``compounds: true`` makes
its amount part of the base of the taxes after it (``sequence`` orders them).
``policy`` sets the rounding mode and scope (unit, line or document); whether
prices include tax is a property of the line's price list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from pricing_engine.env import declared_schema, pricing_schema
from pricing_engine.models import Dec
from pricing_engine.rounding import RoundingMode, RoundingScope
from pricing_engine.specs import CurrencyCode, Spec
from pricing_engine.tax import TaxKind, TaxRate
from rule_language import BOOLEAN, CompileContext, RulesetHeader

__all__ = ["CompiledTax", "TaxRuleSet", "TaxRulesFile", "compile_tax_rules"]


class TaxPolicySpec(Spec):
    mode: RoundingMode = RoundingMode.HALF_UP
    scope: RoundingScope = RoundingScope.LINE


class TaxSpec(Spec):
    id: str = Field(min_length=1)
    name: str | None = None
    country: str = Field(min_length=2, max_length=2)
    region: str | None = None
    postal_prefixes: tuple[str, ...] | None = None
    tax_classes: tuple[str, ...] | None = None
    rate: Dec | None = None
    amount_per_unit: Dec | None = None
    currency: CurrencyCode | None = None
    compounds: bool = False
    sequence: int = 0
    group: str | None = None
    exemption_codes: tuple[str, ...] = ()
    condition: str | None = None


class TaxRulesFile(RulesetHeader):
    kind: Literal["tax_rules"]
    policy: TaxPolicySpec = TaxPolicySpec()
    inputs: dict[str, Any] = Field(default_factory=dict)
    taxes: tuple[TaxSpec, ...]


@dataclass(frozen=True, slots=True)
class CompiledTax:
    rate: TaxRate
    country: str
    region: str | None
    postal_prefixes: tuple[str, ...] | None
    tax_classes: frozenset[str] | None
    currency: str | None
    sequence: int
    position: int
    group: str | None
    exempt_by: frozenset[str]
    condition: Callable[[Mapping[str, Any]], Any] | None
    reads: frozenset[str] = frozenset()  # the paths the condition reads (to name a missing one)

    def applies(self, country: str, region: str | None, postal: str | None,
                tax_class: str, exemptions: frozenset[str]) -> bool:
        if self.country != country:
            return False
        if self.region is not None and self.region != region:
            return False
        if self.postal_prefixes is not None and not (
                postal and postal.startswith(self.postal_prefixes)):
            return False
        if self.tax_classes is not None and tax_class not in self.tax_classes:
            return False
        return not (exemptions and (exemptions & self.exempt_by))


@dataclass(frozen=True)
class TaxRuleSet:
    ref: str
    name: str
    mode: RoundingMode
    scope: RoundingScope
    by_country: Mapping[str, tuple[CompiledTax, ...]]


def compile_tax_rules(model: TaxRulesFile, ctx: CompileContext) -> TaxRuleSet:
    ref = f"{model.name}@{model.version}"
    schema = declared_schema(pricing_schema(), model.inputs, ctx.error, ("inputs",))
    by_country: dict[str, list[CompiledTax]] = {}
    seen: dict[str, int] = {}
    for i, t in enumerate(model.taxes):
        path = ("taxes", i)
        if t.id in seen:
            ctx.error((*path, "id"), f"duplicate tax id {t.id!r} "
                                     f"(first on line {ctx.location(('taxes', seen[t.id])).line})")
        seen.setdefault(t.id, i)
        if t.rate is None and t.amount_per_unit is None:
            ctx.error(path, f"tax {t.id!r} has no rate",
                      "give `rate` (percent, e.g. 19) or `amount_per_unit` (with `currency`)")
            continue
        if t.rate is not None and t.amount_per_unit is not None:
            ctx.error((*path, "amount_per_unit"), "a tax has a `rate` or an `amount_per_unit`, not both")
            continue
        if t.rate is not None and not 0 <= t.rate <= 100:
            ctx.error((*path, "rate"), f"a tax rate is a percentage within 0–100, got {t.rate}")
        if t.amount_per_unit is not None and t.currency is None:
            ctx.error((*path, "amount_per_unit"), "a fixed tax needs its `currency`")
        cond = None
        reads: frozenset[str] = frozenset()
        if t.condition is not None:
            compiled = ctx.expression(t.condition, (*path, "condition"), schema, BOOLEAN)
            if compiled is not None:
                cond, reads = compiled.fn, compiled.symbols
        if t.rate is not None:
            rate = TaxRate(t.id, t.name or f"{t.id} {t.rate}%", TaxKind.PERCENT, rate=t.rate,
                           compounds=t.compounds, source=ref, group=t.group)
        else:
            rate = TaxRate(t.id, t.name or t.id, TaxKind.FIXED_PER_UNIT,
                           amount_per_unit=t.amount_per_unit or Decimal(0),
                           compounds=t.compounds, source=ref, group=t.group)
        exempt = {"*", t.id, *(t.exemption_codes)}
        if t.group:
            exempt.add(t.group)
        by_country.setdefault(t.country.upper(), []).append(CompiledTax(
            rate, t.country.upper(), t.region, t.postal_prefixes,
            None if t.tax_classes is None else frozenset(t.tax_classes), t.currency,
            t.sequence, i, t.group, frozenset(exempt), cond, reads))
    return TaxRuleSet(ref, model.name, model.policy.mode, model.policy.scope,
                      {k: tuple(sorted(v, key=lambda c: (c.sequence, c.position)))
                       for k, v in by_country.items()})

