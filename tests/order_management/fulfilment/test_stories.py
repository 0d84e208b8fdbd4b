"""Fulfilment stories, each as a user would tell it, with the audit trail checked along the way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from order_management import LineStatus, OrderStatus
from order_management.fulfilment import (
    ApprovalStatus,
    CommandKind,
    Entity,
    EventType,
    FulfilmentEvent,
    OrderBlockedError,
    PaymentMethod,
    PaymentStatus,
    Priority,
    ReturnReason,
    ReturnRequest,
    Stage,
    StepStatus,
)


def draft(**overrides):
    order = {"customer_id": "C-100", "currency": "EUR", "channel": "web",
             "lines": [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
                       {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]}
    order.update(overrides)
    return order


def steps(instance, line_id):
    return {s.step_id: s.status.value for s in instance.track_of(line_id).steps}


def done(fulfilment, order_id, line_id, *step_ids):
    for step in step_ids:
        fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, line_id, step, actor="wms"))


def order_of(service, order_id):
    with service.unit_of_work() as uow:
        return uow.orders.get(order_id).order


def audited(records, order_id, entity, action_part=""):
    return [e for e in records.audit.for_order(order_id) if e.entity == entity and action_part in e.action]


def test_a_change_after_the_shipping_request_cancels_it_replans_scheduling_and_keeps_done_steps(
        fulfilment, service, records, sent) -> None:
    order_id = fulfilment.capture(draft(), actor="desk:anna").order.order_id
    fulfilment.start(order_id, actor="desk:anna")
    done(fulfilment, order_id, "1", "schedule", "pick")
    request = next(c for c in sent if c.kind == CommandKind.REQUEST_SHIPMENT)
    assert request.line_ids == ("1",)

    instance = fulfilment.change_order(order_id, {"lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"},
        {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]}, actor="desk:ben", reason="customer wants two")

    cancel = next(c for c in sent if c.kind == CommandKind.CANCEL_SHIPMENT_REQUEST)
    assert cancel.compensates == request.command_id
    assert any(c.kind == CommandKind.CANCEL_PICK for c in sent)
    assert steps(instance, "1") == {"reserve": "done", "schedule": "active", "pick": "pending",
                                    "ship": "pending", "invoice": "pending"}
    assert [(r.step_id, r.outcome) for r in instance.track_of("1").history] == [
        ("reserve", "done"), ("schedule", "done"), ("pick", "done"),
        ("ship", "superseded"), ("pick", "superseded"), ("schedule", "superseded")]
    assert steps(instance, "2")["schedule"] == "active"  # the untouched line goes on as planned
    assert [r.outcome for r in instance.track_of("2").history] == ["done"]
    order = order_of(service, order_id)
    assert order.line("1").quantity == 2 and order.status == OrderStatus.IN_FULFILMENT
    revised = audited(records, order_id, Entity.ORDER, "revised")
    assert revised[0].actor == "desk:ben" and revised[0].reason == "customer wants two"
    assert (revised[0].before["lines[0].quantity"], revised[0].after["lines[0].quantity"]) == ("1", "2")
    assert audited(records, order_id, Entity.STEP, "sent cancel_shipment_request")


def _to_ship_step(fulfilment, order_id):
    fulfilment.start(order_id, actor="desk")
    for line in ("1", "2"):
        done(fulfilment, order_id, line, "schedule", "pick")


def test_a_delayed_shipment_raises_jeopardy_with_its_priority_and_recovery_clears_it(
        fulfilment, service, records) -> None:
    order_id = fulfilment.capture(draft(), actor="desk").order.order_id
    _to_ship_step(fulfilment, order_id)
    assert fulfilment.scan_jeopardy().raised == ()            # on plan: promised 17 July, ships 17 July

    clock = service.clock
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_DELAYED, "1",
                                      expected_at=clock.now() + dt.timedelta(days=6), actor="carrier:dhl"))
    report = fulfilment.scan_jeopardy()
    assert [(a.line_id, a.priority, a.days_late) for a in report.raised] == [("1", Priority.HIGH, 4)]
    alert = fulfilment.instance(order_id).alert("1")
    assert alert.promised == dt.date(2025, 7, 17) and alert.projected == dt.date(2025, 7, 21)

    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_DELAYED, "1",
                                      expected_at=clock.now() + dt.timedelta(days=3), actor="carrier:dhl"))
    assert [(a.priority, a.days_late) for a in fulfilment.scan_jeopardy().changed] == [(Priority.LOW, 1)]

    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, "1", actor="carrier:dhl"))
    report = fulfilment.scan_jeopardy()
    assert [a.line_id for a in report.cleared] == ["1"]
    assert fulfilment.instance(order_id).alerts == ()
    trail = audited(records, order_id, Entity.JEOPARDY)
    assert [e.action for e in trail] == ["raised", "re-prioritised", "cleared"]
    assert trail[0].before is None and trail[0].after["priority"] == "high" and trail[2].after is None
    assert all(e.at == clock.now() and e.actor == "system:jeopardy" for e in trail)


def test_a_held_order_does_not_progress_until_released(fulfilment, service, records, sent) -> None:
    order_id = fulfilment.capture(draft(), actor="desk").order.order_id
    fulfilment.start(order_id, actor="desk")
    hold = fulfilment.place_hold(order_id, "customer called: address check", actor="desk:carla")
    assert order_of(service, order_id).status == OrderStatus.ON_HOLD

    instance = fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "schedule", actor="wms"))
    assert steps(instance, "1")["schedule"] == "active" and len(instance.queued) == 1
    assert not any(c.kind == CommandKind.REQUEST_PICK for c in sent)

    instance = fulfilment.release_hold(hold.hold_id, actor="desk:carla", note="address confirmed")
    assert steps(instance, "1")["pick"] == "active" and instance.queued == ()
    assert any(c.kind == CommandKind.REQUEST_PICK for c in sent)
    assert order_of(service, order_id).status == OrderStatus.IN_FULFILMENT
    placed, released = audited(records, order_id, Entity.HOLD)
    assert (placed.action, placed.actor, placed.before) == ("placed", "desk:carla", None)
    assert released.before["released_at"] is None if "released_at" in released.before else True
    assert released.after["released_by"] == "desk:carla" and released.reason == "address confirmed"


def test_a_rule_hold_from_capture_stops_the_order_from_the_start(fulfilment, service) -> None:
    held = fulfilment.capture({"customer_id": "C-200", "currency": "EUR",
                               "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}]}, actor="desk")
    instance = fulfilment.start(held.order.order_id, actor="desk")
    assert [h.source for h in fulfilment.active_holds(held.order.order_id)] == ["rule:credit-limit"]
    assert all(s.status == StepStatus.PENDING for s in instance.tracks[0].steps)


def test_a_big_manual_discount_waits_for_approval_and_a_rejection_sends_it_back(
        fulfilment, service, records, sent) -> None:
    discounted = draft(lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1", "manual_discounts": [
        {"type": "percent", "value": "25", "reason": "match competitor", "role": "sales_rep"}]}])
    order_id = fulfilment.capture(discounted, actor="desk:anna").order.order_id
    instance = fulfilment.start(order_id, actor="desk:anna")
    assert instance.stage == Stage.AWAITING_APPROVAL and sent == []
    with pytest.raises(OrderBlockedError):
        fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "schedule"))

    instance = fulfilment.reject(order_id, actor="mgr:dora", reason="25% is above the rep's limit")
    assert instance.stage == Stage.SENT_BACK and order_of(service, order_id).status == OrderStatus.ENTERED
    assert fulfilment.approvals(order_id)[0].status == ApprovalStatus.REJECTED

    instance = fulfilment.resubmit(order_id, {"lines": [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1",
        "manual_discounts": [{"type": "percent", "value": "10", "reason": "match competitor",
                              "role": "sales_rep"}]}]}, actor="desk:anna", reason="within the rep's limit")
    assert instance.stage == Stage.RUNNING and steps(instance, "1")["schedule"] == "active"
    assert order_of(service, order_id).status == OrderStatus.IN_FULFILMENT
    trail = audited(records, order_id, Entity.APPROVAL)
    assert [(e.action, e.actor) for e in trail] == [("requested", "desk:anna"), ("rejected", "mgr:dora")]
    assert trail[1].before["status"] == "pending" and trail[1].after["status"] == "rejected"


def test_an_order_over_the_approval_value_waits_and_runs_once_approved(fulfilment) -> None:
    big = draft(lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "45"},
                       {"line_id": "2", "sku": "BIKE-TRAIL", "quantity": "3"},
                       {"line_id": "3", "sku": "LOCK-U", "quantity": "50"}])
    captured = fulfilment.capture(big, actor="desk")
    assert captured.record.pricing.total > 10000 and not captured.record.pricing.requires_approval
    order_id = captured.order.order_id
    assert fulfilment.start(order_id, actor="desk").stage == Stage.AWAITING_APPROVAL
    assert fulfilment.approvals(order_id)[0].role == "sales_director"
    assert order_of(fulfilment.orders, order_id).status == OrderStatus.AWAITING_APPROVAL
    with pytest.raises(OrderBlockedError, match="sales_director"):
        fulfilment.approve(order_id, actor="rep:sam", role="sales_rep")
    instance = fulfilment.approve(order_id, actor="director:eve", note="key account", role="sales_director")
    assert instance.stage == Stage.RUNNING and steps(instance, "3")["schedule"] == "active"


def test_a_service_line_follows_its_own_process(fulfilment, service, sent) -> None:
    order = draft(lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"},
                         {"line_id": "2", "sku": "FLEET-PRO", "kind": "service", "quantity": "5",
                          "service": {"start_date": "2025-08-01"}}])
    order_id = fulfilment.capture(order, actor="desk").order.order_id
    instance = fulfilment.start(order_id, actor="desk")
    assert instance.track_of("2").process_id == "activate-service"
    assert steps(instance, "2") == {"provision": "active", "activate": "pending", "bill": "pending"}
    assert [c.kind for c in sent if c.line_ids == ("2",)] == [CommandKind.PROVISION_SERVICE]
    done(fulfilment, order_id, "2", "provision", "activate")
    instance = fulfilment.instance(order_id)
    assert instance.track_of("2").done if False else all(
        s.status == StepStatus.DONE for s in instance.tracks[1].steps)
    assert CommandKind.START_BILLING in [c.kind for c in sent]
    assert steps(instance, "1")["schedule"] == "active"


def _delivered_order(fulfilment, gateway, lines, method=PaymentMethod.CARD):
    order_id = fulfilment.capture(draft(lines=lines), actor="web").order.order_id
    fulfilment.start(order_id, actor="web")
    payment = fulfilment.authorise_payment(order_id, method, actor="web")
    for line in lines:
        done(fulfilment, order_id, line["line_id"], "schedule", "pick")
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier"))
    fulfilment.handle(FulfilmentEvent(order_id, EventType.DELIVERED, actor="carrier"))
    fulfilment.capture_payment(payment.payment_id, actor="billing")
    return order_id


def test_a_return_with_one_damaged_unit_refunds_the_right_amount_and_restocks_only_the_good_one(
        fulfilment, service, records, gateway, stock) -> None:
    order_id = _delivered_order(fulfilment, gateway, [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}])
    order = order_of(service, order_id)
    assert order.status == OrderStatus.CLOSED and order.line("1").status == LineStatus.DELIVERED
    rma = fulfilment.authorise_return(order_id, [ReturnRequest("1", Decimal(2), ReturnReason.NO_LONGER_NEEDED)],
                                      actor="service:finn")
    received = fulfilment.receive_return(rma.rma_id, {"1": (Decimal(2), Decimal(1))}, actor="warehouse:gus")

    # 3 helmets at 89.00 + 20% VAT... the line's gross over 3 units; one good unit comes back into credit
    with service.unit_of_work() as uow:
        gross = next(line.gross for line in uow.orders.get(order_id).pricing.priced.lines)
    unit = (gross / 3).quantize(Decimal("0.01"))
    assert received.lines[0].refund == unit and received.refund_total == unit
    assert stock.restocked == [("HELMET-AERO", "FR-LY", Decimal(1))]
    payment = records.payments.for_order(order_id)[0]
    assert payment.refunded == unit and payment.status == PaymentStatus.PARTIALLY_REFUNDED
    balance = fulfilment.balance(order_id)
    assert balance.due == gross - unit and balance.outstanding == 0
    trail = audited(records, order_id, Entity.RETURN)
    assert [(e.action, e.actor) for e in trail] == [("authorised", "service:finn"), ("received", "warehouse:gus")]
    assert trail[1].after["lines"][0]["damaged"] == "1"


def test_an_edit_after_capture_reprices_and_settles_the_difference(fulfilment, service, records, gateway) -> None:
    order_id = fulfilment.capture(draft(), actor="web").order.order_id
    fulfilment.start(order_id, actor="web")
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.CARD, actor="web")
    fulfilment.capture_payment(payment.payment_id, actor="billing")
    before = fulfilment.balance(order_id)
    assert before.outstanding == 0

    fulfilment.change_order(order_id, {"lines": [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
                                                 {"line_id": "2", "sku": "HELMET-AERO", "quantity": "3"}]},
                            actor="desk:ben", reason="one more helmet")
    after = fulfilment.balance(order_id)
    assert after.total > before.total and after.outstanding == 0
    extra = records.payments.for_order(order_id)[-1]
    assert extra.captured == after.total - before.total and extra.method == PaymentMethod.CARD

    fulfilment.change_order(order_id, {"lines": [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"}]},
                            actor="desk:ben", reason="no helmets after all")
    final = fulfilment.balance(order_id)
    assert final.outstanding == 0 and final.paid == final.total
    assert sum(p.refunded for p in records.payments.for_order(order_id)) == after.total - final.total
    assert [c[0] for c in gateway.calls] == ["authorise", "capture", "authorise", "capture", "refund", "refund"][
        :len(gateway.calls)]
    assert audited(records, order_id, Entity.PAYMENT, "refunded")


def test_stock_under_its_reorder_point_creates_one_replenishment_request_not_one_per_order(
        fulfilment, records) -> None:
    for _ in range(4):  # 50 helmets; 12 per order leaves 38, 26, 14, 2
        fulfilment.capture(draft(lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "12"}]), actor="web")
    requests = records.replenishments.all()
    assert len(requests) == 1
    request = requests[0]
    assert (request.sku, request.location, request.available, request.quantity) == (
        "HELMET-AERO", "FR-LY", Decimal(2), Decimal(58))
    fulfilment.capture(draft(lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}]), actor="web")
    assert len(records.replenishments.all()) == 1
    event = [e for e in records.audit.all() if e.entity == Entity.REPLENISHMENT]
    assert len(event) == 1 and event[0].before is None and event[0].after["quantity"] == "58"


def test_a_rule_hold_is_released_by_the_rule_once_a_change_makes_it_pass(fulfilment, service, records) -> None:
    held = fulfilment.capture({"customer_id": "C-200", "currency": "EUR",
                               "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}]}, actor="desk")
    order_id = held.order.order_id
    fulfilment.start(order_id, actor="desk")
    instance = fulfilment.change_order(order_id, {"lines": [{"line_id": "1", "sku": "LOCK-U", "quantity": "1"}]},
                                       actor="desk:ben", reason="smaller order within the credit limit")
    assert fulfilment.active_holds(order_id) == []
    assert steps(instance, "1")["schedule"] == "active"
    assert order_of(service, order_id).status == OrderStatus.IN_FULFILMENT
    released = [e for e in records.audit.for_order(order_id) if e.entity == Entity.HOLD and e.action == "released"]
    assert released[0].actor == "rule:credit-limit" and "desk:ben" in released[0].reason


def test_a_change_to_a_held_order_compensates_but_starts_nothing_until_release(fulfilment, sent) -> None:
    order_id = fulfilment.capture(draft(), actor="desk").order.order_id
    fulfilment.start(order_id, actor="desk")
    done(fulfilment, order_id, "1", "schedule", "pick")
    hold = fulfilment.place_hold(order_id, "address check", actor="desk:carla")
    before = len(sent)
    instance = fulfilment.change_order(order_id, {"lines": [
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"},
        {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]}, actor="desk:ben", reason="two bikes")
    assert [c.kind for c in sent[before:]] == [CommandKind.CANCEL_SHIPMENT_REQUEST, CommandKind.CANCEL_PICK]
    assert instance.track_of("1").active is None
    instance = fulfilment.release_hold(hold.hold_id, actor="desk:carla")
    assert steps(instance, "1")["schedule"] == "active"


def test_an_approved_order_is_approved_again_only_if_a_change_makes_it_dearer(fulfilment) -> None:
    lines = [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "45"},
             {"line_id": "2", "sku": "BIKE-TRAIL", "quantity": "3"},
             {"line_id": "3", "sku": "LOCK-U", "quantity": "50"}]
    order_id = fulfilment.capture(draft(lines=lines), actor="desk").order.order_id
    fulfilment.start(order_id, actor="desk")
    fulfilment.approve(order_id, actor="director:eve", role="sales_director")
    lines[2]["quantity"] = "45"
    assert fulfilment.change_order(order_id, {"lines": lines}, actor="desk", reason="fewer locks").stage \
        == Stage.RUNNING
    lines[2]["quantity"] = "50"
    assert fulfilment.change_order(order_id, {"lines": lines}, actor="desk", reason="locks back").stage \
        == Stage.RUNNING  # back to what was approved
    lines[0]["quantity"] = "48"
    instance = fulfilment.change_order(order_id, {"lines": lines}, actor="desk", reason="more helmets")
    assert instance.stage == Stage.AWAITING_APPROVAL
    assert [a.status.value for a in fulfilment.approvals(order_id)] == ["approved", "pending"]


def test_a_discount_added_mid_fulfilment_waits_for_approval_and_keeps_the_progress_made(fulfilment) -> None:
    order_id = fulfilment.capture(draft(), actor="desk").order.order_id
    fulfilment.start(order_id, actor="desk")
    done(fulfilment, order_id, "1", "schedule")
    big = [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1", "manual_discounts": [
        {"type": "percent", "value": "25", "reason": "goodwill", "role": "sales_rep"}]},
           {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]
    instance = fulfilment.change_order(order_id, {"lines": big}, actor="desk:ben", reason="goodwill")
    assert instance.stage == Stage.AWAITING_APPROVAL and steps(instance, "1")["pick"] == "active"
    fulfilment.reject(order_id, actor="mgr:dora", reason="too generous")
    big[0]["manual_discounts"][0]["value"] = "5"
    instance = fulfilment.resubmit(order_id, {"lines": big}, actor="desk:ben", reason="5% instead")
    assert instance.stage == Stage.RUNNING and steps(instance, "1")["pick"] == "active"
    assert [r.outcome for r in instance.track_of("1").history] == ["done", "done"]


def test_an_edi_order_ships_complete_on_one_track_for_the_whole_order(fulfilment, service, sent) -> None:
    order_id = fulfilment.capture(draft(channel="edi"), actor="edi:partner").order.order_id
    instance = fulfilment.start(order_id, actor="edi:partner")
    [track] = instance.tracks
    assert track.process_id == "ship-complete" and track.line_ids == ("1", "2")
    fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, None, "schedule", actor="wms"))
    fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, None, "pick", actor="wms"))
    assert [c.line_ids for c in sent if c.kind == CommandKind.REQUEST_SHIPMENT] == [("1", "2")]
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier"))
    order = order_of(service, order_id)
    assert {line.status for line in order.lines} == {LineStatus.SHIPPED} and order.status == OrderStatus.SHIPPED


def test_an_event_queued_behind_a_hold_that_no_longer_fits_is_dropped_and_said_so(fulfilment, records) -> None:
    order_id = fulfilment.capture(draft(), actor="desk").order.order_id
    fulfilment.start(order_id, actor="desk")
    hold = fulfilment.place_hold(order_id, "address check", actor="desk:carla")
    fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "pick", actor="wms"))  # not active
    fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "2", "schedule", actor="wms"))
    instance = fulfilment.release_hold(hold.hold_id, actor="desk:carla")
    assert steps(instance, "1")["schedule"] == "active" and steps(instance, "2")["pick"] == "active"
    dropped = [e for e in records.audit.for_order(order_id) if "dropped" in e.action]
    assert len(dropped) == 1 and "has not started" in dropped[0].reason


def test_a_carrier_message_delivered_twice_is_applied_once(fulfilment, sent) -> None:
    order_id = fulfilment.capture(draft(), actor="desk").order.order_id
    fulfilment.start(order_id, actor="desk")
    event = FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "schedule", actor="wms", event_id="wms-42")
    first = fulfilment.handle(event)
    again = fulfilment.handle(event)
    assert again == first and steps(again, "1")["pick"] == "active"
    assert [c.kind for c in sent].count(CommandKind.REQUEST_PICK) == 1
