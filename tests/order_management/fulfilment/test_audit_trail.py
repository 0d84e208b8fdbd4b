"""The audit trail covers a whole order's life: every version, hold, approval, step, payment and return."""

from __future__ import annotations

import re
from decimal import Decimal

from order_management.fulfilment import (
    Entity,
    EventType,
    FulfilmentEvent,
    PaymentMethod,
    ReturnReason,
    ReturnRequest,
)
from tests.order_management.fulfilment.test_stories import done, draft


def test_every_change_of_an_order_life_is_audited_with_who_what_when_and_before_after(
        fulfilment, service, records) -> None:
    clock = service.clock
    order_id = fulfilment.capture(draft(), actor="web:shop").order.order_id
    fulfilment.start(order_id, actor="desk:anna")
    clock.advance(hours=2)
    done(fulfilment, order_id, "1", "schedule", "pick")
    fulfilment.change_order(order_id, {"lines": [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"},
                                                 {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]},
                            actor="desk:ben", reason="two bikes")
    hold = fulfilment.place_hold(order_id, "check address", actor="desk:carla")
    fulfilment.release_hold(hold.hold_id, actor="desk:carla")
    payment = fulfilment.authorise_payment(order_id, PaymentMethod.CARD, actor="web:shop")
    clock.advance(days=1)
    for line in ("1", "2"):
        done(fulfilment, order_id, line, "schedule", "pick")
    fulfilment.handle(FulfilmentEvent(order_id, EventType.SHIPMENT_CONFIRMED, actor="carrier:dhl"))
    fulfilment.capture_payment(payment.payment_id, actor="billing")
    rma = fulfilment.authorise_return(order_id, [ReturnRequest("2", Decimal(1), ReturnReason.DEFECTIVE)], "svc")
    fulfilment.receive_return(rma.rma_id, {"2": (Decimal(1), Decimal(0))}, actor="warehouse")

    trail = records.audit.for_order(order_id)
    assert all(e.actor and e.at.tzinfo is not None and (e.before is not None or e.after is not None) for e in trail)
    assert [e.at for e in trail] == sorted(e.at for e in trail)  # the clock port, in order

    with service.unit_of_work() as uow:
        revisions = uow.orders.get(order_id).revisions
    audited_versions = {1} | {int(m.group(1)) for e in trail if e.entity == Entity.ORDER
                              for m in [re.search(r"version (\d+)", e.action)] if m}
    assert audited_versions == {r.version for r in revisions}  # every version of the order
    assert {r.actor for r in revisions} <= {e.actor for e in trail}  # whoever made a version is in the trail

    entities = {e.entity for e in trail}
    assert entities >= {Entity.ORDER, Entity.RESERVATION, Entity.HOLD, Entity.STEP, Entity.PAYMENT, Entity.RETURN}
    reservation = [e for e in trail if e.entity == Entity.RESERVATION and e.action == "changed"]
    assert reservation and reservation[0].actor == "desk:ben"
    shipped = [e for e in trail if e.entity == Entity.STEP and e.action == "shipment_confirmed"]
    assert {(e.before, e.after) for e in shipped} >= {("active", "done")}
    assert all(e.actor == "carrier:dhl" for e in shipped)
