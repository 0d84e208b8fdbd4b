"""Importing batches idempotently through the bus, and revising orders under processing constraints."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from order_management import (
    ConcurrentUpdateError,
    ErrorPolicy,
    ImportFormatError,
    OrderStatus,
    OrderValidationError,
    ProcessingConstraintError,
    import_orders,
    parse_csv_batch,
    parse_json_batch,
    render_diff,
)
from order_management import commands as c
from order_management.fulfilment import EventType, ReturnReason
from tests.order_management.support import STOCK, captured_id, done, event, record_of, reserved, revise

ONE_BIKE = [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"}]


def batch(*orders) -> str:
    return json.dumps({"orders": list(orders)})


def imported(ref: str, customer: str = "C-100", **extra) -> dict:
    order = {"source_system": "shopify", "external_ref": ref, "customer_id": customer, "currency": "EUR",
             "channel": "marketplace",
             "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"},
                       {"line_id": "2", "sku": "LOCK-U", "quantity": "2"}]}
    order.update(extra)
    return order


def test_importing_the_same_batch_twice_creates_each_order_once(bus, store) -> None:
    text = batch(imported("#1001"), imported("#1002"), imported("#1003"))
    first = import_orders(bus, parse_json_batch(text), ErrorPolicy.REJECT_FAILED_ORDERS, "api:shopify")
    second = import_orders(bus, parse_json_batch(text), ErrorPolicy.REJECT_FAILED_ORDERS, "api:shopify")
    assert (len(first.created), len(first.already_imported)) == (3, 0)
    assert (len(second.created), second.already_imported) == (0, first.created)
    assert len(store.records) == 3
    assert reserved(bus, "HELMET-AERO") == 3 and reserved(bus, "LOCK-U") == 6  # reserved once per order
    assert first.ok and second.ok


def test_an_invalid_row_gives_its_field_path_and_the_other_orders_still_land(bus) -> None:
    bad = imported("#2002")
    bad["lines"][1]["quantity"] = "zero"
    text = batch(imported("#2001"), bad, imported("#2003", customer="C-nobody"), imported("#2004"))
    report = import_orders(bus, parse_json_batch(text), ErrorPolicy.REJECT_FAILED_ORDERS, "api")
    assert len(report.created) == 2
    assert report.rejected == ["shopify/#2002", "shopify/#2003"]
    paths = [p.path for p in report.problems]
    assert "orders[1].lines[1].quantity" in paths
    assert "orders[2].customer_id" in paths


def test_reject_batch_creates_and_reserves_nothing_when_one_order_is_bad(bus, store) -> None:
    bad = imported("#3002", ship_to={"name": "x", "address": {"country": "KP"}})
    report = import_orders(bus, parse_json_batch(batch(imported("#3001"), bad)), ErrorPolicy.REJECT_BATCH, "api")
    assert report.batch_rejected and report.created == []
    assert [p.path for p in report.problems] == ["orders[1].ship_to.address.country"]
    assert store.records == {} and all(reserved(bus, sku) == 0 for sku in STOCK)


def test_keep_valid_lines_drops_the_bad_line_and_keeps_the_order(bus) -> None:
    order = imported("#4001")
    order["lines"].append({"line_id": "3", "sku": "BOTTLE", "quantity": "-4"})
    report = import_orders(bus, parse_json_batch(batch(order)), ErrorPolicy.KEEP_VALID_LINES, "api")
    assert len(report.created) == 1
    assert [p.path for p in report.problems] == ["orders[0].lines[2].quantity"]
    stored = record_of(bus, report.created[0]).order
    assert [line.line_id for line in stored.lines] == ["1", "2"]


def test_csv_rows_group_into_orders(bus) -> None:
    text = (
        "source_system,external_ref,customer_id,currency,line_id,sku,quantity,ship_to_country\n"
        "edi,PO-77,C-300,EUR,1,BIKE-TRAIL,1,BE\n"
        "edi,PO-77,C-300,EUR,2,LOCK-U,1,BE\n"
        "edi,PO-78,C-300,EUR,1,HELMET-AERO,3,NL\n"
    )
    records = parse_csv_batch(text)
    assert [len(r["lines"]) for r in records] == [2, 1]
    report = import_orders(bus, records, ErrorPolicy.REJECT_BATCH, "edi")
    assert len(report.created) == 2, report.problems


def test_unreadable_batches_say_where() -> None:
    with pytest.raises(ImportFormatError, match="line 1, column 13"):
        parse_json_batch('{"orders": [}')
    with pytest.raises(ImportFormatError, match="quantity"):
        parse_csv_batch("source_system,external_ref,customer_id,currency,sku\n")


def test_a_revision_creates_a_new_version_with_a_readable_diff(bus) -> None:
    order_id = captured_id(bus, actor="desk:anna", lines=ONE_BIKE)
    revised = revise(bus, order_id, "desk:anna", "customer added a lock", notes="call before delivery", lines=[
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"}, {"line_id": "2", "sku": "LOCK-U", "quantity": "1"}],
    ).record
    assert revised.order.version == 2
    last = revised.revisions[-1]
    text = render_diff(list(last.changes))
    assert "lines[0].quantity: 1 → 2" in text
    assert "lines[1]: added" in text
    assert "notes: added 'call before delivery'" in text
    assert last.reason == "customer added a lock" and last.actor == "desk:anna"
    assert [r.version for r in revised.revisions] == [1, 2]
    assert revised.revisions[0].order.lines[0].quantity == 1   # history is kept
    assert (reserved(bus, "BIKE-TRAIL"), reserved(bus, "LOCK-U")) == (2, 1)  # the reservation follows


def test_a_revision_that_changes_nothing_makes_no_new_version(bus) -> None:
    order_id = captured_id(bus, lines=ONE_BIKE)
    result = revise(bus, order_id, "desk", "same again", lines=ONE_BIKE)
    assert result.record.version == 1 and not result.created


def test_a_ship_to_change_after_shipping_is_refused_with_the_rule_message(bus) -> None:
    order_id = captured_id(bus, lines=ONE_BIKE)
    bus.handle(c.StartFulfilment(actor="desk", order_id=order_id))
    done(bus, order_id, "1", "schedule", "pick")
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, "1", actor="integration:carrier")
    shipped = record_of(bus, order_id)
    assert shipped.order.status == OrderStatus.SHIPPED
    with pytest.raises(ProcessingConstraintError) as caught:
        revise(bus, order_id, "desk", "move", ship_to={"name": "Elsewhere", "address": {"country": "BE"}})
    problem = caught.value.problems[0]
    assert problem.path.startswith("ship_to")
    assert "cannot change once the order is in fulfilment or shipped" in problem.message
    assert record_of(bus, order_id).version == shipped.version


def test_two_writers_of_the_same_version_cannot_both_win_and_the_loser_learns_what_changed(bus) -> None:
    order_id = captured_id(bus, lines=ONE_BIKE)
    first = c.ReviseOrder(actor="desk:anna", order_id=order_id, expected_version=1, reason="note",
                          changes={"notes": "ring twice"})
    second = c.ReviseOrder(actor="desk:ben", order_id=order_id, expected_version=1, reason="more",
                           changes={"lines": [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"}]})
    bus.handle(first)
    with pytest.raises(ConcurrentUpdateError) as caught:
        bus.handle(second)
    assert "version 2 by desk:anna" in caught.value.changes[0] and "notes" in caught.value.changes[0]
    stored = record_of(bus, order_id)
    assert stored.version == 2 and stored.order.lines[0].quantity == 1 and reserved(bus, "BIKE-TRAIL") == 1
    with pytest.raises(ConcurrentUpdateError):
        bus.handle(c.CancelOrder(actor="desk:ben", order_id=order_id, reason="stale", expected_version=1))


def test_cancelling_releases_the_reservations_and_happens_once(bus) -> None:
    order_id = captured_id(bus, lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"}])
    assert reserved(bus, "BIKE-TRAIL") == 2
    cancelled = bus.handle(c.CancelOrder(actor="desk", order_id=order_id, reason="customer changed their mind"))
    assert cancelled.order.status == OrderStatus.CANCELLED
    assert reserved(bus, "BIKE-TRAIL") == 0
    with pytest.raises(ProcessingConstraintError):
        bus.handle(c.CancelOrder(actor="desk", order_id=order_id, reason="twice"))


def test_returned_units_show_on_the_order_as_a_new_version_without_repricing(bus) -> None:
    order_id = captured_id(bus, lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}])
    bus.handle(c.StartFulfilment(actor="desk", order_id=order_id))
    done(bus, order_id, "1", "schedule", "pick")
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, "1", actor="integration:carrier")
    before = record_of(bus, order_id)
    rma = bus.handle(c.AuthoriseReturn(actor="service", order_id=order_id, lines=[
        {"line_id": "1", "quantity": "2", "reason": ReturnReason.NO_LONGER_NEEDED}]))
    bus.handle(c.ReceiveReturn(actor="warehouse", rma_id=rma.rma_id, lines=[{"line_id": "1", "received": "2"}]))
    record = record_of(bus, order_id)
    assert record.order.lines[0].returned_quantity == 2 and record.version == before.version + 1
    assert str(record.revisions[-1].changes[0]) == "lines[0].returned_quantity: 0 → 2"
    assert record.pricing == before.pricing  # no re-pricing
    with pytest.raises(OrderValidationError, match="2 cannot be returned: 1 shipped and not yet returned"):
        bus.handle(c.AuthoriseReturn(actor="service", order_id=order_id, lines=[
            {"line_id": "1", "quantity": Decimal(2), "reason": ReturnReason.OTHER}]))
