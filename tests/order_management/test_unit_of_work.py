"""One unit of work per command: all of it is stored with its audit entries, or none of it; follow-ups come after."""

from __future__ import annotations

import datetime as dt

import pytest

from order_management import InMemoryStore, Order, OrderStatus, UnknownCommandError
from order_management import commands as c
from order_management.events import OrderCaptured, PaymentCaptured, StockMoved
from order_management.fulfilment import (
    Entity,
    EventType,
    PaymentDeclinedError,
    PaymentMethod,
    PaymentStatus,
    Stage,
    StepStatus,
)
from order_management.ports import OrderRecord
from order_management.revisions import Revision
from tests.order_management.support import (
    NOW,
    Outbox,
    audited,
    balance,
    captured_id,
    done,
    draft,
    event,
    instance_of,
    record_of,
    reserved,
    revise,
)


def in_fulfilment(bus, lines=None) -> str:
    order_id = captured_id(bus, **({"lines": lines} if lines else {}))
    bus.handle(c.StartFulfilment(actor="desk", order_id=order_id))
    return order_id


def test_a_cancellation_whose_void_is_declined_leaves_the_order_its_reservation_and_the_trail_as_they_were(
        bus, gateway, store) -> None:
    order_id = in_fulfilment(bus)
    done(bus, order_id, "1", "schedule", "pick")
    authorised = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.CARD))
    before, instance_before, audit_before = record_of(bus, order_id), instance_of(bus, order_id), len(store.audit)
    outbox = Outbox(bus)
    gateway.fail_next = "gateway_unavailable"  # the void is the gateway call the cancellation makes

    with pytest.raises(PaymentDeclinedError, match="void declined"):
        bus.handle(c.CancelOrder(actor="desk:ida", order_id=order_id, reason="customer cancelled"))

    after = record_of(bus, order_id)
    assert after == before and after.order.status == OrderStatus.IN_FULFILMENT
    assert (reserved(bus, "BIKE-TRAIL"), reserved(bus, "HELMET-AERO")) == (1, 2)  # still held
    assert instance_of(bus, order_id) == instance_before                         # no track cancelled
    with bus.unit_of_work() as uow:
        assert uow.payments.get(authorised.payment_id).status == PaymentStatus.AUTHORISED
    assert len(store.audit) == audit_before                                      # no audit row
    assert outbox.events == [] and outbox.commands == []                         # nothing sent to the world

    bus.handle(c.CancelOrder(actor="desk:ida", order_id=order_id, reason="customer cancelled"))  # retried: works
    assert record_of(bus, order_id).order.status == OrderStatus.CANCELLED and reserved(bus, "HELMET-AERO") == 0


def test_a_revision_whose_extra_charge_is_declined_keeps_the_old_version_reservation_and_payments(
        bus, gateway, store) -> None:
    order_id = in_fulfilment(bus)
    paid = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.CARD))
    bus.handle(c.CapturePayment(actor="billing", payment_id=paid.payment_id))
    before, audit_before = record_of(bus, order_id), len(store.audit)
    gateway.fail_next = "do_not_honour"  # settling the dearer order authorises the difference: declined

    with pytest.raises(PaymentDeclinedError):
        revise(bus, order_id, "desk:ben", "two more helmets", lines=[
            {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"}, {"line_id": "2", "sku": "HELMET-AERO",
                                                                     "quantity": "4"}])

    assert record_of(bus, order_id) == before
    assert reserved(bus, "HELMET-AERO") == 2
    with bus.unit_of_work() as uow:
        assert [p.payment_id for p in uow.payments.for_order(order_id)] == [paid.payment_id]
    assert len(store.audit) == audit_before and balance(bus, order_id).outstanding == 0


def test_writes_made_in_a_unit_of_work_that_is_not_committed_are_undone() -> None:
    store = InMemoryStore()
    order = Order.model_validate({**draft().model_dump(), "order_id": "SO-X"})
    record = OrderRecord(order, (Revision(1, NOW, "desk", "test", (), order),))
    with store.unit_of_work() as uow:
        uow.orders.add(record)
        uow.payments.put("PAY-X", "SO-X", "a payment")
        assert uow.orders.get("SO-X") is record
    assert store.records == {} and store.fulfilment["payment"] == {}
    with store.unit_of_work() as uow:
        uow.orders.add(record)
        uow.commit()
    assert list(store.records) == ["SO-X"]


@pytest.mark.parametrize("story", ["capture", "start", "hold", "release", "step", "revise", "pay", "ship",
                                   "return", "cancel"])
