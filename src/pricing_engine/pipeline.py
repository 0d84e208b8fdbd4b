"""The pricing pipeline: the working state, the stage Protocol, the rules in force.

``price_order`` runs an ordered tuple of stages over a :class:`PricingState`.
Each stage is a small object with a stable ``name`` and a ``run(state)`` method
(:class:`PricingStage`); stages are registered by name in
:data:`pricing_engine.stages.STAGES` (one module per stage) and the default order is
:data:`pricing_engine.stages.DEFAULT_PIPELINE`. A caller may pass its own
sequence (replace the tax stage with a tax-service adapter, say). The state is
created per call and never shared, so the whole computation stays pure.

Invariants every stage keeps (checked by one contract test over all stages):
line amounts never go below zero; every change to a line amount is recorded as a
waterfall step whose ``before`` is the previous step's ``after``; amounts are in
the order currency; the same input gives the same state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from pricing_engine.adjustments import AdjustmentLimits
from pricing_engine.catalog import DEFAULT_TAX_CLASS, Product, ProductCatalog
from pricing_engine.discounts import DiscountIndex
from pricing_engine.errors import PricingEvaluationError
from pricing_engine.models import (
    AppliedPromotion,
    ChargeLine,
    Order,
    OrderLine,
    PricedComponent,
    Stage,
    WaterfallStep,
)
from pricing_engine.price_lists import PriceEntry, PriceList
from pricing_engine.rounding import DECIMAL_CONTEXT, RoundingMode, RoundingPolicy, RoundingScope, quantize
from pricing_engine.services import ServiceCatalog, ServiceDefinition
from pricing_engine.tax import LineTax, TaxPolicy, TaxRate
from pricing_engine.tax_rules import TaxRuleSet

__all__ = ["PricingRules", "PricingStage", "PricingState", "WorkLine"]

_CTX = DECIMAL_CONTEXT
_ZERO = Decimal(0)
DEFAULT_POLICY = RoundingPolicy(RoundingMode.HALF_UP, RoundingScope.LINE)


@dataclass(frozen=True)
class PricingRules:
    """The compiled pricing rulesets in force on one date.

    Build it once per date with :meth:`from_bundle` and reuse it for many orders;
    ``price_order`` also accepts a bundle directly and builds it per call.
    """

    as_of: dt.date
    price_lists: tuple[PriceList, ...]
    lists_by_name: Mapping[str, PriceList]
    catalogs: tuple[ProductCatalog, ...]
    discounts: tuple[DiscountIndex, ...]
    taxes: tuple[TaxRuleSet, ...]
    services: tuple[ServiceCatalog, ...]
    limits: AdjustmentLimits | None
    refs: tuple[str, ...]

    @classmethod
    def from_bundle(cls, bundle: Any, as_of: dt.date) -> PricingRules:
        """Select the rulesets effective on ``as_of`` from a loaded bundle."""

        def arts(kind: str) -> list[Any]:
            return [r.artefact for r in sorted(bundle.of_kind(kind, as_of), key=lambda r: r.name)]

        lists = arts("price_list")
        limits = arts("manual_adjustment_limits")
        used = sorted(r.ref for r in bundle.rulesets
                      if r.kind in _PRICING_KINDS and r.model.is_effective(as_of))
        return cls(
            as_of=as_of,
            price_lists=tuple(lists),
            lists_by_name={pl.name: pl for pl in lists},
            catalogs=tuple(arts("product_catalog")),
            discounts=tuple(arts("discount_rules")),
            taxes=tuple(arts("tax_rules")),
            services=tuple(arts("service_charges")),
            limits=limits[-1] if limits else None,
            refs=tuple(used),
        )

    def product(self, sku: str) -> Product | None:
        for cat in self.catalogs:
            p = cat.products.get(sku)
            if p is not None:
                return p
        return None

    def service(self, sku: str) -> ServiceDefinition | None:
        for sc in self.services:
            s = sc.services.get(sku)
            if s is not None:
                return s
        return None


_PRICING_KINDS = frozenset({
    "price_list", "product_catalog", "discount_rules", "tax_rules", "service_charges",
    "manual_adjustment_limits",
})


@dataclass(eq=False)
class WorkLine:
    """One order line while it is being priced (mutable, private to one call)."""

    index: int
    line: OrderLine
    sku: str
    category: str | None
    tax_class: str
    product: Product | None
    service: ServiceDefinition | None
    env: dict[str, Any]
    line_env: dict[str, Any]
    amount: Decimal = _ZERO
    list_amount: Decimal | None = None
    price_list: PriceList | None = None
    entry: PriceEntry | None = None
    rate: Decimal = Decimal(1)  # order currency per unit of the price list's currency
    list_unit_price: Decimal | None = None
    price_quantity: Decimal = Decimal(1)  # quantity in the entry's unit
    policy: RoundingPolicy = DEFAULT_POLICY
    prices_include_tax: bool = False
    steps: list[WaterfallStep] = field(default_factory=list)
    components: list[PricedComponent] = field(default_factory=list)
    charges: list[ChargeLine] = field(default_factory=list)
    stopped: bool = False
    approval_reasons: list[str] = field(default_factory=list)
    tax: LineTax | None = None
    tax_rates: tuple[TaxRate, ...] = ()
    tax_policy: TaxPolicy | None = None

    @property
    def quantity(self) -> Decimal:
        return self.line.quantity


@dataclass(eq=False)
class PricingState:
    """Everything one ``price_order`` call works on."""

    order: Order
    as_of: dt.date
    rules: PricingRules
    lines: list[WorkLine]
    order_env: dict[str, Any]
    promotions: list[AppliedPromotion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    approval_reasons: list[str] = field(default_factory=list)
    candidate_lists: list[tuple[PriceList, Decimal]] | None = None

    @property
    def currency(self) -> str:
        return self.order.currency

    @property
    def order_policy(self) -> RoundingPolicy:
        """Rounding for order-level amounts: the policy of the first priced line's list."""
        for wl in self.lines:
            if wl.price_list is not None:
                return wl.policy
        return DEFAULT_POLICY

    def record(
        self, wl: WorkLine, stage: Stage, rule: str, ruleset: str, description: str,
        after: Decimal, raw: Decimal,
    ) -> None:
        """Move ``wl`` to ``after`` and record the step (``raw``: the exact change)."""
        if after < 0:
            raise PricingEvaluationError(
                f"{stage} would drive the line below zero ({after})", ("lines", wl.index))
        before = wl.amount
        wl.steps.append(WaterfallStep(
            stage=stage, rule=rule, ruleset=ruleset, description=description,
            before=before, after=after, raw=raw, rounded=_CTX.subtract(after, before),
        ))
        wl.amount = after
        wl.line_env["amount"] = after

    def rate_for(self, currency: str, loc: tuple[str | int, ...]) -> Decimal:
        """Units of the order currency per unit of ``currency`` (an input of the order)."""
        if currency == self.currency:
            return Decimal(1)
        rate = self.order.exchange_rates.get(currency)
        if rate is None:
            raise PricingEvaluationError(
                f"no exchange rate from {currency} to {self.currency}; "
                f"add exchange_rates.{currency} to the order", loc)
        if rate <= 0:
            raise PricingEvaluationError(f"exchange rate for {currency} must be positive",
                                         ("exchange_rates", currency))
        return rate


