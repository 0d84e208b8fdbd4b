"""The ``product_catalog`` ruleset kind: what pricing needs to know about a SKU.

Category (for category-wide prices and discounts), tax class, the unit it is
counted in, its cost (for margin rules in derived price lists), whether it is a
service, and — for a bundle — its components, with ``included: true`` for those
priced at 0 inside the parent. An order line may override category and tax class;
a SKU absent from every catalog is priced by SKU entries only and taxed with the
``standard`` tax class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from pricing_engine.models import Dec
from pricing_engine.specs import PerCurrency, Spec
from rule_language import CompileContext, LinkContext, LoadedRuleset, RulesetHeader

__all__ = [
    "DEFAULT_TAX_CLASS",
    "CatalogFile",
    "Component",
    "Product",
    "ProductCatalog",
    "compile_catalog",
    "link_catalogs",
]

DEFAULT_TAX_CLASS = "standard"


class ComponentSpec(Spec):
    sku: str
    quantity: Dec = Field(Decimal(1), gt=0)
    included: bool = True


class ProductSpec(Spec):
    sku: str = Field(min_length=1)
    name: str | None = None
    category: str | None = None
    tax_class: str = DEFAULT_TAX_CLASS
    unit: str | None = None
    cost: PerCurrency = Field(default_factory=dict)
    service: bool = False
    components: tuple[ComponentSpec, ...] = ()
    product_model: str | None = Field(None, description="the product_model a configurable SKU is configured with")


class CatalogFile(RulesetHeader):
    kind: Literal["product_catalog"]
    products: tuple[ProductSpec, ...]


@dataclass(frozen=True, slots=True)
class Component:
    sku: str
    quantity: Decimal
    included: bool


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str | None
    category: str | None
    tax_class: str
    unit: str | None
    cost: Mapping[str, Decimal]
    service: bool
    components: tuple[Component, ...]
    product_model: str | None = None


@dataclass(frozen=True, slots=True)
class ProductCatalog:
    ref: str
    products: Mapping[str, Product]


def compile_catalog(model: CatalogFile, ctx: CompileContext) -> ProductCatalog:
    products: dict[str, Product] = {}
    first: dict[str, int] = {}
    for i, p in enumerate(model.products):
        if p.sku in products:
            line = ctx.location(("products", first[p.sku], "sku")).line
            ctx.error(("products", i, "sku"), f"duplicate SKU {p.sku!r} (first defined on line {line})")
            continue
        first[p.sku] = i
        for j, c in enumerate(p.components):
            if c.sku == p.sku:
                ctx.error(("products", i, "components", j, "sku"), "a bundle cannot contain itself")
        products[p.sku] = Product(
            p.sku, p.name, p.category, p.tax_class, p.unit, dict(p.cost), p.service,
            tuple(Component(c.sku, c.quantity, c.included) for c in p.components), p.product_model,
        )
    return ProductCatalog(f"{model.name}@{model.version}", products)


def link_catalogs(rulesets: Sequence[LoadedRuleset], ctx: LinkContext) -> None:
    """Bundles may nest, but never in a cycle; a SKU is defined in one catalog per period."""
    graph: dict[str, list[str]] = {}
    where: dict[str, tuple[Any, int]] = {}
    for rs in rulesets:
        for i, p in enumerate(rs.model.products):
            graph.setdefault(p.sku, []).extend(c.sku for c in p.components)
            first = where.setdefault(p.sku, (rs, i))
            if first[0] is not rs and _overlap(first[0].model, rs.model):
                ctx.error(rs, ("products", i, "sku"),
                          f"SKU {p.sku!r} is also defined in {first[0].file}",
                          "define each SKU in one catalog, or give the files "
                          "effective dates that do not overlap")
    state: dict[str, int] = {}

    def visit(sku: str, trail: list[str]) -> None:
        state[sku] = 1
        for nxt in graph.get(sku, ()):
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt):], nxt] if nxt in trail else [sku, nxt]
                rs, i = where[sku]
                ctx.error(rs, ("products", i, "components"),
                          "bundle cycle: " + " → ".join(cycle))
            elif state.get(nxt) is None:
                visit(nxt, [*trail, nxt])
        state[sku] = 2

    for sku in sorted(graph):
        if sku not in state:
            visit(sku, [sku])


def _overlap(a: Any, b: Any) -> bool:
    import datetime as dt

    lo = max(a.effective_from or dt.date.min, b.effective_from or dt.date.min)
    hi = min(a.effective_to or dt.date.max, b.effective_to or dt.date.max)
    return lo <= hi
