"""Capturing orders: defaults, pricing, every problem at once, holds, approvals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from order_management import (
    LineStatus,
    OrderStatus,
    OrderValidationError,
    Severity,
)


def draft(**overrides):
    order = {
        "customer_id": "C-100",
        "currency": "EUR",
        "channel": "web",
        "lines": [
            {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
            {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"},
        ],
    }
    order.update(overrides)
    return order


def test_a_captured_order_is_defaulted_priced_promised_and_stored(service, store) -> None:
    result = service.capture(draft(), actor="desk:anna")
    order = result.order
    assert order.bill_to.name == "Vélo Lyon SARL"
    assert order.ship_to.address.city == "Lyon"
    assert order.payment_terms == "NET60"            # gold segment
    assert order.warehouse == "WH-LYON"              # FR goes to Lyon
    assert order.status == OrderStatus.BOOKED
    assert [line.status for line in order.lines] == [LineStatus.RESERVED, LineStatus.RESERVED]
    assert all(line.promised_date == dt.date(2025, 7, 17) for line in order.lines)
    pricing = result.record.pricing
    assert pricing.subtotal == sum(pricing.line_net.values())
    assert pricing.total == pricing.subtotal + pricing.tax
    assert any("payment-terms-by-segment" in line for line in result.defaults_applied)
    with store.unit_of_work() as uow:
        stored = uow.orders.get(order.order_id)
    assert stored.order == order and [r.version for r in stored.revisions] == [1]
    assert stored.revisions[0].actor == "desk:anna"


def test_validation_reports_every_problem_at_once_and_stores_nothing(service, store, promiser) -> None:
    bad = draft(
        ship_to={"name": "Depot", "address": {"country": "RU"}},
        requested_date="2025-07-01",
        lines=[{"line_id": "1", "sku": "BOTTLE", "quantity": "1"},
               {"line_id": "2", "sku": "LOCK-U", "quantity": "1200"}],
    )
    stock_before = dict(promiser.stock)
    with pytest.raises(OrderValidationError) as caught:
        service.capture(bad, actor="desk:anna")
    paths = {(p.path, p.rule.split("/")[-1]) for p in caught.value.problems}
    assert ("ship_to.address.country", "embargoed-destination") in paths
    assert ("lines[1].quantity", "quantity-sanity") in paths
    assert ("requested_date", "requested-date-not-in-the-past") in paths
    assert store.records == {}
    assert promiser.stock == stock_before


def test_field_level_errors_carry_pydantic_paths(service) -> None:
    with pytest.raises(OrderValidationError) as caught:
        service.capture(draft(lines=[{"line_id": "1", "sku": "BOTTLE", "quantity": 1.5},
                                     {"line_id": "2", "sku": "", "quantity": "-1"}]), actor="a")
    paths = {p.path for p in caught.value.problems}
    assert {"lines[0].quantity", "lines[1].sku", "lines[1].quantity"} <= paths


def test_an_unknown_customer_and_a_sku_without_price_are_located(service) -> None:
    with pytest.raises(OrderValidationError) as caught:
        service.capture(draft(customer_id="C-999"), actor="a")
    assert [p.path for p in caught.value.problems] == ["customer_id"]
    with pytest.raises(OrderValidationError) as caught:
        service.capture(draft(lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
                                     {"line_id": "2", "sku": "NO-SUCH-SKU", "quantity": "1"}]), actor="a")
    assert caught.value.problems[0].path.startswith("lines[1]")


def test_a_blocked_customer_is_refused(service) -> None:
    with pytest.raises(OrderValidationError, match="blocked"):
        service.capture(draft(customer_id="C-400"), actor="a")


def test_going_over_the_credit_limit_puts_the_order_on_hold(service) -> None:
    result = service.capture(draft(customer_id="C-200"), actor="desk:ben")
    assert result.order.status == OrderStatus.ON_HOLD
    assert result.record.hold_reasons[0].startswith("credit-limit")
    assert result.order.warehouse == "WH-KOELN"
    assert any(p.severity == Severity.WARNING for p in result.warnings)


def test_a_discount_beyond_the_role_limit_awaits_approval(service) -> None:
    big = draft(lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1", "manual_discounts": [
        {"type": "percent", "value": "25", "reason": "match competitor", "role": "sales_rep"}]}])
    result = service.capture(big, actor="desk:anna")
    assert result.order.status == OrderStatus.AWAITING_APPROVAL
    assert result.record.pricing.requires_approval


def test_a_line_short_of_stock_is_backordered_with_a_later_date(service) -> None:
    result = service.capture(draft(lines=[{"line_id": "1", "sku": "BIKE-CITY", "quantity": "1"}]), actor="a")
    assert result.order.status == OrderStatus.BACKORDERED
    assert result.order.lines[0].promised_date == dt.date(2025, 7, 29)


def test_what_if_availability_commits_nothing(service, promiser) -> None:
    before = dict(promiser.stock)
    promises = service.check_availability(draft())
    assert [p.status.value for p in promises] == ["reserved", "reserved"]
    assert promiser.stock == before


def test_a_minimum_order_value_is_checked_on_the_priced_subtotal(service) -> None:
    with pytest.raises(OrderValidationError) as caught:
        service.capture(draft(lines=[{"line_id": "1", "sku": "BOTTLE", "quantity": "2"}]), actor="a")
    assert [p.rule.split("/")[-1] for p in caught.value.problems] == ["minimum-order-value"]
    assert Decimal("14.00") < Decimal("25.00")
