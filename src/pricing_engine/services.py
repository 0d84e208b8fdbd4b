"""The ``service_charges`` ruleset kind: what a service SKU charges, and when.

Each service lists its charges: ``one_time`` (billed today), ``recurring``
(``period`` × ``every``, billed in advance; prorated by days when
``align_to_calendar`` makes the first period partial) and ``usage`` (per unit
used, priced flat or by tiers, billed in arrears; the order may give an
estimate). Prices are per currency (``price: {EUR: 49.00, USD: 55.00}``) and
per unit of the line's quantity (seats). A ``trial_days`` trial defers the
recurring charges; ``term_periods`` is the commitment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from pricing_engine.price_lists import TierSpec
from pricing_engine.recurring import ChargeKind, Period, PeriodUnit
from pricing_engine.specs import PerCurrency, Spec
from pricing_engine.tiers import Tier, TierMode, check_tiers
from rule_language import CompileContext, LinkContext, LoadedRuleset, RulesetHeader

__all__ = ["Charge", "ServiceDefinition", "ServiceFile", "compile_services", "link_services"]


class ChargeSpec(Spec):
    id: str = Field(min_length=1)
    kind: ChargeKind
    description: str | None = None
    price: PerCurrency = Field(default_factory=dict)
    period: PeriodUnit | None = None
    every: int = Field(1, ge=1)
    tiers: dict[str, tuple[TierSpec, ...]] | None = Field(
        None, description="usage tiers per currency")
    tier_mode: Literal["volume", "graduated"] = "graduated"
    usage_unit: str | None = None
    per: Literal["unit", "line"] = Field(
        "unit", description="unit: × the line quantity (seats); line: once per line")


class ServiceSpec(Spec):
    sku: str = Field(min_length=1)
    trial_days: int = Field(0, ge=0)
    align_to_calendar: bool = False
    term_periods: int | None = Field(None, ge=1)
    charges: tuple[ChargeSpec, ...] = Field(min_length=1)


class ServiceFile(RulesetHeader):
    kind: Literal["service_charges"]
    services: tuple[ServiceSpec, ...]


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    kind: ChargeKind
    description: str
    price: Mapping[str, Decimal]
    period: Period | None
    tiers: Mapping[str, tuple[Tier, ...]]
    tier_mode: TierMode
    usage_unit: str | None
    per_unit: bool = True


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    sku: str
    ref: str
    trial_days: int
    align_to_calendar: bool
    term_periods: int | None
    charges: tuple[Charge, ...]


@dataclass(frozen=True)
class ServiceCatalog:
    ref: str
    services: Mapping[str, ServiceDefinition]


def compile_services(model: ServiceFile, ctx: CompileContext) -> ServiceCatalog:
    ref = f"{model.name}@{model.version}"
    services: dict[str, ServiceDefinition] = {}
    for i, s in enumerate(model.services):
        path = ("services", i)
        if s.sku in services:
            ctx.error((*path, "sku"), f"service {s.sku!r} is defined twice in this file")
            continue
        charges: list[Charge] = []
        ids: set[str] = set()
        periods: set[Period] = set()
        for j, c in enumerate(s.charges):
            cpath = (*path, "charges", j)
            if c.id in ids:
                ctx.error((*cpath, "id"), f"duplicate charge id {c.id!r}")
            ids.add(c.id)
            period = None
            if c.kind is ChargeKind.RECURRING or c.kind is ChargeKind.USAGE:
                if c.period is None:
                    ctx.error(cpath, f"a {c.kind} charge needs a `period` (day, week, month, year)")
                    continue
                period = Period(c.period, c.every)
                if s.align_to_calendar and not period.calendar_alignable():
                    ctx.error((*cpath, "every"),
                              f"a {period.label} period cannot align to the calendar",
                              "use a month count that divides 12, or align_to_calendar: false")
                if c.kind is ChargeKind.RECURRING:
                    periods.add(period)
            elif c.period is not None:
                ctx.error((*cpath, "period"), "a one-time charge has no period")
            tiers: dict[str, tuple[Tier, ...]] = {}
            if c.tiers is not None:
                if c.kind is not ChargeKind.USAGE:
                    ctx.error((*cpath, "tiers"), "only usage charges are tiered")
                for cur, specs in c.tiers.items():
                    table = tuple(Tier(Decimal(t.first), None if t.to is None else Decimal(t.to),
                                       t.unit_price, t.flat_fee) for t in specs)
                    for k, msg in check_tiers(table):
                        ctx.error((*cpath, "tiers", cur, k), f"tier table: {msg}")
                    tiers[cur] = table
            if not c.price and not tiers:
                ctx.error(cpath, f"charge {c.id!r} has no price",
                          "give `price: {EUR: ...}` (or usage `tiers`)")
            charges.append(Charge(c.id, c.kind, c.description or c.id, dict(c.price), period,
                                  tiers, TierMode(c.tier_mode), c.usage_unit,
                                  c.per == "unit"))
        if s.term_periods is not None and len(periods) != 1:
            ctx.error((*path, "term_periods"),
                      "a term counts periods of the service's one recurring charge period")
        services[s.sku] = ServiceDefinition(s.sku, ref, s.trial_days, s.align_to_calendar,
                                            s.term_periods, tuple(charges))
    return ServiceCatalog(ref, services)


def link_services(rulesets: Sequence[LoadedRuleset], ctx: LinkContext) -> None:
    """A service SKU is defined by one file per period."""
    owner: dict[str, Any] = {}
    for rs in rulesets:
        for i, s in enumerate(rs.model.services):
            other = owner.get(s.sku)
            if other is not None and other is not rs and _overlap(other.model, rs.model):
                ctx.error(rs, ("services", i, "sku"),
                          f"service {s.sku!r} is also defined in {other.file}")
            owner.setdefault(s.sku, rs)


def _overlap(a: Any, b: Any) -> bool:
    import datetime as dt

    lo = max(a.effective_from or dt.date.min, b.effective_from or dt.date.min)
    hi = min(a.effective_to or dt.date.max, b.effective_to or dt.date.max)
    return lo <= hi
