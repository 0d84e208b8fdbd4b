"""Payment methods, exchanges, replacements, cancellation and rule holds, as stories told through the bus."""

from __future__ import annotations

from decimal import Decimal

import pytest

from order_management import OrderStatus, OrderValidationError
from order_management import commands as c
from order_management.fulfilment import (
    CommandKind,
    Entity,
    EventType,
    PaymentDeclinedError,
    PaymentError,
    PaymentMethod,
    PaymentStatus,
    Resolution,
    ReturnReason,
    Stage,
    StepTransitionError,
)
from tests.order_management.support import (
    active_holds,
    audited,
    balance,
    captured_id,
    done,
    event,
    instance_of,
    on_hand,
    order_of,
    record_of,
    reserved,
)

HELMETS = [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "2"}]
CARRIER = "integration:carrier"


def shipped(bus, lines=HELMETS, **order):
    """An order whose lines wait for the carrier (scheduled and picked)."""
    order_id = captured_id(bus, actor="web", lines=lines, **order)
    bus.handle(c.StartFulfilment(actor="web", order_id=order_id))
    for line in lines:
        done(bus, order_id, line["line_id"], "schedule", "pick")
    return order_id


def pay(bus, order_id, method=PaymentMethod.CARD):
    payment = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=method))
    return bus.handle(c.CapturePayment(actor="web", payment_id=payment.payment_id))


def payment(bus, payment_id):
    with bus.unit_of_work() as uow:
        return uow.payments.get(payment_id)


def test_cash_on_delivery_is_collected_at_delivery_and_closes_the_order(bus) -> None:
    order_id = shipped(bus)
    cod = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.CASH_ON_DELIVERY))
    assert cod.status == PaymentStatus.PENDING
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor=CARRIER)
    assert order_of(bus, order_id).status == OrderStatus.SHIPPED
    instance = event(bus, order_id, EventType.DELIVERED, actor="integration:courier-hal")
    assert payment(bus, cod.payment_id).status == PaymentStatus.CAPTURED
    assert instance.stage == Stage.COMPLETED and order_of(bus, order_id).status == OrderStatus.CLOSED
    collected = audited(bus, order_id, Entity.PAYMENT, "collected")
    assert collected[0].actor == "integration:courier-hal" and collected[0].before["status"] == "pending"


def test_a_bank_transfer_is_captured_only_when_its_funds_are_recorded(bus, gateway) -> None:
    order_id = shipped(bus)
    transfer = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.BANK_TRANSFER))
    assert transfer.status == PaymentStatus.PENDING
    with pytest.raises(PaymentError, match="recorded when it arrives"):
        bus.handle(c.CapturePayment(actor="billing", payment_id=transfer.payment_id))
    with pytest.raises(PaymentError, match="was awaited"):
        bus.handle(c.RecordFundsReceived(actor="integration:bank", payment_id=transfer.payment_id,
                                         amount=transfer.authorised + 1))
    paid = bus.handle(c.RecordFundsReceived(actor="integration:bank", payment_id=transfer.payment_id))
    assert paid.status == PaymentStatus.CAPTURED and paid.captured == transfer.authorised
    assert balance(bus, order_id).outstanding == 0


def test_a_declined_card_leaves_nothing_authorised_and_nothing_audited(bus, gateway, store) -> None:
    order_id = shipped(bus)
    audit_before = len(store.audit)
    gateway.fail_next = "do_not_honour"
    with pytest.raises(PaymentDeclinedError, match="declined") as caught:
        bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.PAYPAL))
    assert caught.value.code == "do_not_honour"
    with bus.unit_of_work() as uow:
        assert uow.payments.for_order(order_id) == []
    assert len(store.audit) == audit_before


def test_an_order_paid_up_front_invoices_as_soon_as_it_ships_and_closes_on_delivery(bus) -> None:
    order_id = captured_id(bus, actor="web", lines=HELMETS)
    bus.handle(c.StartFulfilment(actor="web", order_id=order_id))
    pay(bus, order_id)
    done(bus, order_id, "1", "schedule", "pick")
    instance = event(bus, order_id, EventType.SHIPMENT_CONFIRMED, "1", actor=CARRIER)
    assert instance.stage == Stage.COMPLETED and order_of(bus, order_id).status == OrderStatus.SHIPPED
    event(bus, order_id, EventType.DELIVERED, "1", actor=CARRIER)
    assert order_of(bus, order_id).status == OrderStatus.CLOSED


def test_an_exchange_adds_the_new_item_and_settles_only_the_difference(bus, gateway) -> None:
    order_id = shipped(bus)
    pay(bus, order_id)
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor=CARRIER)
    rma = bus.handle(c.AuthoriseReturn(actor="service", order_id=order_id, lines=[
        {"line_id": "1", "quantity": "1", "reason": ReturnReason.WRONG_ITEM, "resolution": Resolution.EXCHANGE,
         "exchange_sku": "LOCK-U"}]))
    calls_before = len(gateway.calls)
    helmets_before = on_hand(bus, "HELMET-AERO")
    bus.handle(c.ReceiveReturn(actor="warehouse", rma_id=rma.rma_id, lines=[{"line_id": "1", "received": "1"}]))
    order = order_of(bus, order_id)
    assert [line.sku for line in order.lines] == ["HELMET-AERO", "LOCK-U"]
    instance = instance_of(bus, order_id)
    assert instance.track_of(order.lines[1].line_id).active.step_id == "schedule"
    assert instance.stage == Stage.RUNNING and order.status == OrderStatus.IN_FULFILMENT
    owed = balance(bus, order_id)
    assert owed.outstanding == 0 and owed.credited > 0
    assert [call[0] for call in gateway.calls[calls_before:]] == ["refund"]  # a lock costs less than a helmet
    assert on_hand(bus, "HELMET-AERO") == helmets_before + 1
    assert reserved(bus, "LOCK-U") == 1                                      # the lock is promised and reserved