@runtime_checkable
class PricingStage(Protocol):
    """A replaceable pipeline step: a stable ``name`` and ``run(state)``."""

    name: str

    def run(self, state: PricingState) -> None: ...


def new_state(order: Order, rules: PricingRules, as_of: dt.date) -> PricingState:
    """The initial state: environments built once, catalog facts looked up once."""
    c = order.customer
    ship = order.ship_to
    order_env: dict[str, Any] = {
        "as_of": as_of,
        "order": {
            "id": order.id,
            "currency": order.currency,
            "channel": order.channel,
            "coupons": tuple(code.upper() for code in order.coupons),
            "list_amount": _ZERO,
            "quantity": sum((ln.quantity for ln in order.lines), _ZERO),
            "line_count": len(order.lines),
        },
        "customer": {
            "id": c.id, "account": c.account, "segment": c.segment,
            "tax_exempt": bool(c.tax_exemptions), "attributes": dict(c.attributes),
        },
        "ship_to": {
            "country": ship.country if ship else None,
            "region": ship.region if ship else None,
            "postal_code": ship.postal_code if ship else None,
        },
    }
    lines: list[WorkLine] = []
    nothing = quantize(_ZERO, order.currency, RoundingMode.HALF_UP)  # 0.00 EUR, 0 JPY
    for i, ln in enumerate(order.lines):
        product = rules.product(ln.sku)
        category = ln.category or (product.category if product else None)
        tax_class = ln.tax_class or (product.tax_class if product else DEFAULT_TAX_CLASS)
        line_env: dict[str, Any] = {
            "id": ln.id, "sku": ln.sku, "category": category, "tax_class": tax_class,
            "quantity": ln.quantity, "unit": ln.unit or (product.unit if product else None),
            "unit_price": _ZERO, "amount": _ZERO, "list_amount": _ZERO,
            "options": dict(ln.options),
        }
        env = dict(order_env)
        env["line"] = line_env
        lines.append(WorkLine(
            index=i, line=ln, sku=ln.sku, category=category, tax_class=tax_class,
            product=product, service=rules.service(ln.sku), env=env, line_env=line_env,
            amount=nothing,
        ))
    return PricingState(order, as_of, rules, lines, order_env)


def check_pipeline(stages: Sequence[PricingStage]) -> None:
    """Every stage satisfies the Protocol and names are unique."""
    names: set[str] = set()
    for s in stages:
        if not isinstance(s, PricingStage):
            raise TypeError(f"{s!r} is not a PricingStage (needs `name` and `run(state)`)")
        if s.name in names:
            raise ValueError(f"stage {s.name!r} appears twice in the pipeline")
        names.add(s.name)
