"""Fulfilment stories through the bus, each as a user would tell it, with the audit trail checked along the way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from order_management import NotPermittedError, OrderStatus
from order_management import commands as c
from order_management.fulfilment import (
    ApprovalStatus,
    CommandKind,
    Entity,
    EventType,
    OrderBlockedError,
    PaymentMethod,
    PaymentStatus,
    Priority,
    ReturnReason,
    Stage,
    StepStatus,
)
from order_management.model import LineStatus
from tests.order_management.support import (
    LYON,
    active_holds,
    audited,
    balance,
    capture,
    captured_id,
    done,
    event,
    instance_of,
    on_hand,
    order_of,
    record_of,
    revise,
    steps,
)

TWO_BIKES = [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"},
             {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]
BIG = [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "45"},
       {"line_id": "2", "sku": "BIKE-TRAIL", "quantity": "3"},
       {"line_id": "3", "sku": "LOCK-U", "quantity": "50"}]


def start(bus, order_id, actor="desk"):
    return bus.handle(c.StartFulfilment(actor=actor, order_id=order_id))


def approvals(bus, order_id):
    with bus.unit_of_work() as uow:
        return uow.approvals.for_order(order_id)


def scan(bus):
    return bus.handle(c.ScanJeopardy(actor="system:jeopardy"))


def test_a_change_after_the_shipping_request_cancels_it_replans_scheduling_and_keeps_done_steps(bus, sent) -> None:
    order_id = captured_id(bus, actor="desk:anna")
    start(bus, order_id, "desk:anna")
    done(bus, order_id, "1", "schedule", "pick")
    request = next(cmd for cmd in sent if cmd.kind == CommandKind.REQUEST_SHIPMENT)
    assert request.line_ids == ("1",)

    revise(bus, order_id, "desk:ben", "customer wants two", lines=TWO_BIKES)

    instance = instance_of(bus, order_id)
    cancel = next(cmd for cmd in sent if cmd.kind == CommandKind.CANCEL_SHIPMENT_REQUEST)
    assert cancel.compensates == request.command_id
    assert any(cmd.kind == CommandKind.CANCEL_PICK for cmd in sent)
    assert steps(instance, "1") == {"reserve": "done", "schedule": "active", "pick": "pending",
                                    "ship": "pending", "invoice": "pending"}
    assert [(r.step_id, r.outcome) for r in instance.track_of("1").history] == [
        ("reserve", "done"), ("schedule", "done"), ("pick", "done"),
        ("ship", "superseded"), ("pick", "superseded"), ("schedule", "superseded")]
    assert steps(instance, "2")["schedule"] == "active"  # the untouched line goes on as planned
    assert [r.outcome for r in instance.track_of("2").history] == ["done"]
    order = order_of(bus, order_id)
    assert order.line("1").quantity == 2 and order.status == OrderStatus.IN_FULFILMENT
    revised = [e for e in audited(bus, order_id, Entity.ORDER, "version") if e.reason == "customer wants two"]
    assert revised[0].actor == "desk:ben"
    assert (revised[0].before["lines[0].quantity"], revised[0].after["lines[0].quantity"]) == ("1", "2")
    assert audited(bus, order_id, Entity.STEP, "sent cancel_shipment_request")


def _to_ship_step(bus, order_id):
    start(bus, order_id)
    for line in ("1", "2"):
        done(bus, order_id, line, "schedule", "pick")


def test_a_delayed_shipment_raises_jeopardy_with_its_priority_and_recovery_clears_it(bus, clock) -> None:
    order_id = captured_id(bus)
    _to_ship_step(bus, order_id)
    assert scan(bus).raised == ()            # on plan: promised 16 July, ships by then

    event(bus, order_id, EventType.SHIPMENT_DELAYED, "1", actor="integration:dhl",
          expected_at=clock.now() + dt.timedelta(days=6))
    report = scan(bus)
    assert [(a.line_id, a.priority, a.days_late) for a in report.raised] == [("1", Priority.HIGH, 5)]
    alert = instance_of(bus, order_id).alert("1")
    assert alert.promised == dt.date(2025, 7, 16) and alert.projected == dt.date(2025, 7, 21)

    event(bus, order_id, EventType.SHIPMENT_DELAYED, "1", actor="integration:dhl",
          expected_at=clock.now() + dt.timedelta(days=3))
    assert [(a.priority, a.days_late) for a in scan(bus).changed] == [(Priority.LOW, 2)]

    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, "1", actor="integration:dhl")
    report = scan(bus)
    assert [a.line_id for a in report.cleared] == ["1"]
    assert instance_of(bus, order_id).alerts == ()
    trail = audited(bus, order_id, Entity.JEOPARDY)
    assert [e.action for e in trail] == ["raised", "re-prioritised", "cleared"]
    assert trail[0].before is None and trail[0].after["priority"] == "high" and trail[2].after is None
    assert all(e.at == clock.now() and e.actor == "system:jeopardy" for e in trail)


def test_a_held_order_does_not_progress_until_someone_else_releases_it(bus, sent) -> None:
    order_id = captured_id(bus)
    start(bus, order_id)
    hold = bus.handle(c.PlaceHold(actor="desk:carla", order_id=order_id, reason="customer called: address check"))
    assert order_of(bus, order_id).status == OrderStatus.ON_HOLD

    instance = event(bus, order_id, EventType.STEP_COMPLETED, "1", "schedule")
    assert steps(instance, "1")["schedule"] == "active" and len(instance.queued) == 1
    assert not any(cmd.kind == CommandKind.REQUEST_PICK for cmd in sent)

    with pytest.raises(NotPermittedError, match="someone else"):  # four eyes: not the one who placed it
        bus.handle(c.ReleaseHold(actor="desk:carla", order_id=order_id, hold_id=hold.hold_id))
    bus.handle(c.ReleaseHold(actor="desk:dan", order_id=order_id, hold_id=hold.hold_id, note="address confirmed"))
    instance = instance_of(bus, order_id)
    assert steps(instance, "1")["pick"] == "active" and instance.queued == ()
    assert any(cmd.kind == CommandKind.REQUEST_PICK for cmd in sent)
    assert order_of(bus, order_id).status == OrderStatus.IN_FULFILMENT
    placed, released = audited(bus, order_id, Entity.HOLD)
    assert (placed.action, placed.actor, placed.before) == ("placed", "desk:carla", None)
    assert released.before["released_at"] is None
    assert released.after["released_by"] == "desk:dan" and released.reason == "address confirmed"


def test_a_rule_hold_from_capture_stops_the_order_from_the_start(bus) -> None:
    order_id = captured_id(bus, customer_id="C-200", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}])
    instance = start(bus, order_id)
    assert [h.source for h in active_holds(bus, order_id)] == ["rule:credit-limit"]
    assert all(s.status == StepStatus.PENDING for s in instance.tracks[0].steps)
    assert order_of(bus, order_id).status == OrderStatus.ON_HOLD


def test_a_big_manual_discount_waits_for_approval_and_a_rejection_sends_it_back(bus, sent) -> None:
    discounted = [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1", "manual_discounts": [
        {"type": "percent", "value": "25", "reason": "match competitor", "role": "sales_rep"}]}]
    order_id = captured_id(bus, actor="desk:anna", lines=discounted)
    instance = start(bus, order_id, "desk:anna")
    assert instance.stage == Stage.AWAITING_APPROVAL and sent == []
    with pytest.raises(OrderBlockedError):
        event(bus, order_id, EventType.STEP_COMPLETED, "1", "schedule")
    with pytest.raises(NotPermittedError, match="someone else"):  # four eyes: not who entered the order
        bus.handle(c.ApproveOrder(actor="desk:anna", order_id=order_id))

    bus.handle(c.RejectOrder(actor="mgr:dora", order_id=order_id, reason="25% is above the rep's limit"))
    assert instance_of(bus, order_id).stage == Stage.SENT_BACK
    assert order_of(bus, order_id).status == OrderStatus.ENTERED
    assert approvals(bus, order_id)[0].status == ApprovalStatus.REJECTED

    discounted[0]["manual_discounts"][0]["value"] = "10"
    revise(bus, order_id, "desk:anna", "within the rep's limit", lines=discounted)
    instance = instance_of(bus, order_id)
    assert instance.stage == Stage.RUNNING and steps(instance, "1")["schedule"] == "active"
    assert order_of(bus, order_id).status == OrderStatus.IN_FULFILMENT
    trail = audited(bus, order_id, Entity.APPROVAL)
    assert [(e.action, e.actor) for e in trail] == [("requested", "desk:anna"), ("rejected", "mgr:dora")]
    assert trail[1].before["status"] == "pending" and trail[1].after["status"] == "rejected"


def test_an_order_over_the_approval_value_waits_and_runs_once_the_right_role_approves(bus) -> None:
    captured = capture(bus, lines=BIG)
    assert captured.record.pricing.total > 10000 and not captured.record.pricing.requires_approval
    order_id = captured.order.order_id
    assert start(bus, order_id).stage == Stage.AWAITING_APPROVAL
    assert approvals(bus, order_id)[0].role == "sales_director"
    assert order_of(bus, order_id).status == OrderStatus.AWAITING_APPROVAL
    with pytest.raises(NotPermittedError, match="sales_director"):
        bus.handle(c.ApproveOrder(actor="rep:sam", order_id=order_id, roles=frozenset({"sales_rep"})))
    bus.handle(c.ApproveOrder(actor="director:eve", order_id=order_id, note="key account",
                              roles=frozenset({"sales_director"})))
    instance = instance_of(bus, order_id)
    assert instance.stage == Stage.RUNNING and steps(instance, "3")["schedule"] == "active"
    assert order_of(bus, order_id).status == OrderStatus.IN_FULFILMENT


def test_a_service_line_follows_its_own_process(bus, sent) -> None:
    order_id = captured_id(bus, lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"},
                                       {"line_id": "2", "sku": "FLEET-PRO", "kind": "service", "quantity": "5",
                                        "service": {"start_date": "2025-08-01"}}])
    instance = start(bus, order_id)
    assert instance.track_of("2").process_id == "activate-service"
    assert steps(instance, "2") == {"provision": "active", "activate": "pending", "bill": "pending"}
    assert [cmd.kind for cmd in sent if cmd.line_ids == ("2",)] == [CommandKind.PROVISION_SERVICE]
    done(bus, order_id, "2", "provision", "activate")
    instance = instance_of(bus, order_id)
    assert all(s.status == StepStatus.DONE for s in instance.track_of("2").steps)
    assert CommandKind.START_BILLING in [cmd.kind for cmd in sent]
    assert steps(instance, "1")["schedule"] == "active"


def _delivered_order(bus, lines, method=PaymentMethod.CARD):
    order_id = captured_id(bus, actor="web", lines=lines)
    start(bus, order_id, "web")
    payment = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=method))
    for line in lines:
        done(bus, order_id, line["line_id"], "schedule", "pick")
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor="integration:carrier")
    event(bus, order_id, EventType.DELIVERED, actor="integration:carrier")
    bus.handle(c.CapturePayment(actor="billing", payment_id=payment.payment_id))
    return order_id


def test_a_return_with_one_damaged_unit_refunds_the_right_amount_and_restocks_only_the_good_one(bus) -> None:
    order_id = _delivered_order(bus, [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}])
    order = order_of(bus, order_id)
    assert order.status == OrderStatus.CLOSED and order.line("1").status == LineStatus.DELIVERED
    stock_before = on_hand(bus, "HELMET-AERO")
    rma = bus.handle(c.AuthoriseReturn(actor="service:finn", order_id=order_id, lines=[
        {"line_id": "1", "quantity": "2", "reason": ReturnReason.NO_LONGER_NEEDED}]))
    received = bus.handle(c.ReceiveReturn(actor="warehouse:gus", rma_id=rma.rma_id, lines=[
        {"line_id": "1", "received": "2", "damaged": "1"}]))

    # 3 helmets: the line's gross over 3 units; only the good unit comes back into credit
    gross = next(line.gross for line in record_of(bus, order_id).pricing.priced.lines)
    unit = (gross / 3).quantize(Decimal("0.01"))
    assert received.lines[0].refund == unit and received.refund_total == unit
    assert on_hand(bus, "HELMET-AERO") == stock_before + 1       # the damaged unit is not restocked
    [restocked] = audited(bus, order_id, Entity.RESERVATION, "restocked")
    assert restocked.after == {"sku": "HELMET-AERO", "location": LYON, "quantity": "1"}
    with bus.unit_of_work() as uow:
        payment = uow.payments.for_order(order_id)[0]
    assert payment.refunded == unit and payment.status == PaymentStatus.PARTIALLY_REFUNDED
    owed = balance(bus, order_id)
    assert owed.due == gross - unit and owed.outstanding == 0
    trail = audited(bus, order_id, Entity.RETURN)
    assert [(e.action, e.actor) for e in trail] == [("authorised", "service:finn"), ("received", "warehouse:gus")]
    assert trail[1].after["lines"][0]["damaged"] == "1"


def test_an_edit_after_capture_reprices_and_settles_the_difference(bus, gateway) -> None:
    order_id = captured_id(bus, actor="web")
    start(bus, order_id, "web")
    payment = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.CARD))
    bus.handle(c.CapturePayment(actor="billing", payment_id=payment.payment_id))
    before = balance(bus, order_id)
    assert before.outstanding == 0

    revise(bus, order_id, "desk:ben", "one more helmet", lines=[
        {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
        {"line_id": "2", "sku": "HELMET-AERO", "quantity": "3"}])
    after = balance(bus, order_id)
    assert after.total > before.total and after.outstanding == 0
    with bus.unit_of_work() as uow:
        extra = uow.payments.for_order(order_id)[-1]
    assert extra.captured == after.total - before.total and extra.method == PaymentMethod.CARD

    revise(bus, order_id, "desk:ben", "no helmets after all", lines=[{"line_id": "1", "sku": "BIKE-TRAIL",
                                                                      "quantity": "1"}])
    final = balance(bus, order_id)
    assert final.outstanding == 0 and final.paid == final.total
    with bus.unit_of_work() as uow:
        payments = uow.payments.for_order(order_id)
    assert sum(p.refunded for p in payments) == after.total - final.total
    assert [call[0] for call in gateway.calls][:4] == ["authorise", "capture", "authorise", "capture"]
    assert {call[0] for call in gateway.calls[4:]} == {"refund"}
    assert audited(bus, order_id, Entity.PAYMENT, "refunded")


def test_stock_under_its_reorder_point_creates_one_replenishment_request_not_one_per_order(bus, store) -> None:
    for _ in range(4):  # 50 helmets in Lyon; 12 per order leaves 38, 26, 14, 2
        captured_id(bus, actor="web", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "12"}])
    with bus.unit_of_work() as uow:
        requests = uow.replenishments.all()
    assert len(requests) == 1
    request = requests[0]
    assert (request.sku, request.location, request.available, request.quantity) == (
        "HELMET-AERO", LYON, Decimal(2), Decimal(58))
    captured_id(bus, actor="web", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}])
    with bus.unit_of_work() as uow:
        assert len(uow.replenishments.all()) == 1
        requested = [e for e in uow.audit.all() if e.entity == Entity.REPLENISHMENT]
    assert len(requested) == 1 and requested[0].before is None and requested[0].after["quantity"] == "58"
    assert requested[0].actor == "system:reorder"


def test_a_received_replenishment_goes_on_hand_and_closes_the_request(bus) -> None:
    for _ in range(4):
        captured_id(bus, actor="web", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "12"}])
    with bus.unit_of_work() as uow:
        [request] = uow.replenishments.all()
    before = on_hand(bus, "HELMET-AERO")
    done_request = bus.handle(c.ReceiveReplenishment(actor="warehouse", request_id=request.request_id))
    assert done_request.status.value == "received"
    assert on_hand(bus, "HELMET-AERO") == before + 58


def test_a_rule_hold_is_released_by_the_rule_once_a_change_makes_it_pass(bus) -> None:
    order_id = captured_id(bus, customer_id="C-200", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "3"}])
    start(bus, order_id)
    revise(bus, order_id, "desk:ben", "smaller order within the credit limit",
           lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "1"}])
    assert active_holds(bus, order_id) == []
    assert steps(instance_of(bus, order_id), "1")["schedule"] == "active"
    assert order_of(bus, order_id).status == OrderStatus.IN_FULFILMENT
    released = audited(bus, order_id, Entity.HOLD, "released")
    assert released[0].actor == "rule:credit-limit" and "desk:ben" in released[0].reason


def test_a_change_to_a_held_order_compensates_but_starts_nothing_until_release(bus, sent) -> None:
    order_id = captured_id(bus)
    start(bus, order_id)
    done(bus, order_id, "1", "schedule", "pick")
    hold = bus.handle(c.PlaceHold(actor="desk:carla", order_id=order_id, reason="address check"))
    before = len(sent)
    revise(bus, order_id, "desk:ben", "two bikes", lines=TWO_BIKES)
    assert [cmd.kind for cmd in sent[before:]] == [CommandKind.CANCEL_SHIPMENT_REQUEST, CommandKind.CANCEL_PICK]
    assert instance_of(bus, order_id).track_of("1").active is None
    bus.handle(c.ReleaseHold(actor="desk:dan", order_id=order_id, hold_id=hold.hold_id))
    assert steps(instance_of(bus, order_id), "1")["schedule"] == "active"


def test_an_approved_order_is_approved_again_only_if_a_change_makes_it_dearer(bus) -> None:
    lines = [dict(line) for line in BIG]
    order_id = captured_id(bus, lines=lines)
    start(bus, order_id)
    bus.handle(c.ApproveOrder(actor="director:eve", order_id=order_id, roles=frozenset({"sales_director"})))
    lines[2]["quantity"] = "45"
    revise(bus, order_id, "desk", "fewer locks", lines=lines)
    assert instance_of(bus, order_id).stage == Stage.RUNNING
    lines[2]["quantity"] = "50"
    revise(bus, order_id, "desk", "locks back", lines=lines)
    assert instance_of(bus, order_id).stage == Stage.RUNNING  # back to what was approved
    lines[0]["quantity"] = "48"
    revise(bus, order_id, "desk", "more helmets", lines=lines)
    assert instance_of(bus, order_id).stage == Stage.AWAITING_APPROVAL
    assert [a.status.value for a in approvals(bus, order_id)] == ["approved", "pending"]


def test_a_discount_added_mid_fulfilment_waits_for_approval_and_keeps_the_progress_made(bus) -> None:
    order_id = captured_id(bus)
    start(bus, order_id)
    done(bus, order_id, "1", "schedule")
    big = [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1", "manual_discounts": [
        {"type": "percent", "value": "25", "reason": "goodwill", "role": "sales_rep"}]},
           {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]
    revise(bus, order_id, "desk:ben", "goodwill", lines=big)
    instance = instance_of(bus, order_id)
    assert instance.stage == Stage.AWAITING_APPROVAL and steps(instance, "1")["pick"] == "active"
    bus.handle(c.RejectOrder(actor="mgr:dora", order_id=order_id, reason="too generous"))
    big[0]["manual_discounts"][0]["value"] = "5"
    revise(bus, order_id, "desk:ben", "5% instead", lines=big)
    instance = instance_of(bus, order_id)
    assert instance.stage == Stage.RUNNING and steps(instance, "1")["pick"] == "active"
    assert [r.outcome for r in instance.track_of("1").history] == ["done", "done"]


def test_an_edi_order_ships_complete_on_one_track_for_the_whole_order(bus, sent) -> None:
    order_id = captured_id(bus, actor="edi:partner", channel="edi")
    instance = start(bus, order_id, "edi:partner")
    [track] = instance.tracks
    assert track.process_id == "ship-complete" and track.line_ids == ("1", "2")
    done(bus, order_id, None, "schedule", "pick")
    assert [cmd.line_ids for cmd in sent if cmd.kind == CommandKind.REQUEST_SHIPMENT] == [("1", "2")]
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor="integration:carrier")
    order = order_of(bus, order_id)
    assert {line.status for line in order.lines} == {LineStatus.SHIPPED} and order.status == OrderStatus.SHIPPED


def test_an_event_queued_behind_a_hold_that_no_longer_fits_is_dropped_and_said_so(bus) -> None:
    order_id = captured_id(bus)
    start(bus, order_id)
    hold = bus.handle(c.PlaceHold(actor="desk:carla", order_id=order_id, reason="address check"))
    event(bus, order_id, EventType.STEP_COMPLETED, "1", "pick")  # not active
    event(bus, order_id, EventType.STEP_COMPLETED, "2", "schedule")
    bus.handle(c.ReleaseHold(actor="desk:dan", order_id=order_id, hold_id=hold.hold_id))
    instance = instance_of(bus, order_id)
    assert steps(instance, "1")["schedule"] == "active" and steps(instance, "2")["pick"] == "active"
    dropped = [e for e in audited(bus, order_id) if "dropped" in e.action]
    assert len(dropped) == 1 and "has not started" in dropped[0].reason


def test_a_carrier_message_delivered_twice_is_applied_once(bus, sent, store) -> None:
    order_id = captured_id(bus)
    start(bus, order_id)
    first = event(bus, order_id, EventType.STEP_COMPLETED, "1", "schedule", event_id="wms-42")
    audit_after_first = len(store.audit)
    again = event(bus, order_id, EventType.STEP_COMPLETED, "1", "schedule", event_id="wms-42")
    assert again == first and steps(again, "1")["pick"] == "active"
    assert [cmd.kind for cmd in sent].count(CommandKind.REQUEST_PICK) == 1
    assert len(store.audit) == audit_after_first
