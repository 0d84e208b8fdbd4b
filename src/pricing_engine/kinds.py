"""The ruleset kinds the pricing engine contributes to the loader, and its
bundle-wide scenario runner.

``RULESET_KINDS`` is what ``tarif check``/``tarif test`` and ``load_rulesets``
need to read pricing files (a ``ruleset: LIST`` scenario prices one line with that
price list alone); ``SCENARIO_RUNNERS["price_order"]`` lets a scenario
file price an order (``given`` is the order, optionally with ``as_of``) and
compare the priced result, reshaped for readable expectations: lines and taxes
keyed by id, promotions by rule id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from pricing_engine.adjustments import LimitsFile, compile_limits
from pricing_engine.catalog import CatalogFile, compile_catalog, link_catalogs
from pricing_engine.discounts import DiscountRulesFile, compile_discount_rules, link_discount_rules
from pricing_engine.engine import price_order
from pricing_engine.models import PricedOrder
from pricing_engine.pipeline import PricingRules
from pricing_engine.price_lists import PriceListFile, compile_price_list, link_price_lists
from pricing_engine.services import ServiceFile, compile_services, link_services
from pricing_engine.tax_rules import TaxRulesFile, compile_tax_rules
from rule_language import RulesetKind

__all__ = ["RULESET_KINDS", "SCENARIO_RUNNERS", "scenario_view"]

def _run_price_list(target: Any, bundle: Any, given: Mapping[str, Any], as_of: dt.date | None) -> Any:
    """``ruleset: LIST`` scenarios: price one line with that list alone.

    ``given`` holds the line (``sku``, ``quantity``, ``unit``, ``options``,
    ``components``) and optionally ``customer``, ``channel``, ``ship_to`` and
    ``as_of``; the list's own ``for:`` must match. Bases of a derived list, and the
    catalogs, are used as in a full pricing; discounts, taxes and services are not.
    """
    data = dict(given)
    day = data.pop("as_of", None) or as_of
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if day is None:
        raise ValueError("a price list scenario needs `as_of` (in the case or the file)")
    everything = PricingRules.from_bundle(bundle, day)
    rules = replace(everything, price_lists=(target.artefact,), discounts=(), taxes=(),
                    services=(), limits=None,
                    lists_by_name={**everything.lists_by_name, target.name: target.artefact})
    order = {"id": "scenario", "currency": target.artefact.currency,
             "customer": data.pop("customer", {}), "channel": data.pop("channel", None),
             "ship_to": data.pop("ship_to", None), "lines": [{"id": "1", **data}]}
    line = price_order(order, rules, day).lines[0]
    return {"entry": line.entry, "unit_price": line.list_unit_price, "amount": line.list_amount,
            "steps": [f"{s.stage.value}:{s.rule}" for s in line.waterfall],
            "components": [c.model_dump() for c in line.components]}


RULESET_KINDS: tuple[RulesetKind, ...] = (
    RulesetKind("price_list", PriceListFile, compile_price_list, link_price_lists,
                run_scenario=_run_price_list),
    RulesetKind("product_catalog", CatalogFile, compile_catalog, link_catalogs),
    RulesetKind("discount_rules", DiscountRulesFile, compile_discount_rules, link_discount_rules),
    RulesetKind("tax_rules", TaxRulesFile, compile_tax_rules),
    RulesetKind("service_charges", ServiceFile, compile_services, link_services),
    RulesetKind("manual_adjustment_limits", LimitsFile, compile_limits),
)


def scenario_view(priced: PricedOrder) -> dict[str, Any]:
    """The priced order as plain data keyed for subset comparison: lines, taxes and
    promotions by id, a line's charges and taxes by id, recurring totals by period,
    and each line's waterfall also as ``steps`` (``"stage:rule"`` strings)."""
    data = priced.model_dump(mode="python")
    data["lines"] = {ln["line_id"]: ln for ln in data["lines"]}
    for ln in data["lines"].values():
        ln["taxes"] = {t["tax_id"]: t for t in ln["taxes"]}
        ln["charges"] = {c["id"]: c for c in ln["charges"]}
        ln["steps"] = [f"{s['stage']}:{s['rule']}" for s in ln["waterfall"]]
    data["taxes"] = {t["tax_id"]: t for t in data["taxes"]}
    data["promotions"] = {p["rule"]: p for p in data["promotions"]}
    data["totals"]["recurring"] = {r["period"]: r for r in data["totals"]["recurring"]}
    return data


def _run_price_order(bundle: Any, given: Mapping[str, Any], as_of: dt.date | None) -> Any:
    order = dict(given)
    day = order.pop("as_of", None) or as_of
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if day is None:
        raise ValueError("a price_order scenario needs `as_of` (in the case or the file)")
    return scenario_view(price_order(order, bundle, day))


SCENARIO_RUNNERS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {"price_order": _run_price_order})
