"""Payment methods, exchanges, replacements, cancellation and rule holds, as stories."""

from __future__ import annotations

from decimal import Decimal

import pytest

from order_management import OrderStatus
from order_management.fulfilment import (
    CommandKind,
    Entity,
    EventType,
    FulfilmentEvent,
    PaymentDeclinedError,
    PaymentMethod,
    PaymentStatus,
    Resolution,
    ReturnError,
    ReturnReason,
    ReturnRequest,
    Stage,
    StepTransitionError,
)
from tests.order_management.fulfilment.test_stories import done, draft, order_of

HELMETS = [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "2"}]


def shipped(fulfilment, lines=HELMETS, **order):
    order_id = fulfilment.capture(draft(lines=lines, **order), actor="web").order.order_id
    fulfilment.start(order_id, actor="web")
    for line in lines:
        done(fulfilment, order_id, line["line_id"], "schedule", "pick")
    return order_id


def test_cash_on_delivery_is_collected_at_delivery_and_closes_the_order(fulfilment, service, records) -> None:
    order_id = shipped(fulfilment)
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.CASH_ON_DELIVERY, actor="web")
    assert payment.status == PaymentStatus.PENDING
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier"))
    assert order_of(service, order_id).status == OrderStatus.SHIPPED
    instance = fulfilment.handle(FulfilmentEvent(order_id, EventType.DELIVERED, actor="courier:hal"))
    assert records.payments.get(payment.payment_id).status == PaymentStatus.CAPTURED
    assert instance.stage == Stage.COMPLETED and order_of(service, order_id).status == OrderStatus.CLOSED
    collected = [e for e in records.audit.for_order(order_id) if "collected" in e.action]
    assert collected[0].actor == "courier:hal" and collected[0].before["status"] == "pending"


def test_a_bank_transfer_captures_only_once_the_funds_arrive(fulfilment, gateway) -> None:
    order_id = shipped(fulfilment)
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.BANK_TRANSFER, actor="web")
    with pytest.raises(PaymentDeclinedError) as caught:
        fulfilment.capture_payment(payment.payment_id, actor="billing")
    assert caught.value.code == "funds_not_received"
    gateway.funds_received(payment.reference)
    assert fulfilment.capture_payment(payment.payment_id, actor="billing").status == PaymentStatus.CAPTURED


def test_a_declined_card_leaves_nothing_authorised(fulfilment, gateway, records) -> None:
    order_id = shipped(fulfilment)
    gateway.fail_next = "do_not_honour"
    with pytest.raises(PaymentDeclinedError, match="do_not_honour"):
        fulfilment.authorise_payment(order_id, PaymentMethod.PAYPAL, actor="web")
    assert records.payments.for_order(order_id) == []


def test_an_order_paid_up_front_invoices_as_soon_as_it_ships(fulfilment, service) -> None:
    order_id = fulfilment.capture(draft(lines=HELMETS), actor="web").order.order_id
    fulfilment.start(order_id, actor="web")
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.CARD, actor="web")
    fulfilment.capture_payment(payment.payment_id, actor="web")
    done(fulfilment, order_id, "1", "schedule", "pick")
    instance = fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, "1", actor="carrier"))
    assert instance.stage == Stage.COMPLETED and order_of(service, order_id).status == OrderStatus.CLOSED


def test_an_exchange_adds_the_new_item_and_settles_only_the_difference(fulfilment, service, records, gateway,
                                                                      stock) -> None:
    order_id = shipped(fulfilment)
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.CARD, actor="web")
    fulfilment.capture_payment(payment.payment_id, actor="web")
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier"))
    rma = fulfilment.authorise_return(order_id, [ReturnRequest("1", Decimal(1), ReturnReason.WRONG_ITEM,
                                                               Resolution.EXCHANGE, "LOCK-U")], actor="service")
    calls_before = len(gateway.calls)
    fulfilment.receive_return(rma.rma_id, {"1": (Decimal(1), Decimal(0))}, actor="warehouse")
    order = order_of(service, order_id)
    assert [line.sku for line in order.lines] == ["HELMET-AERO", "LOCK-U"]
    assert fulfilment.instance(order_id).track_of(order.lines[1].line_id).active.step_id == "schedule"
    assert fulfilment.instance(order_id).stage == Stage.RUNNING and order.status == OrderStatus.IN_FULFILMENT
    balance = fulfilment.balance(order_id)
    assert balance.outstanding == 0 and balance.credited > 0
    assert [c[0] for c in gateway.calls[calls_before:]] == ["refund"]  # a lock costs less than a helmet: one refund
    assert stock.restocked == [("HELMET-AERO", "FR-LY", Decimal(1))]


