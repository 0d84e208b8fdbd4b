"""The whole capture flow with the real configurator, pricing engine and promising, through the bus."""

from __future__ import annotations

import datetime as dt

import pytest

from order_management import LineStatus, OrderValidationError, bootstrap_in_memory, check_availability
from order_management import commands as c
from order_management.promising import SupplyPosition
from tests.order_management.support import CUSTOMERS, LYON, NOW, capture, draft, reserved

KASSEL = "DE-KS"
TO_GERMANY = {"name": "Radlager Kassel", "address": {"country": "DE", "city": "Kassel"}}


@pytest.fixture
def flow(bundle):
    return bootstrap_in_memory(bundle, now=NOW, customers=CUSTOMERS, supply=[
        SupplyPosition(item="BIKE-TRAIL", location=LYON, on_hand=2, lead_time_days=10),
        SupplyPosition(item="HELMET-AERO", location=LYON, on_hand=2),
        SupplyPosition(item="HELMET-AERO", location=KASSEL, on_hand=3),
    ])


def bike(**options):
    return {"line_id": "1", "kind": "configured", "sku": "BIKE-TRAIL", "product_model": "trail-bike",
            "quantity": "1", "options": options}


def test_a_configured_bike_is_completed_priced_and_promised(flow) -> None:
    order = capture(flow, lines=[bike(frame_size="L")]).order
    line = order.lines[0]
    assert line.options == {"frame_size": "L", "color": "matte-black", "motor": False, "battery_wh": 0}
    assert line.status == LineStatus.RESERVED and line.ship_from == LYON
    # built to order (5 days for this configuration) + 1 day from Lyon to Lyon; no stock is consumed
    assert line.promised_date == NOW.date() + dt.timedelta(days=5 + 1)
    assert reserved(flow, "BIKE-TRAIL") == 0


def test_the_e_motor_option_lengthens_the_promised_date(flow) -> None:
    plain = check_availability(draft(lines=[bike(frame_size="L")]), flow.deps, flow.unit_of_work())
    motor = check_availability(draft(lines=[bike(frame_size="L", motor=True, battery_wh=625)]), flow.deps,
                               flow.unit_of_work())
    today = NOW.date()
    assert plain[0].promised_date == today + dt.timedelta(days=5 + 1)        # build 5 days, 1 in transit
    assert motor[0].promised_date == today + dt.timedelta(days=21 + 1)       # the e-motor takes 21 days


def test_an_impossible_configuration_is_explained_on_the_option(flow) -> None:
    with pytest.raises(OrderValidationError) as caught:
        capture(flow, lines=[bike(frame_size="S", motor=True, battery_wh=500)])
    problem = caught.value.problems[0]
    assert problem.path == "lines[0].options.motor"
    assert "The S frame has no room for the mid-drive motor" in problem.message
    assert reserved(flow, "BIKE-TRAIL") == 0 and flow.store.records == {}


def test_unknown_options_and_values_are_all_reported(flow) -> None:
    with pytest.raises(OrderValidationError) as caught:
        capture(flow, lines=[bike(frame_sise="L", color="pink")])
    paths = {p.path: p.message for p in caught.value.problems}
    assert "did you mean `frame_size`" in paths["lines[0].options.frame_sise"]
    assert "'pink' is not a value of color" in paths["lines[0].options.color"]


def test_an_order_split_across_two_warehouses_has_a_date_per_line(flow) -> None:
    result = capture(flow, ship_to=TO_GERMANY, lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
                                                      {"line_id": "2", "sku": "HELMET-AERO", "quantity": "5"}])
    bikes, helmets = result.record.promises
    assert [(loc, int(q)) for loc, q in helmets.ship_from] == [(KASSEL, 3), (LYON, 2)]  # Kassel first for DE
    assert helmets.promised_date == NOW.date() + dt.timedelta(days=4)   # the Lyon part takes 4 days to Germany
    assert bikes.promised_date == NOW.date() + dt.timedelta(days=4)
    assert reserved(flow, "BIKE-TRAIL") == 1
    assert reserved(flow, "HELMET-AERO", LYON) == 2
    assert reserved(flow, "HELMET-AERO", KASSEL) == 3


def test_cancelling_gives_the_supply_back(flow) -> None:
    order_id = capture(flow, lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"}]).order.order_id
    assert reserved(flow, "BIKE-TRAIL") == 2
    flow.handle(c.CancelOrder(actor="desk", order_id=order_id, reason="test"))
    assert reserved(flow, "BIKE-TRAIL") == 0


def test_options_given_as_text_come_back_as_the_models_values(flow) -> None:
    order = capture(flow, lines=[bike(frame_size="L", motor="true", battery_wh="625")]).order
    assert order.lines[0].options == {"frame_size": "L", "motor": True, "battery_wh": 625, "color": "matte-black"}