def test_every_committed_command_adds_its_own_audit_entries(bus, store, story) -> None:
    """Each command of an order's life, after the ones before it, adds at least one entry naming its actor."""
    order_id = None
    hold_id = None
    stories = ["capture", "start", "hold", "release", "step", "revise", "pay", "ship", "return", "cancel"]
    for name in stories[:stories.index(story) + 1]:
        before = len(store.audit)
        if name == "capture":
            order_id = captured_id(bus, actor="actor:capture")
        elif name == "start":
            bus.handle(c.StartFulfilment(actor="actor:start", order_id=order_id))
        elif name == "hold":
            hold_id = bus.handle(c.PlaceHold(actor="actor:hold", order_id=order_id, reason="check")).hold_id
        elif name == "release":
            bus.handle(c.ReleaseHold(actor="actor:release", order_id=order_id, hold_id=hold_id))
        elif name == "step":
            event(bus, order_id, EventType.STEP_COMPLETED, "2", "schedule", actor="actor:step")
        elif name == "revise":
            revise(bus, order_id, "actor:revise", "more", notes="leave at the back door")
        elif name == "pay":
            bus.handle(c.AuthorisePayment(actor="actor:pay", order_id=order_id, method=PaymentMethod.CARD))
        elif name == "ship":
            done(bus, order_id, "2", "pick")
            before = len(store.audit)
            event(bus, order_id, EventType.SHIPMENT_CONFIRMED, "2", actor="actor:ship")
        elif name == "return":
            bus.handle(c.AuthoriseReturn(actor="actor:return", order_id=order_id, lines=[
                {"line_id": "2", "quantity": "1", "reason": "defective"}]))
        elif name == "cancel":  # a fresh order: the shipped one cannot be cancelled any more
            order_id = captured_id(bus)
            before = len(store.audit)
            bus.handle(c.CancelOrder(actor="actor:cancel", order_id=order_id, reason="no longer wanted"))
        added = store.audit[before:]
        assert added, f"{name} added no audit entry"
        if name == story:
            assert {e.actor for e in added} >= {f"actor:{name}"}


def test_the_bus_hands_committed_events_on_and_runs_the_reorder_follow_up(bus) -> None:
    outbox = Outbox(bus)
    order_id = captured_id(bus, actor="web", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "45"}])
    kinds = [type(e) for e in outbox.events]
    assert OrderCaptured in kinds and StockMoved in kinds
    moved = next(e for e in outbox.events if isinstance(e, StockMoved))
    assert moved.order_id == order_id and ("HELMET-AERO", "FR-LY") in moved.items
    with bus.unit_of_work() as uow:  # 5 helmets left, under the reorder point of 10: the follow-up asked for 55
        [request] = uow.replenishments.all()
        trail = [e for e in uow.audit.all() if e.entity == Entity.REPLENISHMENT]
    assert (request.sku, request.location, request.quantity) == ("HELMET-AERO", "FR-LY", 55)
    assert [(e.action, e.actor) for e in trail] == [("requested", "system:reorder")]
    assert bus.failed_follow_ups == []


def test_a_captured_payment_moves_on_the_steps_that_waited_for_it(bus) -> None:
    order_id = in_fulfilment(bus, lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "2"}])
    done(bus, order_id, "1", "schedule", "pick")
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, "1", actor="integration:carrier")
    assert instance_of(bus, order_id).track_of("1").active.step_id == "invoice"  # waits for the money
    assert record_of(bus, order_id).order.status == OrderStatus.SHIPPED
    outbox = Outbox(bus)
    payment = bus.handle(c.AuthorisePayment(actor="web", order_id=order_id, method=PaymentMethod.CARD))
    bus.handle(c.CapturePayment(actor="billing", payment_id=payment.payment_id))

    assert any(isinstance(e, PaymentCaptured) for e in outbox.events)
    instance = instance_of(bus, order_id)
    assert all(s.status == StepStatus.DONE for s in instance.track_of("1").steps)
    assert instance.stage == Stage.COMPLETED and record_of(bus, order_id).order.status == OrderStatus.SHIPPED
    paid = audited(bus, order_id, Entity.STEP, "paid")
    assert paid and paid[0].actor == "billing"


def test_a_failing_follow_up_is_kept_aside_and_does_not_undo_the_command(bus, store) -> None:
    def broken(cmd, uow, deps):
        with uow:
            uow.replenishments.put("REPL-X", "", "half-written")
            raise ConnectionError("the purchasing system is down")

    told = []
    bus.handlers[c.CheckReorder] = broken
    bus.on_follow_up_error = lambda cmd, error: told.append((type(cmd), str(error)))

    result = bus.handle(c.CaptureOrder(actor="web", order=draft()))

    assert record_of(bus, result.order.order_id) == result.record         # the capture stands
    assert reserved(bus, "HELMET-AERO") == 2
    assert audited(bus, result.order.order_id, Entity.ORDER, "captured")
    [(follow_up, error)] = bus.failed_follow_ups
    assert isinstance(follow_up, c.CheckReorder) and isinstance(error, ConnectionError)
    assert told == [(c.CheckReorder, "the purchasing system is down")]
    assert store.fulfilment["replenishment"] == {}                         # the follow-up's own writes undone


def test_cancelling_an_order_clears_its_jeopardy_alerts_by_a_follow_up(bus, clock) -> None:
    order_id = in_fulfilment(bus)
    done(bus, order_id, "1", "schedule", "pick")
    event(bus, order_id, EventType.SHIPMENT_DELAYED, "1", actor="integration:dhl",
          expected_at=clock.now() + dt.timedelta(days=6))
    assert bus.handle(c.ScanJeopardy(actor="system:jeopardy")).raised
    bus.handle(c.CancelOrder(actor="desk", order_id=order_id, reason="too late for the customer"))
    assert instance_of(bus, order_id).alerts == ()
    cleared = audited(bus, order_id, Entity.JEOPARDY, "cleared")
    assert cleared and cleared[0].actor == "system:jeopardy" and "cancelled" in cleared[0].reason


def test_a_command_without_a_handler_is_refused(bus) -> None:
    class Unheard(c.Command):
        pass

    with pytest.raises(UnknownCommandError, match="Unheard"):
        bus.handle(Unheard(actor="someone"))