def test_a_replacement_sends_a_new_shipment_and_refunds_nothing(fulfilment, records, sent) -> None:
    order_id = shipped(fulfilment)
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier"))
    rma = fulfilment.authorise_return(order_id, [ReturnRequest("1", Decimal(1), ReturnReason.DEFECTIVE,
                                                               Resolution.REPLACEMENT)], actor="service")
    received = fulfilment.receive_return(rma.rma_id, {"1": (Decimal(1), Decimal(1))}, actor="warehouse")
    assert received.refund_total == 0 and received.lines[0].restocked == 0
    assert sent[-1].kind == CommandKind.REQUEST_SHIPMENT and sent[-1].step_id == "replacement"


def test_a_return_of_more_than_was_shipped_is_refused_with_every_problem(fulfilment) -> None:
    order_id = shipped(fulfilment)
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier"))
    with pytest.raises(ReturnError) as caught:
        fulfilment.authorise_return(order_id, [ReturnRequest("1", Decimal(3), ReturnReason.OTHER),
                                               ReturnRequest("9", Decimal(1), ReturnReason.OTHER)], actor="s")
    assert "lines[0].quantity" in str(caught.value) and "lines[1].line_id" in str(caught.value)


def test_cancelling_compensates_open_tracks_and_voids_the_authorisation(fulfilment, service, records, sent,
                                                                         promiser) -> None:
    order_id = shipped(fulfilment)
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.CARD, actor="web")
    stock_before = promiser.stock["HELMET-AERO"]
    instance = fulfilment.cancel(order_id, actor="desk:ida", reason="customer cancelled")
    assert instance.stage == Stage.CANCELLED and all(t.cancelled for t in instance.tracks)
    assert {c.kind for c in sent[-2:]} == {CommandKind.CANCEL_SHIPMENT_REQUEST, CommandKind.CANCEL_PICK}
    assert records.payments.get(payment.payment_id).status == PaymentStatus.VOIDED
    assert promiser.stock["HELMET-AERO"] == stock_before + 2
    assert order_of(service, order_id).status == OrderStatus.CANCELLED
    released = [e for e in records.audit.for_order(order_id) if e.entity == Entity.RESERVATION]
    assert released[-1].after is None and released[-1].before["status"] == "reserved"


def test_a_large_marketplace_order_is_held_by_an_event_rule(fulfilment) -> None:
    order_id = fulfilment.capture(draft(channel="marketplace", lines=[
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "3"}]), actor="edi").order.order_id
    fulfilment.start(order_id, actor="edi")
    [hold] = fulfilment.active_holds(order_id)
    assert hold.source == "rule:marketplace-fraud-review" and "fraud review" in hold.reason


def test_an_event_for_a_step_that_is_not_active_is_refused(fulfilment) -> None:
    order_id = fulfilment.capture(draft(lines=HELMETS), actor="web").order.order_id
    fulfilment.start(order_id, actor="web")
    with pytest.raises(StepTransitionError, match="has not started"):
        fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "pick"))
    with pytest.raises(StepTransitionError, match="already in fulfilment"):
        fulfilment.start(order_id, actor="web")


def test_returns_in_two_parcels_refund_the_line_to_the_cent(fulfilment, service, records) -> None:
    lines = [{"line_id": "1", "sku": "BOTTLE", "quantity": "7"}, {"line_id": "2", "sku": "HELMET-AERO",
                                                                  "quantity": "1"}]
    order_id = shipped(fulfilment, lines=lines)
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.CARD, actor="web")
    fulfilment.capture_payment(payment.payment_id, actor="web")
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier"))
    for quantity in (3, 4):
        rma = fulfilment.authorise_return(order_id, [ReturnRequest("1", Decimal(quantity), ReturnReason.DEFECTIVE)],
                                          actor="service")
        fulfilment.receive_return(rma.rma_id, {"1": (Decimal(quantity), Decimal(1))}, actor="warehouse")
    with service.unit_of_work() as uow:
        gross = uow.orders.get(order_id).pricing.priced.lines[0].gross
    assert sum(r.refund_total for r in records.returns.for_order(order_id)) == gross  # defective: all credited
    assert fulfilment.balance(order_id).outstanding == 0