def test_a_replacement_sends_a_new_shipment_and_refunds_nothing(bus, sent) -> None:
    order_id = shipped(bus)
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor=CARRIER)
    rma = bus.handle(c.AuthoriseReturn(actor="service", order_id=order_id, lines=[
        {"line_id": "1", "quantity": "1", "reason": ReturnReason.DEFECTIVE, "resolution": Resolution.REPLACEMENT}]))
    received = bus.handle(c.ReceiveReturn(actor="warehouse", rma_id=rma.rma_id, lines=[
        {"line_id": "1", "received": "1", "damaged": "1"}]))
    assert received.refund_total == 0 and received.lines[0].restocked == 0
    assert audited(bus, order_id, Entity.STEP, "sent request_shipment")[-1].after["step_id"] == "replacement"
    assert sent[-1].kind == CommandKind.REQUEST_SHIPMENT and sent[-1].step_id == "replacement"


def test_a_return_of_more_than_was_shipped_is_refused_with_every_problem(bus) -> None:
    order_id = shipped(bus)
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor=CARRIER)
    with pytest.raises(OrderValidationError) as caught:
        bus.handle(c.AuthoriseReturn(actor="s", order_id=order_id, lines=[
            {"line_id": "1", "quantity": "3", "reason": ReturnReason.OTHER},
            {"line_id": "9", "quantity": "1", "reason": ReturnReason.OTHER}]))
    assert {p.path for p in caught.value.problems} == {"lines[0].quantity", "lines[1].line_id"}
    with bus.unit_of_work() as uow:
        assert uow.returns.for_order(order_id) == []


def test_cancelling_compensates_open_tracks_voids_the_authorisation_and_frees_the_stock(bus, sent) -> None:
    order_id = shipped(bus)
    authorised = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.CARD))
    assert reserved(bus, "HELMET-AERO") == 2
    record = bus.handle(c.CancelOrder(actor="desk:ida", order_id=order_id, reason="customer cancelled"))
    instance = instance_of(bus, order_id)
    assert instance.stage == Stage.CANCELLED and all(t.cancelled for t in instance.tracks)
    assert {cmd.kind for cmd in sent[-2:]} == {CommandKind.CANCEL_SHIPMENT_REQUEST, CommandKind.CANCEL_PICK}
    assert payment(bus, authorised.payment_id).status == PaymentStatus.VOIDED
    assert reserved(bus, "HELMET-AERO") == 0
    assert record.order.status == OrderStatus.CANCELLED == order_of(bus, order_id).status
    released = audited(bus, order_id, Entity.RESERVATION)
    assert released[-1].after is None and released[-1].before["status"] == "reserved"


def test_cancelling_a_paid_order_refunds_what_was_captured(bus, gateway) -> None:
    order_id = shipped(bus)
    paid = pay(bus, order_id)
    bus.handle(c.CancelOrder(actor="desk:ida", order_id=order_id, reason="customer cancelled"))
    refunded = payment(bus, paid.payment_id)
    assert refunded.status == PaymentStatus.REFUNDED and refunded.refunded == paid.captured
    assert gateway.calls[-1][0] == "refund"
    assert balance(bus, order_id).outstanding == 0


def test_a_large_marketplace_order_is_held_by_an_event_rule(bus) -> None:
    order_id = captured_id(bus, actor="edi", channel="marketplace",
                           lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "3"}])
    bus.handle(c.StartFulfilment(actor="edi", order_id=order_id))
    [hold] = active_holds(bus, order_id)
    assert hold.source == "rule:marketplace-fraud-review" and "fraud review" in hold.reason


def test_an_event_for_a_step_that_is_not_active_is_refused_and_nothing_starts_twice(bus) -> None:
    order_id = captured_id(bus, actor="web", lines=HELMETS)
    bus.handle(c.StartFulfilment(actor="web", order_id=order_id))
    with pytest.raises(StepTransitionError, match="has not started"):
        event(bus, order_id, EventType.STEP_COMPLETED, "1", "pick")
    with pytest.raises(StepTransitionError, match="already in fulfilment"):
        bus.handle(c.StartFulfilment(actor="web", order_id=order_id))


def test_returns_in_two_parcels_refund_the_line_to_the_cent(bus) -> None:
    lines = [{"line_id": "1", "sku": "BOTTLE", "quantity": "7"}, {"line_id": "2", "sku": "HELMET-AERO",
                                                                  "quantity": "1"}]
    order_id = shipped(bus, lines=lines)
    pay(bus, order_id)
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor=CARRIER)
    for quantity in (3, 4):
        rma = bus.handle(c.AuthoriseReturn(actor="service", order_id=order_id, lines=[
            {"line_id": "1", "quantity": Decimal(quantity), "reason": ReturnReason.DEFECTIVE}]))
        bus.handle(c.ReceiveReturn(actor="warehouse", rma_id=rma.rma_id, lines=[
            {"line_id": "1", "received": Decimal(quantity), "damaged": "1"}]))
    gross = record_of(bus, order_id).pricing.priced.lines[0].gross
    with bus.unit_of_work() as uow:
        returns = uow.returns.for_order(order_id)
    assert sum(r.refund_total for r in returns) == gross  # defective: every unit credited, damaged or not
    assert balance(bus, order_id).outstanding == 0
