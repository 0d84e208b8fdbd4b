"""The audit trail covers a whole order's life: every version, hold, approval, step, payment and return."""

from __future__ import annotations

import re

from order_management import commands as c
from order_management.fulfilment import Entity, EventType, PaymentMethod, ReturnReason
from tests.order_management.support import audited, captured_id, done, event, record_of, revise


def test_every_change_of_an_order_life_is_audited_with_who_what_when_and_before_after(bus, clock) -> None:
    order_id = captured_id(bus, actor="web:shop")
    bus.handle(c.StartFulfilment(actor="desk:anna", order_id=order_id))
    clock.advance(hours=2)
    done(bus, order_id, "1", "schedule", "pick")
    revise(bus, order_id, "desk:ben", "two bikes", lines=[{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"},
                                                          {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}])
    hold = bus.handle(c.PlaceHold(actor="desk:carla", order_id=order_id, reason="check address"))
    bus.handle(c.ReleaseHold(actor="desk:dan", order_id=order_id, hold_id=hold.hold_id))
    payment = bus.handle(c.AuthorisePayment(actor="web:shop", order_id=order_id, method=PaymentMethod.CARD))
    clock.advance(days=1)
    for line in ("1", "2"):
        done(bus, order_id, line, "schedule", "pick")
    event(bus, order_id, EventType.SHIPMENT_CONFIRMED, actor="integration:dhl")
    bus.handle(c.CapturePayment(actor="billing", payment_id=payment.payment_id))
    rma = bus.handle(c.AuthoriseReturn(actor="svc", order_id=order_id, lines=[
        {"line_id": "2", "quantity": "1", "reason": ReturnReason.DEFECTIVE}]))
    bus.handle(c.ReceiveReturn(actor="warehouse", rma_id=rma.rma_id, lines=[{"line_id": "2", "received": "1"}]))

    trail = audited(bus, order_id)
    assert all(e.actor and e.at.tzinfo is not None and (e.before is not None or e.after is not None) for e in trail)
    assert [e.at for e in trail] == sorted(e.at for e in trail)  # the clock port, in order

    revisions = record_of(bus, order_id).revisions
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
    assert all(e.actor == "integration:dhl" for e in shipped)
