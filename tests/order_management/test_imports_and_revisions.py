"""Importing batches idempotently, and revising orders under processing constraints."""

from __future__ import annotations

import json

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


def batch(*orders) -> str:
    return json.dumps({"orders": list(orders)})


def imported(ref: str, customer: str = "C-100", **extra) -> dict:
    order = {"source_system": "shopify", "external_ref": ref, "customer_id": customer, "currency": "EUR",
             "channel": "marketplace",
             "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"},
                       {"line_id": "2", "sku": "LOCK-U", "quantity": "2"}]}
    order.update(extra)
    return order


def test_importing_the_same_batch_twice_creates_each_order_once(service, store) -> None:
    text = batch(imported("#1001"), imported("#1002"), imported("#1003"))
    first = import_orders(service, parse_json_batch(text), ErrorPolicy.REJECT_FAILED_ORDERS, "api:shopify")
    second = import_orders(service, parse_json_batch(text), ErrorPolicy.REJECT_FAILED_ORDERS, "api:shopify")
    assert (len(first.created), len(first.already_imported)) == (3, 0)
    assert (len(second.created), second.already_imported) == (0, first.created)
    assert len(store.records) == 3
    assert first.ok and second.ok


def test_an_invalid_row_gives_its_field_path_and_the_other_orders_still_land(service, store) -> None:
    bad = imported("#2002")
    bad["lines"][1]["quantity"] = "zero"
    text = batch(imported("#2001"), bad, imported("#2003", customer="C-nobody"), imported("#2004"))
    report = import_orders(service, parse_json_batch(text), ErrorPolicy.REJECT_FAILED_ORDERS, "api")
    assert len(report.created) == 2
    assert report.rejected == ["shopify/#2002", "shopify/#2003"]
    paths = [p.path for p in report.problems]
    assert "orders[1].lines[1].quantity" in paths
    assert "orders[2].customer_id" in paths


def test_reject_batch_creates_nothing_when_one_order_is_bad(service, store, promiser) -> None:
    bad = imported("#3002", ship_to={"name": "x", "address": {"country": "KP"}})
    before = dict(promiser.stock)
    report = import_orders(service, parse_json_batch(batch(imported("#3001"), bad)),
                           ErrorPolicy.REJECT_BATCH, "api")
    assert report.batch_rejected and report.created == []
    assert [p.path for p in report.problems] == ["orders[1].ship_to.address.country"]
    assert store.records == {} and promiser.stock == before


def test_keep_valid_lines_drops_the_bad_line_and_keeps_the_order(service, store) -> None:
    order = imported("#4001")
    order["lines"].append({"line_id": "3", "sku": "BOTTLE", "quantity": "-4"})
    report = import_orders(service, parse_json_batch(batch(order)), ErrorPolicy.KEEP_VALID_LINES, "api")
    assert len(report.created) == 1
    assert [p.path for p in report.problems] == ["orders[0].lines[2].quantity"]
    stored = store.records[report.created[0]].order
    assert [line.line_id for line in stored.lines] == ["1", "2"]


def test_csv_rows_group_into_orders(service) -> None:
    text = (
        "source_system,external_ref,customer_id,currency,line_id,sku,quantity,ship_to_country\n"
        "edi,PO-77,C-300,EUR,1,BIKE-TRAIL,1,BE\n"
        "edi,PO-77,C-300,EUR,2,LOCK-U,1,BE\n"
        "edi,PO-78,C-300,EUR,1,HELMET-AERO,3,NL\n"
    )
    records = parse_csv_batch(text)
    assert [len(r["lines"]) for r in records] == [2, 1]
    report = import_orders(service, records, ErrorPolicy.REJECT_BATCH, "edi")
    assert len(report.created) == 2, report.problems


def test_unreadable_batches_say_where() -> None:
    with pytest.raises(ImportFormatError, match="line 1, column 13"):
        parse_json_batch('{"orders": [}')
    with pytest.raises(ImportFormatError, match="quantity"):
        parse_csv_batch("source_system,external_ref,customer_id,currency,sku\n")


def test_a_revision_creates_a_new_version_with_a_readable_diff(service, store) -> None:
    created = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"}]}, actor="desk:anna").order
    revised = service.revise(created.order_id, {"lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"},
        {"line_id": "2", "sku": "LOCK-U", "quantity": "1"}], "notes": "call before delivery"},
        actor="desk:anna", reason="customer added a lock").record
    assert revised.order.version == 2
    last = revised.revisions[-1]
    text = render_diff(list(last.changes))
    assert "lines[0].quantity: 1 → 2" in text
    assert "lines[1]: added" in text
    assert "notes: added 'call before delivery'" in text
    assert last.reason == "customer added a lock" and last.actor == "desk:anna"
    assert [r.version for r in revised.revisions] == [1, 2]
    assert revised.revisions[0].order.lines[0].quantity == 1   # history is kept


def test_a_ship_to_change_after_shipping_is_refused_with_the_rule_message(service, store) -> None:
    order = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"}]}, actor="a").order
    record = store.records[order.order_id]
    shipped = order.model_copy(update={"status": OrderStatus.SHIPPED, "version": order.version + 1})
    with store.unit_of_work() as uow:  # part 2 (orchestration) would do this on the shipment event
        uow.orders.update(record.__class__(shipped, record.revisions), expected_version=order.version)
        uow.commit()
    with pytest.raises(ProcessingConstraintError) as caught:
        service.revise(order.order_id, {"ship_to": {"name": "Elsewhere", "address": {"country": "BE"}}},
                       actor="a", reason="move")
    problem = caught.value.problems[0]
    assert problem.path.startswith("ship_to")
    assert "cannot change once the order is in fulfilment or shipped" in problem.message
    assert store.records[order.order_id].order.version == shipped.version


def test_two_writers_of_the_same_version_cannot_both_win(store, service) -> None:
    order = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"}]}, actor="a").order
    record = store.records[order.order_id]
    first, second = store.unit_of_work(), store.unit_of_work()
    with first, second:
        first.orders.update(record, expected_version=1)
        second.orders.update(record, expected_version=1)
        first.commit()
        store.records[order.order_id] = record.__class__(order.model_copy(update={"version": 2}),
                                                         record.revisions)
        with pytest.raises(ConcurrentUpdateError):
            second.commit()


def test_cancelling_releases_the_reservations(service, promiser) -> None:
    before = promiser.stock["BIKE-TRAIL"]
    order = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"}]}, actor="a").order
    assert promiser.stock["BIKE-TRAIL"] == before - 2
    cancelled = service.cancel(order.order_id, actor="a", reason="customer changed their mind")
    assert cancelled.order.status == OrderStatus.CANCELLED
    assert promiser.stock["BIKE-TRAIL"] == before
    with pytest.raises(ProcessingConstraintError):
        service.cancel(order.order_id, actor="a", reason="twice")


def test_returned_units_show_on_the_order_as_a_new_version(service) -> None:
    order = service.capture({"customer_id": "C-100", "currency": "EUR", "lines": [
        {"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}]}, actor="a").order
    record = service.record_returns(order.order_id, {"1": 2}, actor="warehouse", reason="RMA-1 received")
    assert record.order.lines[0].returned_quantity == 2
    assert str(record.revisions[-1].changes[0]) == "lines[0].returned_quantity: 0 → 2"
    assert record.pricing == service.unit_of_work().orders.get(order.order_id).pricing  # no re-pricing
    with pytest.raises(OrderValidationError, match="4 returned of 3 ordered"):
        service.record_returns(order.order_id, {"1": 2}, actor="warehouse", reason="too many")
