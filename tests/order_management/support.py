"""What the order-layer tests share: the sample customers and supply, drafts, and reads through a unit of work.

Every test drives the order layer the way an embedding app does: it builds a
bus over an in-memory store with real supply (``bootstrap_in_memory``), sends
commands, and reads what was committed through a unit of work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from order_management import (
    CaptureResult,
    MessageBus,
    Order,
    OrderBalance,
    OrderInput,
    OrderRecord,
)
from order_management import commands as c
from order_management.events import DomainEvent, ShipmentRequested
from order_management.fulfilment import AuditEvent, Entity, EventType, Hold, ProcessInstance, Track
from order_management.handlers import Handling
from order_management.promising import SupplyPosition
from tests.customers import CUSTOMERS as CUSTOMERS  # the shared test customers, named here too

NOW = dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC)
LYON = "FR-LY"  # where the sample sourcing rules ship French orders from first


#: Stock on hand in Lyon; BIKE-CITY has none and no lead time, so it can only be backordered.
STOCK = {"BIKE-TRAIL": 3, "HELMET-AERO": 50, "LOCK-U": 50, "BOTTLE": 500, "BIKE-CITY": 0}
SUPPLY = [SupplyPosition(item=sku, location=LYON, on_hand=units) for sku, units in STOCK.items()]


def draft(**overrides: Any) -> OrderInput:
    """A web order of C-100 (Lyon): one trail bike and two helmets, unless ``overrides`` say otherwise."""
    order: dict[str, Any] = {
        "customer_id": "C-100",
        "currency": "EUR",
        "channel": "web",
        "lines": [
            {"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
            {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"},
        ],
    }
    order.update(overrides)
    return OrderInput.model_validate(order)


def capture(bus: MessageBus, actor: str = "desk", **overrides: Any) -> CaptureResult:
    return bus.handle(c.CaptureOrder(actor=actor, order=draft(**overrides)))


def captured_id(bus: MessageBus, actor: str = "desk", **overrides: Any) -> str:
    return capture(bus, actor, **overrides).order.order_id


# -- reads through a unit of work ---------------------------------------------------------------
def record_of(bus: MessageBus, order_id: str) -> OrderRecord:
    with bus.unit_of_work() as uow:
        return uow.orders.get(order_id)


def order_of(bus: MessageBus, order_id: str) -> Order:
    return record_of(bus, order_id).order


def instance_of(bus: MessageBus, order_id: str) -> ProcessInstance:
    with bus.unit_of_work() as uow:
        found = uow.processes.find(order_id)
    assert found is not None, f"order {order_id} has no process instance"
    return found


def active_holds(bus: MessageBus, order_id: str) -> list[Hold]:
    with bus.unit_of_work() as uow:
        return [h for h in uow.holds.for_order(order_id) if h.active]


def balance(bus: MessageBus, order_id: str) -> OrderBalance:
    with bus.unit_of_work() as uow:
        return Handling(uow, bus.deps, "test").balance(order_id)


def audited(bus: MessageBus, order_id: str, entity: Entity | None = None, action_part: str = "") -> list[AuditEvent]:
    with bus.unit_of_work() as uow:
        trail = uow.audit.for_order(order_id)
    return [e for e in trail if (entity is None or e.entity == entity) and action_part in e.action]


def reserved(bus: MessageBus, sku: str, location: str = LYON) -> int:
    with bus.unit_of_work() as uow:
        return uow.reservations.snapshot([sku]).reserved((sku, location))


def on_hand(bus: MessageBus, sku: str, location: str = LYON) -> int:
    with bus.unit_of_work() as uow:
        position = uow.reservations.snapshot([sku]).position((sku, location))
    return position.on_hand if position else 0


def steps(instance: ProcessInstance, line_id: str) -> dict[str, str]:
    return {s.step_id: s.status.value for s in instance.track_of(line_id).steps}


def track(instance: ProcessInstance, line_id: str) -> Track:
    return instance.track_of(line_id)


# -- commands as the desk and the outside world send them ---------------------------------------
def revise(bus: MessageBus, order_id: str, actor: str, reason: str, **changes: Any) -> CaptureResult:
    """Change the order as its current version (what a client that just read it sends)."""
    version = record_of(bus, order_id).version
    return bus.handle(c.ReviseOrder(actor=actor, order_id=order_id, expected_version=version, changes=changes,
                                    reason=reason))


def event(bus: MessageBus, order_id: str, type: EventType, line_id: str | None = None, step: str | None = None,
          actor: str = "integration:wms", **more: Any) -> ProcessInstance:
    return bus.handle(c.RecordFulfilmentEvent(actor=actor, order_id=order_id, type=type, line_id=line_id, step=step,
                                              **more))


def done(bus: MessageBus, order_id: str, line_id: str | None, *step_ids: str) -> None:
    """The warehouse reports ``step_ids`` done for a line (or, with ``line_id`` None, the whole order)."""
    for step in step_ids:
        event(bus, order_id, EventType.STEP_COMPLETED, line_id, step)


class Outbox:
    """What the order layer asked the world to do (shipments, picks, their cancellations), in order."""

    def __init__(self, bus: MessageBus) -> None:
        self.events: list[DomainEvent] = []
        self.commands: list[Any] = []
        bus.on_event = self._seen

    def _seen(self, domain_event: DomainEvent) -> None:
        self.events.append(domain_event)
        if isinstance(domain_event, ShipmentRequested):
            self.commands.append(domain_event.command)
