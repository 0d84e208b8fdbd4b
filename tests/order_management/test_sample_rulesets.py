"""The sample rulesets agree with each other and with the demo: every location they name holds stock.

Issue #10, finding 9: reorder points and the default warehouse named locations
the sourcing rules (and the demo's supply) do not have, so reorder never fired.
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

import pytest

from order_management import order_rules_from
from order_management.fulfilment import DurableRulesAdapter, event_rules_from
from order_management.fulfilment.event_rules import RuleSection
from order_management.fulfilment.facts import stock_fact
from order_management.promising import SupplyPosition

AS_OF = dt.date(2025, 7, 15)


def _sourcing_locations(bundle) -> set[str]:
    (sourcing,) = bundle.of_kind("sourcing", AS_OF)
    return set(sourcing.artefact.locations)


def _reorder_points(bundle) -> list[dict[str, Any]]:
    return [dict(rule.payload) for rules in event_rules_from(bundle, AS_OF) for rule in rules.rules
            if rule.section == RuleSection.REORDER]


def _default_warehouses(bundle) -> set[str]:
    """Every warehouse the order rules' defaults can set: each table row's output and the table default."""
    found: set[str] = set()
    for default in order_rules_from(bundle, AS_OF).defaults:
        if default.rule.set != "warehouse":
            continue
        table = default.rule.table
        assert table is not None, "the sample defaults the warehouse with a decision table"
        found |= {str(row[-1]) for row in table.rules}
        if table.default:
            found.add(str(table.default["warehouse"]))
    return found


class _SupplySeeded(Exception):
    def __init__(self, positions: list[SupplyPosition]) -> None:
        self.positions = positions


class _Connection:
    def execute(self, _statement: Any) -> _Connection:
        return self

    def scalar_one(self) -> int:
        return 0  # no orders yet: the demo seeds


class _Database:
    def read(self) -> Any:
        return nullcontext(_Connection())


class _DemoHost:
    """Just enough host for the demo to seed its supply, which it hands over and stops."""

    db = _Database()

    class customers:  # stands in for the host's attribute of that name
        @staticmethod
        def put_many(_customers: Any) -> None:
            return None

    def put_supply(self, positions: list[SupplyPosition]) -> None:
        raise _SupplySeeded(positions)


@pytest.fixture(scope="module")
def demo_supply() -> list[SupplyPosition]:
    from oms_host import demo

    with pytest.raises(_SupplySeeded) as seeded:
        demo.seed_demo(_DemoHost(), customers=1, orders_count=1, until=AS_OF)  # type: ignore[arg-type]
    return seeded.value.positions


def test_the_demo_stocks_exactly_the_sourcing_locations(bundle, demo_supply) -> None:
    assert {p.location for p in demo_supply} == _sourcing_locations(bundle)


def test_every_reorder_point_names_a_sourcing_location(bundle) -> None:
    points = _reorder_points(bundle)
    assert points, "the sample event rules have reorder points"
    assert {p["location"] for p in points} <= _sourcing_locations(bundle)


def test_the_default_warehouse_is_always_a_sourcing_location(bundle) -> None:
    warehouses = _default_warehouses(bundle)
    assert warehouses, "the sample order rules default the warehouse"
    assert warehouses <= _sourcing_locations(bundle)


def test_every_reorder_point_is_for_an_item_the_demo_stocks_there_above_its_minimum(bundle, demo_supply) -> None:
    on_hand = {(p.item, p.location): p.on_hand for p in demo_supply}
    for point in _reorder_points(bundle):
        assert on_hand.get((point["sku"], point["location"]), 0) > point["min"], point


def test_a_reorder_point_fires_when_its_stock_drops_below_min_and_not_before(bundle) -> None:
    engine = DurableRulesAdapter(event_rules_from(bundle, AS_OF))
    for point in _reorder_points(bundle):
        sku, location, minimum = point["sku"], point["location"], point["min"]
        below = engine.evaluate("stock", [stock_fact(sku, location, Decimal(minimum) - Decimal("0.5"))])
        below.raise_for_errors()
        fired = [f.rule.id for f in below.firings if f.rule.section == RuleSection.REORDER]
        assert fired == [f"{sku}@{location}"]
        at_min = engine.evaluate("stock", [stock_fact(sku, location, minimum)])
        assert not [f for f in at_min.firings if f.rule.section == RuleSection.REORDER]
