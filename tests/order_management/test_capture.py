"""Capturing orders through the bus: defaults, pricing, every problem at once, holds, approvals, promising."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from order_management import (
    LinePromiseStatus,
    LineStatus,
    OrderInput,
    OrderStatus,
    OrderValidationError,
    Severity,
    check_availability,
    check_order,
    quote,
)
from order_management import commands as c
from order_management.handlers import problems_from_pydantic
from order_management.promising import Receipt, SupplyPosition
from tests.order_management.support import LYON, NOW, STOCK, capture, draft, reserved


def test_a_captured_order_is_numbered_defaulted_priced_promised_and_stored(bus) -> None:
    result = capture(bus, actor="desk:anna")
    order = result.order
    assert order.order_id.startswith("SO-") and order.version == 1
    assert order.bill_to.name == "Vélo Lyon SARL"
    assert order.ship_to.address.city == "Lyon"
    assert order.payment_terms == "NET60"            # gold segment
    assert order.warehouse == LYON                   # FR goes to Lyon
    assert order.status == OrderStatus.BOOKED
    assert [line.status for line in order.lines] == [LineStatus.RESERVED, LineStatus.RESERVED]
    assert [line.ship_from for line in order.lines] == [LYON, LYON]
    assert all(line.promised_date == dt.date(2025, 7, 16) for line in order.lines)  # ships today, a day to Lyon
    pricing = result.record.pricing
    assert pricing.subtotal == sum(pricing.line_net.values())
    assert pricing.total == pricing.subtotal + pricing.tax
    assert any("payment-terms-by-segment" in line for line in result.defaults_applied)
    with bus.unit_of_work() as uow:
        stored = uow.orders.get(order.order_id)
    assert stored.order == order and [r.version for r in stored.revisions] == [1]
    assert stored.revisions[0].actor == "desk:anna"
    assert (reserved(bus, "BIKE-TRAIL"), reserved(bus, "HELMET-AERO")) == (1, 2)


def test_the_server_numbers_orders_one_after_another(bus) -> None:
    first, second = capture(bus).order.order_id, capture(bus).order.order_id
    assert first != second and first < second


def test_validation_reports_every_problem_at_once_and_stores_and_reserves_nothing(bus, store) -> None:
    bad = draft(
        ship_to={"name": "Depot", "address": {"country": "RU"}},
        requested_date="2025-07-01",
        lines=[{"line_id": "1", "sku": "BOTTLE", "quantity": "1"},
               {"line_id": "2", "sku": "LOCK-U", "quantity": "1200"}],
    )
    audit_before = len(store.audit)
    with pytest.raises(OrderValidationError) as caught:
        bus.handle(c.CaptureOrder(actor="desk:anna", order=bad))
    paths = {(p.path, p.rule.split("/")[-1]) for p in caught.value.problems}
    assert ("ship_to.address.country", "embargoed-destination") in paths
    assert ("lines[1].quantity", "quantity-sanity") in paths
    assert ("requested_date", "requested-date-not-in-the-past") in paths
    assert store.records == {}
    assert all(reserved(bus, sku) == 0 for sku in STOCK)
    assert len(store.audit) == audit_before


def test_field_level_errors_carry_pydantic_paths() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        OrderInput.model_validate({"customer_id": "C-100", "currency": "EUR", "lines": [
            {"line_id": "1", "sku": "BOTTLE", "quantity": 1.5}, {"line_id": "2", "sku": "", "quantity": "-1"}]})
    paths = {p.path for p in problems_from_pydantic(caught.value)}
    assert {"lines[0].quantity", "lines[1].sku", "lines[1].quantity"} <= paths


def test_a_client_cannot_send_what_the_server_owns() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        OrderInput.model_validate({"customer_id": "C-100", "currency": "EUR", "order_id": "SO-9", "version": 7,
                                   "status": "closed", "lines": [
                                       {"line_id": "1", "sku": "BOTTLE", "quantity": "4", "shipped_quantity": "4"}]})
    paths = {p.path for p in problems_from_pydantic(caught.value)}
    assert {"order_id", "version", "status", "lines[0].shipped_quantity"} <= paths


def test_an_unknown_customer_and_a_sku_without_price_are_located(bus) -> None:
    with pytest.raises(OrderValidationError) as caught:
        capture(bus, customer_id="C-999")
    assert [p.path for p in caught.value.problems] == ["customer_id"]
    with pytest.raises(OrderValidationError) as caught:
        capture(bus, lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
                            {"line_id": "2", "sku": "NO-SUCH-SKU", "quantity": "1"}])
    assert caught.value.problems[0].path.startswith("lines[1]")


def test_a_blocked_customer_is_refused(bus) -> None:
    with pytest.raises(OrderValidationError, match="blocked"):
        capture(bus, customer_id="C-400")


def test_going_over_the_credit_limit_puts_the_order_on_hold(bus) -> None:
    result = capture(bus, actor="desk:ben", customer_id="C-200")
    assert result.order.status == OrderStatus.ON_HOLD
    assert result.record.hold_reasons[0].startswith("credit-limit")
    assert result.order.warehouse == "DE-KS"           # DE goes to Kassel
    assert any(p.severity == Severity.WARNING for p in result.warnings)
    with bus.unit_of_work() as uow:
        [hold] = uow.holds.for_order(result.order.order_id)
    assert hold.active and hold.source == "rule:credit-limit"


def test_a_discount_beyond_the_role_limit_awaits_approval(bus) -> None:
    result = capture(bus, actor="desk:anna", lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1",
                                                     "manual_discounts": [{"type": "percent", "value": "25",
                                                                           "reason": "match competitor",
                                                                           "role": "sales_rep"}]}])
    assert result.order.status == OrderStatus.AWAITING_APPROVAL
    assert result.record.pricing.requires_approval
    with bus.unit_of_work() as uow:
        [approval] = uow.approvals.for_order(result.order.order_id)
    assert approval.status.value == "pending"


def test_a_line_no_supply_can_cover_is_backordered(bus) -> None:
    result = capture(bus, lines=[{"line_id": "1", "sku": "BIKE-CITY", "quantity": "1"}])
    assert result.order.status == OrderStatus.BACKORDERED
    assert result.order.lines[0].status == LineStatus.BACKORDERED
    assert result.record.promises[0].status == LinePromiseStatus.BACKORDERED
    assert "no location can supply" in result.record.promises[0].reason


def test_a_line_short_of_stock_is_promised_from_the_next_receipt_with_a_later_date(bundle) -> None:
    from order_management import bootstrap_in_memory
    from tests.order_management.support import CUSTOMERS

    supply = [SupplyPosition(item="LOCK-U", location=LYON, on_hand=1,
                             receipts=(Receipt(id="PO-1", quantity=10, expected_on=dt.date(2025, 7, 28)),))]
    bus = bootstrap_in_memory(bundle, now=NOW, customers=CUSTOMERS, supply=supply)
    line = capture(bus, lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "3"}]).order.lines[0]
    assert line.status == LineStatus.RESERVED and line.ship_from == LYON
    assert line.promised_date == dt.date(2025, 7, 29)   # the receipt arrives on the 28th, a day to Lyon
    assert reserved(bus, "LOCK-U") == 3


def test_what_if_availability_reserves_nothing(bus) -> None:
    promises = check_availability(draft(), bus.deps, bus.unit_of_work())
    assert [p.status.value for p in promises] == ["reserved", "reserved"]
    assert all(reserved(bus, sku) == 0 for sku in STOCK)


def test_checking_and_quoting_a_draft_store_nothing_and_say_what_capture_would(bus, store) -> None:
    bad = draft(lines=[{"line_id": "1", "sku": "BOTTLE", "quantity": "2"}])
    assert [p.rule.split("/")[-1] for p in check_order(bad, bus.deps, bus.unit_of_work())] == ["minimum-order-value"]
    assert check_order(draft(), bus.deps, bus.unit_of_work()) == []
    priced = quote(bad, bus.deps)
    assert priced.pricing.subtotal < 25 and [p.path for p in priced.problems] == ["lines"]
    assert store.records == {} and store.audit == []


def test_a_minimum_order_value_is_checked_on_the_priced_subtotal(bus) -> None:
    with pytest.raises(OrderValidationError) as caught:
        capture(bus, lines=[{"line_id": "1", "sku": "BOTTLE", "quantity": "2"}])
    assert [p.rule.split("/")[-1] for p in caught.value.problems] == ["minimum-order-value"]
