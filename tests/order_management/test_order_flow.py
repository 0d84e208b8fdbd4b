"""The whole capture flow with the real configurator, pricing engine and promising."""

from __future__ import annotations

import datetime as dt

import pytest

from order_management import (
    ConfiguratorProducts,
    FixedClock,
    InMemoryStore,
    LineStatus,
    OrderService,
    OrderValidationError,
    RulesetPricer,
    SupplyPromiser,
    order_rules_from,
)
from order_management import promising as pr
from order_management.memory import InMemoryCustomers
from tests.order_management.conftest import CUSTOMERS, NOW

SOURCING = """\
kind: sourcing
name: shop-sourcing
version: 1
source: test data
locations:
  - {id: WH-LYON}
  - {id: WH-KOELN}
lanes:
  - {from: WH-LYON, to: [FR, BE, LU, NL, IT], transit_days: 2}
  - {from: WH-KOELN, to: [DE, AT, NL, BE, FR], transit_days: 3}
promising:
  default: {mode: atp}
  items:
    BIKE-TRAIL: {mode: ctp}
rules:
  - name: nearest-first
    strategy: ranked
    locations: [WH-LYON, WH-KOELN]
    split: {policy: split, min_quantity: 1}
"""


@pytest.fixture
def flow(bundle):
    store = pr.InMemoryReservationStore([
        pr.SupplyPosition(item="BIKE-TRAIL", location="WH-LYON", on_hand=2, lead_time_days=10),
        pr.SupplyPosition(item="HELMET-AERO", location="WH-LYON", on_hand=3),
        pr.SupplyPosition(item="HELMET-AERO", location="WH-KOELN", on_hand=2),
    ])
    rules = pr.promising_rules_from_yaml(SOURCING)
    service = OrderService(
        rules=order_rules_from(bundle), customers=InMemoryCustomers(CUSTOMERS),
        unit_of_work=InMemoryStore().unit_of_work, clock=FixedClock(NOW), pricer=RulesetPricer(bundle),
        promiser=SupplyPromiser(store, rules), products=ConfiguratorProducts(bundle),
    )
    return service, store


def bike(**options):
    return {"line_id": "1", "kind": "configured", "sku": "BIKE-TRAIL", "product_model": "trail-bike",
            "quantity": "1", "options": options}


def test_a_configured_bike_is_completed_priced_and_promised(flow) -> None:
    service, store = flow
    order = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [bike(frame_size="L")]},
                            actor="desk").order
    line = order.lines[0]
    assert line.options == {"frame_size": "L", "color": "matte-black", "motor": False, "battery_wh": 0}
    assert line.status == LineStatus.RESERVED and line.ship_from == "WH-LYON"
    # built to order (5 days for this configuration) + 2 days to Lyon; no stock is consumed
    assert line.promised_date == NOW.date() + dt.timedelta(days=5 + 2)
    assert store.reserved(("BIKE-TRAIL", "WH-LYON")) == 0


def test_the_e_motor_option_lengthens_the_promised_date(flow) -> None:
    service, _ = flow
    plain = service.check_availability({"customer_id": "C-100", "currency": "EUR",
                                        "lines": [bike(frame_size="L")]})
    motor = service.check_availability({"customer_id": "C-100", "currency": "EUR",
                                        "lines": [bike(frame_size="L", motor=True, battery_wh=625)]})
    today = NOW.date()
    assert plain[0].promised_date == today + dt.timedelta(days=5 + 2)        # build 5 days, 2 in transit
    assert motor[0].promised_date == today + dt.timedelta(days=21 + 2)       # the e-motor takes 21 days


def test_an_impossible_configuration_is_explained_on_the_option(flow) -> None:
    service, store = flow
    with pytest.raises(OrderValidationError) as caught:
        service.capture({"customer_id": "C-100", "currency": "EUR",
                         "lines": [bike(frame_size="S", motor=True, battery_wh=500)]}, actor="desk")
    problem = caught.value.problems[0]
    assert problem.path == "lines[0].options.motor"
    assert "The S frame has no room for the mid-drive motor" in problem.message
    assert store.reserved(("BIKE-TRAIL", "WH-LYON")) == 0


def test_unknown_options_and_values_are_all_reported(flow) -> None:
    service, _ = flow
    with pytest.raises(OrderValidationError) as caught:
        service.capture({"customer_id": "C-100", "currency": "EUR",
                         "lines": [bike(frame_sise="L", color="pink")]}, actor="desk")
    paths = {p.path: p.message for p in caught.value.problems}
    assert "did you mean `frame_size`" in paths["lines[0].options.frame_sise"]
    assert "'pink' is not a value of color" in paths["lines[0].options.color"]


def test_an_order_split_across_two_warehouses_has_a_date_per_line(flow) -> None:
    service, store = flow
    order = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
        {"line_id": "2", "sku": "HELMET-AERO", "quantity": "5"},
    ]}, actor="desk")
    helmets = order.record.promises[1]
    assert [(loc, int(q)) for loc, q in helmets.ship_from] == [("WH-LYON", 3), ("WH-KOELN", 2)]
    assert helmets.promised_date == NOW.date() + dt.timedelta(days=3)
    assert order.record.promises[0].promised_date == NOW.date() + dt.timedelta(days=2)
    assert store.reserved(("BIKE-TRAIL", "WH-LYON")) == 1
    assert store.reserved(("HELMET-AERO", "WH-LYON")) == 3
    assert store.reserved(("HELMET-AERO", "WH-KOELN")) == 2


def test_cancelling_gives_the_supply_back(flow) -> None:
    service, store = flow
    order = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"}]}, actor="desk").order
    assert store.reserved(("BIKE-TRAIL", "WH-LYON")) == 2
    service.cancel(order.order_id, actor="desk", reason="test")
    assert store.reserved(("BIKE-TRAIL", "WH-LYON")) == 0


def test_options_given_as_text_come_back_as_the_models_values(flow) -> None:
    service, _ = flow
    order = service.capture({"customer_id": "C-100", "currency": "EUR",
                             "lines": [bike(frame_size="L", motor="true", battery_wh="625")]}, actor="desk").order
    assert order.lines[0].options == {"frame_size": "L", "motor": True, "battery_wh": 625, "color": "matte-black"}
